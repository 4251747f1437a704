/**
 * The house check: measures how src/ is laid out and fails (exit 1) where the layout rules are broken.
 *
 *   src/**.ts ──scan──▶ files (imports, functions, lines, comments) ──▶ folder graph ──▶ cycles, backward imports
 *                                                                    └─▶ figures: single-use modules, long functions,
 *                                                                        long lines, dated comments
 *
 * Run by `npm run lint` (`tsx scripts/house.ts`); `--quiet` prints only the problems.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';

/**
 * The stages of src/, bottom first: a folder may import from its own stage or an earlier one, never a later one.
 * A folder is src/<name>/ or a top-level file src/<name>.ts; src/sim/<kind>/ counts as sim.
 */
export const LAYERS: readonly (readonly string[])[] = [
  // Shared types (rows, the manifest, engine names), the error type, its messages; the workers' boot shim.
  ['types', 'errors', 'messages', 'suggest', 'worker-boot'],
  // Pure maths: random streams, statistics.
  ['random', 'stats'],
  // Engines: tfjs backends, ONNX Runtime.
  ['engine'],
  // Experiments and their registry.
  ['sim'],
  // Experiment files: schema, loading (charts and TeX checked there), grids, claims and their evaluation.
  ['spec'],
  // Outputs: CSV, charts, HTML, figures.
  ['report'],
  // Running, storing, merging and comparing runs.
  ['run'],
  // Commands and entry points.
  ['commands', 'figures', 'index', 'cli'],
];

/** Functions over this many lines fail the check, except those in ALLOWED_LONG. */
export const MAX_FUNCTION_LINES = 80;
export const MAX_LINE_CHARS = 120;

/**
 * Functions allowed over MAX_FUNCTION_LINES for a while, keyed `path:name` (a file another helper is rewriting this
 * round); the lead drops each line once that work is merged. Empty: every function in src/ fits.
 */
export const ALLOWED_LONG: ReadonlySet<string> = new Set<string>([]);

export interface FunctionSpan {
  file: string;
  name: string;
  line: number;
  lines: number;
}

export interface ScannedFile {
  /** Path relative to the repository root, with forward slashes. */
  file: string;
  /** Repository-relative paths of the src/ files it imports (type-only included) or loads by URL. */
  imports: string[];
  functions: FunctionSpan[];
  longLines: number[];
  datedComments: { line: number; text: string }[];
}

/** A dated lab-notebook comment: an ISO date, or a month name with a day. */
const DATED = /\b20\d\d-\d\d-\d\d\b|\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]* \d{1,2}\b/;

function listFiles(dir: string, exts: readonly string[]): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...listFiles(path, exts));
    else if (exts.some((ext) => name.endsWith(ext)) && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/** Resolves a relative specifier from `from` to a src file, `.js` standing for `.ts` as NodeNext writes it. */
function resolveSpecifier(root: string, from: string, spec: string, known: ReadonlySet<string>): string | undefined {
  if (!spec.startsWith('.')) return undefined;
  const base = relative(root, resolve(dirname(join(root, from)), spec))
    .split('\\')
    .join('/');
  const candidates = [
    base,
    base.replace(/\.js$/, '.ts'),
    base.replace(/\.mjs$/, '.mts'),
    `${base}.ts`,
    `${base}/index.ts`,
  ];
  return candidates.find((c) => known.has(c));
}

function functionName(node: ts.Node, source: ts.SourceFile): string {
  const named = (n: ts.Node): string | undefined =>
    (ts.isFunctionDeclaration(n) ||
      ts.isMethodDeclaration(n) ||
      ts.isPropertyAssignment(n) ||
      ts.isVariableDeclaration(n)) &&
    n.name
      ? n.name.getText(source)
      : undefined;
  let own = named(node) ?? named(node.parent);
  // An object literal's method is named after the object: `attentionTraining.run`.
  let outer: ts.Node = ts.isMethodDeclaration(node) ? node.parent : node.parent.parent;
  while (outer && ts.isObjectLiteralExpression(outer) === false && !ts.isSourceFile(outer)) {
    if (ts.isCallExpression(outer) || ts.isAsExpression(outer) || ts.isSatisfiesExpression(outer)) outer = outer.parent;
    else break;
  }
  if (outer && ts.isObjectLiteralExpression(outer)) {
    let holder: ts.Node = outer.parent;
    while (ts.isCallExpression(holder) || ts.isAsExpression(holder) || ts.isSatisfiesExpression(holder)) {
      holder = holder.parent;
    }
    const prefix = named(holder);
    if (prefix && own) own = `${prefix}.${own}`;
  }
  return own ?? '(anonymous)';
}

/** Scans one file: its imports (static, type-only, dynamic, `new URL(..., import.meta.url)`), functions, lines. */
export function scanSource(
  file: string,
  text: string,
  resolveImport: (spec: string) => string | undefined,
): ScannedFile {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const imports = new Set<string>();
  const functions: FunctionSpan[] = [];
  const lineOf = (pos: number) => source.getLineAndCharacterOfPosition(pos).line + 1;
  const addImport = (spec: string) => {
    const target = resolveImport(spec);
    if (target) imports.add(target);
  };
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
      if (ts.isStringLiteral(node.moduleSpecifier)) addImport(node.moduleSpecifier.text);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      if (ts.isStringLiteral(node.argument.literal)) addImport(node.argument.literal.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [arg] = node.arguments;
      if (arg && ts.isStringLiteralLike(arg)) addImport(arg.text);
    } else if (ts.isNewExpression(node) && node.expression.getText(source) === 'URL') {
      const [arg, base] = node.arguments ?? [];
      if (arg && ts.isStringLiteralLike(arg) && base?.getText(source) === 'import.meta.url') addImport(arg.text);
    }
    if (
      ts.isFunctionDeclaration(node) ||
      ts.isFunctionExpression(node) ||
      ts.isArrowFunction(node) ||
      ts.isMethodDeclaration(node) ||
      ts.isConstructorDeclaration(node)
    ) {
      if (node.body) {
        const line = lineOf(node.getStart(source));
        functions.push({ file, name: functionName(node, source), line, lines: lineOf(node.end) - line + 1 });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  const longLines: number[] = [];
  text.split('\n').forEach((l, i) => {
    if (l.length > MAX_LINE_CHARS) longLines.push(i + 1);
  });
  const datedComments: { line: number; text: string }[] = [];
  const seen = new Set<number>();
  const comments = (node: ts.Node): void => {
    const ranges = [
      ...(ts.getLeadingCommentRanges(text, node.pos) ?? []),
      ...(ts.getTrailingCommentRanges(text, node.end) ?? []),
    ];
    for (const r of ranges) {
      if (seen.has(r.pos)) continue;
      seen.add(r.pos);
      text
        .slice(r.pos, r.end)
        .split('\n')
        .forEach((l, i) => {
          if (DATED.test(l)) datedComments.push({ line: lineOf(r.pos) + i, text: l.trim() });
        });
    }
    ts.forEachChild(node, comments);
  };
  comments(source);
  datedComments.sort((x, y) => x.line - y.line);
  return { file, imports: [...imports], functions, longLines, datedComments };
}

/** The folder a src file belongs to: `src/sim/scaling/x.ts` → sim, `src/cli.ts` → cli. */
export function folderOf(file: string): string {
  const parts = file.replace(/^src\//, '').split('/');
  return parts.length === 1 ? parts[0]!.replace(/\.(ts|mjs|mts)$/, '') : parts[0]!;
}

/** The experiment a file belongs to (`src/sim/<kind>/...`), if any. */
export function kindOf(file: string): string | undefined {
  return /^src\/sim\/([^/]+)\//.exec(file)?.[1];
}

export type FolderGraph = Map<string, Map<string, string[]>>;

/** Folder → imported folder → the file-level imports behind that edge (`a.ts → b.ts`). */
export function folderGraph(files: readonly ScannedFile[]): FolderGraph {
  const graph: FolderGraph = new Map();
  for (const f of files) {
    const from = folderOf(f.file);
    if (!graph.has(from)) graph.set(from, new Map());
    for (const target of f.imports) {
      const to = folderOf(target);
      if (to === from) continue;
      const edges = graph.get(from)!;
      edges.set(to, [...(edges.get(to) ?? []), `${f.file} → ${target}`]);
    }
  }
  return graph;
}

/** Strongly connected components with more than one folder (Tarjan), each sorted, in a stable order. */
export function folderCycles(graph: FolderGraph): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  let next = 0;
  const nodes = [...new Set([...graph.keys(), ...[...graph.values()].flatMap((e) => [...e.keys()])])].sort();
  const connect = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of [...(graph.get(v)?.keys() ?? [])].sort()) {
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) out.push(component.sort());
    }
  };
  for (const v of nodes) if (!index.has(v)) connect(v);
  return out.sort((a, b) => a[0]!.localeCompare(b[0]!));
}

/** Imports from a later stage than the importer's (LAYERS), or from or by a folder LAYERS does not name. */
export function backwardImports(graph: FolderGraph, layers = LAYERS): string[] {
  const stage = new Map<string, number>();
  layers.forEach((names, i) => names.forEach((n) => stage.set(n, i)));
  const out: string[] = [];
  for (const [from, edges] of [...graph].sort(([a], [b]) => a.localeCompare(b))) {
    for (const [to, via] of [...edges].sort(([a], [b]) => a.localeCompare(b))) {
      const a = stage.get(from);
      const b = stage.get(to);
      if (a === undefined || b === undefined) out.push(`${from} → ${to}: ${a === undefined ? from : to} has no stage`);
      else if (b > a) out.push(`${from} → ${to} (stage ${a} imports stage ${b}): ${via.join(', ')}`);
    }
  }
  return out;
}

/**
 * Modules outside src/sim/<kind>/ that serve one experiment only: every src file importing them is in that
 * experiment's folder or is itself such a module of the same experiment (tests and scripts do not count). Modules of
 * src/engine/ come with `engine: true`: experiments reach engines only through it, so they may stay there.
 */
export function singleUseModules(files: readonly ScannedFile[]): SingleUse[] {
  const importers = new Map<string, string[]>();
  for (const f of files) for (const t of f.imports) importers.set(t, [...(importers.get(t) ?? []), f.file]);
  const owner = new Map<string, string>();
  let changed = true;
  while (changed) {
    changed = false;
    for (const f of files) {
      if (kindOf(f.file) || owner.has(f.file)) continue;
      const users = importers.get(f.file) ?? [];
      const kinds = new Set(users.map((u) => kindOf(u) ?? owner.get(u) ?? '*'));
      const [kind] = kinds;
      if (users.length > 0 && kinds.size === 1 && kind !== '*') {
        owner.set(f.file, kind!);
        changed = true;
      }
    }
  }
  return [...owner]
    .map(([file, kind]) => ({ file, kind, engine: file.startsWith('src/engine/') }))
    .sort((a, b) => a.file.localeCompare(b.file));
}

export interface SingleUse {
  file: string;
  kind: string;
  engine: boolean;
}

export interface HouseReport {
  cycles: string[][];
  backward: string[];
  singleUse: SingleUse[];
  longest: FunctionSpan[];
  overLimit: FunctionSpan[];
  over60: number;
  longLines: number;
  datedComments: { file: string; line: number; text: string }[];
}

/** Scans src/ (and the experiment YAMLs' comments for dates) under `root`. */
export function measure(root: string, layers = LAYERS): HouseReport {
  const paths = listFiles(join(root, 'src'), ['.ts', '.mjs', '.mts']).map((p) =>
    relative(root, p).split('\\').join('/'),
  );
  const known = new Set(paths);
  const files = paths.map((file) =>
    scanSource(file, readFileSync(join(root, file), 'utf8'), (spec) => resolveSpecifier(root, file, spec, known)),
  );
  const graph = folderGraph(files);
  const functions = files.flatMap((f) => f.functions).sort((a, b) => b.lines - a.lines || a.file.localeCompare(b.file));
  const dated = files.flatMap((f) => f.datedComments.map((d) => ({ file: f.file, ...d })));
  const experiments = join(root, 'experiments');
  for (const yaml of existsSync(experiments) ? listFiles(experiments, ['.yaml']) : []) {
    readFileSync(yaml, 'utf8')
      .split('\n')
      .forEach((l, i) => {
        const hash = l.indexOf('#');
        if (hash >= 0 && DATED.test(l.slice(hash))) {
          dated.push({ file: relative(root, yaml), line: i + 1, text: l.slice(hash).trim() });
        }
      });
  }
  return {
    cycles: folderCycles(graph),
    backward: backwardImports(graph, layers),
    singleUse: singleUseModules(files),
    longest: functions.slice(0, 5),
    overLimit: functions.filter((f) => f.lines > MAX_FUNCTION_LINES),
    over60: functions.filter((f) => f.lines >= 60).length,
    longLines: files.reduce((n, f) => n + f.longLines.length, 0),
    datedComments: dated,
  };
}

/** The report as lines, and the problems that fail the check. */
export function describe(report: HouseReport): { figures: string[]; problems: string[] } {
  const figures = [
    `folder cycles: ${report.cycles.length}${report.cycles.map((c) => `\n  ${c.join(' ⇄ ')}`).join('')}`,
    ...[false, true].map((engine) => {
      const list = report.singleUse.filter((s) => s.engine === engine);
      const title = engine
        ? 'engine modules used by one experiment (allowed)'
        : 'single-use modules outside src/sim/<kind>/';
      return `${title}: ${list.length}${list.map((s) => `\n  ${s.file} (${s.kind})`).join('')}`;
    }),
    `longest functions:${report.longest.map((f) => `\n  ${f.lines} lines  ${f.name}  ${f.file}:${f.line}`).join('')}`,
    `functions over ${MAX_FUNCTION_LINES} lines: ${report.overLimit.length}; of 60 lines or more: ${report.over60}`,
    `lines over ${MAX_LINE_CHARS} characters in src/: ${report.longLines}`,
    `dated comments: ${report.datedComments.length}` +
      report.datedComments.map((d) => `\n  ${d.file}:${d.line}  ${d.text.slice(0, 90)}`).join(''),
  ];
  const problems = [
    ...report.cycles.map((c) => `folder cycle: ${c.join(' ⇄ ')}`),
    ...report.backward.map((b) => `import from a later stage: ${b}`),
    ...report.overLimit
      .filter((f) => !ALLOWED_LONG.has(`${f.file}:${f.name}`))
      .map((f) => `function over ${MAX_FUNCTION_LINES} lines: ${f.name} (${f.lines}) ${f.file}:${f.line}`),
  ];
  return { figures, problems };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { figures, problems } = describe(measure(process.cwd()));
  if (!process.argv.includes('--quiet')) console.log(figures.join('\n'));
  for (const p of problems) console.error(`house: ${p}`);
  process.exitCode = problems.length > 0 ? 1 : 0;
}
