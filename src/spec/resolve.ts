/**
 * The experiment a command runs, built once: the validated file (load.ts), then --quick, every --set and
 * --seed (overrides.ts), its grid expanded into typed points with stable ids (grid.ts), and the hash of the
 * files it came from. The estimate, the runner, finish and merge all read this one value; none of them
 * applies an override or expands a grid again.
 */
import { createHash } from 'node:crypto';
import { dirname } from 'node:path';
import type { z } from 'zod';
import type { RowShape, Simulation } from '../sim/types.js';
import { canonicalJson, expandGrid, type Point } from './grid.js';
import { resolveInputFiles, type InputFile } from './files.js';
import { sourceHash, type LoadedExperiment } from './load.js';
import type { Locator } from './locate.js';
import type { ModuleSource } from './plugin.js';
import { applyOverrides, type Overrides } from './overrides.js';
import type { Experiment } from './schema.js';

export interface ResolvedExperiment<
  P extends z.ZodObject = z.ZodObject,
  S extends z.ZodObject = z.ZodObject,
  R extends z.ZodObject<RowShape> = z.ZodObject<RowShape>,
> {
  /** The experiment file, its sha256, and the files the effective settings name (resolved where named, hashed). */
  readonly file: string;
  readonly sha256: string;
  readonly inputs: readonly InputFile[];
  /** The simulation's module and its sha256, where it comes from the user's file. */
  readonly module?: ModuleSource;
  /** Where errors about the file point. */
  readonly locator: Locator;
  /** Where errors about the effective experiment point: a --set where one made the problem, else the file. */
  readonly where: Locator;
  /** What the overrides changed beyond what was typed (parameters dropped from grid blocks), one line each. */
  readonly overrideNotes: readonly string[];
  readonly sim: Simulation<P, S, R>;
  /** The overrides as given, recorded in the manifest and reapplied by nothing. */
  readonly overrides: Readonly<Overrides>;
  /** The effective experiment: the file with the overrides applied. */
  readonly experiment: Experiment;
  readonly settings: z.output<S>;
  /** Each grid block's axes with the values they take, in block order. */
  readonly blocks: readonly Readonly<Record<string, readonly unknown[]>>[];
  /** Every point of the grid (whatever the shard), in grid order, with typed params. */
  readonly points: readonly Point<z.output<P>>[];
  /** Hash of the experiment file and every file it names. */
  readonly sourceHash: string;
}

export function resolveExperiment<P extends z.ZodObject, S extends z.ZodObject, R extends z.ZodObject<RowShape>>(
  loaded: LoadedExperiment<P, S, R>,
  overrides: Overrides,
): ResolvedExperiment<P, S, R> {
  const { experiment, where, setOf, setIn } = applyOverrides(loaded.experiment, loaded.sim, overrides, loaded.locator);
  const grid = expandGrid(experiment, loaded.sim, where, setIn);
  const origins = { file: loaded.file, dir: dirname(loaded.file), cwd: overrides.cwd ?? process.cwd(), setOf };
  const inputs = resolveInputFiles(experiment.settings as Record<string, unknown>, loaded.sim, origins, loaded.locator);
  return deepFreeze({
    file: loaded.file,
    sha256: loaded.sha256,
    inputs,
    ...(loaded.module ? { module: loaded.module } : {}),
    locator: loaded.locator,
    where,
    overrideNotes: grid.notes,
    sim: loaded.sim,
    overrides: { ...overrides, sets: [...overrides.sets] },
    experiment,
    settings: experiment.settings as z.output<S>,
    blocks: grid.blocks,
    points: grid.points,
    sourceHash: sourceHash({ ...loaded, inputs }),
  });
}

/**
 * Hash of what determines the results: a rerun with the same hash may reuse finished points. The files the settings
 * name count by their content, not by where they lie (the settings hold them resolved to absolute paths), so that a
 * clone in another folder, or on another machine, resumes and merges the same runs.
 */
export function configHash(
  r: Pick<ResolvedExperiment, 'experiment' | 'sourceHash' | 'inputs'>,
  engine: string,
): string {
  const byPath = new Map(r.inputs.map((i) => [i.path, `file sha256:${i.sha256}`]));
  const portable = (v: unknown): unknown => {
    if (typeof v === 'string') return byPath.get(v) ?? v;
    if (Array.isArray(v)) return v.map(portable);
    if (v !== null && typeof v === 'object')
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, portable(x)]));
    return v;
  };
  return createHash('sha256')
    .update(canonicalJson({ exp: portable(r.experiment), backend: engine, sha256: r.sourceHash }))
    .digest('hex');
}

/** Freeze the plain data of a resolved experiment (not the simulation or locator, which are shared). */
function deepFreeze<T extends { sim: unknown; locator: unknown; where: unknown }>(r: T): T {
  const freeze = (v: unknown): void => {
    if (v === null || typeof v !== 'object' || Object.isFrozen(v)) return;
    Object.freeze(v);
    for (const x of Object.values(v)) freeze(x);
  };
  for (const [k, v] of Object.entries(r)) if (k !== 'sim' && k !== 'locator' && k !== 'where') freeze(v);
  return Object.freeze(r);
}
