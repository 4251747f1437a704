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
import { get as g, i32c as c, moduleBytes, op, set as s } from './wasm-asm.js';

const V128_LOAD = [op.simd, 0x00, 0x00, 0x00];
const V128_STORE = [op.simd, 0x0b, 0x00, 0x00];
const F32X4_MUL = [op.simd, 0xe6, 0x01];

// params: 0 table, 1 rows, 2 pairs, 3 count, 4 out; locals: 5 f, 6 t, 7 pa, 8 pb, 9 o, 10 vlim, 11 rowBytes
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
];

const MODULE = () =>
  moduleBytes([
    { name: 'pairs', params: 5, locals: [[7, 0x7f]], body },
    { name: 'rowPairs', params: 6, locals: [[6, 0x7f]], body: rowBody },
  ]);

export interface PairsKernels {
  pairs(table: number, rows: number, pairs: number, count: number, out: number): void;
  rowPairs(table: number, width: number, rows: number, pairs: number, count: number, out: number): void;
}

const instances = new WeakMap<WebAssembly.Memory, PairsKernels>();

/** The kernels bound to a wasm memory (one instance per memory). */
export function pairsKernels(memory: WebAssembly.Memory): PairsKernels {
  let k = instances.get(memory);
  if (!k) {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(MODULE()), { env: { memory } });
    k = instance.exports as unknown as PairsKernels;
    instances.set(memory, k);
  }
  return k;
}
