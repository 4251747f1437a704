import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import type { TfjsBackend } from '../backend.js';

export interface OpResult {
  /** The op's output; moved, not copied, out of a worker. */
  data: Float32Array;
  /** Peak bytes the backend held during the op, above what it held before (0 unless profiled). */
  peakBytes: number;
}

/**
 * An experiment's kernels: `runOp` runs one op on inputs shared with the workers; `url` is the module that exports
 * this object as `kernels`, which each worker imports. The executor knows nothing of what the ops compute.
 */
export interface Kernels<I, A> {
  url: string;
  runOp(tfjs: typeof tf, inputs: I, args: A, profile: boolean): Promise<OpResult>;
}

/** Runs an experiment's ops, in this thread or in a pool of workers; `lane` picks the worker. */
export interface Executor<I = unknown, A = unknown> {
  readonly lanes: number;
  setInputs(x: I): Promise<void>;
  run(args: A, profile: boolean, lane: number): Promise<OpResult>;
  close(): Promise<void>;
}

/** Everything in the calling thread, one op after another (the reference, and 1-core machines). */
export function inlineExecutor<I, A>(kernels: Kernels<I, A>): Executor<I, A> {
  let inputs: I | undefined;
  return {
    lanes: 1,
    setInputs: async (x) => void (inputs = x),
    run: (args, profile) => kernels.runOp(tf, inputs!, args, profile),
    close: async () => {},
  };
}

/** A pool of worker threads, each with its own backend instance; inputs are shared, not copied. */
export async function workerExecutor<I, A>(
  kernels: Kernels<I, A>,
  backend: TfjsBackend,
  size = Math.min(2, availableParallelism()),
): Promise<Executor<I, A>> {
  if (size < 2) return inlineExecutor(kernels);
  const url = new URL('../../worker-boot.mjs', import.meta.url);
  const workers = Array.from(
    { length: size },
    () => new Worker(url, { workerData: { entry: 'engine/tfjs/worker', backend, kernels: kernels.url } }),
  );
  const pending = new Map<number, { resolve: (r: OpResult) => void; reject: (e: Error) => void }>();
  let next = 0;
  for (const w of workers) {
    w.on('message', (m: { id: number; result?: OpResult; error?: string }) => {
      const p = pending.get(m.id);
      pending.delete(m.id);
      if (m.error) p?.reject(new Error(m.error));
      else p?.resolve(m.result ?? { data: new Float32Array(0), peakBytes: 0 });
    });
    w.on('error', (e) => pending.forEach((p) => p.reject(e)));
  }
  const send = (w: Worker, msg: object) =>
    new Promise<OpResult>((resolve, reject) => {
      const id = next++;
      pending.set(id, { resolve, reject });
      w.postMessage({ id, ...msg });
    });
  return {
    lanes: size,
    setInputs: async (inputs) => void (await Promise.all(workers.map((w) => send(w, { type: 'inputs', inputs })))),
    run: (args, profile, lane) => send(workers[lane % size]!, { type: 'op', args, profile }),
    close: async () => void (await Promise.all(workers.map((w) => w.terminate()))),
  };
}

/** Worker pools by kernels module, each started on its first use and shared by all the points of a run. */
export function executorPools(backend: TfjsBackend) {
  const pools = new Map<string, Promise<Executor>>();
  return {
    executor<I, A>(kernels: Kernels<I, A>): Promise<Executor<I, A>> {
      if (!pools.has(kernels.url)) pools.set(kernels.url, workerExecutor(kernels, backend) as Promise<Executor>);
      return pools.get(kernels.url) as Promise<Executor<I, A>>;
    },
    close: async () => void (await Promise.all([...pools.values()].map(async (pool) => (await pool).close()))),
  };
}
