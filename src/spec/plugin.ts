/**
 * Simulations from the user's own files: `simulation: ./corr-qk.ts` in an experiment file loads that module
 * (a path relative to the file; .ts, .mts, .js or .mjs) and takes its default export, a simulation made with
 * `defineSimulation` from `attnlab` (src/index.ts). The module's content hash joins the run's configuration
 * hash, so editing it starts a new run; workers (--jobs) load the same file and check the same hash.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { register } from 'node:module';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { AttnlabError, type SourceLocation } from '../errors.js';
import { msg } from '../messages.js';
import { isBuiltIn } from '../sim/registry.js';
import { definedFields, type Simulation } from '../sim/types.js';
import { closest } from '../suggest.js';

export const MODULE_EXTENSIONS = ['.ts', '.mts', '.js', '.mjs'] as const;

/**
 * Whether `simulation:` names a module file (a path, or a name with a module extension) rather than a built-in kind.
 */
export const isModulePath = (s: string): boolean =>
  /^\.{0,2}\//.test(s) || (MODULE_EXTENSIONS as readonly string[]).includes(extname(s));

/** A simulation module as a run records it. */
export interface ModuleSource {
  path: string;
  sha256: string;
}

let hooked = false;
/**
 * Make `from 'attnlab'` resolve to this checkout's public entry, wherever the importing file lies (once per thread).
 */
function resolveAttnlab(): void {
  if (hooked) return;
  hooked = true;
  const ts = resolve(import.meta.dirname, '../index.ts');
  const entry = pathToFileURL(existsSync(ts) ? ts : resolve(import.meta.dirname, '../index.js')).href;
  register(new URL('./attnlab-hook.mjs', import.meta.url), { data: { entry } });
}

/** The first line of what a module threw, without a bundler's "Transform failed" preamble. */
function firstLine(e: unknown): string {
  const lines = String((e as Error)?.message ?? e)
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return (/^transform failed/i.test(lines[0] ?? '') ? lines[1] : lines[0]) ?? String(e);
}

const isString = (v: unknown) => typeof v === 'string';
const isFunction = (v: unknown) => typeof v === 'function';
const isZod = (v: unknown) => typeof (v as { safeParse?: unknown })?.safeParse === 'function';
/** A zod object each of whose fields is a zod type (`{ d: 'number' }` inside z.object would fail later, unnamed). */
const isZodObject = (v: unknown) => {
  const shape = (v as { shape?: unknown })?.shape;
  return isZod(v) && typeof shape === 'object' && shape !== null && Object.values(shape).every(isZod);
};
const isNameList = (v: unknown) => Array.isArray(v) && v.every(isString);

/** Each field of a simulation: what it must be, and whether it may be absent. */
const FIELDS: [field: string, ok: (v: unknown) => boolean, expected: string, optional?: true][] = [
  ['kind', (v) => isString(v) && /^[a-z][a-z0-9-]*$/.test(v as string), 'a lowercase name: letters, digits, dashes'],
  ['summary', isString, 'a one-line string'],
  ['params', isZodObject, 'a zod object of the grid axes (z.object({ ... }))'],
  ['settings', isZodObject, 'a zod object of the settings (z.object({ ... }))'],
  [
    'row',
    isZodObject,
    'a zod object whose keys, in order, are the columns of results.csv (z.object({ d: z.number(), ... }))',
  ],
  ['columns', isNameList, "the row's keys, which defineSimulation adds: export defineSimulation({ ... })"],
  ['measuredColumns', isNameList, 'a list of column names (timings, excluded from determinism checks)'],
  ['timing', (v) => typeof v === 'boolean', 'true or false'],
  ['run', isFunction, 'a function (point, ctx) => rows'],
  ...(['paramsFor', 'files', 'prepare', 'rounds', 'combine', 'setup', 'estimateMs', 'analyse'] as const).map(
    (f) => [f, isFunction, 'a function', true] as [string, (v: unknown) => boolean, string, true],
  ),
  ['engines', isNameList, 'a list of engine names', true],
  [
    'tables',
    (v) => typeof v === 'object' && v !== null && Object.values(v).every(isNameList),
    'table name → list of column names',
    true,
  ],
];

/** The fields a definition may have: every field but `columns`, which defineSimulation derives from `row`. */
const DEFINITION_FIELDS = FIELDS.map(([f]) => f).filter((f) => f !== 'columns');

/** The module's default export, checked field by field to be a simulation, before anything reads a field. */
export function checkSimulation(mod: Record<string, unknown>, path: string, where?: SourceLocation): Simulation {
  if (!('default' in mod) || mod['default'] === undefined)
    throw new AttnlabError('PLUGIN', msg.pluginNoDefault(path, Object.keys(mod)), where);
  const sim = mod['default'];
  if (typeof sim !== 'object' || sim === null)
    throw new AttnlabError('PLUGIN', msg.pluginNotSimulation(path, typeof sim), where);
  const fields = sim as Record<string, unknown>;
  // A field the definition does not know is most likely another tool's name for one it does (`columns` for `row`).
  const unknown = definedFields(sim)?.find((f) => !DEFINITION_FIELDS.includes(f));
  if (unknown !== undefined) {
    const near = closest(unknown, DEFINITION_FIELDS);
    const expected = FIELDS.find(([f]) => f === near)?.[2];
    throw new AttnlabError(
      'PLUGIN',
      msg.pluginUnknownField(
        path,
        unknown,
        DEFINITION_FIELDS,
        near === undefined || expected === undefined ? undefined : { field: near, expected },
      ),
      where,
    );
  }
  for (const [field, ok, expected, optional] of FIELDS) {
    const v = fields[field];
    if (v === undefined && optional) continue;
    if (v === undefined || !ok(v))
      throw new AttnlabError(
        'PLUGIN',
        msg.pluginField(path, field, v === undefined ? 'missing' : 'wrong', expected),
        where,
      );
  }
  const columns = fields['columns'] as string[];
  const stray = (fields['measuredColumns'] as string[]).find((c) => !columns.includes(c));
  if (stray !== undefined)
    throw new AttnlabError(
      'PLUGIN',
      msg.pluginField(
        path,
        'measuredColumns',
        'wrong',
        `columns of its row (${stray} is not one: ${columns.join(', ')})`,
      ),
      where,
    );
  const kind = fields['kind'] as string;
  if (isBuiltIn(kind)) throw new AttnlabError('PLUGIN', msg.pluginKindTaken(path, kind), where);
  return sim as Simulation;
}

/** Load a simulation module; `sha256`, when given, must match the file's (a worker loading what the run hashed). */
export async function loadSimulationModule(
  path: string,
  where?: SourceLocation,
  sha256?: string,
): Promise<{ sim: Simulation; source: ModuleSource }> {
  if (!existsSync(path)) throw new AttnlabError('PLUGIN', msg.pluginMissing(path), where);
  const hash = createHash('sha256').update(readFileSync(path)).digest('hex');
  if (sha256 !== undefined && hash !== sha256) throw new AttnlabError('PLUGIN', msg.pluginChanged(path));
  resolveAttnlab();
  let mod: Record<string, unknown>;
  try {
    // The hash in the URL: an edited module is a new module, also within one process.
    mod = (await import(`${pathToFileURL(path).href}?sha256=${hash.slice(0, 16)}`)) as Record<string, unknown>;
  } catch (e) {
    throw new AttnlabError('PLUGIN', msg.pluginImport(path, firstLine(e)), where);
  }
  return { sim: checkSimulation(mod, path, where), source: { path, sha256: hash } };
}
