/**
 * The cost model of an attention-maps point: the forward pass of what the attention outputs need (2 FLOPs per weight
 * of every MatMul or Gemm upstream of them, per token), plus, per head and map entry, the attention products, the copy
 * of probabilities and logits out of ONNX Runtime and their scoring in JavaScript; once more for the untrained
 * baseline. The model's size comes from the run's checks, which open it before the estimate.
 */
import { onnxProto } from '../../engine/onnx/proto.js';

type Model = onnxProto.onnx.ModelProto;

/** What the cost model knows of a model: the weights its attention outputs pass through, and heads over all layers. */
export interface ModelSize {
  forwardWeights: number;
  heads: number;
}

/**
 * Fitted on the 2-core AMD EPYC reference machine (docs/experiments/attention-maps.md, Speed): a point's time per
 * model is FIXED_MS + 2·weights·T·sequences ÷ FORWARD_GFLOPS + heads·T²·sequences·ENTRY_NS, where heads counts
 * every layer's; the example's points (its maps dominate) give the first and last, the GPT-2-shaped model at
 * T = 128 (its linear layers dominate) the rate.
 */
const FIXED_MS = 110;
const FORWARD_GFLOPS = 85;
const ENTRY_NS = 45;

const sizes = new Map<string, ModelSize>();

/** Record the size of a model this process opened (engines.ts, on its first call). */
export function recordModelSize(file: string, size: ModelSize): void {
  sizes.set(file, size);
}

/** The size of a model this process has opened, or undefined. */
export function modelSize(file: string): ModelSize | undefined {
  return sizes.get(file);
}

export function modelCostMs(file: string, T: number, sequences: number, baseline: boolean): number {
  const size = modelSize(file) ?? { forwardWeights: 1e6, heads: 8 };
  const forward = (2 * size.forwardWeights * T * sequences) / (FORWARD_GFLOPS * 1e6);
  const maps = (size.heads * T * T * sequences * ENTRY_NS) / 1e6;
  return (FIXED_MS + forward + maps) * (baseline ? 2 : 1);
}

/**
 * Weights multiplied per token on the way to `outputs`: the float initializers of rank ≥ 2 that a MatMul or Gemm
 * upstream of them reads (directly or through Identity and Transpose), once per use. What ONNX Runtime drops because
 * no output needs it (the unembedding, the last MLP) does not count, nor do embedding tables (a Gather reads a row).
 */
export function forwardWeights(model: Model, outputs: readonly string[]): number {
  const graph = model.graph!;
  const nodes = graph.node ?? [];
  const producer = new Map(nodes.flatMap((n) => (n.output ?? []).map((o) => [o, n] as const)));
  const initializers = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', t]));
  const upstream = new Set<onnxProto.onnx.INodeProto>();
  const todo = [...outputs];
  while (todo.length) {
    const n = producer.get(todo.pop()!);
    if (!n || upstream.has(n)) continue;
    upstream.add(n);
    todo.push(...(n.input ?? []));
  }
  const weightOf = (name: string): number => {
    const t = initializers.get(name);
    if (t) {
      const dims = (t.dims ?? []).map((d) => (typeof d === 'number' ? d : d.toNumber()));
      return t.dataType === onnxProto.onnx.TensorProto.DataType.FLOAT && dims.length >= 2
        ? dims.reduce((a, d) => a * d, 1)
        : 0;
    }
    const n = producer.get(name);
    return n && (n.opType === 'Identity' || n.opType === 'Transpose') ? weightOf(n.input?.[0] ?? '') : 0;
  };
  let total = 0;
  for (const n of upstream)
    if (n.opType === 'MatMul' || n.opType === 'Gemm')
      total += weightOf(n.input?.[0] ?? '') + weightOf(n.input?.[1] ?? '');
  return total;
}
