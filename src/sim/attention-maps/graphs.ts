/**
 * Graph surgery on a user's ONNX model (its bytes; the file is never edited): find the attention probabilities
 * (Softmax over the last axis whose output is multiplied by the values), make them and their inputs (the logits after
 * scale and mask) graph outputs, and, for the untrained baseline, permute the entries of every weight matrix.
 *
 *   model bytes ─ decode ─► candidates (Softmax → MatMul, in the graph's topological order)
 *                            └─► withOutputs(names) ─ encode ─► bytes for an ONNX Runtime session
 */
import { onnxProto } from '../../engine/onnx/proto.js';
import type { NormalRng } from '../../random/normal.js';

const { onnx } = onnxProto;
type Model = onnxProto.onnx.ModelProto;
type Node = onnxProto.onnx.INodeProto;

/** An int64 field of onnx-proto: a Long object, a number, or absent. */
type Int64 = number | { toNumber(): number } | null | undefined;
const num = (x: Int64): number | undefined =>
  x === null || x === undefined ? undefined : typeof x === 'number' ? x : x.toNumber();

/** Ops a probability tensor may pass through between its Softmax and the MatMul with the values. */
const PASS_THROUGH = new Set(['Dropout', 'Cast', 'Identity']);

/** One Softmax whose output is multiplied by the values: its output (probabilities) and input (logits). */
export interface Candidate {
  probs: string;
  logits: string;
  /** The Softmax's axis attribute as written (opset ≥ 13: default −1; before: default 1, over the flattened trailing axes). */
  axis: number;
  opset: number;
}

export interface ModelSummary {
  opset: number;
  /** The graph's inputs: name, element type (ONNX's name: int64, float, ...), dims (a number, or a name for a dynamic one). */
  inputs: { name: string; elem: string; dims: (number | string)[] }[];
  /** The graph's outputs, likewise. */
  outputs: { name: string; elem: string; dims: (number | string)[] }[];
  /** Every Softmax in the graph (its output), and those whose output feeds a MatMul. */
  softmaxes: string[];
  candidates: Candidate[];
  /** Op types in the graph, with counts (what the error says was searched). */
  ops: Record<string, number>;
  /** Every value a node produces, and every initializer and input (named tensors are checked against it). */
  values: Set<string>;
  /** Float weights in the initializers (the cost model's size of the model). */
  weights: number;
  /** Rows of the embedding table each graph input indexes (a Gather of a 2-D initializer by that input). */
  embeddingRows: Record<string, number>;
}

export function decodeModel(bytes: Uint8Array): Model {
  return onnx.ModelProto.decode(bytes);
}

const ELEM_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(onnx.TensorProto.DataType).map(([k, v]) => [v as number, k.toLowerCase()]),
);

function describe(v: onnxProto.onnx.IValueInfoProto): { name: string; elem: string; dims: (number | string)[] } {
  const t = v.type?.tensorType;
  return {
    name: v.name ?? '',
    elem: ELEM_NAMES[t?.elemType ?? 0] ?? 'unknown',
    dims: (t?.shape?.dim ?? []).map((d) => (d.dimParam ? d.dimParam : (num(d.dimValue as Int64) ?? '?'))),
  };
}

/** The model's inputs, outputs, Softmax nodes and candidate attention tensors, in the graph's topological order. */
export function summarize(model: Model): ModelSummary {
  const graph = model.graph!;
  const nodes = graph.node ?? [];
  const opset = num((model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx')?.version as Int64) ?? 1;
  const consumers = new Map<string, Node[]>();
  for (const n of nodes) for (const i of n.input ?? []) consumers.set(i, [...(consumers.get(i) ?? []), n]);
  const feedsMatMul = (value: string, depth = 0): boolean =>
    depth < 4 &&
    (consumers.get(value) ?? []).some(
      (c) => c.opType === 'MatMul' || (PASS_THROUGH.has(c.opType ?? '') && feedsMatMul(c.output?.[0] ?? '', depth + 1)),
    );
  const ops: Record<string, number> = {};
  const softmaxes: string[] = [];
  const candidates: Candidate[] = [];
  const values = new Set<string>([
    ...(graph.initializer ?? []).map((t) => t.name ?? ''),
    ...(graph.input ?? []).map((v) => v.name ?? ''),
  ]);
  for (const n of nodes) {
    const op = n.opType ?? '';
    ops[op] = (ops[op] ?? 0) + 1;
    for (const o of n.output ?? []) values.add(o);
    if (op !== 'Softmax' || (n.domain && n.domain !== 'ai.onnx')) continue;
    const out = n.output?.[0] ?? '';
    softmaxes.push(out);
    const axisAttr = (n.attribute ?? []).find((a) => a.name === 'axis');
    const axis = num(axisAttr?.i as Int64) ?? (opset >= 13 ? -1 : 1);
    if (feedsMatMul(out)) candidates.push({ probs: out, logits: n.input?.[0] ?? '', axis, opset });
  }
  const initializers = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', t]));
  // Exports share equal initializers through Identity nodes: follow them back to the initializer.
  const aliases = new Map(
    nodes.filter((n) => n.opType === 'Identity').map((n) => [n.output?.[0] ?? '', n.input?.[0] ?? '']),
  );
  const initializer = (name: string) => initializers.get(aliases.get(name) ?? name);
  return {
    opset,
    inputs: (graph.input ?? []).filter((v) => !initializers.has(v.name ?? '')).map(describe),
    outputs: (graph.output ?? []).map(describe),
    softmaxes,
    candidates,
    ops,
    values,
    weights: (graph.initializer ?? []).reduce(
      (a, t) =>
        a +
        (t.dataType === onnx.TensorProto.DataType.FLOAT
          ? (t.dims ?? []).reduce<number>((x, d) => x * (num(d as Int64) ?? 1), 1)
          : 0),
      0,
    ),
    embeddingRows: Object.fromEntries(
      nodes
        .flatMap((n) => {
          const dims = n.opType === 'Gather' ? initializer(n.input?.[0] ?? '')?.dims : undefined;
          return dims?.length === 2 && n.input?.[1] ? [[n.input[1], num(dims[0] as Int64) ?? 0]] : [];
        })
        .reverse(),
    ),
  };
}

/** The producer of a value (to find the logits of a named probability tensor: the input of its Softmax). */
export function softmaxInput(model: Model, value: string): string | undefined {
  const n = (model.graph?.node ?? []).find((x) => x.output?.includes(value));
  return n?.opType === 'Softmax' ? (n.input?.[0] ?? undefined) : undefined;
}

/**
 * The model with `names` as its only outputs (float tensors of unknown shape, unless value_info has them): what no
 * output needs (the unembedding, the MLPs after the last attention) is then dropped by ONNX Runtime's optimiser.
 */
export function withOutputs(model: Model, names: readonly string[]): Uint8Array {
  const graph = model.graph!;
  const known = new Map([...(graph.valueInfo ?? []), ...(graph.output ?? [])].map((v) => [v.name ?? '', v]));
  const output = names.map(
    (name) => known.get(name) ?? { name, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT } } },
  );
  const copy = onnx.ModelProto.create({ ...model, graph: onnx.GraphProto.create({ ...graph, output }) });
  return onnx.ModelProto.encode(copy).finish();
}

/**
 * The untrained baseline: the entries of every weight matrix (a float initializer of rank ≥ 2 that a MatMul, Gemm or
 * Gather reads: projections and embedding tables) shuffled, so each keeps its own scale and loses what it learned;
 * or, with `std`, re-drawn from N(0, std²) (the initialisation of GPT-2 and BERT: std 0.02). Biases, norms, masks
 * and constants are kept.
 */
export function untrainedWeights(model: Model, rng: NormalRng, std?: number): Model {
  const graph = model.graph!;
  const nodes = graph.node ?? [];
  const aliases = new Map(
    nodes.filter((n) => n.opType === 'Identity').map((n) => [n.output?.[0] ?? '', n.input?.[0] ?? '']),
  );
  const weights = new Set<string>();
  for (const n of nodes) {
    const ins = n.input ?? [];
    const read =
      n.opType === 'Gather' ? [ins[0]] : n.opType === 'MatMul' || n.opType === 'Gemm' ? [ins[0], ins[1]] : [];
    for (const name of read) if (name) weights.add(aliases.get(name) ?? name);
  }
  const initializer = (graph.initializer ?? []).map((t) => {
    if (!weights.has(t.name ?? '') || t.dataType !== onnx.TensorProto.DataType.FLOAT || (t.dims?.length ?? 0) < 2)
      return t;
    const values = t.rawData?.length
      ? new Float32Array(Uint8Array.from(t.rawData).buffer)
      : Float32Array.from(t.floatData ?? []);
    if (std === undefined) shuffle(values, rng);
    else for (let i = 0; i < values.length; i++) values[i] = std * rng.normal();
    return onnx.TensorProto.create({ ...t, rawData: new Uint8Array(values.buffer), floatData: [] });
  });
  return onnx.ModelProto.create({ ...model, graph: onnx.GraphProto.create({ ...graph, initializer }) });
}

/** Fisher–Yates with the point's generator. */
function shuffle(values: Float32Array, rng: NormalRng): void {
  for (let i = values.length - 1; i > 0; i--) {
    const j = Math.floor(rng.uniform() * (i + 1));
    const t = values[i]!;
    values[i] = values[j]!;
    values[j] = t;
  }
}
