/**
 * Attention kernels on the tfjs backend, each over a range of query (or key) rows so that
 * row blocks can run in separate workers. Inputs are shared, row-major Float32Arrays;
 * K arrives transposed (D×N) because matMul(a, b, false, true) is ~10× slower on wasm.
 *
 *   softmax:   softmax(Q·Kᵀ/√D) V                  one rows×N score matrix per call
 *   direct:    normalize((Q·Kᵀ/√D + 1)²) V          the quadratic kernel in N² form (reference)
 *   state:     S = φ(K)ᵀ [V | 1]                    F×(M+1), accumulated over row chunks
 *   apply:     φ(Q) S, numerator / last column      the linear form
 *   causal:    chunked prefix sums S_i, Z_i          quadratic kernel, carry-in state
 */
import type * as tfc from '@tensorflow/tfjs-core';
import { featureCount, featurize, type FeatureMap } from './features.js';

type TF = typeof tfc;

export interface SharedInputs {
  q: Float32Array;
  /** Kᵀ, D×N. */
  kT: Float32Array;
  k: Float32Array;
  v: Float32Array;
  n: number;
  d: number;
  m: number;
}

/** One op over rows [lo, hi). */
export type OpArgs =
  | { op: 'softmax' | 'direct'; lo: number; hi: number; causal: boolean }
  | { op: 'state'; lo: number; hi: number; map: FeatureMap; chunk: number }
  | { op: 'apply'; lo: number; hi: number; map: FeatureMap; chunk: number; state: Float32Array }
  | { op: 'causal'; lo: number; hi: number; chunk: number; carry: Float32Array | null };

export interface OpResult {
  /** Output rows (hi−lo)×M, or the state F×(M+1) for 'state'. */
  data: Float32Array;
  /** Peak bytes the backend held during the op, above what it held before (0 unless profiled). */
  peakBytes: number;
}

/** [V | 1] for rows [lo, hi): the extra column accumulates the normalizer Z. */
function withOnes(v: Float32Array, m: number, lo: number, hi: number): Float32Array {
  const out = new Float32Array((hi - lo) * (m + 1));
  for (let i = lo; i < hi; i++) {
    out.set(v.subarray(i * m, (i + 1) * m), (i - lo) * (m + 1));
    out[(i - lo) * (m + 1) + m] = 1;
  }
  return out;
}

/** Numerator columns divided by the normalizer column, into out rows. */
function normalize(num: Float32Array, m: number, out: Float32Array, row0: number): void {
  const rows = num.length / (m + 1);
  for (let i = 0; i < rows; i++) {
    const z = num[i * (m + 1) + m]!;
    for (let c = 0; c < m; c++) out[(row0 + i) * m + c] = num[i * (m + 1) + c]! / z;
  }
}

function scores(tf: TF, x: SharedInputs, lo: number, hi: number): tfc.Tensor2D {
  const q = tf.tensor2d(x.q.subarray(lo * x.d, hi * x.d), [hi - lo, x.d]);
  return tf.matMul(tf.mul(q, 1 / Math.sqrt(x.d)), tf.tensor2d(x.kT, [x.d, x.n]));
}

/** Key column j > query row i: masked in causal attention. */
function futureMask(tf: TF, lo: number, hi: number, n: number): tfc.Tensor {
  return tf.greater(tf.reshape(tf.range(0, n, 1, 'int32'), [1, n]), tf.reshape(tf.range(lo, hi, 1, 'int32'), [hi - lo, 1]));
}

/** Build a tensor in a tidy scope and read it out. (Returning the array from tidy itself would make tidy walk every element.) */
function read(tf: TF, f: () => tfc.Tensor): Float32Array {
  const t = tf.tidy(f);
  const data = t.dataSync() as Float32Array;
  t.dispose();
  return data;
}

type Op<K extends OpArgs['op']> = Extract<OpArgs, { op: K }>;

function rowsOp(tf: TF, x: SharedInputs, a: Op<'softmax' | 'direct'>): Float32Array {
  return read(tf, () => {
    let s: tfc.Tensor = scores(tf, x, a.lo, a.hi);
    const v = tf.tensor2d(x.v, [x.n, x.m]);
    if (a.op === 'softmax') {
      if (a.causal) s = tf.where(futureMask(tf, a.lo, a.hi, x.n), tf.scalar(-Infinity), s);
      return tf.matMul(tf.softmax(s as tfc.Tensor2D), v);
    }
    let w = tf.square(tf.add(s, 1));
    if (a.causal) w = tf.where(futureMask(tf, a.lo, a.hi, x.n), tf.scalar(0), w);
    return tf.div(tf.matMul(w as tfc.Tensor2D, v), tf.sum(w, 1, true));
  });
}

function stateOp(tf: TF, x: SharedInputs, a: Op<'state'>): Float32Array {
  const { d, m } = x;
  const f = featureCount(a.map, d);
  let state = tf.zeros([f, m + 1]);
  for (let c = a.lo; c < a.hi; c += a.chunk) {
    const e = Math.min(a.hi, c + a.chunk);
    const phiT = new Float32Array(f * (e - c));
    featurize(a.map, x.k, d, c, e, phiT, true);
    const next = tf.tidy(() => tf.add(state, tf.matMul(tf.tensor2d(phiT, [f, e - c]), tf.tensor2d(withOnes(x.v, m, c, e), [e - c, m + 1]))));
    state.dispose();
    state = next;
  }
  const out = state.dataSync() as Float32Array;
  state.dispose();
  return out;
}

function applyOp(tf: TF, x: SharedInputs, a: Op<'apply'>): Float32Array {
  const { d, m } = x;
  const f = featureCount(a.map, d);
  const out = new Float32Array((a.hi - a.lo) * m);
  const s = tf.tensor2d(a.state, [f, m + 1]);
  for (let c = a.lo; c < a.hi; c += a.chunk) {
    const e = Math.min(a.hi, c + a.chunk);
    const phi = new Float32Array(f * (e - c));
    featurize(a.map, x.q, d, c, e, phi, false);
    normalize(read(tf, () => tf.matMul(tf.tensor2d(phi, [e - c, f]), s)), m, out, c - a.lo);
  }
  s.dispose();
  return out;
}

/** Causal quadratic kernel: inter-chunk φ(Q_c)·S_{<c} from carried prefix sums, intra-chunk in N² form under a mask. */
function causalOp(tf: TF, x: SharedInputs, a: Op<'causal'>): Float32Array {
  const { d, m } = x;
  const quad: FeatureMap = { kind: 'quadratic' };
  const f = featureCount(quad, d);
  const out = new Float32Array((a.hi - a.lo) * m);
  let state = a.carry ? tf.tensor2d(a.carry, [f, m + 1]) : tf.zeros([f, m + 1]);
  const mask = tf.linalg.bandPart(tf.ones([a.chunk, a.chunk]), -1, 0);
  for (let c = a.lo; c < a.hi; c += a.chunk) {
    const e = Math.min(a.hi, c + a.chunk);
    const r = e - c;
    const phiQ = new Float32Array(f * r);
    const phiKT = new Float32Array(f * r);
    featurize(quad, x.q, d, c, e, phiQ, false);
    featurize(quad, x.k, d, c, e, phiKT, true);
    const kT = new Float32Array(d * r);
    for (let i = 0; i < r; i++) for (let j = 0; j < d; j++) kT[j * r + i] = x.k[(c + i) * d + j]!;
    const vx = withOnes(x.v, m, c, e);
    const num = read(tf, () => {
      const q = tf.mul(tf.tensor2d(x.q.subarray(c * d, e * d), [r, d]), 1 / Math.sqrt(d));
      const keep = r === a.chunk ? mask : tf.slice(mask, [0, 0], [r, r]);
      const w = tf.mul(tf.square(tf.add(tf.matMul(q, tf.tensor2d(kT, [d, r])), 1)), keep) as tfc.Tensor2D;
      const vt = tf.tensor2d(vx, [r, m + 1]);
      return tf.add(tf.matMul(tf.tensor2d(phiQ, [r, f]), state as tfc.Tensor2D), tf.matMul(w, vt));
    });
    normalize(num, m, out, c - a.lo);
    const next = tf.tidy(() => tf.add(state, tf.matMul(tf.tensor2d(phiKT, [f, r]), tf.tensor2d(vx, [r, m + 1]))));
    state.dispose();
    state = next;
  }
  mask.dispose();
  state.dispose();
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

/** Run one op; with `profile`, also report the backend's peak bytes during it (tf.profile). */
export async function runOp(tf: TF, x: SharedInputs, a: OpArgs, profile: boolean): Promise<OpResult> {
  if (!profile) return { data: runSync(tf, x, a), peakBytes: 0 };
  const before = tf.memory().numBytes;
  let data: Float32Array = new Float32Array(0);
  const info = await tf.profile(() => {
    data = runSync(tf, x, a);
    return [];
  });
  return { data, peakBytes: info.peakBytes - before };
}
