/**
 * The runner: one experiment from its validated form to files on disk.
 *
 *   ResolvedExperiment (file + --quick, --set, --seed; points with stable ids)  src/spec/resolve.ts
 *     │ (the CLI estimates its cost first)                                        src/run/estimate.ts
 *     │ acquireRunLock → one process per configuration  src/run/lock.ts (LOCKED, exit 75, or --wait)
 *     │ resumeOrCreate: findUnfinished / readCheckpoint → done set  src/run/store.ts (automatic resume)
 *     │ startManifest → manifest.json (running); progressFor → ETA by the cost model
 *     ▼
 *   runPoints: timing runs: busyCores() → how busy the machine is  src/run/stability.ts (warnings at the end)
 *   sim.setup(ctx) once → probes and checks          (manifest.setup, tables)
 *   for each timing round (1 unless the simulation measures in rounds: src/run/rounds.ts)
 *     for each point × replicate not done (runInThread; Monte Carlo points in workers first: src/run/jobs.ts):
 *       runRound: sim.run(point, {rng(seed, id, replicate), tf, now, executor, setup}) → rows
 *       appendPoint → points.jsonl                     (crash-safe checkpoint; each round too; files it attached)
 *     the last round: sim.combine(rounds) → the point's rows
 *     ▼
 *   rows in grid order ─ sim.analyse → tables (fits)     src/sim/<kind>/analysis.ts, src/stats
 *     │ evaluateClaims(results + tables) → ClaimResult[]  src/spec/claims.ts
 *     │ buildOutputs → csv, charts, figures, report       src/report/build.ts
 *     ▼
 *     │ stability(busy at start, rounds' spread) → warnings  src/run/stability.ts (manifest, summary, report)
 *   store.writeAtomic each file and every attached file; manifest complete; results/<name>/latest → this run
 */
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { rngFor } from '../random/seed.js';
import { canonicalJson, type Point } from '../spec/grid.js';
import { configHash, type ResolvedExperiment } from '../spec/resolve.js';
import { checkedRows, type SetupResult, type SimContext } from '../sim/types.js';
import { executorPools } from '../engine/tfjs/executor.js';
import { startOnnxRun, type OnnxRun } from '../engine/onnx/engine.js';
import type { SelectedBackend } from '../engine/backend.js';
import { msg } from '../messages.js';
import { entryKey as key, finishRun, finishShard, type RunOutcome } from './finish.js';
import { provenance } from './manifest.js';
import type { Manifest } from '../types/manifest.js';
import { Progress } from './progress.js';
import { pointThreads, runInWorkers, type Jobs } from './jobs.js';
import { TimingRounds } from './rounds.js';
import { shardDirSuffix, shardPoints, type Shard } from './shard.js';
import { acquireRunLock, lockPath, type RunLock } from './lock.js';
import { busyCores } from './stability.js';
import {
  attachments,
  checkWritable,
  findUnfinished,
  freshRunDir,
  readCheckpoint,
  readManifestStatus,
  roundMs,
  RunStore,
  withFiles,
  type CheckpointEntry,
} from './store.js';

export { rebuildIndex, type RunOutcome } from './finish.js';

export interface RunRequest {
  /** The experiment as resolved once (overrides applied, grid expanded). */
  resolved: ResolvedExperiment;
  backend: SelectedBackend;
  /** Results root; the run goes to <outRoot>/<name>/<run-id>/. */
  outRoot: string;
  /** The command line, recorded in the manifest. */
  command: string;
  /** --resume was given: say so when there is nothing to resume. */
  resumeRequested: boolean;
  /** Stop before the next point (Ctrl-C): the current point finishes and is kept, outputs are written as incomplete. */
  stop?: AbortSignal;
  /** Worker threads for the points of Monte Carlo simulations (default 1); timing simulations run one point at a time. */
  jobs?: Jobs;
  /** Run only this shard's points, into a directory of its own; `merge` combines the shards. */
  shard?: Shard;
  /** Another process runs this configuration: wait for it (--wait) instead of exiting with LOCKED. */
  wait?: boolean;
}

export interface RunIo {
  stderr: { write(s: string): unknown; isTTY?: boolean };
  now: () => number;
}

/** The engine as the manifest records it (without the tensor API). */
const engineInfo = ({ name, provider, version, executionProvider, threads }: SelectedBackend) => ({
  name,
  provider,
  ...(version ? { version } : {}),
  ...(executionProvider ? { executionProvider } : {}),
  ...(threads ? { threads } : {}),
});

/** `20261122-041500-1a2b3c4d`, with `-shard1of4` for a shard: the start time and the configuration hash. */
export function runIdFor(hash: string, date: Date, shard?: Shard): string {
  const stamp = date.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${hash.slice(0, 8)}${shard ? `-${shardDirSuffix(shard)}` : ''}`;
}

export async function runExperiment(req: RunRequest, io: RunIo): Promise<RunOutcome> {
  const exp = req.resolved.experiment;
  // `all` selects every experiment's engine first; the tfjs backend this one uses must be the active one.
  await req.backend.tf.setBackend(req.backend.tfjs);
  const hash = configHash(req.resolved, req.backend.name);
  const outRoot = resolve(req.outRoot);
  checkWritable(outRoot);

  const expDir = join(outRoot, exp.name);
  // One process per configuration: taken before a run directory is picked, released however the run ends.
  const me = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString(), command: req.command };
  const lock = await acquireRunLock(lockPath(expDir, hash, req.shard), me, {
    wait: Boolean(req.wait),
    warn: (s) => io.stderr.write(`${s}\n`),
  });
  try {
    return await runLocked(req, io, { hash, outRoot, expDir, lock });
  } finally {
    await lock.release();
  }
}

/** Where a run stands after its resume stage: its directory, the points already done, the timing rounds kept. */
interface Opened {
  store: RunStore;
  /** The unfinished run this one resumes, if any. */
  unfinished: string | undefined;
  done: Map<string, CheckpointEntry>;
  rounds: TimingRounds;
  total: number;
}

/** The stages of a run under its lock: resume, manifest, progress, points (setup, workers, rounds), outputs. */
async function runLocked(
  req: RunRequest,
  io: RunIo,
  at: { hash: string; outRoot: string; expDir: string; lock: RunLock },
): Promise<RunOutcome> {
  const points = shardPoints(req.resolved.points, req.shard);
  const opened = resumeOrCreate(req, io, at, points.length);
  const manifest = startManifest(req, opened, at.hash);
  opened.store.writeManifest(manifest);
  const { progress, unitCost, costLeft } = progressFor(req, io, opened, points);
  const setup = await runPoints(req, io, { ...opened, manifest, points, progress, unitCost, costLeft });
  const finish = {
    store: opened.store,
    manifest,
    resolved: req.resolved,
    points,
    done: opened.done,
    setup: setup.result,
    outRoot: at.outRoot,
    resumedFrom: opened.unfinished ? manifest.points.done : 0,
    ...(setup.busyAtStart !== undefined ? { busyAtStart: setup.busyAtStart } : {}),
  };
  return req.shard ? finishShard(finish) : finishRun(finish);
}

/**
 * Resume: the unfinished run of this configuration (or, after --wait, the holder's finished one) with its checkpoint
 * read back, else a new run directory.
 */
function resumeOrCreate(
  req: RunRequest,
  io: RunIo,
  at: { hash: string; expDir: string; lock: RunLock },
  pointCount: number,
): Opened {
  const { experiment: exp, sim, settings } = req.resolved;
  // After --wait: the holder's run, if it finished, is this command's result (finished again, nothing recomputed).
  const waited = at.lock.waitedFor?.run;
  const finishedMeanwhile = waited !== undefined && readManifestStatus(waited) === 'complete' ? waited : undefined;
  if (finishedMeanwhile) io.stderr.write(`${msg.waitedDone(finishedMeanwhile)}\n`);
  const unfinished = finishedMeanwhile ?? findUnfinished(at.expDir, at.hash, req.shard)[0];
  if (!unfinished && req.resumeRequested) io.stderr.write(`${msg.resumeNothing()}\n`);
  const store = new RunStore(unfinished ?? freshRunDir(at.expDir, runIdFor(at.hash, new Date(), req.shard)));
  store.create();
  at.lock.setRun(store.dir);

  const total = pointCount * exp.replicates;
  const done = new Map<string, CheckpointEntry>();
  const rounds = new TimingRounds(sim, settings);
  if (unfinished) {
    let torn = false;
    for (const e of readCheckpoint(store.dir, (w) => ((torn = true), io.stderr.write(`${w}\n`)))) {
      if (e.round === undefined) done.set(key(e.point, e.replicate), e);
      else rounds.add(e);
    }
    if (torn) store.rewriteCheckpoint([...rounds.entries(), ...done.values()]);
    io.stderr.write(`${msg.resuming(store.dir, done.size, total)}\n`);
  }
  return { store, unfinished, done, rounds, total };
}

/** The manifest as the run starts: the configuration, where it came from, and how many points are done. */
function startManifest(req: RunRequest, opened: Opened, hash: string): Manifest {
  const { resolved, shard } = req;
  const exp = resolved.experiment;
  return {
    status: 'running',
    runId: opened.store.dir.split('/').pop()!,
    experiment: exp.name,
    command: req.command,
    experimentFile: resolved.file,
    experimentSha256: resolved.sha256,
    ...(resolved.inputs.length ? { inputs: resolved.inputs.map((i) => ({ ...i })) } : {}),
    ...(resolved.module ? { simulationModule: { ...resolved.module } } : {}),
    configHash: hash,
    seed: exp.seed,
    quick: resolved.overrides.quick,
    sets: [...resolved.overrides.sets],
    ...(resolved.overrides.cwd ? { cwd: resolved.overrides.cwd } : {}),
    backend: engineInfo(req.backend),
    ...(shard ? { shard: { index: shard.index, count: shard.count } } : {}),
    ...provenance(),
    startedAt: new Date().toISOString(),
    points: { total: opened.total, done: opened.done.size },
  };
}

/** Progress over the units still to run (a point, or one round of it), each weighing its predicted cost. */
function progressFor(req: RunRequest, io: RunIo, opened: Opened, points: readonly Point[]) {
  const { experiment: exp, sim, settings } = req.resolved;
  const { done, rounds, total } = opened;
  const label = req.shard ? `${exp.name} shard ${req.shard.index}/${req.shard.count}` : exp.name;
  // Each progress unit weighs its predicted cost, so the ETA follows the cost model.
  const unitCost = (p: Point) =>
    sim.estimateMs ? sim.estimateMs(p.params, settings, req.backend.name) / rounds.count : 0;
  let costLeft = 0;
  for (const p of points)
    for (let r = 0; r < exp.replicates; r++)
      if (!done.has(key(p.id, r))) costLeft += rounds.uncounted(p.id, r) * unitCost(p);
  const progress = new Progress(
    total * rounds.count,
    io.stderr,
    label,
    io.now,
    rounds.counted(done),
    rounds.unit,
    costLeft,
  );
  return { progress, unitCost, costLeft };
}

/** What the points stage works with: the opened run, its manifest, the points, progress. */
interface PointsStage extends Opened {
  manifest: Manifest;
  points: readonly Point[];
  progress: Progress;
  unitCost: (p: Point) => number;
  /** Predicted ms of the units still to run (what the worker threads are sized by). */
  costLeft: number;
}

/**
 * Points: the simulation's setup once, then the points not done, in worker threads (Monte Carlo) and in this thread
 * (timing simulations, round after round), each checkpointed as it ends. Engines started on the way are closed.
 */
async function runPoints(
  req: RunRequest,
  io: RunIo,
  stage: PointsStage,
): Promise<{ result: SetupResult; busyAtStart?: number | null }> {
  const { resolved } = req;
  const { experiment: exp, sim, settings } = resolved;
  const { store, manifest, done, rounds, progress, unitCost } = stage;
  const pools = executorPools(req.backend.tfjs);
  let onnxRun: Promise<OnnxRun> | undefined;
  const onnx = () => (onnxRun ??= startOnnxRun());
  const context = { tf: req.backend.tf, now: io.now, backend: req.backend.name, executor: pools.executor, onnx };
  let setup: SetupResult = { values: {}, tables: {} };
  // A timing run notes whether it starts beside other work (the report says so next to every timing verdict).
  const busyAtStart = sim.timing && !req.shard ? await busyCores() : undefined;
  try {
    if (sim.setup) {
      setup = await sim.setup({ rng: rngFor(exp.seed, 'setup', 0), ...context }, settings);
      store.writeManifest({ ...manifest, setup: setup.values });
    }
    const record = (entry: CheckpointEntry, point: Point) => {
      if (entry.error !== undefined) io.stderr.write(`${msg.pointFailed(canonicalJson(point.params), entry.error)}\n`);
      store.appendPoint(entry);
      done.set(key(entry.point, entry.replicate), entry);
      const units = rounds.uncounted(entry.point, entry.replicate);
      progress.tick(units, units * unitCost(point));
    };
    const todo = stage.points
      .flatMap((point) => Array.from({ length: exp.replicates }, (_, r) => ({ point, replicate: r })))
      .filter((t) => !done.has(key(t.point.id, t.replicate)));
    const threads = pointThreads(resolved, req.jobs ?? 1, stage.costLeft);
    if (threads > 1 && todo.length > 1) {
      await runInWorkers({
        jobs: threads,
        kind: sim.kind,
        ...(resolved.module ? { module: resolved.module } : {}),
        backend: req.backend.tfjs,
        seed: exp.seed,
        settings,
        setup,
        todo,
        stop: req.stop,
        onDone: record,
      });
    }
    const run = { req, io, stage, record, context: { ...context, setup } };
    await runInThread(run, todo);
  } finally {
    await pools.close();
    if (onnxRun) (await onnxRun).probe?.close();
  }
  return { result: setup, ...(busyAtStart !== undefined ? { busyAtStart } : {}) };
}

/** What a point run in this thread needs: the request, the stage, how an entry is recorded, the context. */
interface InThread {
  req: RunRequest;
  io: RunIo;
  stage: PointsStage;
  record: (entry: CheckpointEntry, point: Point) => void;
  context: Omit<SimContext, 'rng' | 'attach'>;
}

/**
 * In this thread: every point of a timing simulation (round after round), or whatever the workers left (none, unless
 * stopped). A point of several rounds is recorded once its last round is in.
 */
async function runInThread(run: InThread, todo: readonly { point: Point; replicate: number }[]): Promise<void> {
  const { done, rounds } = run.stage;
  for (let round = 0; round < rounds.count; round++) {
    for (const { point, replicate: r } of todo) {
      if (done.has(key(point.id, r)) || run.req.stop?.aborted) continue;
      if (rounds.of(point.id, r)[round] === undefined) await runRound(run, point, r, round);
      const final = rounds.final(point.id, r);
      if (final) run.record(final, point);
      // Let the event loop run between points (Ctrl-C handlers, timers): synchronous points never yield otherwise.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
}

/** One round of one point × replicate: its rows checkpointed, or its error recorded (the run goes on). */
async function runRound(run: InThread, point: Point, r: number, round: number): Promise<void> {
  const { req, io, stage, record, context } = run;
  const { experiment: exp, sim, settings } = req.resolved;
  const { store, rounds, progress, unitCost } = stage;
  const t0 = io.now();
  try {
    const { attach, files } = attachments(sim.kind);
    const rows = checkedRows(
      sim,
      await sim.run(
        { params: point.params, settings, replicate: r, ...rounds.point(round) },
        { rng: rngFor(exp.seed, point.id, r), ...context, attach },
      ),
    );
    const entry: CheckpointEntry = withFiles(
      { point: point.id, replicate: r, rows, ms: roundMs(io.now() - t0) },
      files,
    );
    if (rounds.count === 1) record(entry, point);
    else {
      store.appendPoint({ ...entry, round });
      rounds.add({ ...entry, round });
      progress.tick(1, unitCost(point));
    }
  } catch (e) {
    // One point's failure is recorded and the run goes on; the report lists it and --check fails.
    record(
      { point: point.id, replicate: r, rows: [], ms: roundMs(io.now() - t0), error: (e as Error).message ?? String(e) },
      point,
    );
  }
}
