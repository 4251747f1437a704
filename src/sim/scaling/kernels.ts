/**
 * Scaling's attention kernels on the tfjs backend (an op's output: rows (hi−lo)×M, or for 'state' S (F×M) then z (F)),
 * each over a range of query (or key) rows so that row blocks can run in separate workers. Inputs are shared, row-major
 * Float32Arrays; K arrives transposed (D×N) because matMul(a, b, false, true) is ~10× slower on wasm.
 *
 *   softmax:   softmax(Q·Kᵀ/√D) V                  one rows×N score matrix per call
 *   direct:    normalize((Q·Kᵀ/√D + 1)²) V          the quadratic kernel in N² form (reference)
 *   state:     S = φ(K)ᵀV (F×M) and z = φ(K)ᵀ1 (F), accumulated over row chunks
 *   apply:     φ(Q)S / φ(Q)z                        the linear form
 *   causal:    chunked prefix sums S_i, Z_i          quadratic kernel, carry-in state
 *
 * A state travels as one Float32Array: S row-major, then z. Keeping z out of S keeps the
 * products M wide (multiples of 8 run ~15% faster on XNNPACK than M+1).
 */
import type * as tfc from '@tensorflow/tfjs-core';
import { featureCount, featurize, type FeatureMap } from './features.js';
import type { AttentionInputs } from './reference.js';
import type { Kernels, OpResult } from '../../engine/tfjs/executor.js';
import type { NormalRng } from '../../random/normal.js';

type TF = typeof tfc;

/** The inputs (in shared memory, for the workers) with Kᵀ, D×N, beside them. */
export interface SharedInputs extends AttentionInputs {
  kT: Float32Array;
}

/** One op over rows [lo, hi). */
export type OpArgs =
  | { op: 'softmax' | 'direct'; lo: number; hi: number; causal: boolean }
  | { op: 'state'; lo: number; hi: number; map: FeatureMap; chunk: number }
  | { op: 'apply'; lo: number; hi: number; map: FeatureMap; chunk: number; state: Float32Array }
  | { op: 'causal'; lo: number; hi: number; chunk: number; carry: Float32Array | null };

/**
 * Causal masks for query rows [lo, hi) over n keys, built once per worker (the broadcast
 * greater/where ops take ~15× longer on wasm): 'bias' is 0 where key j ≤ row i and −∞ after
 * (added to scores), 'keep' is 1 and 0 (multiplied with kernel weights).
 */
const masks = new Map<string, Float32Array>();
function causalMask(lo: number, hi: number, n: number, form: 'bias' | 'keep'): Float32Array {
  const key = `${lo}:${hi}:${n}:${form}`;
  let mask = masks.get(key);
  if (!mask) {
    mask = new Float32Array((hi - lo) * n);
    for (let i = 0; i < hi - lo; i++) {
      if (form === 'bias') mask.fill(-Infinity, i * n + lo + i + 1, (i + 1) * n);
      else mask.fill(1, i * n, i * n + lo + i + 1);
    }
    masks.set(key, mask);
  }
  return mask;
}

/**
 * φ of rows [lo, hi) of x, transposed (F × rows, for φ(K)ᵀV) or row-major (rows × F, for φ(Q)S; the large
 * operand is the left one, since XNNPACK repacks the right one on every call), filled by the JS feature loops.
 */
function features(
  tf: TF,
  map: FeatureMap,
  x: Float32Array,
  d: number,
  lo: number,
  hi: number,
  transposed: boolean,
): tfc.Tensor2D {
  const f = featureCount(map, d);
  const rows = hi - lo;
  const values = new Float32Array(f * rows);
  featurize(map, x, d, lo, hi, values, transposed);
  return tf.tensor2d(values, transposed ? [f, rows] : [rows, f]);
}

/** out rows = numerator rows / denominator. */
function divide(num: Float32Array, den: Float32Array, m: number, out: Float32Array, row0: number): void {
  for (let i = 0; i < den.length; i++) {
    const z = den[i]!;
    for (let c = 0; c < m; c++) out[(row0 + i) * m + c] = num[i * m + c]! / z;
  }
}

function scores(tf: TF, x: SharedInputs, lo: number, hi: number): tfc.Tensor2D {
  const q = tf.tensor2d(x.q.subarray(lo * x.d, hi * x.d), [hi - lo, x.d]);
  return tf.matMul(tf.mul(q, 1 / Math.sqrt(x.d)), tf.tensor2d(x.kT, [x.d, x.n]));
}

/**
 * Build a tensor in a tidy scope and read it out. (Returning the array from tidy itself would make tidy walk every
 * element.)
 */
function read(tf: TF, f: () => tfc.Tensor): Float32Array {
  const t = tf.tidy(f);
  const data = t.dataSync() as Float32Array;
  t.dispose();
  return data;
}

type Op<K extends OpArgs['op']> = Extract<OpArgs, { op: K }>;

function rowsOp(tf: TF, x: SharedInputs, a: Op<'softmax' | 'direct'>): Float32Array {
  return read(tf, () => {
    const s = scores(tf, x, a.lo, a.hi);
    const v = tf.tensor2d(x.v, [x.n, x.m]);
    const shape: [number, number] = [a.hi - a.lo, x.n];
    if (a.op === 'softmax') {
      const masked = a.causal ? tf.add(s, tf.tensor2d(causalMask(a.lo, a.hi, x.n, 'bias'), shape)) : s;
      return tf.matMul(tf.softmax(masked as tfc.Tensor2D) as tfc.Tensor2D, v);
    }
    let w = tf.square(tf.add(s, 1));
    if (a.causal) w = tf.mul(w, tf.tensor2d(causalMask(a.lo, a.hi, x.n, 'keep'), shape));
    return tf.div(tf.matMul(w as tfc.Tensor2D, v), tf.sum(w, 1, true));
  });
}

/** Add φ(K_c)ᵀV_c and φ(K_c)ᵀ1 for rows [c, e) to (s, z), or start them when null; returns the new pair. */
function accumulate(
  tf: TF,
  x: SharedInputs,
  map: FeatureMap,
  c: number,
  e: number,
  s: tfc.Tensor | null,
  z: tfc.Tensor | null,
): [tfc.Tensor, tfc.Tensor] {
  return tf.tidy(() => {
    const phiT = features(tf, map, x.k, x.d, c, e, true);
    const v = tf.tensor2d(x.v.subarray(c * x.m, e * x.m), [e - c, x.m]);
    const ds = tf.matMul(phiT, v);
    const dz = tf.sum(phiT, 1, true);
    return s && z ? [tf.add(s, ds), tf.add(z, dz)] : [ds, dz];
  });
}

function stateOp(tf: TF, x: SharedInputs, a: Op<'state'>): Float32Array {
  const f = featureCount(a.map, x.d);
  let s: tfc.Tensor | null = null;
  let z: tfc.Tensor | null = null;
  for (let c = a.lo; c < a.hi; c += a.chunk) {
    const [s2, z2] = accumulate(tf, x, a.map, c, Math.min(a.hi, c + a.chunk), s, z);
    if (s && z) tf.dispose([s, z]);
    [s, z] = [s2, z2];
  }
  if (!s || !z) return new Float32Array(f * x.m + f);
  const out = new Float32Array(f * x.m + f);
  out.set(s.dataSync() as Float32Array);
  out.set(z.dataSync() as Float32Array, f * x.m);
  tf.dispose([s, z]);
  return out;
}

function applyOp(tf: TF, x: SharedInputs, a: Op<'apply'>): Float32Array {
  const { d, m } = x;
  const f = featureCount(a.map, d);
  const out = new Float32Array((a.hi - a.lo) * m);
  const s = tf.tensor2d(a.state.subarray(0, f * m), [f, m]);
  const z = tf.tensor2d(a.state.subarray(f * m), [f, 1]);
  for (let c = a.lo; c < a.hi; c += a.chunk) {
    const e = Math.min(a.hi, c + a.chunk);
    const phi = features(tf, a.map, x.q, d, c, e, false);
    divide(
      read(tf, () => tf.matMul(phi, s)),
      read(tf, () => tf.matMul(phi, z)),
      m,
      out,
      c - a.lo,
    );
    phi.dispose();
  }
  tf.dispose([s, z]);
  return out;
}

/**
 * Causal quadratic kernel: inter-chunk φ(Q_c)·(S, z)_{<c} from carried prefix sums, intra-chunk in N² form under a
 * mask.
 */
function causalOp(tf: TF, x: SharedInputs, a: Op<'causal'>): Float32Array {
  const { d, m } = x;
  const quad: FeatureMap = { kind: 'quadratic' };
  const f = featureCount(quad, d);
  const out = new Float32Array((a.hi - a.lo) * m);
  let s: tfc.Tensor = a.carry ? tf.tensor2d(a.carry.subarray(0, f * m), [f, m]) : tf.zeros([f, m]);
  let z: tfc.Tensor = a.carry ? tf.tensor2d(a.carry.subarray(f * m), [f, 1]) : tf.zeros([f, 1]);
  const lower = tf.tensor2d(causalMask(0, a.chunk, a.chunk, 'keep'), [a.chunk, a.chunk]);
  for (let c = a.lo; c < a.hi; c += a.chunk) {
    const e = Math.min(a.hi, c + a.chunk);
    const r = e - c;
    const kT = new Float32Array(d * r);
    for (let i = 0; i < r; i++) for (let j = 0; j < d; j++) kT[j * r + i] = x.k[(c + i) * d + j]!;
    const [num, den] = tf.tidy(() => {
      const phiQ = features(tf, quad, x.q, d, c, e, false);
      const q = tf.mul(tf.tensor2d(x.q.subarray(c * d, e * d), [r, d]), 1 / Math.sqrt(d)) as tfc.Tensor2D;
      const keep = r === a.chunk ? lower : tf.slice(lower, [0, 0], [r, r]);
      const w = tf.mul(tf.square(tf.add(tf.matMul(q, tf.tensor2d(kT, [d, r])), 1)), keep) as tfc.Tensor2D;
      const v = tf.tensor2d(x.v.subarray(c * m, e * m), [r, m]);
      return [
        tf.add(tf.matMul(phiQ, s as tfc.Tensor2D), tf.matMul(w, v)),
        tf.add(tf.matMul(phiQ, z as tfc.Tensor2D), tf.sum(w, 1, true)),
      ];
    });
    divide(num.dataSync() as Float32Array, den.dataSync() as Float32Array, m, out, c - a.lo);
    tf.dispose([num, den]);
    const [s2, z2] = accumulate(tf, x, quad, c, e, s, z);
    tf.dispose([s, z]);
    [s, z] = [s2, z2];
  }
  tf.dispose([lower, s, z]);
  return out;
}

function runSync(tf: TF, x: SharedInputs, a: OpArgs): Float32Array {
  switch (a.op) {
    case 'softmax':
    case 'direct':
      return rowsOp(tf, x, a);
    case 'state':
      return stateOp(tf, x, a);
    case 'apply':
      return applyOp(tf, x, a);
    case 'causal':
      return causalOp(tf, x, a);
  }
}

/** Run one op; with `profile`, also report its peak bytes on the backend (tf.profile). */
export async function runOp(tf: TF, x: SharedInputs, a: OpArgs, profile: boolean): Promise<OpResult> {
  if (!profile) return { data: runSync(tf, x, a), peakBytes: 0 };
  const before = tf.memory().numBytes;
  let data: Float32Array = new Float32Array(0);
  const info = await tf.profile(() => {
    data = runSync(tf, x, a);
    return [];
  });
  return { data, peakBytes: Number.isFinite(info.peakBytes) ? Math.max(0, info.peakBytes - before) : 0 };
}

/** The kernels the tfjs executor runs for scaling, in this thread or in each of its workers (imported from `url`). */
export const kernels: Kernels<SharedInputs, OpArgs> = { url: import.meta.url, runOp };

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
