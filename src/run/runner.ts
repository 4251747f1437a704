/**
 * The runner: one experiment from its validated form to files on disk.
 *
 *   ResolvedExperiment (file + --quick, --set, --seed; points with stable ids)  src/spec/resolve.ts
 *     │ (the CLI estimates its cost first)                                        src/run/estimate.ts
 *     │ acquireRunLock → one process per configuration  src/run/lock.ts (LOCKED, exit 75, or --wait)
 *     │ findUnfinished / readCheckpoint → done set    src/run/store.ts (automatic resume)
 *     ▼
 *   timing runs: busyCores() → how busy the machine is  src/run/stability.ts (warnings at the end)
 *   sim.setup(ctx) once → probes and checks          (manifest.setup, tables)
 *   for each timing round (1 unless the simulation measures in rounds: src/run/rounds.ts)
 *     for each point × replicate not done:
 *       sim.run(point, {rng(seed, id, replicate), tf, now, executor, setup}) → rows
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
import { checkedRows, type SetupResult } from '../sim/types.js';
import { executorPools } from '../engine/tfjs/executor.js';
import { startOnnxRun, type OnnxRun } from '../engine/onnx/engine.js';
import type { SelectedBackend } from '../engine/backend.js';
import { msg } from '../messages.js';
import { entryKey as key, finishRun, finishShard, type RunOutcome } from './finish.js';
import { provenance } from './manifest.js';
import type { Manifest } from '../types/manifest.js';
import { Progress } from './progress.js';
import { pointThreads, runInWorkers } from './jobs.js';
import { TimingRounds } from './rounds.js';
import { shardDirSuffix, shardPoints, type Shard } from './shard.js';
import { acquireRunLock, lockPath, type RunLock } from './lock.js';
import { busyCores } from './stability.js';
import {
  attachments,
  checkWritable,
  findUnfinished,
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
  /** Worker threads for the points of Monte Carlo simulations; timing simulations always run one point at a time. */
  jobs?: number;
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

async function runLocked(
  req: RunRequest,
  io: RunIo,
  at: { hash: string; outRoot: string; expDir: string; lock: RunLock },
): Promise<RunOutcome> {
  const { resolved, shard } = req;
  const { experiment: exp, sim, settings } = resolved;
  const { hash, outRoot, expDir, lock } = at;
  const points = shardPoints(resolved.points, shard);
  // After --wait: the holder's run, if it finished, is this command's result (finished again, nothing recomputed).
  const waited = lock.waitedFor?.run;
  const finishedMeanwhile = waited !== undefined && readManifestStatus(waited) === 'complete' ? waited : undefined;
  if (finishedMeanwhile) io.stderr.write(`${msg.waitedDone(finishedMeanwhile)}\n`);
  const unfinished = finishedMeanwhile ?? findUnfinished(expDir, hash, shard)[0];
  if (!unfinished && req.resumeRequested) io.stderr.write(`${msg.resumeNothing()}\n`);
  const store = new RunStore(unfinished ?? join(expDir, runIdFor(hash, new Date(), shard)));
  store.create();
  lock.setRun(store.dir);

  const total = points.length * exp.replicates;
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

  const manifest: Manifest = {
    status: 'running',
    runId: store.dir.split('/').pop()!,
    experiment: exp.name,
    command: req.command,
    experimentFile: resolved.file,
    experimentSha256: resolved.sha256,
    ...(resolved.inputs.length ? { inputs: [...resolved.inputs] } : {}),
    ...(resolved.module ? { simulationModule: { ...resolved.module } } : {}),
    configHash: hash,
    seed: exp.seed,
    quick: resolved.overrides.quick,
    sets: [...resolved.overrides.sets],
    backend: engineInfo(req.backend),
    ...(shard ? { shard: { index: shard.index, count: shard.count } } : {}),
    ...provenance(),
    startedAt: new Date().toISOString(),
    points: { total, done: done.size },
  };
  store.writeManifest(manifest);

  // Points are never cut in the middle: a stop request (Ctrl-C) takes effect between points.
  const stop = req.stop;
  const label = shard ? `${exp.name} shard ${shard.index}/${shard.count}` : exp.name;
  // Each progress unit (a point, or one round of it) weighs its predicted cost, so the ETA follows the cost model.
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
  const pools = executorPools(req.backend.tfjs);
  const executor = pools.executor;
  let onnxRun: Promise<OnnxRun> | undefined;
  const onnx = () => (onnxRun ??= startOnnxRun());
  const context = { tf: req.backend.tf, now: io.now, backend: req.backend.name, executor, onnx };
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
    const todo = points
      .flatMap((point) => Array.from({ length: exp.replicates }, (_, r) => ({ point, replicate: r })))
      .filter((t) => !done.has(key(t.point.id, t.replicate)));
    const threads = pointThreads(resolved, req.jobs ?? 1);
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
        stop,
        onDone: record,
      });
    }
    // In this thread: every point of a timing simulation (round after round), or whatever the workers left (none, unless stopped).
    for (let round = 0; round < rounds.count; round++) {
      for (const { point, replicate: r } of todo) {
        if (done.has(key(point.id, r)) || stop?.aborted) continue;
        if (rounds.of(point.id, r)[round] === undefined) {
          const t0 = io.now();
          try {
            const { attach, files } = attachments(sim.kind);
            const rows = checkedRows(
              sim,
              await sim.run(
                { params: point.params, settings, replicate: r, ...rounds.point(round) },
                { rng: rngFor(exp.seed, point.id, r), ...context, setup, attach },
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
              {
                point: point.id,
                replicate: r,
                rows: [],
                ms: roundMs(io.now() - t0),
                error: (e as Error).message ?? String(e),
              },
              point,
            );
          }
        }
        const final = rounds.final(point.id, r);
        if (final) record(final, point);
        // Let the event loop run between points (Ctrl-C handlers, timers): synchronous points never yield otherwise.
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
  } finally {
    await pools.close();
    if (onnxRun) (await onnxRun).probe?.close();
  }

  const finish = {
    store,
    manifest,
    resolved,
    points,
    done,
    setup,
    outRoot,
    resumedFrom: unfinished ? manifest.points.done : 0,
    ...(busyAtStart !== undefined ? { busyAtStart } : {}),
  };
  return req.shard ? finishShard(finish) : finishRun(finish);
}
