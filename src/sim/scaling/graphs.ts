/**
 * The scaling experiment's attention methods as ONNX graphs, with the contract of a user's model: inputs Q [N, D],
 * K [N, D], V [N, M] (and W [R, D], the random features' directions), output O [N, M].
 *
 *   softmax           softmax(Q·Kᵀ/√D)·V, the N×N scores whole; causal: 8 blocks of query rows, each against the
 *                     keys up to its last row, the block on the diagonal masked
 *   flash             the same exact attention through ONNX Runtime's fused kernel (tiles of keys, a running maximum
 *                     and sum: no N×N scores): com.microsoft.MultiHeadAttention (its MLAS flash path: float32, no
 *                     mask, bias or past state); causal: GroupQueryAttention (MultiHeadAttention's causal flag falls
 *                     back to whole scores), which takes its flash path only when asked for its present K and V
 *   direct            the quadratic kernel in N² form: (Q·Kᵀ/√D + 1)² · [V | 1], the last column divides
 *   linear            φ(Q)(φ(K)ᵀV) over row chunks: per key chunk S += φ(K_c)ᵀV_c, per query chunk φ(Q_c)·S; φ is
 *                     built inside the graph, in a few parts (one product per part); the quadratic kernel's
 *                     denominators in closed form (below), the random features' as one more value column [V | 1]
 *   causal linear     chunks of rows with prefix sums S_i: the chunk's own masked kernel block
 *                     ((Q_c·K_cᵀ/√D + 1)², lower triangle) plus φ(Q_c)·S_{<c}, denominators riding on [V | 1]
 *
 * φ is built transposed, features × rows, so that its rows come from whole rows of xᵀ and both products read it
 * without a transpose. Measured at N = 4096, D = M = 64 on a 2-core Xeon (AVX-512), ONNX Runtime 1.30: M = 64 value
 * columns run the products at 300 – 330 GFLOP/s against 240 with 65 ([V | 1]), and φ in three parts (one Gather)
 * in 14.5 ms a call against 19 – 20 ms for φ whole from two Gathers.
 */
import { causalSoftmaxRows } from './cost.js';
import type { Method } from './methods.js';
import { Graph } from '../../engine/onnx/graph.js';

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
  else if (c.method === 'flash') out = flash(g, c, q, k, v);
  else if (c.method === 'quadratic-kernel-direct') out = direct(g, c, q, k, v);
  else if (c.causal) out = causalLinear(g, c, q, k, v);
  else if (c.method === 'quadratic-kernel') {
    const scale = g.floats([c.d ** -0.25]);
    out = linear(
      g,
      c,
      g.op('Mul', [q, scale]),
      g.op('Mul', [k, scale]),
      v,
      (xT, rows) => quadratic(g, c.d, xT, rows),
      true,
    );
  } else out = linear(g, c, q, k, v, (xT) => randomFeatures(g, c, xT, w), false);
  g.output(out, 'O', [c.n, c.m]);
  return g.encode();
}

/** Scaled scores (Q/√D)·Kᵀ: the scale on the N×D side, so that no N×N pass is spent on it. */
const scores = (g: Graph, c: GraphCall, q: string, kT: string) =>
  g.op('MatMul', [g.op('Mul', [q, g.floats([1 / Math.sqrt(c.d)])]), kT]);

function softmax(g: Graph, c: GraphCall, q: string, k: string, v: string): string {
  const kT = g.op('Transpose', [k], { perm: [1, 0] });
  if (!c.causal) return g.op('MatMul', [g.op('Softmax', [scores(g, c, q, kT)], { axis: -1 }), v]);
  // Causal: blocks of query rows, each against the keys up to its last row; only the block on the diagonal is masked.
  const rows = causalSoftmaxRows(c.n);
  const outs = chunks(c.n, rows).map(({ lo, hi }) => {
    const qb = slice(g, q, lo, hi, 0);
    // −∞ strictly above the diagonal, 0 elsewhere (a constant ONNX Runtime folds when the session is made).
    const bias = g.op('Trilu', [g.op('Expand', [g.floats([-Infinity]), g.ints([hi - lo, hi - lo])]), g.ints([1], [])], {
      upper: 1,
    });
    const diagonal = g.op('Add', [scores(g, c, qb, slice(g, kT, lo, hi, 1)), bias]);
    const s = lo === 0 ? diagonal : g.op('Concat', [scores(g, c, qb, slice(g, kT, 0, lo, 1)), diagonal], { axis: 1 });
    return g.op('MatMul', [g.op('Softmax', [s], { axis: -1 }), slice(g, v, 0, hi, 0)]);
  });
  return outs.length === 1 ? outs[0]! : g.op('Concat', outs, { axis: 0 });
}

/**
 * Fused exact attention, one head of one sequence ([1, N, width], BSH). Measured with the memory probe, ONNX Runtime
 * 1.30: at D = M = 64 about 4(2D + 2M) bytes per row (Q, K, V in BNSH and the output) non-causal, 4(3D + 3M) causal
 * (the present K and V too), against N² + N·M floats for `softmax`; GroupQueryAttention without its present outputs
 * materializes the scores (1 GiB at N = 16384).
 */
function flash(g: Graph, c: GraphCall, q: string, k: string, v: string): string {
  const bsh = (x: string, width: number) => g.op('Reshape', [x, g.ints([1, c.n, width])]);
  const o = c.causal
    ? // seqlens_k = N − 1 (the last position), total_sequence_length = N; no past: a prompt of N tokens.
      g.contrib(
        'GroupQueryAttention',
        [bsh(q, c.d), bsh(k, c.d), bsh(v, c.m), '', '', g.int32s([c.n - 1], [1]), g.int32s([c.n], [])],
        3,
        { num_heads: 1, kv_num_heads: 1 },
      )[0]!
    : g.contrib('MultiHeadAttention', [bsh(q, c.d), bsh(k, c.d), bsh(v, c.m)], 1, { num_heads: 1 })[0]!;
  return g.op('Reshape', [o, g.ints([c.n, c.m])]);
}

/** [V | 1]: the denominators ride along as one more value column. */
const withOnes = (g: Graph, v: string, rows: number) =>
  g.op('Concat', [v, g.floats(new Float32Array(rows).fill(1), [rows, 1])], { axis: 1 });

/** Numerators ÷ denominators: the first M columns of R over its last. */
const divideLast = (g: Graph, r: string, m: number) =>
  g.op('Div', [
    g.op('Slice', [r, g.ints([0]), g.ints([m]), g.ints([1])]),
    g.op('Slice', [r, g.ints([m]), g.ints([m + 1]), g.ints([1])]),
  ]);

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

const slice = (g: Graph, x: string, lo: number, hi: number, axis: number) =>
  g.op('Slice', [x, g.ints([lo]), g.ints([hi]), g.ints([axis])]);

/** φ(xᵀ) for a chunk, xᵀ D × rows: features × rows, in parts (features split across them; Q and K alike). */
type Featurize = (xT: string, rows: number) => string[];

/**
 * The linear form. `closed` (the quadratic kernel): Q and K arrive scaled by D^(−1/4), and the denominators come
 * in closed form, Σ_k (q'·k' + 1)² = N + q'·(G·q' + 2·Σ_k k'), G = K'ᵀK' (D × D), instead of a 65th value column.
 */
function linear(g: Graph, c: GraphCall, q: string, k: string, v: string, phi: Featurize, closed: boolean): string {
  const qT = g.op('Transpose', [q], { perm: [1, 0] });
  const kT = g.op('Transpose', [k], { perm: [1, 0] });
  const values = closed ? v : withOnes(g, v, c.n);
  const parts = chunks(c.n, c.chunk);
  // One consumer per φ part: ONNX Runtime then frees each chunk before building the next.
  let state: string[] = [];
  for (const { lo, hi } of parts) {
    const vc = slice(g, values, lo, hi, 0);
    const s = phi(slice(g, kT, lo, hi, 1), hi - lo).map((f) => g.op('MatMul', [f, vc]));
    state = state.length ? s.map((x, i) => g.op('Add', [state[i]!, x])) : s;
  }
  const outs = parts.map(({ lo, hi }) => {
    const r = applyState(g, phi(slice(g, qT, lo, hi, 1), hi - lo), state);
    return closed ? r : divideLast(g, r, c.m);
  });
  const out = outs.length === 1 ? outs[0]! : g.op('Concat', outs, { axis: 0 });
  if (!closed) return out;
  const gram = g.op('Gemm', [k, k], { transA: 1 });
  const keySum2 = g.op('Mul', [g.op('ReduceSum', [k, g.ints([0])], { keepdims: 1 }), g.floats([2])]);
  const quadratic = g.op(
    'ReduceSum',
    [g.op('Mul', [q, g.op('Add', [g.op('MatMul', [q, gram]), keySum2])]), g.ints([1])],
    { keepdims: 1 },
  );
  return g.op('Div', [out, g.op('Add', [quadratic, g.floats([c.n])])]);
}

/** Σ_parts φ_partᵀ · S_part: rows × columns. */
function applyState(g: Graph, phi: string[], state: string[]): string {
  let acc = '';
  phi.forEach((f, i) => {
    acc = g.op('Gemm', acc ? [f, state[i]!, acc] : [f, state[i]!], { transA: 1 });
  });
  return acc;
}

function causalLinear(g: Graph, c: GraphCall, q: string, k: string, v: string): string {
  const qT = g.op('Transpose', [q], { perm: [1, 0] });
  const kT = g.op('Transpose', [k], { perm: [1, 0] });
  const v1 = withOnes(g, v, c.n);
  const scale = g.floats([c.d ** -0.25]);
  const outs: string[] = [];
  let state: string[] = [];
  for (const { lo, hi } of chunks(c.n, c.causalChunk)) {
    const rows = hi - lo;
    const kTc = slice(g, kT, lo, hi, 1);
    const vc = slice(g, v1, lo, hi, 0);
    const own = g.op('MatMul', [kernelBlock(g, scores(g, c, slice(g, q, lo, hi, 0), kTc), true), vc]);
    const past = state.length
      ? applyState(g, quadratic(g, c.d, g.op('Mul', [slice(g, qT, lo, hi, 1), scale]), rows), state)
      : '';
    outs.push(divideLast(g, past ? g.op('Add', [own, past]) : own, c.m));
    if (hi === c.n) break;
    const s = quadratic(g, c.d, g.op('Mul', [kTc, scale]), rows).map((f) => g.op('MatMul', [f, vc]));
    state = state.length ? s.map((x, i) => g.op('Add', [state[i]!, x])) : s;
  }
  return outs.length === 1 ? outs[0]! : g.op('Concat', outs, { axis: 0 });
}

/** The feature map of a random-feature method, for a chunk xᵀ (D × rows): one part. */
function randomFeatures(g: Graph, c: GraphCall, xT: string, w: string): string[] {
  const sq = (x: string) => g.op('ReduceSum', [g.op('Mul', [x, x]), g.ints([0])], { keepdims: 1 });
  const invSqrtR = g.floats([1 / Math.sqrt(c.count)]);
  if (c.method === 'favor') {
    // exp(w·x' − ‖x'‖²/2)/√R, x' = x·D^(−1/4)
    const xs = g.op('Mul', [xT, g.floats([c.d ** -0.25])]);
    const p = g.op('Sub', [g.op('MatMul', [w, xs]), g.op('Mul', [sq(xs), g.floats([0.5])])]);
    return [g.op('Mul', [g.op('Exp', [p]), invSqrtR])];
  }
  // [sin(w·x), cos(w·x)]·exp(‖x‖²/2σ²)/√R, σ² = √D
  const p = g.op('MatMul', [w, xT]);
  const scale = g.op('Mul', [g.op('Exp', [g.op('Mul', [sq(xT), g.floats([1 / (2 * Math.sqrt(c.d))])])]), invSqrtR]);
  return [g.op('Mul', [g.op('Concat', [g.op('Sin', [p]), g.op('Cos', [p])], { axis: 0 }), scale])];
}

/**
 * The quadratic map φ(x') = [1, √2·x'_a, x'_a², √2·x'_a·x'_b (a < b)] of a scaled chunk x'ᵀ (x' = x·D^(−1/4), so
 * that φ(q')·φ(k') = (q·k/√D + 1)²), C = 1 + D + D(D+1)/2 features in three parts:
 *   [1; √2·x'; x'²]                              2D + 1 rows
 *   √2·x'_a · x'_((a+j) mod D), j = 1 … ⌊(D−1)/2⌋   one Gather of the rolled rows, times √2·x' broadcast
 *   √2·x'_a · x'_(a+D/2), a < D/2 (even D)        the pairs at distance D/2, each once
 * Every pair a < b is at distance j = b − a or D − (b − a) on the circle of D indices, so each appears exactly once.
 */
function quadratic(g: Graph, d: number, xs: string, rows: number): string[] {
  const x2 = g.op('Mul', [xs, g.floats([Math.SQRT2])]);
  const parts = [
    g.op('Concat', [g.floats(new Float32Array(rows).fill(1), [1, rows]), x2, g.op('Mul', [xs, xs])], { axis: 0 }),
  ];
  const turns = Math.floor((d - 1) / 2);
  if (turns > 0) {
    const rolled = g.op('Gather', [xs, g.ints(rolledRows(d))], { axis: 0 });
    const product = g.op('Mul', [x2, g.op('Reshape', [rolled, g.ints([turns, d, rows])])]);
    parts.push(g.op('Reshape', [product, g.ints([turns * d, rows])]));
  }
  if (d % 2 === 0) parts.push(g.op('Mul', [slice(g, x2, 0, d / 2, 0), slice(g, xs, d / 2, d, 0)]));
  return parts;
}

/** Rows (a + j) mod D for j = 1 … ⌊(D−1)/2⌋, a = 0 … D−1: the rolled copies of x'ᵀ. */
export function rolledRows(d: number): number[] {
  const rows: number[] = [];
  for (let j = 1; j <= Math.floor((d - 1) / 2); j++) for (let a = 0; a < d; a++) rows.push((a + j) % d);
  return rows;
}
