/**
 * Attention kernels on the tfjs backend, each over a range of query (or key) rows so that
 * row blocks can run in separate workers. Inputs are shared, row-major Float32Arrays;
 * K arrives transposed (D×N) because matMul(a, b, false, true) is ~10× slower on wasm.
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
import { featureCount, featurize, quadraticPairs, quadraticTable, quadraticTableRows, type FeatureMap } from './features.js';
import { pairsKernels } from './simd.js';
import { gemmBlocked, kernelsFor } from './simd-kernels.js';
import { linearApply, linearKernelFits, linearState } from './linear-kernel.js';
import { softmaxAttention, softmaxKernelFits } from './softmax-kernel.js';

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
  | { op: 'causal'; lo: number; hi: number; chunk: number; carry: Float32Array | null }
  | { op: 'linear'; lo: number; hi: number; map: FeatureMap; chunk: number; exchange: Exchange };

/**
 * The fused linear form across lanes: each lane publishes its partial state (over its own key
 * rows) in shared memory, waits for the others, sums all partials in lane order (the same
 * float32 sum as the two-phase path) and applies it to its query rows. One message per lane
 * instead of two round trips through the main thread.
 */
export interface Exchange {
  lane: number;
  lanes: number;
  /** Int32 flags (one per lane) followed by lanes × state floats. */
  buffer: SharedArrayBuffer;
}

const BARRIER_TIMEOUT_MS = 120_000;
const SPIN_MS = 2;

export function exchangeBuffer(lanes: number, stateLength: number): SharedArrayBuffer {
  return new SharedArrayBuffer(4 * lanes + 4 * lanes * stateLength);
}

function exchangeState(ex: Exchange, partial: Float32Array): Float32Array {
  const flags = new Int32Array(ex.buffer, 0, ex.lanes);
  const slot = (l: number) => new Float32Array(ex.buffer, 4 * ex.lanes + 4 * l * partial.length, partial.length);
  slot(ex.lane).set(partial);
  Atomics.store(flags, ex.lane, 1);
  Atomics.notify(flags, ex.lane);
  for (let l = 0; l < ex.lanes; l++) {
    // Spin a little before sleeping, as OpenMP runtimes do: waking a sleeping thread costs about 0.1 ms on a VM.
    const spinUntil = performance.now() + SPIN_MS;
    while (Atomics.load(flags, l) === 0 && performance.now() < spinUntil);
    if (Atomics.wait(flags, l, 0, BARRIER_TIMEOUT_MS) === 'timed-out') throw new Error(`lane ${ex.lane}: lane ${l} never published its state`);
  }
  const total = slot(0).slice();
  for (let l = 1; l < ex.lanes; l++) {
    const s = slot(l);
    for (let i = 0; i < total.length; i++) total[i] = total[i]! + s[i]!;
  }
  return total;
}

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

export interface OpResult {
  /** Output rows (hi−lo)×M, or for 'state' S (F×M) followed by z (F). */
  data: Float32Array;
  /** Peak bytes the backend held during the op, above what it held before (0 unless profiled). */
  peakBytes: number;
}

/**
 * A tensor whose values are written by `fill`. On wasm the values go straight into the
 * backend's heap (no copy of the largest buffer, φ); elsewhere through tf.tensor.
 */
function writeTensor(tf: TF, shape: [number, number], fill: (out: Float32Array) => void): tfc.Tensor2D {
  const b = tf.backend() as unknown as {
    makeOutput?: (shape: number[], dtype: 'float32') => tfc.TensorInfo;
    typedArrayFromHeap?: (t: tfc.TensorInfo) => Float32Array;
  };
  if (tf.getBackend() === 'wasm' && b.makeOutput && b.typedArrayFromHeap) {
    const info = b.makeOutput(shape, 'float32');
    // The view is valid until the heap next grows; fill allocates nothing on the backend.
    fill(b.typedArrayFromHeap(info));
    return tf.engine().makeTensorFromTensorInfo(info) as tfc.Tensor2D;
  }
  const values = new Float32Array(shape[0] * shape[1]);
  fill(values);
  return tf.tensor2d(values, shape);
}

interface WasmBackendInternals {
  wasm: { asm: { memory: WebAssembly.Memory } };
  dataIdMap: { get(id: object): { memoryOffset: number } | undefined };
}

type WasmBackend = WasmBackendInternals & { makeOutput(shape: number[], dtype: 'float32'): tfc.TensorInfo };

/**
 * A·B. On wasm, when B's columns come in whole tiles of 8, the FMA gemm of simd-kernels.ts runs on the
 * tensors where they lie in the backend's heap (about 1.4× XNNPACK's products); A's last rows past a
 * whole tile of 4 go through a 4-row scratch. Elsewhere tf.matMul. Every attention form uses it, so
 * their times compare the same products.
 */
function matMul(tf: TF, a: tfc.Tensor2D, b: tfc.Tensor2D): tfc.Tensor2D {
  const [r, k] = a.shape;
  const c = b.shape[1];
  if (tf.getBackend() !== 'wasm' || c % 8 !== 0 || k !== b.shape[0]) return tf.matMul(a, b);
  const be = tf.backend() as unknown as WasmBackend;
  const at = (id: object) => be.dataIdMap.get(id)!.memoryOffset;
  const memory = be.wasm.asm.memory;
  const kernels = kernelsFor(memory);
  const product = (aAt: number, cAt: number, tiles: number) => gemmBlocked(kernels, aAt, 4 * k, at(b.dataId), 4 * c, 32, k, cAt, 4 * c, tiles, c / 8);
  const out = be.makeOutput([r, c], 'float32');
  const whole = Math.floor(r / 4);
  if (whole) product(at(a.dataId), at(out.dataId), whole);
  const tail = r - 4 * whole;
  if (tail) {
    const [sa, so] = [tf.zeros([4, k]), tf.zeros([4, c])];
    const heap = new Float32Array(memory.buffer); // after every allocation: the heap may have grown
    const [aAt, saAt, soAt, outAt] = [at(a.dataId), at(sa.dataId), at(so.dataId), at(out.dataId)].map((x) => x / 4) as [number, number, number, number];
    heap.copyWithin(saAt, aAt + 4 * whole * k, aAt + r * k);
    product(4 * saAt, 4 * soAt, 1);
    heap.copyWithin(outAt + 4 * whole * c, soAt, soAt + tail * c);
    tf.dispose([sa, so]);
  }
  return tf.engine().makeTensorFromTensorInfo(out) as tfc.Tensor2D;
}

/** Per-worker int32 tensors of the quadratic pair lists (C×2): table row indices, and byte offsets within a row. */
const pairTensors = new Map<string, tfc.Tensor>();
function pairTensor(tf: TF, d: number, bytes: boolean): tfc.Tensor {
  const key = `${d}:${bytes}`;
  let t = pairTensors.get(key);
  if (!t) {
    const p = quadraticPairs(d);
    t = tf.keep(tf.tensor2d(bytes ? p.map((v) => 4 * v) : p, [p.length / 2, 2], 'int32'));
    pairTensors.set(key, t);
  }
  return t;
}

/**
 * φ of rows [lo, hi) of x, transposed (F × rows, for φ(K)ᵀV) or row-major (rows × F, for φ(Q)S;
 * the large operand must be the left one, since XNNPACK repacks the right one on every call).
 * The quadratic map on wasm runs the pairs kernels inside the backend's heap; every other case
 * fills the tensor from the JS feature loops. Both compute the same float32 products.
 */
function features(tf: TF, map: FeatureMap, x: Float32Array, d: number, lo: number, hi: number, transposed: boolean): tfc.Tensor2D {
  const f = featureCount(map, d);
  const rows = hi - lo;
  const shape: [number, number] = transposed ? [f, rows] : [rows, f];
  if (map.kind !== 'quadratic' || tf.getBackend() !== 'wasm') return writeTensor(tf, shape, (out) => featurize(map, x, d, lo, hi, out, transposed));
  const b = tf.backend() as unknown as WasmBackend;
  const at = (id: object) => b.dataIdMap.get(id)!.memoryOffset;
  const kernels = pairsKernels(b.wasm.asm.memory);
  const pairs = pairTensor(tf, d, !transposed);
  const table = transposed
    ? tf.tensor2d(quadraticTable(x, d, lo, hi), [2 * d + 1, rows])
    : tf.tensor2d(quadraticTableRows(x, d, lo, hi), [rows, 2 * d + 1]);
  const out = b.makeOutput(shape, 'float32');
  if (transposed) kernels.pairs(at(table.dataId), rows, at(pairs.dataId), f, at(out.dataId));
  else kernels.rowPairs(at(table.dataId), 2 * d + 1, rows, at(pairs.dataId), f, at(out.dataId));
  table.dispose();
  return tf.engine().makeTensorFromTensorInfo(out) as tfc.Tensor2D;
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
  return matMul(tf, tf.mul(q, 1 / Math.sqrt(x.d)), tf.tensor2d(x.kT, [x.d, x.n]));
}



/** Build a tensor in a tidy scope and read it out. (Returning the array from tidy itself would make tidy walk every element.) */
function read(tf: TF, f: () => tfc.Tensor): Float32Array {
  const t = tf.tidy(f);
  const data = t.dataSync() as Float32Array;
  t.dispose();
  return data;
}

type Op<K extends OpArgs['op']> = Extract<OpArgs, { op: K }>;

/** What an op computed, and the bytes it held outside the tfjs backend (the fused softmax kernel's own memory). */
interface OpOutput {
  data: Float32Array;
  ownBytes: number;
}

/**
 * Softmax attention on the wasm backend goes through the fused SIMD kernel (softmax-kernel.ts): the
 * same materialized scores, about 25% less time than XNNPACK's products and softmax. Causal masks,
 * shapes off its 8-wide tiles, and the other backends take the tfjs path.
 */
function softmaxOp(tf: TF, x: SharedInputs, a: Op<'softmax' | 'direct'>): OpOutput {
  if (a.causal || tf.getBackend() !== 'wasm' || !softmaxKernelFits(x.n, x.m)) return { data: rowsOp(tf, x, a), ownBytes: 0 };
  const { out, bytes } = softmaxAttention(x, a.lo, a.hi);
  return { data: out, ownBytes: bytes };
}

function rowsOp(tf: TF, x: SharedInputs, a: Op<'softmax' | 'direct'>): Float32Array {
  return read(tf, () => {
    const s = scores(tf, x, a.lo, a.hi);
    const v = tf.tensor2d(x.v, [x.n, x.m]);
    const shape: [number, number] = [a.hi - a.lo, x.n];
    if (a.op === 'softmax') {
      const masked = a.causal ? tf.add(s, tf.tensor2d(causalMask(a.lo, a.hi, x.n, 'bias'), shape)) : s;
      return matMul(tf, tf.softmax(masked as tfc.Tensor2D) as tfc.Tensor2D, v);
    }
    let w = tf.square(tf.add(s, 1));
    if (a.causal) w = tf.mul(w, tf.tensor2d(causalMask(a.lo, a.hi, x.n, 'keep'), shape));
    return tf.div(matMul(tf, w as tfc.Tensor2D, v), tf.sum(w, 1, true));
  });
}

/** Add φ(K_c)ᵀV_c and φ(K_c)ᵀ1 for rows [c, e) to (s, z), or start them when null; returns the new pair. */
function accumulate(tf: TF, x: SharedInputs, map: FeatureMap, c: number, e: number, s: tfc.Tensor | null, z: tfc.Tensor | null): [tfc.Tensor, tfc.Tensor] {
  return tf.tidy(() => {
    const phiT = features(tf, map, x.k, x.d, c, e, true);
    const v = tf.tensor2d(x.v.subarray(c * x.m, e * x.m), [e - c, x.m]);
    const ds = matMul(tf, phiT, v);
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
    divide(read(tf, () => matMul(tf, phi, s)), read(tf, () => tf.matMul(phi, z)), m, out, c - a.lo);
    phi.dispose();
  }
  tf.dispose([s, z]);
  return out;
}

/** Causal quadratic kernel: inter-chunk φ(Q_c)·(S, z)_{<c} from carried prefix sums, intra-chunk in N² form under a mask. */
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
      const w = tf.mul(tf.square(tf.add(matMul(tf, q, tf.tensor2d(kT, [d, r])), 1)), keep) as tfc.Tensor2D;
      const v = tf.tensor2d(x.v.subarray(c * m, e * m), [r, m]);
      return [tf.add(matMul(tf, phiQ, s as tfc.Tensor2D), matMul(tf, w, v)), tf.add(tf.matMul(phiQ, z as tfc.Tensor2D), tf.sum(w, 1, true))];
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

/**
 * The two halves of the linear form. The quadratic map on wasm goes through the fused SIMD kernel (linear-kernel.ts):
 * the same chunks and products, with no tfjs op or allocation per chunk. Random feature maps, value widths off its
 * 8-wide tiles and the other backends take the tfjs path.
 */
function linearOp(tf: TF, x: SharedInputs, a: Op<'state' | 'apply'>): OpOutput {
  if (a.map.kind !== 'quadratic' || tf.getBackend() !== 'wasm' || !linearKernelFits(x.m)) {
    return { data: a.op === 'state' ? stateOp(tf, x, a) : applyOp(tf, x, a), ownBytes: 0 };
  }
  const r = a.op === 'state' ? linearState(x, a.lo, a.hi, a.chunk) : linearApply(x, a.lo, a.hi, a.chunk, a.state);
  return { data: r.data, ownBytes: r.bytes };
}

function runSync(tf: TF, x: SharedInputs, a: OpArgs): OpOutput {
  const own = (data: Float32Array): OpOutput => ({ data, ownBytes: 0 });
  switch (a.op) {
    case 'softmax':
      return softmaxOp(tf, x, a);
    case 'direct':
      return own(rowsOp(tf, x, a));
    case 'state':
    case 'apply':
      return linearOp(tf, x, a);
    case 'causal':
      return own(causalOp(tf, x, a));
    case 'linear': {
      const state = linearOp(tf, x, { op: 'state', lo: a.lo, hi: a.hi, map: a.map, chunk: a.chunk });
      const applied = linearOp(tf, x, { op: 'apply', lo: a.lo, hi: a.hi, map: a.map, chunk: a.chunk, state: exchangeState(a.exchange, state.data) });
      return { data: applied.data, ownBytes: Math.max(state.ownBytes, applied.ownBytes) };
    }
  }
}

/** Run one op; with `profile`, also report its peak bytes: the backend's (tf.profile) plus any kernel memory of its own. */
export async function runOp(tf: TF, x: SharedInputs, a: OpArgs, profile: boolean): Promise<OpResult> {
  if (!profile) return { data: runSync(tf, x, a).data, peakBytes: 0 };
  const before = tf.memory().numBytes;
  let result: OpOutput = { data: new Float32Array(0), ownBytes: 0 };
  const info = await tf.profile(() => {
    result = runSync(tf, x, a);
    return [];
  });
  // tf.profile reports −Infinity when the op allocated no tensor at all (the fused kernel).
  const backendBytes = Number.isFinite(info.peakBytes) ? Math.max(0, info.peakBytes - before) : 0;
  return { data: result.data, peakBytes: backendBytes + result.ownBytes };
}
