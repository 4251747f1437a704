/**
 * The scaling experiment's attention methods as ONNX graphs, with the contract of a user's model: inputs Q [N, D],
 * K [N, D], V [N, M] (and W [R, D], the random features' directions), output O [N, M].
 *
 *   softmax           softmax(Q·Kᵀ/√D)·V, the N×N scores whole; causal: 8 blocks of query rows, each against the
 *                     keys up to its last row, the block on the diagonal masked
 *   direct            the quadratic kernel in N² form: (Q·Kᵀ/√D + 1)² · [V | 1], the last column divides
 *   linear            φ(Q)(φ(K)ᵀ[V | 1]) over row chunks: per key chunk S += φ(K_c)ᵀ[V_c | 1], per query chunk
 *                     φ(Q_c)·S, then numerators ÷ denominators; φ is built inside the graph
 *   causal linear     chunks of rows with prefix sums S_i: the chunk's own masked kernel block
 *                     ((Q_c·K_cᵀ/√D + 1)², lower triangle) plus φ(Q_c)·S_{<c}
 *
 * φ is built transposed, features × rows, so that its rows come from Gather along axis 0 (whole rows copied) and
 * both products read it without a transpose.
 */
import { causalSoftmaxRows } from '../sim/scaling-cost.js';
import type { Method } from '../tensor/methods.js';
import { Graph } from './graph.js';


export interface GraphCall {
  method: Method;
  causal: boolean;
  n: number;
  d: number;
  m: number;
  /** Random features R (rff, rff-homework, favor). */
  count: number;
  /** Rows per chunk of the linear form and of the causal prefix sums. */
  chunk: number;
  causalChunk: number;
}

const RANDOM = new Set<Method>(['rff', 'rff-homework', 'favor']);

export const graphInputs = (c: GraphCall): string[] => (RANDOM.has(c.method) ? ['Q', 'K', 'V', 'W'] : ['Q', 'K', 'V']);

/** The serialized graph of one call's shape. */
export function attentionGraph(c: GraphCall): Uint8Array {
  const g = new Graph(`attnlab-${c.method}${c.causal ? '-causal' : ''}`);
  const q = g.input('Q', [c.n, c.d]);
  const k = g.input('K', [c.n, c.d]);
  const v = g.input('V', [c.n, c.m]);
  const w = RANDOM.has(c.method) ? g.input('W', [c.count, c.d]) : '';
  let out: string;
  if (c.method === 'softmax') out = softmax(g, c, q, k, v);
  else if (c.method === 'quadratic-kernel-direct') out = direct(g, c, q, k, v);
  else if (c.causal) out = causalLinear(g, c, q, k, v);
  else out = linear(g, c, q, k, v, (xT, rows) => features(g, c, xT, rows, w));
  g.output(out, 'O', [c.n, c.m]);
  return g.encode();
}

/** Scaled scores (Q/√D)·Kᵀ: the scale on the N×D side, so that no N×N pass is spent on it. */
const scores = (g: Graph, c: GraphCall, q: string, kT: string) => g.op('MatMul', [g.op('Mul', [q, g.floats([1 / Math.sqrt(c.d)])]), kT]);

function softmax(g: Graph, c: GraphCall, q: string, k: string, v: string): string {
  const kT = g.op('Transpose', [k], { perm: [1, 0] });
  if (!c.causal) return g.op('MatMul', [g.op('Softmax', [scores(g, c, q, kT)], { axis: -1 }), v]);
  // Causal: blocks of query rows, each against the keys up to its last row; only the block on the diagonal is masked.
  const rows = causalSoftmaxRows(c.n);
  const outs = chunks(c.n, rows).map(({ lo, hi }) => {
    const qb = slice(g, q, lo, hi, 0);
    // −∞ strictly above the diagonal, 0 elsewhere (a constant ONNX Runtime folds when the session is made).
    const bias = g.op('Trilu', [g.op('Expand', [g.floats([-Infinity]), g.ints([hi - lo, hi - lo])]), g.ints([1], [])], { upper: 1 });
    const diagonal = g.op('Add', [scores(g, c, qb, slice(g, kT, lo, hi, 1)), bias]);
    const s = lo === 0 ? diagonal : g.op('Concat', [scores(g, c, qb, slice(g, kT, 0, lo, 1)), diagonal], { axis: 1 });
    return g.op('MatMul', [g.op('Softmax', [s], { axis: -1 }), slice(g, v, 0, hi, 0)]);
  });
  return outs.length === 1 ? outs[0]! : g.op('Concat', outs, { axis: 0 });
}

/** [V | 1]: the denominators ride along as one more value column. */
const withOnes = (g: Graph, v: string, rows: number) => g.op('Concat', [v, g.floats(new Float32Array(rows).fill(1), [rows, 1])], { axis: 1 });

/** Numerators ÷ denominators: the first M columns of R over its last. */
const divideLast = (g: Graph, r: string, m: number) =>
  g.op('Div', [g.op('Slice', [r, g.ints([0]), g.ints([m]), g.ints([1])]), g.op('Slice', [r, g.ints([m]), g.ints([m + 1]), g.ints([1])])]);

/** (S + 1)² of scaled scores, lower triangle kept when causal. */
function kernelBlock(g: Graph, s: string, causal: boolean): string {
  const w = g.op('Mul', [g.op('Add', [s, g.floats([1])]), g.op('Add', [s, g.floats([1])])]);
  return causal ? g.op('Trilu', [w], { upper: 0 }) : w;
}

function direct(g: Graph, c: GraphCall, q: string, k: string, v: string): string {
  const w = kernelBlock(g, scores(g, c, q, g.op('Transpose', [k], { perm: [1, 0] })), c.causal);
  return divideLast(g, g.op('MatMul', [w, withOnes(g, v, c.n)]), c.m);
}

/** Row chunks [lo, hi) of n rows. */
function chunks(n: number, rows: number): { lo: number; hi: number }[] {
  const out = [];
  for (let lo = 0; lo < n; lo += rows) out.push({ lo, hi: Math.min(n, lo + rows) });
  return out;
}

const slice = (g: Graph, x: string, lo: number, hi: number, axis: number) => g.op('Slice', [x, g.ints([lo]), g.ints([hi]), g.ints([axis])]);

/** φ(xᵀ) for a chunk: xᵀ is D × rows, the result features × rows. */
type Featurize = (xT: string, rows: number) => string;

function linear(g: Graph, c: GraphCall, q: string, k: string, v: string, phi: Featurize): string {
  const qT = g.op('Transpose', [q], { perm: [1, 0] });
  const kT = g.op('Transpose', [k], { perm: [1, 0] });
  const v1 = withOnes(g, v, c.n);
  const parts = chunks(c.n, c.chunk);
  // One consumer per φ chunk: ONNX Runtime then frees each chunk before building the next.
  let state = '';
  for (const { lo, hi } of parts) {
    const s = g.op('MatMul', [phi(slice(g, kT, lo, hi, 1), hi - lo), slice(g, v1, lo, hi, 0)]);
    state = state ? g.op('Add', [state, s]) : s;
  }
  const outs = parts.map(({ lo, hi }) => divideLast(g, g.op('Gemm', [phi(slice(g, qT, lo, hi, 1), hi - lo), state], { transA: 1 }), c.m));
  return outs.length === 1 ? outs[0]! : g.op('Concat', outs, { axis: 0 });
}

function causalLinear(g: Graph, c: GraphCall, q: string, k: string, v: string): string {
  const qT = g.op('Transpose', [q], { perm: [1, 0] });
  const kT = g.op('Transpose', [k], { perm: [1, 0] });
  const v1 = withOnes(g, v, c.n);
  const outs: string[] = [];
  let state = '';
  for (const { lo, hi } of chunks(c.n, c.causalChunk)) {
    const rows = hi - lo;
    const kTc = slice(g, kT, lo, hi, 1);
    const vc = slice(g, v1, lo, hi, 0);
    const own = g.op('MatMul', [kernelBlock(g, scores(g, c, slice(g, q, lo, hi, 0), kTc), true), vc]);
    const phiQ = state ? quadratic(g, c.d, slice(g, qT, lo, hi, 1), rows) : '';
    outs.push(divideLast(g, state ? g.op('Add', [own, g.op('Gemm', [phiQ, state], { transA: 1 })]) : own, c.m));
    if (hi === c.n) break;
    const s = g.op('MatMul', [quadratic(g, c.d, kTc, rows), vc]);
    state = state ? g.op('Add', [state, s]) : s;
  }
  return outs.length === 1 ? outs[0]! : g.op('Concat', outs, { axis: 0 });
}

/** The feature map of a linear method, for a chunk xᵀ (D × rows). */
function features(g: Graph, c: GraphCall, xT: string, rows: number, w: string): string {
  if (c.method === 'quadratic-kernel') return quadratic(g, c.d, xT, rows);
  const sq = (x: string) => g.op('ReduceSum', [g.op('Mul', [x, x]), g.ints([0])], { keepdims: 1 });
  const invSqrtR = g.floats([1 / Math.sqrt(c.count)]);
  if (c.method === 'favor') {
    // exp(w·x' − ‖x'‖²/2)/√R, x' = x·D^(−1/4)
    const xs = g.op('Mul', [xT, g.floats([c.d ** -0.25])]);
    const p = g.op('Sub', [g.op('MatMul', [w, xs]), g.op('Mul', [sq(xs), g.floats([0.5])])]);
    return g.op('Mul', [g.op('Exp', [p]), invSqrtR]);
  }
  // [sin(w·x), cos(w·x)]·exp(‖x‖²/2σ²)/√R, σ² = √D
  const p = g.op('MatMul', [w, xT]);
  const scale = g.op('Mul', [g.op('Exp', [g.op('Mul', [sq(xT), g.floats([1 / (2 * Math.sqrt(c.d))])])]), invSqrtR]);
  return g.op('Mul', [g.op('Concat', [g.op('Sin', [p]), g.op('Cos', [p])], { axis: 0 }), scale]);
}

/**
 * The quadratic map φ(x) = [1, √2·x'_a, x'_a², √2·x'_a·x'_b (a < b)] with x' = x·D^(−1/4), so that
 * φ(q)·φ(k) = (q·k/√D + 1)²: C = 1 + D + D(D+1)/2 features × rows, each feature the product of two rows of the table
 * T = [1; x'; √2·x'] ((2D+1) × rows), picked by two Gathers (whole rows copied) and one Mul.
 */
function quadratic(g: Graph, d: number, xT: string, rows: number): string {
  const xs = g.op('Mul', [xT, g.floats([d ** -0.25])]);
  const table = g.op('Concat', [g.floats(new Float32Array(rows).fill(1), [1, rows]), xs, g.op('Mul', [xs, g.floats([Math.SQRT2])])], { axis: 0 });
  const [left, right] = quadraticPairs(d);
  return g.op('Mul', [g.op('Gather', [table, g.ints(left)], { axis: 0 }), g.op('Gather', [table, g.ints(right)], { axis: 0 })]);
}

/** Rows of T = [1; x'; √2·x'] whose products are φ's features: 1·1, √2x'_a·1, x'_a·x'_a, x'_a·√2x'_b (a < b). */
function quadraticPairs(d: number): [number[], number[]] {
  const pairs: [number, number][] = [[0, 0]];
  for (let a = 0; a < d; a++) pairs.push([1 + d + a, 0]);
  for (let a = 0; a < d; a++) pairs.push([1 + a, 1 + a]);
  for (let a = 0; a < d; a++) for (let b = a + 1; b < d; b++) pairs.push([1 + a, 1 + d + b]);
  return [pairs.map((p) => p[0]), pairs.map((p) => p[1])];
}
