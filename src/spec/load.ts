import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { isMap, LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { AttnlabError } from '../errors.js';
import { msg } from '../messages.js';
import { getSimulation, simulationKinds } from '../sim/registry.js';
import type { RowShape, Simulation } from '../sim/types.js';
import { checkCharts } from './charts.js';
import { texProblem } from './tex.js';
import { claimColumns } from './claims.js';
import { expandGrid } from './grid.js';
import { describeExpected } from './issue.js';
import { formatPath, Locator } from './locate.js';
import { isModulePath, loadSimulationModule, type ModuleSource } from './plugin.js';
import { experimentSchema, overlayGrid, type Experiment } from './schema.js';

export interface LoadedExperiment<
  P extends z.ZodObject = z.ZodObject,
  S extends z.ZodObject = z.ZodObject,
  R extends z.ZodObject<RowShape> = z.ZodObject<RowShape>,
> {
  file: string;
  /** sha256 of the file's bytes, recorded in the manifest. */
  sha256: string;
  experiment: Experiment;
  sim: Simulation<P, S, R>;
  locator: Locator;
  /** The simulation's module, where it comes from the user's file (`simulation: ./my-sim.ts`). */
  module?: ModuleSource;
}

/**
 * What a run's configuration hash takes from the files: the experiment file's bytes, the simulation's module and
 * every file it reads (by content).
 */
export function sourceHash(
  l: Pick<LoadedExperiment, 'sha256' | 'module'> & { inputs: readonly { sha256: string }[] },
): string {
  // Inputs by content only: where they lie is no part of what a run computes (see configHash).
  const parts = [...(l.module ? [`module:${l.module.sha256}`] : []), ...l.inputs.map((i) => `input:${i.sha256}`)];
  return parts.length
    ? createHash('sha256')
        .update([l.sha256, ...parts].join('\n'))
        .digest('hex')
    : l.sha256;
}

/** The default folder of experiment files. */
export const EXPERIMENTS_DIR = resolve(import.meta.dirname, '../../experiments');

/** A name (`qk-variance`) or a path to any YAML file → the file to load. */
export function resolveExperimentFile(nameOrPath: string, dir = EXPERIMENTS_DIR): string {
  if (/\.ya?ml$/i.test(nameOrPath) || nameOrPath.includes('/')) {
    if (existsSync(nameOrPath)) return resolve(nameOrPath);
  } else {
    const file = join(dir, `${nameOrPath}.yaml`);
    if (existsSync(file)) return file;
  }
  throw new AttnlabError('UNKNOWN_EXPERIMENT', msg.unknownExperiment(nameOrPath, listExperimentNames(dir)));
}

export function listExperimentNames(dir = EXPERIMENTS_DIR): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => basename(f, '.yaml'))
    .sort();
}

export function loadExperiment(file: string): Promise<LoadedExperiment> {
  return parseExperiment(readFileSync(file, 'utf8'), file);
}

/** Parse and validate an experiment file's text (loading its simulation module, if it names one); every failure is an AttnlabError with file:line:col. */
export async function parseExperiment(text: string, file: string): Promise<LoadedExperiment> {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const syntax = doc.errors[0];
  if (syntax) {
    const pos = lines.linePos(syntax.pos[0]);
    const detail = syntax.message.split('\n')[0] ?? syntax.code;
    throw new AttnlabError('YAML_SYNTAX', msg.yamlSyntax(detail), { file, line: pos.line, col: pos.col });
  }
  const locator = new Locator(file, doc, lines);
  if (!isMap(doc.contents)) throw new AttnlabError('SCHEMA', msg.notAMapping(), locator.at([]));
  let data: Record<string, unknown>;
  try {
    data = doc.toJS({ maxAliasCount: 100 }) as Record<string, unknown>;
  } catch (e) {
    // Parsing passes but building the value fails for an alias used before its anchor, or too many aliases.
    throw new AttnlabError('YAML_SYNTAX', msg.yamlSyntax((e as Error).message.split('\n')[0]!), locator.at([]));
  }

  const kind = data['simulation'];
  const fromFile =
    typeof kind === 'string' && isModulePath(kind)
      ? await loadSimulationModule(resolve(dirname(file), kind), locator.at(['simulation']))
      : undefined;
  const sim = fromFile?.sim ?? (typeof kind === 'string' ? getSimulation(kind) : undefined);
  if (!sim)
    throw new AttnlabError(
      'UNKNOWN_SIMULATION',
      msg.unknownSimulation(kind, simulationKinds()),
      locator.at(['simulation']),
    );

  const experiment = validate(experimentSchema(sim, fromFile ? (kind as string) : sim.kind), data, locator);
  checkSemantics(experiment, sim, locator);
  return {
    file,
    sha256: createHash('sha256').update(text).digest('hex'),
    experiment,
    sim,
    locator,
    ...(fromFile ? { module: fromFile.source } : {}),
  };
}

/** Validate with zod, turning its first issue into a located, catalogued error. Used for files and for --set. */
export function validate<T extends z.ZodType>(schema: T, data: unknown, locator: Locator): z.output<T> {
  const result = schema.safeParse(data, { reportInput: true });
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  const where = formatPath(path);
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0]!;
    const allowed = Object.keys(shapeAt(schema, path));
    throw new AttnlabError('SCHEMA', msg.unknownKey(path.length ? where : '', key, allowed), locator.at(path, { key }));
  }
  const input = (issue as { input?: unknown }).input;
  const expected =
    issue.code === 'invalid_union'
      ? (describeUnion(nodeAt(schema, path)) ?? describeExpected(issue))
      : describeExpected(issue);
  if (input === undefined)
    throw new AttnlabError(
      'SCHEMA',
      msg.missingKey(where, expected.replace(/, received undefined$/, '')),
      locator.at(path),
    );
  throw new AttnlabError('SCHEMA', msg.wrongValue(where, input, expected), locator.at(path));
}

const unwrap = (x: unknown): unknown => {
  let cur = x as { def?: { innerType?: unknown; element?: unknown; type?: string } };
  while (cur?.def?.innerType) cur = cur.def.innerType as typeof cur;
  return cur;
};

/** The schema node reached by following `path` (undefined where the path leaves the schema). */
function nodeAt(schema: z.ZodType, path: readonly (string | number)[]): unknown {
  let s: unknown = schema;
  for (const seg of path) {
    s = unwrap(s);
    const node = s as { shape?: Record<string, unknown>; def?: { element?: unknown; options?: unknown[] } };
    // Inside a union (the kinds of claim), the first form that has the key.
    const form = node.def?.options
      ?.map((o) => unwrap(o) as { shape?: Record<string, unknown> })
      .find((o) => o.shape && typeof seg === 'string' && seg in o.shape);
    if (typeof seg === 'number' && node.def?.element) s = node.def.element;
    else if (typeof seg === 'string' && node.shape) s = node.shape[seg];
    else if (form?.shape) s = form.shape[seg as string];
    else return undefined;
  }
  return unwrap(s);
}

/** A union's forms in words: `a list of values`, `{column, between}`, …; undefined for a node that is not a union. */
function describeUnion(node: unknown): string | undefined {
  const options = (node as { def?: { options?: unknown[] } })?.def?.options;
  if (!options) return undefined;
  const form = (o: unknown): string => {
    const n = unwrap(o) as { shape?: Record<string, unknown>; def?: { type?: string } };
    if (n.shape) {
      // Required keys first, then the optional ones marked `?`: {column, between, interval?}.
      const optional = (k: string) => (n.shape![k] as { def?: { type?: string } }).def?.type === 'optional';
      const keys = Object.keys(n.shape);
      return `{${[...keys.filter((k) => !optional(k)), ...keys.filter(optional).map((k) => `${k}?`)].join(', ')}}`;
    }
    return n.def?.type === 'array' ? 'a list of values' : `a ${n.def?.type ?? 'value'}`;
  };
  return `one of the forms ${options.map(form).join(', ')}`;
}

/** The object shape reached by following `path` through the schema (for listing allowed keys). */
function shapeAt(schema: z.ZodType, path: readonly (string | number)[]): Record<string, unknown> {
  const s = nodeAt(schema, path);
  const opts = (s as { def?: { options?: unknown[] } })?.def?.options;
  if (opts) return Object.assign({}, ...opts.map((o) => (unwrap(o) as { shape?: object }).shape ?? {}));
  return (s as { shape?: Record<string, unknown> })?.shape ?? {};
}

/** Checks beyond the schema: grids expand, claims name real columns, charts compile. */
function checkSemantics(exp: Experiment, sim: Simulation, locator: Locator): void {
  expandGrid(exp, sim, locator);
  expandGrid({ ...exp, grid: overlayGrid(exp.grid, exp.quick.grid) }, sim, locator);
  const tables: Record<string, readonly string[]> = { results: sim.columns, ...sim.tables };
  exp.claims.forEach((c, i) => {
    const columns = tables[c.table];
    if (!columns)
      throw new AttnlabError(
        'SCHEMA',
        msg.claimTable(c.id, c.table, Object.keys(tables)),
        locator.at(['claims', i, 'table']),
      );
    for (const col of [...claimColumns(c), ...Object.keys(c.where)]) {
      if (!columns.includes(col))
        throw new AttnlabError('SCHEMA', msg.claimColumn(c.id, col, columns), locator.at(['claims', i]));
    }
  });
  checkCharts(exp.charts, (i) => locator.at(['charts', i, 'spec']), exp.labels);
  // Text the report typesets: `$…$` must be TeX that KaTeX accepts.
  const texts: [(string | number)[], string | undefined][] = [
    [['title'], exp.title],
    [['description'], exp.description],
    ...exp.notes.map((n, i): [(string | number)[], string] => [['notes', i], n]),
    ...exp.claims.map((c, i): [(string | number)[], string] => [['claims', i, 'text'], c.text]),
    ...exp.charts.flatMap((c, i): [(string | number)[], string | undefined][] => [
      [['charts', i, 'title'], c.title],
      [['charts', i, 'description'], c.description],
    ]),
  ];
  for (const [path, text] of texts) {
    const problem = text === undefined ? null : texProblem(text);
    if (problem) throw new AttnlabError('BAD_TEX', msg.badTex(formatPath(path), problem), locator.at(path));
  }
}
