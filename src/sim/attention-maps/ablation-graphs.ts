/**
 * Graph surgery for ablations (the user's file is never edited). Every attention layer gets three inputs of its own,
 * one row per sequence and one column per head, so that one call can ablate a different head in each sequence:
 *
 *   probs' = probs · (1 − uniform) + U · uniform         U: uniform weights over the keys the query sees
 *   out'   = (probs' @ V) · keep + fill                 before the output projection
 *
 * keep = 1, fill = 0, uniform = 0 is the model itself (exactly: x·1 + 0 = x in floating point). `zero` sets keep = 0;
 * `mean` sets keep = 0 and fill = the head's mean output; `uniform` sets uniform = 1. The next-token loss is added as
 * an output: −log softmax(logits)[target], from a targets input [batch, T, 1].
 *
 * `above(model, layer)` cuts the graph at an ablated layer: the nodes that depend on that layer's ablation inputs (or
 * a later layer's) form a graph of their own whose inputs are the values they read from below the cut, so the layers
 * below run once per point and only the part above runs once per ablation.
 */
import { onnxProto } from '../../engine/onnx/proto.js';

const { onnx } = onnxProto;
type Model = onnxProto.onnx.ModelProto;
type Node = onnxProto.onnx.INodeProto;
const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;

/** Ops a probability tensor may pass through between its Softmax and the MatMul with the values. */
const PASS_THROUGH = new Set(['Dropout', 'Cast', 'Identity']);
/** A logit below this hides its key (exports mask with −∞, −10⁴ or the float minimum). */
const MASKED = -1000;

export const TARGETS = 'attnlab_targets';
export const NLL = 'attnlab_nll';
export const keepInput = (layer: number) => `attnlab_keep_${layer}`;
export const fillInput = (layer: number) => `attnlab_fill_${layer}`;
export const uniformInput = (layer: number) => `attnlab_uniform_${layer}`;

/** One attention layer as the surgery sees it. */
export interface SiteLayer {
  probs: string;
  logits: string | null;
  heads: number;
  /** 4: probabilities [batch, heads, T, T]; 3: [batch·heads, T, T]. */
  rank: 3 | 4;
}

/** Where each layer's ablation sits: the MatMul of probabilities and values, and its output (the heads' outputs). */
export interface Site {
  matmul: Node;
  /** Which input of the MatMul carries the probabilities (after any pass-through op). */
  side: number;
  output: string;
}

export function findSites(model: Model, layers: readonly SiteLayer[]): Site[] {
  const nodes = model.graph?.node ?? [];
  const consumers = (v: string) => nodes.filter((n) => (n.input ?? []).includes(v));
  return layers.map((l) => {
    let value = l.probs;
    for (let depth = 0; depth < 5; depth++) {
      const users = consumers(value);
      const mm = users.find((n) => n.opType === 'MatMul');
      if (mm) return { matmul: mm, side: mm.input!.indexOf(value), output: mm.output![0]! };
      const pass = users.find((n) => PASS_THROUGH.has(n.opType ?? ''));
      if (!pass) break;
      value = pass.output![0]!;
    }
    throw new Error(`no MatMul reads ${l.probs}`);
  });
}

/** A node builder that names its values under a prefix and collects constants. */
function builder(prefix: string, opset: number) {
  const nodes: Node[] = [];
  const inits: onnxProto.onnx.ITensorProto[] = [];
  let count = 0;
  const name = () => `${prefix}/${count++}`;
  const op = (opType: string, input: string[], attrs: onnxProto.onnx.IAttributeProto[] = []) => {
    const out = name();
    nodes.push({ opType, input, output: [out], attribute: attrs, name: out });
    return out;
  };
  const ints = (values: number[]) => {
    const n = name();
    inits.push({ name: n, dataType: INT64, dims: [values.length], int64Data: values });
    return n;
  };
  const float = (value: number) => {
    const n = name();
    inits.push({ name: n, dataType: FLOAT, dims: [], floatData: [value] });
    return n;
  };
  const axisAttr = (axis: number) => [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: axis }];
  const unsqueeze = (x: string, axes: number[]) =>
    opset >= 13
      ? op('Unsqueeze', [x, ints(axes)])
      : op('Unsqueeze', [x], [{ name: 'axes', type: onnx.AttributeProto.AttributeType.INTS, ints: axes }]);
  return { nodes, inits, op, ints, float, axisAttr, unsqueeze };
}

const tensorInput = (name: string, elem: number, dims: (number | string)[]) => ({
  name,
  type: {
    tensorType: {
      elemType: elem,
      shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
    },
  },
});

/** The surgery of one layer: nodes that rewire its MatMul's probabilities and its output. */
function layerSurgery(b: ReturnType<typeof builder>, l: SiteLayer, site: Site, i: number) {
  const { op, ints, float, axisAttr } = b;
  const perHead = (x: string) => op('Reshape', [x, ints(l.rank === 4 ? [0, 0, 1, 1] : [-1, 1, 1])]);
  const uni = perHead(uniformInput(i));
  const keepP = op('Sub', [float(1), uni]);
  const seen = op('Greater', [l.logits ?? l.probs, float(l.logits ? MASKED : 0)]);
  const U = op('Softmax', [op('Where', [seen, float(0), float(-1e9)])], axisAttr(-1));
  const probsIn = site.matmul.input![site.side]!;
  const probs = op('Add', [op('Mul', [probsIn, keepP]), op('Mul', [U, uni])]);
  site.matmul.input![site.side] = probs;
  const fill = op('Reshape', [fillInput(i), ints(l.rank === 4 ? [0, 0, 1, -1] : [-1, 1, 0])]);
  return op('Add', [op('Mul', [site.output, perHead(keepInput(i))]), fill]);
}

/**
 * The model with ablation inputs in every layer and the per-token loss as an output (besides `outputs`), or an error
 * message when the logits output is not there or the opset is too old for GatherElements.
 */
export function ablatable(source: Model, layers: readonly SiteLayer[], logits: string, outputs: readonly string[]) {
  const model = onnx.ModelProto.decode(onnx.ModelProto.encode(source).finish());
  const graph = model.graph!;
  const opset = Number((model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx')?.version ?? 1);
  if (opset < 11) throw new Error(`opset ${opset}: the loss needs GatherElements (opset 11 or later)`);
  const sites = findSites(model, layers);
  const b = builder('attnlab', opset);
  const inputs = [...(graph.input ?? [])];
  const rewired = new Map<string, string>();
  layers.forEach((l, i) => {
    rewired.set(sites[i]!.output, layerSurgery(b, l, sites[i]!, i));
    inputs.push(
      tensorInput(keepInput(i), FLOAT, ['batch', l.heads]),
      tensorInput(uniformInput(i), FLOAT, ['batch', l.heads]),
      tensorInput(fillInput(i), FLOAT, ['batch', l.heads, 'd_head']),
    );
  });
  // Every reader of a head output reads the ablated one (the surgery's own Mul excepted).
  const surgery = new Set(b.nodes);
  for (const n of graph.node ?? []) if (!surgery.has(n)) n.input = (n.input ?? []).map((x) => rewired.get(x) ?? x);
  const lsm = b.op('LogSoftmax', [logits], b.axisAttr(-1));
  const picked = b.op('GatherElements', [lsm, TARGETS], b.axisAttr(2));
  b.nodes.push({ opType: 'Neg', input: [picked], output: [NLL], name: NLL });
  inputs.push(tensorInput(TARGETS, INT64, ['batch', 'T', 1]));
  const node = insertAfterProducers(graph.node ?? [], b.nodes);
  const output = [...new Set([NLL, ...outputs])].map((name) => ({ name, type: { tensorType: { elemType: FLOAT } } }));
  model.graph = onnx.GraphProto.create({
    ...graph,
    node,
    input: inputs,
    output,
    initializer: [...(graph.initializer ?? []), ...b.inits],
  });
  return { model, added: b.nodes, sites: sites.map((x) => x.output) };
}

/** The graph's nodes with the new ones placed in topological order (each after the producers of its inputs). */
function insertAfterProducers(nodes: readonly Node[], added: readonly Node[]): Node[] {
  const all = [...nodes, ...added];
  const producer = new Map<string, Node>();
  for (const n of all) for (const o of n.output ?? []) producer.set(o, n);
  const done = new Set<Node>();
  const order: Node[] = [];
  const visit = (n: Node) => {
    if (done.has(n)) return;
    done.add(n);
    for (const i of n.input ?? []) {
      const p = producer.get(i);
      if (p) visit(p);
    }
    order.push(n);
  };
  for (const n of all) visit(n);
  return order;
}

/** The values every node reads that some node produces, and the graph's inputs (what a discovery call outputs). */
export function innerValues(model: Model): string[] {
  const produced = new Set((model.graph?.node ?? []).flatMap((n) => n.output ?? []));
  const read = new Set((model.graph?.node ?? []).flatMap((n) => n.input ?? []));
  return [...produced].filter((v) => v && read.has(v));
}

/** What the discovery calls learned of each inner value: float or not, and whether its first axis is the batch. */
export interface ValueKinds {
  float: Set<string>;
  batched: Set<string>;
}

/**
 * The part of the ablatable model above layer `layer`'s ablation: the nodes downstream of the ablation inputs of that
 * layer and every later one (and of the targets), plus, pulled up from below, the producers of any non-float value
 * they read (shapes, masks) so that those follow the batch of the call, and of any value computed from the weights
 * alone. Its inputs are the float values it reads from
 * below (the cut: the residual stream, the layer's probabilities and values), the graph inputs it reads, and the
 * ablation inputs; its outputs are the loss and `outputs`.
 */
export function above(model: Model, layer: number, layers: number, kinds: ValueKinds, outputs: readonly string[]) {
  const graph = model.graph!;
  const nodes = graph.node ?? [];
  const sources = new Set([TARGETS]);
  for (let i = layer; i < layers; i++) [keepInput(i), fillInput(i), uniformInput(i)].forEach((x) => sources.add(x));
  const producer = new Map<string, Node>();
  for (const n of nodes) for (const o of n.output ?? []) producer.set(o, n);
  const keep = new Set<Node>();
  const reached = new Set(sources);
  for (const n of nodes) {
    if ((n.input ?? []).some((x) => reached.has(x))) {
      keep.add(n);
      (n.output ?? []).forEach((o) => reached.add(o));
    }
  }
  // Values computed from weights alone (a tied unembedding's Transpose) are recomputed above: the runtime folds them
  // into constants there, where a cut would pass them in on every call and keep them from being prepacked.
  const fixed = new Set((graph.initializer ?? []).map((t) => t.name ?? ''));
  for (const n of nodes)
    if ((n.input ?? []).every((i) => !i || fixed.has(i))) (n.output ?? []).forEach((o) => fixed.add(o));
  const pull = (v: string) => {
    const p = producer.get(v);
    if (!p || keep.has(p) || (kinds.float.has(v) && !fixed.has(v))) return;
    keep.add(p);
    (p.input ?? []).forEach(pull);
  };
  for (const n of [...keep]) (n.input ?? []).forEach(pull);
  const node = nodes.filter((n) => keep.has(n));
  const made = new Set(node.flatMap((n) => n.output ?? []));
  const inits = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', t]));
  const read = [...new Set(node.flatMap((n) => n.input ?? []))].filter((v) => v && !made.has(v));
  const graphInputs = new Map((graph.input ?? []).map((v) => [v.name ?? '', v]));
  const cut = read.filter((v) => !inits.has(v) && !graphInputs.has(v));
  const input = [
    ...read.filter((v) => graphInputs.has(v)).map((v) => graphInputs.get(v)!),
    ...cut.map((name) => ({ name, type: { tensorType: { elemType: FLOAT } } })),
  ];
  const output = [NLL, ...outputs].map((name) => ({ name, type: { tensorType: { elemType: FLOAT } } }));
  const initializer = read.filter((v) => inits.has(v)).map((v) => inits.get(v)!);
  const part = onnx.ModelProto.create({
    ...model,
    graph: onnx.GraphProto.create({ ...graph, node, input, output, initializer, valueInfo: [] }),
  });
  return { bytes: onnx.ModelProto.encode(part).finish(), cut, inputs: input.map((v) => v.name ?? '') };
}

const BOOL_OPS = new Set([
  'Equal',
  'Greater',
  'Less',
  'GreaterOrEqual',
  'LessOrEqual',
  'Not',
  'And',
  'Or',
  'Xor',
  'IsNaN',
  'IsInf',
]);
const INT64_OPS = new Set(['Shape', 'Size', 'NonZero', 'ArgMax', 'ArgMin']);

/** The element type of every value, propagated through the graph from its inputs and initializers by op. */
export function elemTypes(model: Model): Map<string, number> {
  const graph = model.graph!;
  const types = new Map<string, number>();
  for (const t of graph.initializer ?? []) types.set(t.name ?? '', t.dataType ?? FLOAT);
  for (const v of graph.input ?? []) types.set(v.name ?? '', v.type?.tensorType?.elemType ?? FLOAT);
  const attr = (n: Node, name: string) => (n.attribute ?? []).find((a) => a.name === name);
  for (const n of graph.node ?? []) {
    const op = n.opType ?? '';
    const ins = n.input ?? [];
    let t: number | undefined;
    if (BOOL_OPS.has(op)) t = onnx.TensorProto.DataType.BOOL;
    else if (INT64_OPS.has(op)) t = INT64;
    else if (op === 'Cast') t = Number(attr(n, 'to')?.i ?? FLOAT);
    else if (op === 'Constant') {
      const a = n.attribute?.[0];
      t = a?.t ? (a.t.dataType ?? FLOAT) : a?.name?.startsWith('value_int') ? INT64 : FLOAT;
    } else if (op === 'ConstantOfShape') t = attr(n, 'value')?.t?.dataType ?? FLOAT;
    else if (op === 'Where') t = types.get(ins[1] ?? '');
    else t = ins.map((i) => types.get(i)).find((x) => x !== undefined);
    if (t !== undefined) for (const o of n.output ?? []) types.set(o, t);
  }
  return types;
}

/** The model with `names` as its outputs, typed as elemTypes finds them (names of unknown type are left out). */
export function encodeWithOutputs(model: Model, names: readonly string[]): Uint8Array {
  const types = elemTypes(model);
  const output = names
    .filter((name) => types.has(name))
    .map((name) => ({ name, type: { tensorType: { elemType: types.get(name)! } } }));
  const copy = onnx.ModelProto.create({ ...model, graph: onnx.GraphProto.create({ ...model.graph!, output }) });
  return onnx.ModelProto.encode(copy).finish();
}
