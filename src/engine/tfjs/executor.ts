import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { runOp, type OpArgs, type OpResult, type SharedInputs } from './attention.js';
import type { TfjsBackend } from '../backend.js';
import type { NormalRng } from '../../random/normal.js';

/** Runs attention ops, in this thread or in a pool of workers; `lane` picks the worker. */
export interface Executor {
  readonly lanes: number;
  setInputs(x: SharedInputs): Promise<void>;
  run(args: OpArgs, profile: boolean, lane: number): Promise<OpResult>;
  close(): Promise<void>;
}

/** Everything in the calling thread, one op after another (the reference, and 1-core machines). */
export function inlineExecutor(): Executor {
  let inputs: SharedInputs | undefined;
  return {
    lanes: 1,
    setInputs: async (x) => void (inputs = x),
    run: (args, profile) => runOp(tf, inputs!, args, profile),
    close: async () => {},
  };
}

/** A pool of worker threads, each with its own backend instance; inputs are shared, not copied. */
export async function workerExecutor(
  backend: TfjsBackend,
  size = Math.min(2, availableParallelism()),
): Promise<Executor> {
  if (size < 2) return inlineExecutor();
  const url = new URL('../../worker-boot.mjs', import.meta.url);
  const workers = Array.from(
    { length: size },
    () => new Worker(url, { workerData: { entry: 'engine/tfjs/worker', backend } }),
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

/** A Float32Array over shared memory, so workers read it without a copy. */
export function sharedFloats(length: number): Float32Array {
  return new Float32Array(new SharedArrayBuffer(length * 4));
}

/** Q, K, V ~ N(0, 1) (N×D, N×D, N×M) in shared memory, and Kᵀ (D×N, the layout the backend multiplies fastest). */
export function randomInputs(rng: NormalRng, n: number, d: number, m: number): SharedInputs {
  const q = sharedFloats(n * d);
  const k = sharedFloats(n * d);
  const v = sharedFloats(n * m);
  rng.fill(q);
  rng.fill(k);
  rng.fill(v);
  const kT = sharedFloats(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) kT[j * n + i] = k[i * d + j]!;
  return { q, k, v, kT, n, d, m };
}
