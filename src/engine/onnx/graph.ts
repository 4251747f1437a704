/**
 * A small builder of ONNX graphs over the protobuf definitions of `onnx-proto`: values are names, ops return the
 * names of their outputs, constants become initializers. Opset 15 (every op the attention graphs use is there).
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
const { DataType } = onnx.TensorProto;
const Attr = onnx.AttributeProto.AttributeType;

export const OPSET = 15;
/** ONNX Runtime's contrib operators (fused attention kernels), opset 1. */
export const CONTRIB_DOMAIN = 'com.microsoft';

/** A dimension: a fixed size, or a name for a size given at run time. */
export type Dim = number | string;
export type AttrValue = number | number[] | string;
export type ElemType = 'float32' | 'int64' | 'bool';

const ELEM: Record<ElemType, number> = { float32: DataType.FLOAT, int64: DataType.INT64, bool: DataType.BOOL };

function attribute(name: string, v: AttrValue): onnxProto.onnx.IAttributeProto {
  if (typeof v === 'string') return { name, type: Attr.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: Attr.INTS, ints: v };
  return Number.isInteger(v) ? { name, type: Attr.INT, i: v } : { name, type: Attr.FLOAT, f: v };
}

const valueInfo = (name: string, dims: readonly Dim[], elem: ElemType = 'float32'): onnxProto.onnx.IValueInfoProto => ({
  name,
  type: { tensorType: { elemType: ELEM[elem], shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
});

export class Graph {
  private readonly nodes: onnxProto.onnx.INodeProto[] = [];
  private readonly inputs: onnxProto.onnx.IValueInfoProto[] = [];
  private readonly outputs: onnxProto.onnx.IValueInfoProto[] = [];
  private readonly initializers: onnxProto.onnx.ITensorProto[] = [];
  private count = 0;
  /** Whether a node of ONNX Runtime's contrib domain is in the graph (its opset is then imported). */
  private contribUsed = false;
  /** Constants by content, so that a graph repeated per chunk holds each of its constants once. */
  private readonly constants = new Map<string, string>();
  readonly name: string;

  constructor(name: string) {
    this.name = name;
  }

  input(name: string, dims: readonly Dim[], elem: ElemType = 'float32'): string {
    this.inputs.push(valueInfo(name, dims, elem));
    return name;
  }

  /** Mark `value` as the graph output `name` (an Identity node renames it). */
  output(value: string, name: string, dims: readonly Dim[]): void {
    this.nodes.push({ opType: 'Identity', input: [value], output: [name] });
    this.outputs.push(valueInfo(name, dims));
  }

  /** One node; returns its first output. */
  op(type: string, inputs: readonly string[], attrs: Record<string, AttrValue> = {}): string {
    return this.ops(type, inputs, 1, attrs)[0]!;
  }

  /** One node with `outputs` outputs. */
  ops(type: string, inputs: readonly string[], outputs: number, attrs: Record<string, AttrValue> = {}): string[] {
    const names = Array.from({ length: outputs }, () => `${type.toLowerCase()}_${this.count++}`);
    this.nodes.push({ opType: type, input: [...inputs], output: names, attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)) });
    return names;
  }

  /**
   * One node of ONNX Runtime's contrib domain (`com.microsoft`: MultiHeadAttention, GroupQueryAttention); returns its
   * outputs. `inputs` may hold '' for an optional input left out.
   */
  contrib(type: string, inputs: readonly string[], outputs: number, attrs: Record<string, AttrValue> = {}): string[] {
    const names = this.ops(type, inputs, outputs, attrs);
    this.nodes[this.nodes.length - 1]!.domain = CONTRIB_DOMAIN;
    this.contribUsed = true;
    return names;
  }

  /** A float32 constant (a scalar when `dims` is empty). */
  floats(values: ArrayLike<number>, dims: readonly number[] = []): string {
    return this.constant(DataType.FLOAT, dims, new Uint8Array(Float32Array.from(values).buffer));
  }

  /** An int64 constant (shapes, axes, indices). */
  ints(values: readonly number[], dims: readonly number[] = [values.length]): string {
    return this.constant(DataType.INT64, dims, new Uint8Array(BigInt64Array.from(values.map(BigInt)).buffer));
  }

  private constant(dataType: number, dims: readonly number[], rawData: Uint8Array): string {
    const key = `${dataType}|${dims.join()}|${Buffer.from(rawData).toString('base64')}`;
    let name = this.constants.get(key);
    if (!name) {
      name = `c_${this.count++}`;
      this.initializers.push({ name, dataType, dims: [...dims], rawData });
      this.constants.set(key, name);
    }
    return name;
  }

  /** An int32 constant (GroupQueryAttention's sequence lengths; a scalar when `dims` is empty). */
  int32s(values: readonly number[], dims: readonly number[] = [values.length]): string {
    return this.constant(DataType.INT32, dims, new Uint8Array(Int32Array.from(values).buffer));
  }

  /** The serialized model. */
  encode(): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: 8,
      opsetImport: [{ domain: '', version: OPSET }, ...(this.contribUsed ? [{ domain: CONTRIB_DOMAIN, version: 1 }] : [])],
      producerName: 'attnlab',
      graph: { name: this.name, node: this.nodes, input: this.inputs, output: this.outputs, initializer: this.initializers },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}
