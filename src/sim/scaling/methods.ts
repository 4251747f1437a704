/**
 * The attention methods of the scaling experiment on the tfjs engines, as orchestrations of row-block ops.
 * Rows always split into the same two halves, whatever the number of workers, so outputs
 * (and their rounding) do not depend on the machine; the halves run in parallel when
 * the executor has two workers.
 */
import { msg } from '../../messages.js';
import type { OpArgs, SharedInputs } from './kernels.js';
import type { Executor } from '../../engine/tfjs/executor.js';
import type { FeatureMap } from './features.js';

export const METHODS = [
  'softmax',
  'flash',
  'quadratic-kernel',
  'quadratic-kernel-direct',
  'rff',
  'rff-homework',
  'favor',
] as const;
export type Method = (typeof METHODS)[number];

export interface MethodCall {
  method: Method;
  causal: boolean;
  /** Feature map for the linear methods (quadratic, Fourier or positive). */
  map: FeatureMap;
  n: number;
  d: number;
  m: number;
  /** Row chunk of the linear forms (bounds φ's memory). */
  chunk: number;
  /** Row chunk of the causal linear form (prefix sums carried between chunks). */
  causalChunk: number;
}

export interface MethodResult {
  out: Float32Array;
  /** Largest sum of the backend peaks of ops running at the same time. */
  peakBytes: number;
}

const HALVES = 2;

export async function runMethod(
  exec: Executor<SharedInputs, OpArgs>,
  c: MethodCall,
  profile: boolean,
): Promise<MethodResult> {
  const half = Math.ceil(c.n / HALVES);
  const ranges = Array.from({ length: HALVES }, (_, h) => ({ lo: h * half, hi: Math.min(c.n, (h + 1) * half) }));
  const out = new Float32Array(c.n * c.m);
  const phase = async (args: OpArgs[]) => {
    const results = await Promise.all(args.map((a, i) => exec.run(a, profile, i)));
    return { results, peak: results.reduce((s, r) => s + r.peakBytes, 0) };
  };
  const place = (datas: Float32Array[]) => datas.forEach((d, i) => out.set(d, ranges[i]!.lo * c.m));

  if (c.method === 'softmax' || c.method === 'quadratic-kernel-direct') {
    const op = c.method === 'softmax' ? 'softmax' : 'direct';
    const p = await phase(ranges.map((r) => ({ op, ...r, causal: c.causal })));
    place(p.results.map((r) => r.data));
    return { out, peakBytes: p.peak };
  }
  if (c.causal) {
    if (c.method !== 'quadratic-kernel') throw new Error(msg.causalNotImplemented(c.method));
    // Lane 0 scans the first half; lane 1 first sums the first half's state, then scans the second half from it.
    const [first, second] = ranges as [(typeof ranges)[0], (typeof ranges)[0]];
    const [a, b] = await Promise.all([
      exec.run({ op: 'causal', ...first, chunk: c.causalChunk, carry: null }, profile, 0),
      (async () => {
        const carry = await exec.run({ op: 'state', ...first, map: c.map, chunk: c.chunk }, profile, 1);
        const rest = await exec.run({ op: 'causal', ...second, chunk: c.causalChunk, carry: carry.data }, profile, 1);
        return { data: rest.data, peakBytes: Math.max(carry.peakBytes, rest.peakBytes) };
      })(),
    ]);
    place([a.data, b.data]);
    return { out, peakBytes: a.peakBytes + b.peakBytes };
  }
  const states = await phase(ranges.map((r) => ({ op: 'state', ...r, map: c.map, chunk: c.chunk })));
  // Sum the halves' states in a fixed order: the same bits with one lane or two.
  const state = states.results[0]!.data.slice();
  for (const r of states.results.slice(1)) for (let i = 0; i < state.length; i++) state[i] = state[i]! + r.data[i]!;
  const applied = await phase(ranges.map((r) => ({ op: 'apply', ...r, map: c.map, chunk: c.chunk, state })));
  place(applied.results.map((r) => r.data));
  return { out, peakBytes: Math.max(states.peak, applied.peak) };
}
