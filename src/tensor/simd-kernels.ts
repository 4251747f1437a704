/**
 * WebAssembly SIMD kernels, assembled here (wasm-asm.ts), over whatever memory they are bound to:
 *
 *   gemm      C = A·B on a 4 × 8 register tile, with f32x4.relaxed_madd: one fused multiply-add on every
 *             x86-64 with FMA3 and every ARM64 (V8 needs --experimental-wasm-relaxed-simd on Node 20; it is
 *             set before the module compiles). Where relaxed SIMD cannot compile, a multiply and an add.
 *             About 47 GFLOP/s per core here against XNNPACK's 32 (which has no FMA in wasm).
 *   softmax   rows of scores → exp(scale·(s − max)) in place, with the row sums
 *   rowSums   sums of rows, added to a vector (φ(K)ᵀ1 of the linear form)
 */
import { setFlagsFromString } from 'node:v8';
import { F32, get, i32c, I32, moduleBytes, op, set, simd, f32x4c, i32x4c, V128, v128load, v128store, whileNot, type WasmFunction } from './wasm-asm.js';

const SPLAT = 0x13;
const F32X4 = { add: 0xe4, sub: 0xe5, mul: 0xe6, pmax: 0xeb, extract: 0x1f } as const;
const I32X4 = { add: 0xae, shl: 0xab } as const;
const RELAXED_MADD = 0x105;
const F32_REINTERPRET_I32 = 0xbe;
/** 1.5·2²³: adding it rounds a float below 2²² to an integer held in the low mantissa bits. */
const MAGIC = 12582912;
/**
 * c5 … c1 of exp(r) ≈ 1 + r·(c1 + r·(c2 + r·(c3 + r·(c4 + r·c5)))) on |r| ≤ ln2/2: a relative-error minimax fit
 * (Lawson's iteration), 9.1e-8 at most in exact arithmetic and 1.6e-7 evaluated in float32.
 */
const EXP_POLY = [0.00829031, 0.04189793, 0.16667636, 0.4999915, 0.99999971] as const;

/**
 * gemm(a, lda, b, ldb, panel, k, c, ldc, mTiles, nTiles): C[4i.., 8j..] = A[4i.., 0..k] · B[0..k, 8j..] for
 * i < mTiles, j < nTiles (gemmAcc: C += A·B). A and C are row-major (lda, ldc bytes per row); B's 8 columns of panel j start at
 * b + j·panel and step ldb bytes per row: a row-major B has panel = 32, ldb = its row bytes; B packed into
 * k × 8 panels has panel = 32·k, ldb = 32. Rows go 4 at a time (A's tile stays hot across the panels).
 */
function gemm(fused: boolean, accumulate: boolean): WasmFunction {
  const [A, LDA, B, LDB, PANEL, K, C, LDC, MT, NT] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]; // params
  const [mt, nt, PA, pb, pend, cptr, arow] = [10, 11, 12, 16, 17, 18, 19]; // i32 locals (PA: 4 row pointers)
  const [ACC, B0, B1, AV] = [20, 28, 29, 30]; // v128 locals (ACC: 8 accumulators)
  const madd = (acc: number, b: number) =>
    fused
      ? [...get(AV), ...get(b), ...get(acc), ...simd(RELAXED_MADD), ...set(acc)]
      : [...get(AV), ...get(b), ...simd(F32X4.mul), ...get(acc), ...simd(F32X4.add), ...set(acc)];
  const row = (r: number) => [
    ...get(PA + r), op.f32load, 0x02, 0x00, ...simd(SPLAT), ...set(AV),
    ...madd(ACC + 2 * r, B0), ...madd(ACC + 2 * r + 1, B1),
    ...get(PA + r), ...i32c(4), op.add, ...set(PA + r),
  ];
  const inner = [
    ...get(pb), ...v128load(0), ...set(B0),
    ...get(pb), ...v128load(16), ...set(B1),
    ...row(0), ...row(1), ...row(2), ...row(3),
    ...get(pb), ...get(LDB), op.add, ...set(pb),
  ];
  const store = (r: number) => [
    ...get(cptr), ...get(ACC + 2 * r), ...v128store(0),
    ...get(cptr), ...get(ACC + 2 * r + 1), ...v128store(16),
    ...get(cptr), ...get(LDC), op.add, ...set(cptr),
  ];
  const cAddress = [...get(C), ...get(mt), ...get(LDC), op.mul, ...i32c(2), op.shl, op.add, ...get(nt), ...i32c(5), op.shl, op.add, ...set(cptr)];
  // Start from zero, or (gemmAcc) from C's current values, so a long k can run in blocks that stay in cache.
  const init = accumulate
    ? [0, 1, 2, 3].flatMap((r) => [
        ...get(cptr), ...get(LDC), ...i32c(r), op.mul, op.add, ...v128load(0), ...set(ACC + 2 * r),
        ...get(cptr), ...get(LDC), ...i32c(r), op.mul, op.add, ...v128load(16), ...set(ACC + 2 * r + 1),
      ])
    : Array.from({ length: 8 }, (_, i) => [...f32x4c(0), ...set(ACC + i)]).flat();
  const tile = [
    ...cAddress,
    ...init,
    ...get(arow), ...set(PA),
    ...get(PA), ...get(LDA), op.add, ...set(PA + 1),
    ...get(PA + 1), ...get(LDA), op.add, ...set(PA + 2),
    ...get(PA + 2), ...get(LDA), op.add, ...set(PA + 3),
    ...get(arow), ...get(K), ...i32c(2), op.shl, op.add, ...set(pend),
    ...get(B), ...get(nt), ...get(PANEL), op.mul, op.add, ...set(pb),
    ...whileNot([...get(PA), ...get(pend), op.geU], inner),
    ...cAddress,
    ...store(0), ...store(1), ...store(2), ...store(3),
    ...get(nt), ...i32c(1), op.add, ...set(nt),
  ];
  const body = [
    ...i32c(0), ...set(mt),
    ...whileNot([...get(mt), ...get(MT), op.geU], [
      ...get(A), ...get(mt), ...get(LDA), op.mul, ...i32c(2), op.shl, op.add, ...set(arow),
      ...i32c(0), ...set(nt),
      ...whileNot([...get(nt), ...get(NT), op.geU], tile),
      ...get(mt), ...i32c(1), op.add, ...set(mt),
    ]),
  ];
  return { name: accumulate ? 'gemmAcc' : 'gemm', params: 10, locals: [[10, I32], [11, V128]], body };
}

/** The four lanes of v128 local v combined into one f32 with `combine` (f32.add, f32.max). */
const lanes = (v: number, combine: number) => [
  ...get(v), ...simd(F32X4.extract, 0), ...get(v), ...simd(F32X4.extract, 1), combine,
  ...get(v), ...simd(F32X4.extract, 2), ...get(v), ...simd(F32X4.extract, 3), combine, combine,
];

/**
 * rowSums(src, rows, cols, ld, dst): dst[r] += Σ_{c < cols} src[r][c] for r < rows (rows ld bytes apart, cols a
 * multiple of 16), with four accumulators so the adds do not wait on each other.
 */
function rowSums(): WasmFunction {
  // params 0 src, 1 rows, 2 cols, 3 ld, 4 dst; then locals
  const [R, P, PEND, ACC] = [5, 6, 7, 8]; // i32 ×3, v128 ×4
  const acc = (j: number) => [...get(ACC + j), ...get(P), ...v128load(16 * j), ...simd(F32X4.add), ...set(ACC + j)];
  const at = [...get(4), ...get(R), ...i32c(2), op.shl, op.add];
  const body = [
    ...i32c(0), ...set(R),
    ...whileNot([...get(R), ...get(1), op.geU], [
      ...get(0), ...set(P),
      ...get(0), ...get(2), ...i32c(2), op.shl, op.add, ...set(PEND),
      ...[0, 1, 2, 3].flatMap((j) => [...f32x4c(0), ...set(ACC + j)]),
      ...whileNot([...get(P), ...get(PEND), op.geU], [...acc(0), ...acc(1), ...acc(2), ...acc(3), ...get(P), ...i32c(64), op.add, ...set(P)]),
      ...get(ACC), ...get(ACC + 1), ...simd(F32X4.add), ...get(ACC + 2), ...get(ACC + 3), ...simd(F32X4.add), ...simd(F32X4.add), ...set(ACC),
      ...at, ...at, op.f32load, 0x02, 0x00, ...lanes(ACC, op.f32add), op.f32add, op.f32store, 0x02, 0x00,
      ...get(0), ...get(3), op.add, ...set(0),
      ...get(R), ...i32c(1), op.add, ...set(R),
    ]),
  ];
  return { name: 'rowSums', params: 5, locals: [[3, I32], [4, V128]], body };
}

/**
 * softmax(s, rows, n, lds, sums, scale): each row of n scores s (n a multiple of 4) becomes exp(scale·(s − max))
 * in place and its sum goes to sums[row]; scale arrives as its float bits. exp(x), x ≤ 0: clamp at −87.3,
 * x = n·ln2 + r, a degree-5 minimax polynomial in r, times 2ⁿ built from the exponent bits; multiply-adds
 * fused where the products are.
 */
function softmax(fused: boolean): WasmFunction {
  const CONSTANTS = [-87.33654, Math.LOG2E, MAGIC, -0.693359375, 2.12194440e-4, ...EXP_POLY, 1];
  // params 0 s, 1 rows, 2 n, 3 lds, 4 sums, 5 scale bits; then locals, numbered in declaration order
  const [R, P, PEND] = [6, 7, 8]; // i32
  const [VMAX, VSUM, X, FX, Y, T, MSPLAT, SCALE, BIAS] = [9, 10, 11, 12, 13, 14, 15, 16, 17]; // v128
  const CONST0 = 18; // v128 constants, set once (a v128.const inside the loop is rebuilt on every use)
  const M = CONST0 + CONSTANTS.length; // f32 row max
  const k = (c: number) => get(CONST0 + CONSTANTS.indexOf(c));
  const mul = simd(F32X4.mul);
  const add = simd(F32X4.add);
  /** a·b + c (a may already be on the stack: pass []), fused where the products are. */
  const madd = (a: number[], b: number[], c: number[]) => (fused ? [...a, ...b, ...c, ...simd(RELAXED_MADD)] : [...a, ...b, ...mul, ...c, ...add]);
  const exp = [
    // x = max(scale·(s − m), −87.3)
    ...k(-87.33654), ...get(P), ...v128load(0), ...get(MSPLAT), ...simd(F32X4.sub), ...get(SCALE), ...mul, ...simd(F32X4.pmax), ...set(X),
    // t = x·log2e + 1.5·2²³ rounds to the nearest integer n in its low mantissa bits; fx = t − 1.5·2²³ = n.
    ...madd(get(X), k(Math.LOG2E), k(MAGIC)), ...set(T),
    ...get(T), ...k(MAGIC), ...simd(F32X4.sub), ...set(FX),
    // r = x − n·ln2, in two steps (ln2 = C1 + C2, C1 exact in a few bits)
    ...madd(get(FX), k(-0.693359375), get(X)), ...set(X),
    ...madd(get(FX), k(2.12194440e-4), get(X)), ...set(X),
    // y = 1 + r·(c1 + r·(c2 + r·(c3 + r·(c4 + r·c5))))
    ...madd(get(X), k(EXP_POLY[0]), k(EXP_POLY[1])),
    ...madd([], get(X), k(EXP_POLY[2])),
    ...madd([], get(X), k(EXP_POLY[3])),
    ...madd([], get(X), k(EXP_POLY[4])),
    ...madd([], get(X), k(1)),
    // · 2ⁿ: the bits of t are 0x4B400000 + n, so (bits + 127 − 0x4B400000) << 23 are the bits of 2ⁿ
    ...get(T), ...get(BIAS), ...simd(I32X4.add), ...i32c(23), ...simd(I32X4.shl), ...mul, ...set(Y),
    ...get(P), ...get(Y), ...v128store(0),
    ...get(VSUM), ...get(Y), ...add, ...set(VSUM),
    ...get(P), ...i32c(16), op.add, ...set(P),
  ];
  const rowBody = [
    // max
    ...f32x4c(-Infinity), ...set(VMAX),
    ...get(0), ...set(P),
    ...whileNot([...get(P), ...get(PEND), op.geU], [...get(VMAX), ...get(P), ...v128load(0), ...simd(F32X4.pmax), ...set(VMAX), ...get(P), ...i32c(16), op.add, ...set(P)]),
    ...lanes(VMAX, op.f32max), ...set(M),
    ...get(M), ...simd(SPLAT), ...set(MSPLAT),
    // exp in place, sum
    ...f32x4c(0), ...set(VSUM),
    ...get(0), ...set(P),
    ...whileNot([...get(P), ...get(PEND), op.geU], exp),
    ...get(4), ...get(R), ...i32c(2), op.shl, op.add, ...lanes(VSUM, op.f32add), op.f32store, 0x02, 0x00,
  ];
  const body = [
    ...CONSTANTS.flatMap((c, i) => [...f32x4c(c), ...set(CONST0 + i)]),
    ...i32x4c(127 - 0x4b400000), ...set(BIAS),
    ...get(5), F32_REINTERPRET_I32, ...simd(SPLAT), ...set(SCALE),
    ...i32c(0), ...set(R),
    ...whileNot([...get(R), ...get(1), op.geU], [
      ...get(0), ...get(2), ...i32c(2), op.shl, op.add, ...set(PEND),
      ...rowBody,
      ...get(0), ...get(3), op.add, ...set(0),
      ...get(R), ...i32c(1), op.add, ...set(R),
    ]),
  ];
  return { name: 'softmax', params: 6, locals: [[3, I32], [9 + CONSTANTS.length, V128], [1, F32]], body };
}

export interface Kernels {
  gemm(a: number, lda: number, b: number, ldb: number, panel: number, k: number, c: number, ldc: number, mTiles: number, nTiles: number): void;
  /** The same, adding to C: C += A·B. */
  gemmAcc(a: number, lda: number, b: number, ldb: number, panel: number, k: number, c: number, ldc: number, mTiles: number, nTiles: number): void;
  softmax(s: number, rows: number, n: number, lds: number, sums: number, scaleBits: number): void;
  rowSums(src: number, rows: number, cols: number, ld: number, dst: number): void;
}

/** The module with fused multiply-adds (relaxed SIMD) or with a multiply and an add; throws where it cannot compile. */
export function kernelModule(fused: boolean): WebAssembly.Module {
  if (fused) setFlagsFromString('--experimental-wasm-relaxed-simd');
  // Optimize these few functions at once: V8 would first run them in its baseline compiler (about half the
  // speed) until they tier up, which short timing windows would measure. Other modules keep the defaults.
  setFlagsFromString('--no-liftoff');
  try {
    return new WebAssembly.Module(moduleBytes([gemm(fused, false), gemm(fused, true), softmax(fused), rowSums()]));
  } finally {
    setFlagsFromString('--liftoff');
  }
}

/** Compiled once per thread: with fused multiply-adds where relaxed SIMD compiles, else multiply and add. */
let compiled: { module: WebAssembly.Module; fused: boolean } | undefined;
function compile(): { module: WebAssembly.Module; fused: boolean } {
  if (compiled) return compiled;
  try {
    compiled = { module: kernelModule(true), fused: true };
  } catch {
    compiled = { module: kernelModule(false), fused: false };
  }
  return compiled;
}

export const fusedMultiplyAdd = (): boolean => compile().fused;

const instances = new WeakMap<WebAssembly.Memory, Kernels>();

const PAGE = 65536;

/** A kernel's own memory grown to at least `bytes`, as a float view (made after growing: growth detaches old views). */
export function reserve(memory: WebAssembly.Memory, bytes: number): Float32Array {
  const need = Math.ceil(bytes / PAGE) - memory.buffer.byteLength / PAGE;
  if (need > 0) memory.grow(need);
  return new Float32Array(memory.buffer);
}

/** The kernels bound to a wasm memory (one instance per memory): their own, or the tfjs backend's heap. */
export function kernelsFor(memory: WebAssembly.Memory): Kernels {
  let k = instances.get(memory);
  if (!k) {
    k = new WebAssembly.Instance(compile().module, { env: { memory } }).exports as unknown as Kernels;
    instances.set(memory, k);
  }
  return k;
}

/**
 * C = A·B (A r × k with 4·mTiles rows, B k × 8·nTiles) with k in blocks whose rows of B (about 256 KB) stay in L2:
 * the first block through gemm, the rest through gemmAcc. The accumulators pass through C in float32, so the
 * sums are the same bits as one pass (with `accumulate`, every block adds to C: C += A·B). Offsets and strides in bytes; B's row step is ldb whether it is row-major
 * (panel 32) or packed (ldb 32, panel 32·k).
 */
export function gemmBlocked(kernels: Kernels, a: number, lda: number, b: number, ldb: number, panel: number, k: number, c: number, ldc: number, mTiles: number, nTiles: number, accumulate = false): void {
  const kBlock = Math.max(8, 8 * Math.floor(65536 / (8 * nTiles) / 8));
  for (let k0 = 0; k0 < k; k0 += kBlock) {
    const run = k0 === 0 && !accumulate ? kernels.gemm : kernels.gemmAcc;
    run(a + 4 * k0, lda, b + k0 * ldb, ldb, panel, Math.min(kBlock, k - k0), c, ldc, mTiles, nTiles);
  }
}
