/**
 * A few bytes of WebAssembly by hand (no toolchain at install): opcodes, LEB128, sections, and a module
 * of i32-parameter functions that imports or owns one memory. Used by the SIMD kernels in simd.ts and
 * softmax-kernel.ts.
 */
export const op = {
  block: 0x02, loop: 0x03, br: 0x0c, brIf: 0x0d, end: 0x0b,
  get: 0x20, set: 0x21, tee: 0x22, i32: 0x41, add: 0x6a, sub: 0x6b, mul: 0x6c, and: 0x71, shl: 0x74, geU: 0x4f,
  i32load: 0x28, f32load: 0x2a, f32store: 0x38, f32mul: 0x94, f32add: 0x92, f32max: 0x97, f32const: 0x43, simd: 0xfd,
} as const;

export const V128 = 0x7b;
export const I32 = 0x7f;
export const F32 = 0x7d;

export function sleb(v: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v === 0 && !(b & 0x40)) || (v === -1 && b & 0x40)) return [...out, b];
    out.push(b | 0x80);
  }
}
export const uleb = (v: number): number[] => (v < 0x80 ? [v] : [(v & 0x7f) | 0x80, ...uleb(v >>> 7)]);
const section = (id: number, bytes: number[]) => [id, ...uleb(bytes.length), ...bytes];
const name = (t: string) => [t.length, ...Buffer.from(t)];

export const get = (i: number): number[] => [op.get, i];
export const set = (i: number): number[] => [op.set, i];
export const i32c = (v: number): number[] => [op.i32, ...sleb(v)];
export const f32c = (v: number): number[] => [op.f32const, ...Buffer.from(new Float32Array([v]).buffer)];
/** A SIMD instruction by its sub-opcode (LEB128 after the 0xfd prefix). */
export const simd = (sub: number, ...imm: number[]): number[] => [op.simd, ...uleb(sub), ...imm];
/** v128.load / v128.store with a constant byte offset. */
export const v128load = (offset = 0): number[] => simd(0x00, 0x04, ...uleb(offset));
export const v128store = (offset = 0): number[] => simd(0x0b, 0x04, ...uleb(offset));
/** v128.const of four equal f32 lanes. */
export const f32x4c = (v: number): number[] => simd(0x0c, ...Array.from({ length: 4 }, () => [...Buffer.from(new Float32Array([v]).buffer)]).flat());
/** v128.const of four equal i32 lanes. */
export const i32x4c = (v: number): number[] => simd(0x0c, ...Array.from({ length: 4 }, () => [...Buffer.from(new Int32Array([v]).buffer)]).flat());

/** `block loop (br_if 1 when cond) body br 0 end end`: a while loop whose condition exits when true. */
export const whileNot = (exitCond: number[], body: number[]): number[] => [op.block, 0x40, op.loop, 0x40, ...exitCond, op.brIf, 1, ...body, op.br, 0, op.end, op.end];

export interface WasmFunction {
  name: string;
  /** Number of i32 parameters. */
  params: number;
  /** Local declarations after the parameters, in order: [count, type]. */
  locals: [number, number][];
  body: number[];
}

/** A module of exported functions over one memory, imported as env.memory (pass `shared` for a shared one). */
export function moduleBytes(fns: readonly WasmFunction[]): Uint8Array<ArrayBuffer> {
  const arities = [...new Set(fns.map((f) => f.params))];
  const types = arities.flatMap((n) => [0x60, n, ...Array.from({ length: n }, () => I32), 0x00]);
  const code = fns.map((f) => {
    const bytes = [...uleb(f.locals.length), ...f.locals.flatMap(([n, t]) => [...uleb(n), t]), ...f.body, op.end];
    return [...uleb(bytes.length), ...bytes];
  });
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [arities.length, ...types]),
    ...section(2, [0x01, ...name('env'), ...name('memory'), 0x02, 0x00, 0x01]),
    ...section(3, [fns.length, ...fns.map((f) => arities.indexOf(f.params))]),
    ...section(7, [fns.length, ...fns.flatMap((f, i) => [...name(f.name), 0x00, i])]),
    ...section(10, [fns.length, ...code.flat()]),
  ]);
}
