/**
 * The runner: one experiment from its validated form to files on disk.
 *
 *   Experiment (effective: --quick, --set, --seed applied)
 *     │ expandGrid → Point[] (stable ids)            src/spec/grid.ts
 *     │ findUnfinished / readCheckpoint → done set    src/run/store.ts (automatic resume)
 *     ▼
 *   sim.setup(ctx) once → probes and checks          (manifest.setup, tables)
 *   for each point × replicate not done:
 *     sim.run(point, {rng(seed, id, replicate), tf, now, executor, setup}) → rows
 *     appendPoint → points.jsonl                       (crash-safe checkpoint)
 *     ▼
 *   rows in grid order ─ sim.analyse → tables (fits)     src/sim/<kind>.ts, src/stats
 *     │ evaluateClaims(results + tables) → ClaimResult[]  src/stats/claims.ts
 *     │ buildOutputs → csv, charts, figures, report       src/report/build.ts
 *     ▼
 *   store.writeAtomic each file; manifest complete; results/<name>/latest → this run
 */
import { createHash } from 'node:crypto';
import { join, relative, resolve } from 'node:path';
import { rngFor } from '../random/seed.js';
import { buildOutputs } from '../report/build.js';
import { renderIndex } from '../report/index-page.js';
import { canonicalJson, expandGrid, expandValues, type Point } from '../spec/grid.js';
import type { LoadedExperiment } from '../spec/load.js';
import { gridBlocks, type Experiment } from '../spec/schema.js';
import type { Overrides } from '../spec/overrides.js';
import type { Row, SetupResult } from '../sim/types.js';
import { evaluateClaims, type ClaimResult } from '../stats/claims.js';
import type { SelectedBackend } from '../tensor/backend.js';
import { workerExecutor, type Executor } from '../tensor/executor.js';
import { msg } from '../messages.js';
import { provenance, type Manifest } from './manifest.js';
import { Progress } from './progress.js';
import { runInWorkers } from './jobs.js';
import { isBuiltIn } from '../sim/registry.js';
import { checkWritable, findUnfinished, readCheckpoint, readRuns, RunStore, writeIndex, type CheckpointEntry } from './store.js';

export interface RunRequest {
  loaded: LoadedExperiment;
  /** The effective experiment (overrides applied). */
  experiment: Experiment;
  overrides: Overrides;
  backend: SelectedBackend;
  /** Results root; the run goes to <outRoot>/<name>/<run-id>/. */
  outRoot: string;
  /** The command line, recorded in the manifest. */
  command: string;
  /** --resume was given: say so when there is nothing to resume. */
  resumeRequested: boolean;
  /** Stop before the next point (Ctrl-C): the current point finishes and is kept, outputs are written as incomplete. */
  stop?: AbortSignal;
  /** Worker threads for the points of Monte Carlo simulations; timing simulations always run one point at a time. */
  jobs?: number;
}

export interface RunOutcome {
  dir: string;
  reportPath: string;
  claims: ClaimResult[];
  resumedFrom: number;
  rows: Row[];
  /** The simulation's own summary lines (fits, crossovers). */
  summary: string[];
  /** Points whose simulation threw. */
  errors: number;
  /** Stopped before every point was done; the outputs show what was. */
  interrupted: boolean;
}

export interface RunIo {
  stderr: { write(s: string): unknown; isTTY?: boolean };
  now: () => number;
}

const key = (point: string, replicate: number) => `${point}#${replicate}`;

/** Hash of what determines the results: a rerun with the same hash may reuse finished points. */
export function configHash(exp: Experiment, backend: string, sha256: string): string {
  return createHash('sha256').update(canonicalJson({ exp, backend, sha256 })).digest('hex');
}

function runIdFor(hash: string, date: Date): string {
  const stamp = date.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${hash.slice(0, 8)}`;
}

export async function runExperiment(req: RunRequest, io: RunIo): Promise<RunOutcome> {
  const { experiment: exp, loaded } = req;
  const sim = loaded.sim;
  const points = expandGrid(exp, sim);
  const hash = configHash(exp, req.backend.name, loaded.sha256);
  const outRoot = resolve(req.outRoot);
  checkWritable(outRoot);

  const expDir = join(outRoot, exp.name);
  const unfinished = findUnfinished(expDir, hash)[0];
  if (!unfinished && req.resumeRequested) io.stderr.write(`${msg.resumeNothing()}\n`);
  const store = new RunStore(unfinished ?? join(expDir, runIdFor(hash, new Date())));
  store.create();

  const total = points.length * exp.replicates;
  const done = new Map<string, CheckpointEntry>();
  if (unfinished) {
    let torn = false;
    for (const e of readCheckpoint(store.dir, (w) => ((torn = true), io.stderr.write(`${w}\n`)))) done.set(key(e.point, e.replicate), e);
    if (torn) store.rewriteCheckpoint([...done.values()]);
    io.stderr.write(`${msg.resuming(store.dir, done.size, total)}\n`);
  }

  const manifest: Manifest = {
    status: 'running',
    runId: store.dir.split('/').pop()!,
    experiment: exp.name,
    command: req.command,
    experimentFile: loaded.file,
    experimentSha256: loaded.sha256,
    configHash: hash,
    seed: exp.seed,
    quick: req.overrides.quick,
    sets: [...req.overrides.sets],
    backend: { name: req.backend.name, provider: req.backend.provider },
    ...provenance(),
    startedAt: new Date().toISOString(),
    points: { total, done: done.size },
  };
  store.writeManifest(manifest);

  // Points are never cut in the middle: a stop request (Ctrl-C) takes effect between points.
  const stop = req.stop;
  const progress = new Progress(total, io.stderr, exp.name, io.now, done.size);
  let pool: Promise<Executor> | undefined;
  const executor = () => (pool ??= workerExecutor(req.backend.name));
  let setup: SetupResult = { values: {}, tables: {} };
  try {
    if (sim.setup) {
      setup = await sim.setup({ rng: rngFor(exp.seed, 'setup', 0), tf: req.backend.tf, now: io.now, executor }, exp.settings);
      store.writeManifest({ ...manifest, setup: setup.values });
    }
    const record = (entry: CheckpointEntry, point: Point) => {
      if (entry.error !== undefined) io.stderr.write(`${msg.pointFailed(canonicalJson(point.params), entry.error)}\n`);
      store.appendPoint(entry);
      done.set(key(entry.point, entry.replicate), entry);
      progress.tick();
    };
    const todo = points.flatMap((point) => Array.from({ length: exp.replicates }, (_, r) => ({ point, replicate: r }))).filter((t) => !done.has(key(t.point.id, t.replicate)));
    if (!sim.timing && isBuiltIn(sim.kind) && (req.jobs ?? 1) > 1 && todo.length > 1) {
      await runInWorkers({ jobs: req.jobs!, kind: sim.kind, backend: req.backend.name, seed: exp.seed, settings: exp.settings, setup, todo, stop, onDone: record });
    }
    // In this thread: every point of a timing simulation, or whatever the workers left (none, unless stopped).
    for (const { point, replicate: r } of todo) {
      if (done.has(key(point.id, r)) || stop?.aborted) continue;
      let entry: CheckpointEntry;
      try {
        const rows = await sim.run(
          { params: point.params, settings: exp.settings, replicate: r },
          { rng: rngFor(exp.seed, point.id, r), tf: req.backend.tf, now: io.now, executor, setup },
        );
        entry = { point: point.id, replicate: r, rows };
      } catch (e) {
        // One point's failure is recorded and the run goes on; the report lists it and --check fails.
        entry = { point: point.id, replicate: r, rows: [], error: (e as Error).message ?? String(e) };
      }
      record(entry, point);
      // Let the event loop run between points (Ctrl-C handlers, timers): synchronous points never yield otherwise.
      await new Promise((resolve) => setImmediate(resolve));
    }
  } finally {
    if (pool) await (await pool).close();
  }

  const rows = collectRows(points, exp.replicates, done);
  const byId = new Map(points.map((p) => [p.id, p]));
  const errors = [...done.values()]
    .filter((e) => e.error !== undefined)
    .map((e) => ({ point: e.point, replicate: e.replicate, params: byId.get(e.point)?.params ?? {}, message: e.error! }));
  const derived = sim.analyse?.(rows, exp.settings, setup) ?? { tables: {}, summary: [] };
  const analysis = { tables: { ...setup.tables, ...derived.tables }, summary: derived.summary };
  const tables = Object.fromEntries(Object.entries(analysis.tables).map(([k, t]) => [k, t.rows]));
  const claims = evaluateClaims(exp.claims, { results: rows, ...tables });
  const interrupted = done.size < total;
  const finished: Manifest = {
    ...manifest,
    ...(sim.setup ? { setup: setup.values } : {}),
    ...(errors.length ? { errors } : {}),
    status: interrupted ? 'interrupted' : 'complete',
    finishedAt: new Date().toISOString(),
    points: { total, done: done.size },
    claims: {
      passed: claims.filter((c) => c.status === 'pass').length,
      failed: claims.filter((c) => c.status === 'fail').length,
      errored: claims.filter((c) => c.status === 'error').length,
    },
  };
  const files = await buildOutputs({ experiment: exp, sim, rows, analysis, claims, manifest: finished, axes: gridAxes(exp) });
  for (const [rel, data] of files) store.writeAtomic(rel, data);
  store.writeManifest(finished);
  if (!interrupted) store.markLatest();
  rebuildIndex(outRoot);
  return { dir: store.dir, reportPath: join(store.dir, 'report.html'), claims, resumedFrom: unfinished ? manifest.points.done : 0, rows, summary: analysis.summary, errors: errors.length, interrupted };
}

/** results/index.html from every run's manifest; returns its path. */
export function rebuildIndex(outRoot: string): string {
  const root = resolve(outRoot);
  const entries = readRuns(root).map(({ dir, manifest }) => ({ manifest, reportHref: relative(root, join(dir, 'report.html')) }));
  return writeIndex(root, renderIndex(entries));
}

/** Each grid axis with the values it takes, labelled by block when the grid has several. */
function gridAxes(exp: Experiment): Record<string, readonly unknown[]> {
  const blocks = gridBlocks(exp.grid);
  return Object.fromEntries(
    blocks.flatMap((b, i) =>
      Object.entries(b).flatMap(([k, v]) => (v ? [[blocks.length > 1 ? `block ${i + 1}: ${k}` : k, expandValues(k, v)]] : [])),
    ),
  );
}

/** Rows in grid order, replicates in order: the CSV does not depend on execution order. Points not done (an interrupted run) have none. */
function collectRows(points: readonly Point[], replicates: number, done: Map<string, CheckpointEntry>): Row[] {
  const rows: Row[] = [];
  for (const p of points) for (let r = 0; r < replicates; r++) rows.push(...(done.get(key(p.id, r))?.rows ?? []));
  return rows;
}
