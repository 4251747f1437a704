/**
 * A small builder of ONNX graphs over the protobuf definitions of `onnx-proto`: values are names, ops return the
 * names of their outputs, constants become initializers. Opset 15 (every op the attention graphs use is there).
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
const { DataType } = onnx.TensorProto;
const Attr = onnx.AttributeProto.AttributeType;

export const OPSET = 15;
/**
 * The domain of ONNX Runtime's contrib ops (MultiHeadAttention, GroupQueryAttention, FusedMatMul), imported at version
 * 1 when a graph uses it.
 */
export const CONTRIB_DOMAIN = 'com.microsoft';

/** A dimension: a fixed size, or a name for a size given at run time. */
export type Dim = number | string;
export type AttrValue = number | number[] | string;
export type ElemType = 'float32' | 'int64' | 'bool' | 'int32' | 'int8' | 'uint8' | 'float16';

const ELEM: Record<ElemType, number> = {
  float32: DataType.FLOAT,
  int64: DataType.INT64,
  bool: DataType.BOOL,
  int32: DataType.INT32,
  int8: DataType.INT8,
  uint8: DataType.UINT8,
  float16: DataType.FLOAT16,
};

function attribute(name: string, v: AttrValue): onnxProto.onnx.IAttributeProto {
  if (typeof v === 'string') return { name, type: Attr.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: Attr.INTS, ints: v };
  return Number.isInteger(v) ? { name, type: Attr.INT, i: v } : { name, type: Attr.FLOAT, f: v };
}

const valueInfo = (name: string, dims: readonly Dim[], elem: ElemType = 'float32'): onnxProto.onnx.IValueInfoProto => ({
  name,
  type: {
    tensorType: {
      elemType: ELEM[elem],
      shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
    },
  },
});

/** IEEE half-precision bit patterns of `values` (round to nearest even; overflow to ±Infinity). */
export function toHalfBits(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  for (let i = 0; i < values.length; i++) {
    f[0] = values[i]!;
    const x = u[0]!;
    const sign = (x >>> 16) & 0x8000;
    const exp = (x >>> 23) & 0xff;
    let mant = x & 0x7fffff;
    if (exp === 0xff) {
      out[i] = sign | 0x7c00 | (mant ? 0x200 : 0);
      continue;
    }
    let e = exp - 127 + 15;
    if (e >= 0x1f) {
      out[i] = sign | 0x7c00;
      continue;
    }
    if (e <= 0) {
      if (e < -10) {
        out[i] = sign;
        continue;
      }
      mant |= 0x800000;
      const shift = 14 - e;
      let h = mant >>> shift;
      const rest = mant & ((1 << shift) - 1);
      const half = 1 << (shift - 1);
      if (rest > half || (rest === half && h & 1)) h++;
      out[i] = sign | h;
      continue;
    }
    let h = (e << 10) | (mant >>> 13);
    const rest = mant & 0x1fff;
    if (rest > 0x1000 || (rest === 0x1000 && h & 1)) h++;
    e = h; // a carry into the exponent is the correct rounding
    out[i] = sign | e;
  }
  return out;
}

/** Float values of half-precision bit patterns. */
export function fromHalfBits(bits: ArrayLike<number>): Float64Array {
  const out = new Float64Array(bits.length);
  for (let i = 0; i < bits.length; i++) {
    const b = bits[i]!;
    const sign = b & 0x8000 ? -1 : 1;
    const exp = (b >>> 10) & 0x1f;
    const mant = b & 0x3ff;
    out[i] =
      exp === 0
        ? sign * mant * 2 ** -24
        : exp === 0x1f
          ? mant
            ? NaN
            : sign * Infinity
          : sign * (1 + mant / 1024) * 2 ** (exp - 15);
  }
  return out;
}

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
  output(value: string, name: string, dims: readonly Dim[], elem: ElemType = 'float32'): void {
    this.nodes.push({ opType: 'Identity', input: [value], output: [name] });
    this.outputs.push(valueInfo(name, dims, elem));
  }

  /**
   * Name a node's output directly as a graph output (no Identity: an op's output buffer is the caller's, when the
   * caller pre-allocates it).
   */
  outputAs(node: string, name: string, dims: readonly Dim[], elem: ElemType = 'float32'): void {
    const n = this.nodes.find((x) => x.output?.includes(node));
    if (!n?.output) throw new Error(`no node outputs ${node}`);
    n.output[n.output.indexOf(node)] = name;
    this.outputs.push(valueInfo(name, dims, elem));
  }

  /** One node; returns its first output. */
  op(type: string, inputs: readonly string[], attrs: Record<string, AttrValue> = {}): string {
    return this.ops(type, inputs, 1, attrs)[0]!;
  }

  /** One node with `outputs` outputs. */
  ops(type: string, inputs: readonly string[], outputs: number, attrs: Record<string, AttrValue> = {}): string[] {
    const names = Array.from({ length: outputs }, () => `${type.toLowerCase()}_${this.count++}`);
    this.nodes.push({
      opType: type,
      input: [...inputs],
      output: names,
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
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

  /** A float16 constant, from float values (rounded to nearest even). */
  halves(values: ArrayLike<number>, dims: readonly number[] = []): string {
    return this.constant(DataType.FLOAT16, dims, new Uint8Array(toHalfBits(values).buffer));
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
      opsetImport: [
        { domain: '', version: OPSET },
        ...(this.contribUsed ? [{ domain: CONTRIB_DOMAIN, version: 1 }] : []),
      ],
      producerName: 'attnlab',
      graph: {
        name: this.name,
        node: this.nodes,
        input: this.inputs,
        output: this.outputs,
        initializer: this.initializers,
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}
