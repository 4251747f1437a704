/**
 * One WebAssembly SIMD kernel, assembled here byte by byte (no toolchain needed at install):
 *
 *   pairs(table, rows, pairs, count, out):  for f < count:
 *     out[f·rows + t] = table[pairs[2f]·rows + t] · table[pairs[2f+1]·rows + t]   (t < rows)
 *
 * with f32x4 multiplies and a scalar tail (φ transposed, F × rows), and
 *
 *   rowPairs(table, width, rows, pairs, count, out):  for i < rows, f < count:
 *     out[i·count + f] = table[i·width + p_f] · table[i·width + q_f]   (pairs hold byte offsets)
 *
 * the same products laid out row-major (rows × F), scalar. Both import the tfjs wasm backend's own memory, so
 * its operands and output are tensors in that heap: φ is written where the matMul reads it.
 * Every product is one float32 multiply, as in the JS fallback, so both give the same bits.
 */
const op = {
  block: 0x02, loop: 0x03, br: 0x0c, brIf: 0x0d, end: 0x0b,
  get: 0x20, set: 0x21, i32: 0x41, add: 0x6a, mul: 0x6c, and: 0x71, shl: 0x74, geU: 0x4f,
  i32load: 0x28, f32load: 0x2a, f32store: 0x38, f32mul: 0x94, simd: 0xfd,
} as const;
const V128_LOAD = [op.simd, 0x00, 0x00, 0x00];
const V128_STORE = [op.simd, 0x0b, 0x00, 0x00];
const F32X4_MUL = [op.simd, 0xe6, 0x01];

// params: 0 table, 1 rows, 2 pairs, 3 count, 4 out; locals: 5 f, 6 t, 7 pa, 8 pb, 9 o, 10 vlim, 11 rowBytes
const g = (i: number) => [op.get, i];
const s = (i: number) => [op.set, i];
const c = (v: number) => [op.i32, ...sleb(v)];
/** Address of table row pairs[2f + k]: table + pairs[f·8 + 4k] · rowBytes. */
const rowAddress = (k: number) => [...g(0), ...g(2), ...g(5), ...c(3), op.shl, op.add, op.i32load, 0x02, 4 * k, ...g(11), op.mul, op.add];
const body = [
  ...g(1), ...c(2), op.shl, ...s(11),
  ...g(1), ...c(-4), op.and, ...c(2), op.shl, ...s(10),
  ...c(0), ...s(5),
  op.block, 0x40, op.loop, 0x40,
  ...g(5), ...g(3), op.geU, op.brIf, 1,
  ...rowAddress(0), ...s(7),
  ...rowAddress(1), ...s(8),
  ...g(4), ...g(5), ...g(11), op.mul, op.add, ...s(9),
  ...c(0), ...s(6),
  op.block, 0x40, op.loop, 0x40,
  ...g(6), ...g(10), op.geU, op.brIf, 1,
  ...g(9), ...g(6), op.add,
  ...g(7), ...g(6), op.add, ...V128_LOAD,
  ...g(8), ...g(6), op.add, ...V128_LOAD,
  ...F32X4_MUL, ...V128_STORE,
  ...g(6), ...c(16), op.add, ...s(6), op.br, 0,
  op.end, op.end,
  op.block, 0x40, op.loop, 0x40,
  ...g(6), ...g(11), op.geU, op.brIf, 1,
  ...g(9), ...g(6), op.add,
  ...g(7), ...g(6), op.add, op.f32load, 0x02, 0x00,
  ...g(8), ...g(6), op.add, op.f32load, 0x02, 0x00,
  op.f32mul, op.f32store, 0x02, 0x00,
  ...g(6), ...c(4), op.add, ...s(6), op.br, 0,
  op.end, op.end,
  ...g(5), ...c(1), op.add, ...s(5), op.br, 0,
  op.end, op.end,
  op.end,
];

// params: 0 table, 1 width, 2 rows, 3 pairs, 4 count, 5 out; locals: 6 i, 7 tr, 8 o, 9 pp, 10 pend, 11 rowBytes
const rowBody = [
  ...g(1), ...c(2), op.shl, ...s(11),
  ...g(3), ...g(4), ...c(3), op.shl, op.add, ...s(10),
  ...c(0), ...s(6), ...g(0), ...s(7), ...g(5), ...s(8),
  op.block, 0x40, op.loop, 0x40,
  ...g(6), ...g(2), op.geU, op.brIf, 1,
  ...g(3), ...s(9),
  op.block, 0x40, op.loop, 0x40,
  ...g(9), ...g(10), op.geU, op.brIf, 1,
  ...g(8),
  ...g(7), ...g(9), op.i32load, 0x02, 0x00, op.add, op.f32load, 0x02, 0x00,
  ...g(7), ...g(9), op.i32load, 0x02, 0x04, op.add, op.f32load, 0x02, 0x00,
  op.f32mul, op.f32store, 0x02, 0x00,
  ...g(8), ...c(4), op.add, ...s(8),
  ...g(9), ...c(8), op.add, ...s(9), op.br, 0,
  op.end, op.end,
  ...g(7), ...g(11), op.add, ...s(7),
  ...g(6), ...c(1), op.add, ...s(6), op.br, 0,
  op.end, op.end,
  op.end,
];

function sleb(v: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v === 0 && !(b & 0x40)) || (v === -1 && b & 0x40)) return [...out, b];
    out.push(b | 0x80);
  }
}
const uleb = (v: number): number[] => (v < 0x80 ? [v] : [(v & 0x7f) | 0x80, ...uleb(v >>> 7)]);
const section = (id: number, bytes: number[]) => [id, ...uleb(bytes.length), ...bytes];
const name = (t: string) => [t.length, ...Buffer.from(t)];

function moduleBytes(): Uint8Array<ArrayBuffer> {
  const fn1 = [0x01, 0x07, 0x7f, ...body];
  const fn2 = [0x01, 0x06, 0x7f, ...rowBody];
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [0x02, 0x60, 0x05, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x00, 0x60, 0x06, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x00]),
    ...section(2, [0x01, ...name('env'), ...name('memory'), 0x02, 0x00, 0x01]),
    ...section(3, [0x02, 0x00, 0x01]),
    ...section(7, [0x02, ...name('pairs'), 0x00, 0x00, ...name('rowPairs'), 0x00, 0x01]),
    ...section(10, [0x02, ...uleb(fn1.length), ...fn1, ...uleb(fn2.length), ...fn2]),
  ]);
}

export interface PairsKernels {
  pairs(table: number, rows: number, pairs: number, count: number, out: number): void;
  rowPairs(table: number, width: number, rows: number, pairs: number, count: number, out: number): void;
}

const instances = new WeakMap<WebAssembly.Memory, PairsKernels>();

/** The kernels bound to a wasm memory (one instance per memory). */
export function pairsKernels(memory: WebAssembly.Memory): PairsKernels {
  let k = instances.get(memory);
  if (!k) {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(moduleBytes()), { env: { memory } });
    k = instance.exports as unknown as PairsKernels;
    instances.set(memory, k);
  }
  return k;
}
