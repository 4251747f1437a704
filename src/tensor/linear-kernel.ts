/**
 * The quadratic kernel's linear form, φ(Q)(φ(K)ᵀV) / φ(Q)(φ(K)ᵀ1), in hand-assembled WebAssembly SIMD on a
 * memory of its own: no tfjs op and no allocation per chunk, so a call's time is its arithmetic.
 *
 *   resident  V (N × M, with zero rows past N) and φ's pair list, copied in once per input set
 *   state     per chunk of key rows: φ(K_c)ᵀ, in column blocks of 256 rows (C × 256 each: per block the table
 *             [1, x·s, √2·x·s] of 2D+1 rows in JS, then the pairs kernel); per block S += φᵀ·V (gemmAcc)
 *             and z += φᵀ·1 (rowSums)
 *   apply     per chunk of query rows: φ(Q_c)ᵀ the same way, then per block [Sᵀ; zᵀ]·φᵀ, one product for the
 *             numerators and the denominators, and out = numerator / denominator
 *
 * Blocks are padded to whole tiles of 16 rows and C to whole tiles of 4 with features that are 0. The chunk
 * is the caller's (the setting `chunks`): φ for a chunk is what a lane holds, so memory grows with N; the
 * blocks only order the work so the products stream rows 4·256 bytes apart, from L2.
 * A state travels as in attention.ts: S (C × M, row-major), then z (C).
 */
import { quadraticPairs, quadraticTableInto } from './features.js';
import type { AttentionInputs } from './reference.js';
import { gemmBlocked, kernelsFor, reserve } from './simd-kernels.js';
import { pairsKernels } from './simd.js';

/** Rows per column block of φ: C4 × 256 floats, a product's operand that L2 holds. */
const BLOCK = 256;
const up = (n: number, k: number): number => Math.ceil(n / k) * k;

/** Float sizes of one lane's buffers, for chunks of `chunk` rows. */
function sizes(d: number, m: number, chunk: number) {
  const c = 1 + d + (d * (d + 1)) / 2;
  const c4 = up(c, 4);
  const r = up(chunk, 16);
  return { c, c4, r, table: (2 * d + 1) * BLOCK, phi: c4 * r, state: c4 * m + c4, apply: (m + 4) * c4 + (m + 4) * BLOCK };
}

/**
 * Bytes one lane holds at its peak over `rows` rows: φ for a chunk and a block's table, then the state (S, z)
 * or, applying it, [Sᵀ; zᵀ], a block's products and the lane's output (rows × M).
 */
export function linearKernelBytes(rows: number, d: number, m: number, chunk: number): number {
  const s = sizes(d, m, chunk);
  return 4 * (s.table + s.phi + Math.max(s.state, s.apply + rows * m));
}

/** Whether the kernel takes this shape: value columns in whole tiles of 8. */
export const linearKernelFits = (m: number): boolean => m % 8 === 0;

type Prepared = ReturnType<LinearAttention['prepare']>;

/** One instance per thread, with its own memory, grown as calls need it. */
class LinearAttention {
  private memory = new WebAssembly.Memory({ initial: 1 });
  private kernels = kernelsFor(this.memory);
  private pairs = pairsKernels(this.memory);
  private resident: AttentionInputs | undefined;

  /** The memory, grown to its layout for these inputs and chunk, with V and the pairs copied in when the inputs are new. */
  private prepare(x: AttentionInputs, chunk: number) {
    const { n, d, m } = x;
    const s = sizes(d, m, chunk);
    // Float offsets: resident V and pairs, then the table, φ, S and z, [Sᵀ; zᵀ] and the products.
    const v = 0;
    const pairs = v + (n + 16) * m;
    const table = pairs + 2 * s.c;
    const phi = table + s.table;
    const state = phi + s.phi;
    const a = state + s.state;
    const prod = a + (m + 4) * s.c4;
    const end = prod + (m + 4) * BLOCK;
    const mem = reserve(this.memory, 4 * end);
    if (this.resident !== x) {
      mem.set(x.v, v);
      mem.fill(0, v + n * m, pairs);
      new Int32Array(this.memory.buffer).set(quadraticPairs(d), pairs);
      this.resident = x;
    }
    return { mem, s, at: { v, pairs, table, phi, state, a, prod } };
  }

  /**
   * φ(X_c)ᵀ for rows [c0, e) of x (q or k), the whole chunk, in column blocks of BLOCK rows: block b is C4 × w_b
   * (w_b its rows padded to 16) at `at.phi + b·C4·BLOCK`, so a product streams rows 4·w_b bytes apart, not 4·chunk.
   * Rows past e and features past C are 0. Returns the blocks' widths.
   */
  private features(p: Prepared, x: Float32Array, d: number, c0: number, e: number): number[] {
    const { mem, s, at } = p;
    const widths: number[] = [];
    for (let b0 = c0, b = 0; b0 < e; b0 += BLOCK, b++) {
      const b1 = Math.min(e, b0 + BLOCK);
      const w = up(b1 - b0, 16);
      const phi = at.phi + b * s.c4 * BLOCK;
      quadraticTableInto(x, d, b0, b1, mem, at.table, w);
      mem.fill(0, phi + s.c * w, phi + s.c4 * w);
      this.pairs.pairs(4 * at.table, w, 4 * at.pairs, s.c, 4 * phi);
      widths.push(w);
    }
    return widths;
  }

  /** S = φ(K)ᵀV and z = φ(K)ᵀ1 over key rows [lo, hi), in chunks. */
  state(x: AttentionInputs, lo: number, hi: number, chunk: number): { data: Float32Array; bytes: number } {
    const p = this.prepare(x, chunk);
    const { mem, s, at } = p;
    const { d, m } = x;
    const z = at.state + s.c4 * m;
    mem.fill(0, at.state, at.state + s.state);
    for (let c0 = lo; c0 < hi; c0 += chunk) {
      this.features(p, x.k, d, c0, Math.min(hi, c0 + chunk)).forEach((w, b) => {
        const phi = 4 * (at.phi + b * s.c4 * BLOCK);
        gemmBlocked(this.kernels, phi, 4 * w, 4 * (at.v + (c0 + b * BLOCK) * m), 4 * m, 32, w, 4 * at.state, 4 * m, s.c4 / 4, m / 8, true);
        this.kernels.rowSums(phi, s.c4, w, 4 * w, 4 * z);
      });
    }
    const data = new Float32Array(s.c * m + s.c);
    data.set(mem.subarray(at.state, at.state + s.c * m));
    data.set(mem.subarray(z, z + s.c), s.c * m);
    return { data, bytes: 4 * (s.table + s.phi + s.state) };
  }

  /** φ(Q)S / φ(Q)z for query rows [lo, hi), in chunks, from a state laid out as state() returns it. */
  apply(x: AttentionInputs, lo: number, hi: number, chunk: number, state: Float32Array): { data: Float32Array; bytes: number } {
    const p = this.prepare(x, chunk);
    const { mem, s, at } = p;
    const { d, m } = x;
    // [Sᵀ; zᵀ; 0; 0; 0]: (M + 4) × C4, so one product gives M numerators and the denominator per query row.
    mem.fill(0, at.a, at.a + (m + 4) * s.c4);
    for (let f = 0; f < s.c; f++) {
      for (let j = 0; j < m; j++) mem[at.a + j * s.c4 + f] = state[f * m + j]!;
      mem[at.a + m * s.c4 + f] = state[s.c * m + f]!;
    }
    const out = new Float32Array((hi - lo) * m);
    for (let c0 = lo; c0 < hi; c0 += chunk) {
      const e = Math.min(hi, c0 + chunk);
      this.features(p, x.q, d, c0, e).forEach((w, b) => {
        gemmBlocked(this.kernels, 4 * at.a, 4 * s.c4, 4 * (at.phi + b * s.c4 * BLOCK), 4 * w, 32, s.c4, 4 * at.prod, 4 * w, (m + 4) / 4, w / 8);
        const r0 = c0 + b * BLOCK;
        const den = at.prod + m * w;
        for (let i = 0; i < Math.min(BLOCK, e - r0); i++) {
          const o = (r0 - lo + i) * m;
          const z = mem[den + i]!;
          for (let j = 0; j < m; j++) out[o + j] = mem[at.prod + j * w + i]! / z;
        }
      });
    }
    return { data: out, bytes: 4 * (s.table + s.phi + s.apply) + out.byteLength };
  }
}

let instance: LinearAttention | undefined;
const kernel = (): LinearAttention => (instance ??= new LinearAttention());

export const linearState = (x: AttentionInputs, lo: number, hi: number, chunk: number) => kernel().state(x, lo, hi, chunk);
export const linearApply = (x: AttentionInputs, lo: number, hi: number, chunk: number, state: Float32Array) => kernel().apply(x, lo, hi, chunk, state);
