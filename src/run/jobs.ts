import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Point } from '../spec/grid.js';
import { isBuiltIn } from '../sim/registry.js';
import type { Row, SetupResult, Simulation } from '../sim/types.js';
import type { ModuleSource } from '../spec/plugin.js';
import type { TfjsBackend } from '../engine/backend.js';
import { roundMs, withFiles, type CheckpointEntry } from './store.js';

export interface JobsOptions {
  jobs: number;
  kind: string;
  /** The simulation's module (user simulations): each worker loads it, checking its hash. */
  module?: ModuleSource;
  backend: TfjsBackend;
  seed: number;
  settings: Record<string, unknown>;
  setup: SetupResult;
  todo: { point: Point; replicate: number }[];
  /** No new point is handed out once this aborts; points in flight finish. */
  stop?: AbortSignal | undefined;
  /** Called in the main thread as each point finishes, in completion order. */
  onDone: (entry: CheckpointEntry, point: Point) => void;
}

/**
 * What a worker thread costs to start: tsx, every simulation's modules and the tfjs backend, about 1.9 s of CPU on a
 * 2-core AMD EPYC (Zen 3) against a qk-variance --quick run's 0.3 s of work. Without --jobs, a run gets one worker per
 * this much predicted work (at most one per core), and runs in this thread below it.
 */
export const WORKER_START_MS = 1000;

/** `--jobs`: a number of worker threads, or `auto` (the default: the cores the predicted work pays for). */
export type Jobs = number | 'auto';

/**
 * Threads a simulation's points share: `jobs` for Monte Carlo kinds that a worker can load (built-in, or from the
 * user's module), 1 for timing kinds (never beside other work) and for kinds registered in this process only. `auto`
 * gives one thread per WORKER_START_MS of `predictedMs` (the cost model's), from 1 to the number of cores.
 */
export function pointThreads(
  r: { sim: Pick<Simulation, 'kind' | 'timing'>; module?: ModuleSource | undefined },
  jobs: Jobs,
  predictedMs: number,
): number {
  if (r.sim.timing || !(isBuiltIn(r.sim.kind) || r.module !== undefined)) return 1;
  if (jobs !== 'auto') return jobs;
  return Math.max(1, Math.min(availableParallelism(), Math.floor(predictedMs / WORKER_START_MS)));
}

/**
 * Run Monte Carlo points in `jobs` worker threads. Each point's generator is seeded from
 * (seed, point id, replicate), so results do not depend on which worker ran it or when.
 */
export async function runInWorkers(o: JobsOptions): Promise<void> {
  const url = new URL('../worker-boot.mjs', import.meta.url);
  const data = {
    entry: 'run/point-worker',
    kind: o.kind,
    module: o.module,
    backend: o.backend,
    seed: o.seed,
    settings: o.settings,
    setup: o.setup,
  };
  const workers = Array.from({ length: Math.min(o.jobs, o.todo.length) }, () => new Worker(url, { workerData: data }));
  let next = 0;
  try {
    await Promise.all(
      workers.map(async (w) => {
        while (next < o.todo.length && !o.stop?.aborted) {
          const job = o.todo[next++]!;
          const reply = await new Promise<{ rows?: Row[]; files?: Record<string, string>; error?: string; ms: number }>(
            (resolve, reject) => {
              w.once('message', resolve);
              w.once('error', reject);
              w.postMessage({ id: next, point: job.point.id, params: job.point.params, replicate: job.replicate });
            },
          );
          w.removeAllListeners('error');
          const entry: CheckpointEntry = withFiles(
            {
              point: job.point.id,
              replicate: job.replicate,
              rows: reply.rows ?? [],
              ms: roundMs(reply.ms),
              ...(reply.error !== undefined ? { error: reply.error } : {}),
            },
            reply.files ?? {},
          );
          o.onDone(entry, job.point);
        }
      }),
    );
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
