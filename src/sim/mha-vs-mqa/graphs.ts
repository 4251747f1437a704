/**
 * The decode step as ONNX graphs, one per kernel, for b sequences, model width d, h query heads of width k = d/h
 * and g key/value heads (r = h/g query heads share one). Every tensor is an input: the weights and the cache are
 * the caller's arrays, read where they lie.
 *
 * `graph`, after the homework's einsums:
 *   q = x·W_q → [b, g, r, k] / √k        k_new, v_new = x·W_k, x·W_v (outputs: the step's cache write)
 *   logits = q · Kᵀ                        K cached as Kᵀ, [b, g, k, n]: the product reads it in place
 *   o = softmax(logits) · V                V cached as [b, g, n, k]
 *   y = o → [b, h·k] · W_o
 * `gqa-op`: the same projections around ONNX Runtime's com.microsoft GroupQueryAttention, which appends the new
 * token to the cache (past [b, g, n + 1, k], n tokens in it) and attends over n + 1 tokens; float32, float16, or an
 * int8 / int4 cache with float32 scales (int4: two numbers a byte, [b, g, n + 1, k/2]).
 * `mla`: multi-head latent attention with absorbed projections (see cost.ts), a latent cache C [b, n, dc] and a
 * RoPE key cache [b, n, dr] read by com.microsoft FusedMatMul with transB (no transpose is materialized).
 */
import type { DecodeShape as CostShape, MlaShape } from './cost.js';
import { Graph, type ElemType } from '../../engine/onnx/graph.js';

/** A step's shape as the cost model has it, less the bytes per number, with its float type. */
export type DecodeShape = Omit<CostShape, 's' | 'sKv' | 'scaleNumbers' | 'copiesCache'> & { elem?: FloatElem };
export type FloatElem = 'float32' | 'float16';

const scalar = (g: Graph, elem: FloatElem, v: number) => (elem === 'float16' ? g.halves([v]) : g.floats([v]));

/** The graph kernel's inputs; the cache holds min(n, window) tokens (a rolling buffer once the window is full). */
export const decodeInputs = ({ b, n, d, h, g, window }: DecodeShape): Record<string, number[]> => {
  const k = d / h;
  const t = Math.min(n, window ?? n);
  return {
    x: [b, d],
    Wq: [d, h * k],
    Wk: [d, g * k],
    Wv: [d, g * k],
    Wo: [h * k, d],
    Kt: [b, g, k, t],
    V: [b, g, t, k],
  };
};

export function decodeGraph(s: DecodeShape): Uint8Array {
  const { b, d, h, g: groups, elem = 'float32' } = s;
  const k = d / h;
  const r = h / groups;
  const dims = decodeInputs(s);
  const g = new Graph('attnlab-decode-step');
  const [x, wq, wk, wv, wo, kT, v] = Object.entries(dims).map(([name, shape]) => g.input(name, shape, elem));
  const q = g.op('Mul', [
    g.op('Reshape', [g.op('MatMul', [x!, wq!]), g.ints([b, groups, r, k])]),
    scalar(g, elem, 1 / Math.sqrt(k)),
  ]);
  const weights = g.op('Softmax', [g.op('MatMul', [q, kT!])], { axis: -1 }); // [b, g, r, n]
  const o = g.op('Reshape', [g.op('MatMul', [weights, v!]), g.ints([b, h * k])]);
  g.output(g.op('MatMul', [o, wo!]), 'y', [b, d], elem);
  g.output(g.op('MatMul', [x!, wk!]), 'k_new', [b, groups * k], elem);
  g.output(g.op('MatMul', [x!, wv!]), 'v_new', [b, groups * k], elem);
  return g.encode();
}

export type CacheDtype = 'float32' | 'float16' | 'int8' | 'int4';
export type Scales = 'per-tensor' | 'per-channel';

export interface GqaOpShape {
  b: number;
  /** Tokens already in the cache (the rolling buffer's, under a window). */
  n: number;
  d: number;
  h: number;
  g: number;
  kv: CacheDtype;
  scales: Scales;
  window?: number | undefined;
}

const CACHE_ELEM: Record<CacheDtype, ElemType> = {
  float32: 'float32',
  float16: 'float16',
  int8: 'int8',
  int4: 'uint8',
};
export const computeElem = (kv: CacheDtype): FloatElem => (kv === 'float16' ? 'float16' : 'float32');
const quantized = (kv: CacheDtype) => kv === 'int8' || kv === 'int4';

/** Inputs of the gqa-op kernel by name: [dims, element type]. */
export function gqaOpInputs({ b, n, d, h, g, kv, scales }: GqaOpShape): Record<string, [number[], ElemType]> {
  const k = d / h;
  const f = computeElem(kv);
  const cache: [number[], ElemType] = [[b, g, n + 1, kv === 'int4' ? k / 2 : k], CACHE_ELEM[kv]];
  const inputs: Record<string, [number[], ElemType]> = {
    x: [[b, d], f],
    Wq: [[d, h * k], f],
    Wk: [[d, g * k], f],
    Wv: [[d, g * k], f],
    Wo: [[h * k, d], f],
    past_key: cache,
    past_value: cache,
    seqlens_k: [[b], 'int32'],
    total_sequence_length: [[1], 'int32'],
  };
  if (quantized(kv)) {
    const sd = scales === 'per-tensor' ? [1] : [1, g, 1, k];
    inputs['k_scale'] = [sd, 'float32'];
    inputs['v_scale'] = [sd, 'float32'];
  }
  return inputs;
}

export function gqaOpGraph(s: GqaOpShape): Uint8Array {
  const { b, d, h, g: groups, kv, scales, window } = s;
  const k = d / h;
  const f = computeElem(kv);
  const g = new Graph('attnlab-decode-gqa-op');
  const inputs = gqaOpInputs(s);
  for (const [name, [dims, elem]] of Object.entries(inputs)) g.input(name, dims, elem);
  const q = g.op('Reshape', [g.op('MatMul', ['x', 'Wq']), g.ints([b, 1, h * k])]);
  const kNew = g.op('Reshape', [g.op('MatMul', ['x', 'Wk']), g.ints([b, 1, groups * k])]);
  const vNew = g.op('Reshape', [g.op('MatMul', ['x', 'Wv']), g.ints([b, 1, groups * k])]);
  const attrs: Record<string, number | string> = { num_heads: h, kv_num_heads: groups };
  if (window !== undefined) attrs['local_window_size'] = window;
  const ins = [q, kNew, vNew, 'past_key', 'past_value', 'seqlens_k', 'total_sequence_length'];
  if (quantized(kv)) {
    const mode = scales === 'per-tensor' ? 'PER_TENSOR' : 'PER_CHANNEL';
    Object.assign(attrs, { k_quant_type: mode, v_quant_type: mode, kv_cache_bit_width: kv === 'int8' ? 8 : 4 });
    // inputs 7 – 11 (RoPE caches, position ids, attention bias, head sink) absent; 12, 13 the scales
    ins.push('', '', '', '', '', 'k_scale', 'v_scale');
  }
  const [out, presentK, presentV] = g.contrib('GroupQueryAttention', ins, 3, attrs);
  g.output(g.op('MatMul', [g.op('Reshape', [out!, g.ints([b, h * k])]), 'Wo']), 'y', [b, d], f);
  // present_* are graph outputs so that a caller may hand in past's buffer as present's (see engines.ts); the timed
  // call fetches y alone.
  const [cacheDims, cacheElem] = inputs['past_key']!;
  g.outputAs(presentK!, 'present_key', cacheDims, cacheElem);
  g.outputAs(presentV!, 'present_value', cacheDims, cacheElem);
  return g.encode();
}

/**
 * The cost model's MLA shape as the graph needs it; `n` is the tokens in the latent cache (min(n, window) under a
 * window).
 */
export type MlaGraphShape = Pick<MlaShape, 'b' | 'n' | 'd' | 'h' | 'dc' | 'dr'> & { elem?: FloatElem };

export function mlaInputs({ b, n, d, h, dc, dr }: MlaGraphShape): Record<string, number[]> {
  const k = d / h;
  return {
    x: [b, d],
    Wq: [d, d],
    Wuk: [h, k, dc],
    Wqr: [d, h * dr],
    Wdkv: [d, dc],
    Wkr: [d, dr],
    Wuv: [h, dc, k],
    Wo: [d, d],
    C: [b, n, dc],
    KR: [b, n, dr],
  };
}

export function mlaGraph(s: MlaGraphShape): Uint8Array {
  const { b, d, h, dc, dr, elem = 'float32' } = s;
  const k = d / h;
  const g = new Graph('attnlab-decode-mla');
  for (const [name, dims] of Object.entries(mlaInputs(s))) g.input(name, dims, elem);
  const alpha = 1 / Math.sqrt(k + dr); // the query head is k (no RoPE) + dr (RoPE) wide, as in DeepSeek-V2
  const q = g.op('Reshape', [g.op('MatMul', ['x', 'Wq']), g.ints([b, h, 1, k])]);
  const qc = g.op('Reshape', [g.op('MatMul', [q, 'Wuk']), g.ints([b, h, dc])]); // the query in the latent space
  const qr = g.op('Reshape', [g.op('MatMul', ['x', 'Wqr']), g.ints([b, h, dr])]);
  const scores = g.op('Add', [
    g.contrib('FusedMatMul', [qc, 'C'], 1, { transB: 1, alpha })[0]!,
    g.contrib('FusedMatMul', [qr, 'KR'], 1, { transB: 1, alpha })[0]!,
  ]);
  const oc = g.op('MatMul', [g.op('Softmax', [scores], { axis: -1 }), 'C']); // [b, h, dc]
  const o = g.op('MatMul', [g.op('Reshape', [oc, g.ints([b, h, 1, dc])]), 'Wuv']); // [b, h, 1, k]
  g.output(g.op('MatMul', [g.op('Reshape', [o, g.ints([b, d])]), 'Wo']), 'y', [b, d], elem);
  g.output(g.op('MatMul', ['x', 'Wdkv']), 'c_new', [b, dc], elem);
  g.output(g.op('MatMul', ['x', 'Wkr']), 'kr_new', [b, dr], elem);
  return g.encode();
}

/**
 * The sum of `length` floats: the read bandwidth the engine reaches (length × 4 bytes read, one float written), what
 * a decode step's cache read needs. (An elementwise a + b would time the page faults of its fresh output instead:
 * without a memory arena each call maps new memory for it.)
 */
export function sumGraph(length: number): Uint8Array {
  const g = new Graph('attnlab-bandwidth-probe');
  g.output(g.op('ReduceSum', [g.input('a', [length])], { keepdims: 0 }), 'sum', []);
  return g.encode();
}

/** A·B for n × n matrices: the engine's practical peak FLOP/s. */
export function matMulGraph(n: number): Uint8Array {
  const g = new Graph('attnlab-peak-probe');
  g.output(g.op('MatMul', [g.input('a', [n, n]), g.input('b', [n, n])]), 'c', [n, n]);
  return g.encode();
}

/** The first element of a large input: a call that costs nothing unless the engine copies its input. */
export function firstElementGraph(length: number): Uint8Array {
  const g = new Graph('attnlab-copy-probe');
  g.output(g.op('Slice', [g.input('a', [length]), g.ints([0]), g.ints([1]), g.ints([0])]), 'first', [1]);
  return g.encode();
}
