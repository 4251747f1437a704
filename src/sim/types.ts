import type { z } from 'zod';
import { msg } from '../messages.js';
import type * as tf from '@tensorflow/tfjs-core';
import type { NormalRng } from '../random/normal.js';
import type { SourceLocation } from '../errors.js';
import type { OnnxRun } from '../engine/onnx/engine.js';
import type { Backend } from '../engine/backend.js';
import type { Executor, Kernels } from '../engine/tfjs/executor.js';
import type { Round } from './timing.js';
import type { Cell, Row } from '../types/rows.js';

export type { Cell, Row };

/** The zod shape of a row: every field's output is a cell. */
export type RowShape = Record<string, z.ZodType<Cell>>;
/** A simulation's row, typed from its `row` schema. */
export type RowOf<R extends z.ZodObject<RowShape>> = z.output<R>;

/** What a simulation is handed for one point × replicate. Everything impure comes through here. */
export interface SimContext {
  /** Normals and uniforms from a generator seeded by (experiment seed, point id, replicate). */
  rng: NormalRng;
  /** The tensor API on the chosen backend. */
  tf: typeof tf;
  /** Monotonic clock in milliseconds; the only clock a simulation may read (timing columns). */
  now: () => number;
  /** The engine the run uses (`onnx`, or the tfjs backend that `tf` runs on). */
  backend: Backend;
  /** Tensor workers on the run's tfjs backend, started on first use and shared by all points. */
  executor: <I, A>(kernels: Kernels<I, A>) => Promise<Executor<I, A>>;
  /** ONNX Runtime sessions and the memory probe, started on first use (the onnx engine only). */
  onnx: () => Promise<OnnxRun>;
  /** What the simulation's setup measured once for this run (empty without setup). */
  setup: SetupResult;
  /**
   * Hand a file to the writer (a trained model): `path` is relative to the run directory and inside a folder of its
   * own (`models/2L-seed0.onnx`). Written when the run finishes; kept in points.jsonl, so resumed and merged runs
   * write it too. Simulations stay pure: they never touch the file system themselves.
   */
  attach: (path: string, data: Uint8Array) => void;
}

/** Measured once per run before any point (machine probes, correctness checks). */
export interface SetupResult {
  /** Numbers recorded in manifest.json under `setup`. */
  values: Record<string, number>;
  /** Tables written beside results.csv, available to claims and charts. */
  tables: Record<string, Table>;
}

/** A table of derived results (fits, crossovers), written as <name>.csv beside results.csv. */
export interface Table {
  columns: readonly string[];
  rows: Row[];
}

/** What a simulation derives from all its rows at the end of a run. */
export interface Analysis {
  tables: Record<string, Table>;
  /** Short lines for the terminal summary. */
  summary: string[];
  /**
   * 3 – 6 key results as sentences with their numbers and intervals: the report shows them under the title, before the
   * figures.
   */
  findings?: string[];
  /** Attention maps to explore in the report's head view (attention-maps): every head of every layer on a sequence. */
  headView?: HeadView;
}

/** The head view's data: sequences, each with its token labels and every head's map ([layer][head], T × T row-major). */
export interface HeadView {
  sequences: {
    /** What the selector shows: the probe and T of the point, and the model. */
    title: string;
    /** The decoded text, for text probes (else null). */
    text: string | null;
    tokens: string[];
    maps: number[][][];
  }[];
}

/** One point handed to a simulation: typed params, settings and the replicate index. */
export interface SimPoint<P, S> {
  params: P;
  settings: S;
  replicate: number;
  /** Which timing round this is, of how many (absent: the point is measured once). See `Simulation.rounds`. */
  round?: Round;
}

/**
 * A simulation kind. `params` are the grid axes (one value each per point);
 * `settings` apply to every point (trials, budgets).
 */
export interface SimulationDefinition<
  P extends z.ZodObject = z.ZodObject,
  S extends z.ZodObject = z.ZodObject,
  R extends z.ZodObject<RowShape> = z.ZodObject<RowShape>,
> {
  kind: string;
  /** One line, shown by --list when an experiment has no title. */
  summary: string;
  params: P;
  settings: S;
  /**
   * The row every point returns: its keys, in order, are the columns of results.csv; a row with a missing or extra key
   * fails its point.
   */
  row: R;
  /** Columns that hold timings or memory readings, excluded from determinism checks. */
  measuredColumns: readonly string[];
  /** Timing points run one at a time, never beside other work. */
  timing: boolean;
  /** The engines it runs on, in the order the automatic choice tries them (default: the tfjs backends). */
  engines?: readonly Backend[];
  run(point: SimPoint<z.output<P>, z.output<S>>, ctx: SimContext): RowOf<R>[] | Promise<RowOf<R>[]>;
  /** The params schema for these settings, where settings widen what a param may be (methods named in settings). */
  paramsFor?(settings: z.output<S>): z.ZodType<z.output<P>>;
  /**
   * Settings that name files (paths in the settings object): resolved against the experiment file's folder, checked to
   * exist and hashed into the run's configuration.
   */
  files?(settings: z.output<S>): (string | number)[][];
  /**
   * Checks that need more than the schema (model files loaded and called), before any work; throws located
   * AttnlabErrors.
   */
  prepare?(
    settings: z.output<S>,
    points: readonly { params: z.output<P> }[],
    at: (path: (string | number)[]) => SourceLocation,
  ): Promise<void>;
  /**
   * Timing rounds, as asv runs them: every point is measured once per round, rounds one after another, so a slow
   * spell of a shared machine falls on a share of every point's samples instead of on all of one point's. Each
   * round gets its share of the time budget and is checkpointed; `combine` pools a point's rounds into its rows.
   * Timing simulations only; 1 (or absent) measures each point once.
   */
  rounds?(settings: z.output<S>): number;
  /** A point's final rows from its rows of each round, in round order. */
  combine?(rounds: RowOf<R>[][], settings: z.output<S>): RowOf<R>[];
  /** Columns of each analysis table, so claims on them are checked before a run. */
  tables?: Record<string, readonly string[]>;
  /** Runs once per run, before the points, with the seeded generator of the pseudo-point "setup". */
  setup?(ctx: Omit<SimContext, 'setup' | 'attach'>, settings: z.output<S>): Promise<SetupResult> | SetupResult;
  /**
   * The cost model: predicted wall-clock ms of one point × replicate in one thread, with constants
   * fitted on the reference machine (2 cores, wasm backend). It drives the estimate a run prints
   * first and the --yes gate for grids that would take unreasonably long.
   */
  estimateMs?(params: z.output<P>, settings: z.output<S>, engine: Backend): number;
  /** Derived tables from all rows (pure given the rows and the setup's measurements). */
  analyse?(rows: readonly RowOf<R>[], settings: z.output<S>, setup: SetupResult): Analysis;
}

/** A simulation as the harness holds it: its definition with the columns derived from its row. */
export interface Simulation<
  P extends z.ZodObject = z.ZodObject,
  S extends z.ZodObject = z.ZodObject,
  R extends z.ZodObject<RowShape> = z.ZodObject<RowShape>,
> extends SimulationDefinition<P, S, R> {
  /** Output columns in order: the keys of `row`. */
  readonly columns: readonly string[];
}

/**
 * A simulation from its definition, with literal types kept (the citty `defineCommand` trick) and its columns derived
 * from its row.
 */
export function defineSimulation<
  const P extends z.ZodObject,
  const S extends z.ZodObject,
  const R extends z.ZodObject<RowShape>,
>(def: SimulationDefinition<P, S, R>): Simulation<P, S, R> {
  // A user's module calls this at import, before anything checks its fields: a missing or malformed `row` must not
  // throw here (the loader then names the field), so the columns are derived only from a shape that is there.
  const shape = (def as { row?: { shape?: unknown } }).row?.shape;
  const columns = typeof shape === 'object' && shape !== null ? Object.freeze(Object.keys(shape)) : undefined;
  const sim = Object.freeze({ ...def, columns }) as Simulation<P, S, R>;
  DEFINED_FIELDS.set(sim, Object.keys(def));
  return sim;
}

/** The fields each simulation was defined with (before `columns` was derived): the loader checks them by name. */
const DEFINED_FIELDS = new WeakMap<object, readonly string[]>();

/** The fields `defineSimulation` was given for `sim`, or undefined for an object it did not make. */
export function definedFields(sim: object): readonly string[] | undefined {
  return DEFINED_FIELDS.get(sim);
}

/**
 * `rows` as a simulation returned them, once each has exactly its columns; a missing or extra key throws (the point
 * fails).
 */
export function checkedRows<T extends object>(sim: Pick<Simulation, 'kind' | 'columns'>, rows: readonly T[]): T[] {
  rows.forEach((row, i) => {
    const missing = sim.columns.filter((c) => !Object.hasOwn(row, c));
    const extra = Object.keys(row).filter((k) => !sim.columns.includes(k));
    if (missing.length || extra.length) throw new Error(msg.rowKeys(sim.kind, i, missing, extra));
  });
  return [...rows];
}

/**
 * Issue params for a parameter that does not apply to a point (`d_latent` on a variant without a latent cache):
 * `ctx.addIssue({ code: 'custom', message, path: [key], params: notApplicable(reason) })`. Where a --set made the
 * point (`--set variant=[gqa]` over a block of mla), the grid drops the parameter from it, with a note; in the
 * experiment file it stays an error.
 */
export const notApplicable = (reason: string) => ({ notApplicable: reason });

/** The reason of a `notApplicable` issue, or undefined for any other issue. */
export function notApplicableReason(issue: { code: string; params?: Record<string, unknown> }): string | undefined {
  const reason = issue.code === 'custom' ? issue.params?.['notApplicable'] : undefined;
  return typeof reason === 'string' ? reason : undefined;
}
