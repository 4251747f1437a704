/**
 * One incremental decoding step as an ONNX graph, after the homework's einsums, for b sequences, model width d,
 * h query heads of width k = d/h and g key/value heads (r = h/g query heads share one):
 *   q = x·W_q → [b, g, r, k] / √k        k_new, v_new = x·W_k, x·W_v (outputs: the step's cache write)
 *   logits = q · Kᵀ                        K cached as Kᵀ, [b, g, k, n]: the product reads it in place
 *   o = softmax(logits) · V                V cached as [b, g, n, k]
 *   y = o → [b, h·k] · W_o
 * Every tensor is an input: the weights and the cache are the caller's arrays, read where they lie.
 */
import type { DecodeShape as CostShape } from './cost.js';
import { Graph } from '../../engine/onnx/graph.js';

/** A step's shape as the cost model has it, less the bytes per number (the graph is float32). */
export type DecodeShape = Omit<CostShape, 's'>;

export const decodeInputs = ({ b, n, d, h, g }: DecodeShape): Record<string, number[]> => {
  const k = d / h;
  return { x: [b, d], Wq: [d, h * k], Wk: [d, g * k], Wv: [d, g * k], Wo: [h * k, d], Kt: [b, g, k, n], V: [b, g, n, k] };
};

export function decodeGraph(s: DecodeShape): Uint8Array {
  const { b, n, d, h, g: groups } = s;
  const k = d / h;
  const r = h / groups;
  const dims = decodeInputs(s);
  const g = new Graph('attnlab-decode-step');
  const [x, wq, wk, wv, wo, kT, v] = Object.entries(dims).map(([name, shape]) => g.input(name, shape));
  const q = g.op('Mul', [g.op('Reshape', [g.op('MatMul', [x!, wq!]), g.ints([b, groups, r, k])]), g.floats([1 / Math.sqrt(k)])]);
  const weights = g.op('Softmax', [g.op('MatMul', [q, kT!])], { axis: -1 }); // [b, g, r, n]
  const o = g.op('Reshape', [g.op('MatMul', [weights, v!]), g.ints([b, h * k])]);
  g.output(g.op('MatMul', [o, wo!]), 'y', [b, d]);
  g.output(g.op('MatMul', [x!, wk!]), 'k_new', [b, groups * k]);
  g.output(g.op('MatMul', [x!, wv!]), 'v_new', [b, groups * k]);
  void n;
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
