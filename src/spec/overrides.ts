import { parse as parseYaml } from 'yaml';
import { AttnlabError, type SourceLocation } from '../errors.js';
import { msg } from '../messages.js';
import type { z } from 'zod';
import type { Simulation } from '../sim/types.js';
import { describeExpected, describeSchema } from './issue.js';
import { validate } from './load.js';
import type { SetIn } from './grid.js';
import { Locator, type Path } from './locate.js';
import { experimentSchema, gridBlocks, overlayGrid, type Experiment, type GridValues } from './schema.js';

export interface Overrides {
  /** Use the experiment's quick grid and settings. */
  quick: boolean;
  seed?: number | undefined;
  /** Raw `key=value` strings from --set, applied in order after --quick. */
  sets: readonly string[];
  /** The directory the command was typed in: paths given by --set are relative to it. @default process.cwd() */
  cwd?: string | undefined;
}

const TOP_LEVEL = ['seed', 'replicates'] as const;

interface ParsedSet {
  raw: string;
  key: string;
  /** `grid[i].key=…`: only block i of a list of grid blocks. */
  block?: number;
  value: unknown;
}

/** `key=value` (or `grid[i].key=value`) with the value read as YAML; the key must be a parameter, a setting or a top-level field. */
function parseSet(raw: string, settable: readonly string[]): ParsedSet {
  const eq = raw.indexOf('=');
  if (eq <= 0) throw new AttnlabError('BAD_SET', msg.badSet(raw));
  const scoped = /^grid\[(\d+)\]\.(.+)$/.exec(raw.slice(0, eq).trim());
  const key = scoped ? scoped[2]! : raw.slice(0, eq).trim();
  const text = raw.slice(eq + 1);
  if (!settable.includes(key)) throw new AttnlabError('BAD_SET', msg.badSetKey(key, settable));
  try {
    return { raw, key, ...(scoped ? { block: Number(scoped[1]) } : {}), value: parseYaml(text) };
  } catch (e) {
    throw new AttnlabError('BAD_SET', msg.badSetValue(key, text, (e as Error).message.split('\n')[0]!));
  }
}

/**
 * Each value of a --set checked against its parameter's or setting's own schema, before the grid is built, so that
 * `--set D=abc` says that D takes integers (not what the grid then trips over: zip lengths, an empty product).
 */
function checkSetValues({ raw, key, value }: ParsedSet, sim: Simulation, params: Record<string, unknown>): void {
  const schema = (params[key] ?? sim.settings.shape[key]) as z.ZodType | undefined;
  if (!schema) return;
  const range =
    value !== null && typeof value === 'object' && !Array.isArray(value)
      ? Object.values(value as object)[0]
      : undefined;
  const values: unknown[] =
    key in sim.params.shape && Array.isArray(value)
      ? value
      : key in sim.params.shape && typeof range === 'object' && range !== null
        ? [(range as Record<string, unknown>)['from'], (range as Record<string, unknown>)['to']].filter(
            (v) => v !== undefined,
          )
        : [value];
  for (const v of values) {
    const result = schema.safeParse(v);
    if (!result.success)
      throw new AttnlabError(
        'BAD_SET',
        msg.badSetType(raw, key, v, describeSchema(schema) ?? describeExpected(result.error.issues[0]!)),
      );
  }
}

/**
 * Where a problem in the overridden experiment points: at the last --set of a key on the problem's path; else, for a
 * setting no --set touched, at its line in the file; else at all of them (the file alone was valid, so the
 * combination is at fault).
 */
class OverrideLocator extends Locator {
  private readonly sets: readonly ParsedSet[];
  private readonly file_: Locator;

  constructor(sets: readonly ParsedSet[], file: Locator) {
    super(sets.map((s) => `--set ${s.raw}`).join(' '));
    this.sets = sets;
    this.file_ = file;
  }

  override at(path: Path, opts: { key?: string | undefined } = {}): SourceLocation {
    const keys = [...path, ...(opts.key !== undefined ? [opts.key] : [])].map(String);
    const last = [...this.sets].reverse().find((s) => keys.includes(s.key));
    if (last) return { file: `--set ${last.raw}` };
    return path[0] === 'settings' && path.length > 1 ? this.file_.at(path, opts) : { file: this.file };
  }
}

/** The last --set of a key (its raw `key=value`), or undefined where none set it. */
export type SetOf = (key: string) => string | undefined;

/**
 * The experiment a command actually runs: --quick, then every --set (in order; a later one wins),
 * then --seed, validated once as a whole. A grid parameter set with --set applies to every grid block
 * (`grid[i].key=…` to block i only). `where` is where problems found later (in the grid) point.
 */
export function applyOverrides(
  base: Experiment,
  sim: Simulation,
  o: Overrides,
  file: Locator,
): { experiment: Experiment; where: Locator; setOf: SetOf; setIn: SetIn } {
  const schema = experimentSchema(sim, base.simulation);
  let exp: Experiment = structuredClone(base);
  if (o.quick) {
    exp = { ...exp, grid: overlayGrid(exp.grid, exp.quick.grid), settings: { ...exp.settings, ...exp.quick.settings } };
  }
  const settable = [...Object.keys(sim.params.shape), ...Object.keys(sim.settings.shape), ...TOP_LEVEL];
  const sets = o.sets.map((raw) => parseSet(raw, settable));
  for (const { raw, key, block, value } of sets) {
    const blockCount = gridBlocks(exp.grid).length;
    if (block !== undefined && (!(key in sim.params.shape) || block >= blockCount))
      throw new AttnlabError('BAD_SET', msg.badSetBlock(raw, key, blockCount));
    if (key in sim.params.shape) {
      const isRange =
        value !== null &&
        typeof value === 'object' &&
        !Array.isArray(value) &&
        ('geometric' in value || 'linear' in value);
      const values = (Array.isArray(value) || isRange ? value : [value]) as GridValues;
      const blocks = gridBlocks(exp.grid).map((b, i) =>
        block === undefined || block === i ? { ...b, [key]: values } : b,
      );
      exp = { ...exp, grid: Array.isArray(exp.grid) ? blocks : blocks[0]! };
    } else if (key in sim.settings.shape) {
      exp = { ...exp, settings: { ...exp.settings, [key]: value } };
    } else {
      exp = { ...exp, [key]: value };
    }
  }
  // Settings first: they may widen what a parameter takes (scaling's methods from files name new methods).
  for (const set of sets) if (!(set.key in sim.params.shape)) checkSetValues(set, sim, {});
  const settings = sim.settings.safeParse(exp.settings);
  const widened =
    settings.success && sim.paramsFor
      ? (sim.paramsFor(settings.data) as { shape?: Record<string, unknown> }).shape
      : undefined;
  for (const set of sets) if (set.key in sim.params.shape) checkSetValues(set, sim, widened ?? sim.params.shape);
  // The grid is expanded by the caller: problems in it point at the --set that made them, else at the file.
  const where = sets.length ? new OverrideLocator(sets, file) : file;
  if (sets.length) exp = validate(schema, exp, where);
  if (o.seed !== undefined) exp = validate(schema, { ...exp, seed: o.seed }, new Locator('--seed'));
  const setOf: SetOf = (key) => [...sets].reverse().find((s) => s.key === key)?.raw;
  const setIn = (block: number) =>
    sets.filter((s) => s.key in sim.params.shape && (s.block ?? block) === block).map(({ key, raw }) => ({ key, raw }));
  return { experiment: exp, where, setOf, setIn };
}
