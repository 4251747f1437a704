/**
 * A trained induction-heads model as an ONNX graph, so that `attention-maps` inspects it like any other model:
 *   input_ids int64 [batch, seq] (seq ≤ the trained T) → Gather(E) + P[:seq]
 *   per layer: q, k, v = x·W_q, x·W_k, x·W_v → [batch, heads, seq, d_head]
 *     probs = Softmax(q·kᵀ/√d_head + causal mask, axis −1)  [batch, heads, seq, seq]   (eager: an explicit Softmax)
 *     x = x + (probs·v → [batch, seq, d])·W_o
 *   logits = x·U  [batch, seq, vocab]
 */
import { Graph } from '../../engine/onnx/graph.js';
import type { Shape, Weights } from './model.js';

export function modelGraph(s: Shape, w: Weights, name = 'attnlab-induction-heads'): Uint8Array {
  const { vocab: V, n: T, d, layers, heads: H } = s;
  const dh = d / H;
  const g = new Graph(name);
  const ids = g.input('input_ids', ['batch', 'seq'], 'int64');
  const seq = g.op('Slice', [g.op('Shape', [ids]), g.ints([1]), g.ints([2])]); // [seq]
  const positions = g.op('Slice', [g.floats(w.P, [T, d]), g.ints([0]), seq, g.ints([0])]);
  let x = g.op('Add', [g.op('Gather', [g.floats(w.E, [V, d]), ids], { axis: 0 }), positions]);
  const mask = new Float32Array(T * T);
  for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) mask[i * T + j] = -1e9;
  const causal = g.op('Slice', [g.floats(mask, [T, T]), g.ints([0, 0]), g.op('Concat', [seq, seq], { axis: 0 })]);
  const scale = g.floats([1 / Math.sqrt(dh)]);
  const split = g.ints([0, 0, H, dh]);
  for (let l = 0; l < layers; l++) {
    const proj = (W: Float64Array, perm: number[]) =>
      g.op('Transpose', [g.op('Reshape', [g.op('MatMul', [x, g.floats(W, [d, d])]), split])], { perm });
    const q = proj(w.Wq[l]!, [0, 2, 1, 3]);
    const kT = proj(w.Wk[l]!, [0, 2, 3, 1]);
    const v = proj(w.Wv[l]!, [0, 2, 1, 3]);
    const logits = g.op('Add', [g.op('Mul', [g.op('MatMul', [q, kT]), scale]), causal]);
    const probs = g.op('Softmax', [logits], { axis: -1 });
    const z = g.op('Reshape', [
      g.op('Transpose', [g.op('MatMul', [probs, v])], { perm: [0, 2, 1, 3] }),
      g.ints([0, 0, d]),
    ]);
    x = g.op('Add', [x, g.op('MatMul', [z, g.floats(w.Wo[l]!, [d, d])])]);
  }
  g.output(g.op('MatMul', [x, g.floats(w.U, [d, V])]), 'logits', ['batch', 'seq', V]);
  return g.encode();
}
