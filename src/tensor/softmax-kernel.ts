/**
 * Softmax attention, softmax(Q·Kᵀ/√D)·V over query rows [lo, hi), in hand-assembled WebAssembly SIMD:
 *
 *   inputs   copied in once per input set: Q, K packed into 8-key tiles (D × 8 each), V into 8-column
 *            panels (N × 8 each); they stay, as a framework's input tensors would
 *   for each block of query rows (sized to stay in L2):
 *     gemm     S_b = Q_b·Kᵀ                          the block's rows of the materialized rows × N scores
 *     softmax  S_b ← exp((S_b − rowmax)/√D), rowsum   in place, one pass after the max
 *     gemm     O_b = S_b·V, then O_b / rowsum
 *
 * The scores of every row stay allocated until the call ends (the O(N²) memory the scaling experiment
 * measures: scores, output and row sums; the resident inputs are not the call's); the blocks only order
 * the work so each block is still in cache when it is used. The
 * kernels are in simd-kernels.ts.
 */
import type { AttentionInputs } from './reference.js';
import { gemmBlocked, kernelsFor, reserve } from './simd-kernels.js';

/** One kernel instance per thread, with its own memory, grown as calls need it. */
class SoftmaxAttention {
  private memory = new WebAssembly.Memory({ initial: 1 });
  private kernels = kernelsFor(this.memory);

  /** The inputs now resident in memory (copied and packed once per input set, like a framework's tensors; a new object means new inputs). */
  private resident: AttentionInputs | undefined;

  /**
   * softmax(Q·Kᵀ/√D)·V for query rows [lo, hi), with N and M multiples of 8. The inputs are copied in (K and V
   * packed into tiles) when they differ from the last call's, and stay; each call holds the scores of its rows,
   * its output and the row sums. Returns the output rows and those bytes.
   */
  run(x: AttentionInputs, lo: number, hi: number): { out: Float32Array; bytes: number } {
    const { n, d, m } = x;
    const rows = hi - lo;
    const padded = Math.ceil(rows / 4) * 4;
    // Float offsets: resident Q, packed K (8-key tiles, D × 8 each), packed V (8-column panels, N × 8 each);
    // then this call's scores (rows × N), output and row sums. Q has spare rows so a last tile of 4 can read past hi.
    const qr = 0;
    const kp = qr + (n + 4) * d;
    const vp = kp + n * d;
    const sc = vp + n * m;
    const ob = sc + padded * n;
    const sums = ob + padded * m;
    const mem = reserve(this.memory, 4 * (sums + padded));
    if (this.resident !== x) {
      mem.set(x.q, qr);
      for (let t = 0; t < n / 8; t++) {
        for (let j = 0; j < d; j++) for (let jj = 0; jj < 8; jj++) mem[kp + (t * d + j) * 8 + jj] = x.k[(t * 8 + jj) * d + j]!;
      }
      for (let p = 0; p < m / 8; p++) {
        for (let j = 0; j < n; j++) for (let cc = 0; cc < 8; cc++) mem[vp + (p * n + j) * 8 + cc] = x.v[j * m + p * 8 + cc]!;
      }
      this.resident = x;
    }
    const scaleBits = new Int32Array(new Float32Array([1 / Math.sqrt(d)]).buffer)[0]!;
    // Blocks of rows whose scores fit in about 512 KB, a multiple of 4.
    const block = Math.max(4, Math.min(padded, 4 * Math.floor(131072 / n / 4)));
    for (let b = 0; b < padded; b += block) {
      const r = Math.min(block, padded - b);
      const sAt = 4 * (sc + b * n);
      this.kernels.gemm(4 * (qr + (lo + b) * d), 4 * d, 4 * kp, 32, 32 * d, d, sAt, 4 * n, r / 4, n / 8);
      this.kernels.softmax(sAt, r, n, 4 * n, 4 * (sums + b), scaleBits);
      // O_b = P_b·V, over keys in L2-sized blocks
      gemmBlocked(this.kernels, sAt, 4 * n, 4 * vp, 32, 32 * n, n, 4 * (ob + b * m), 4 * m, r / 4, m / 8);
    }
    const out = new Float32Array(rows * m);
    for (let i = 0; i < rows; i++) {
      const z = mem[sums + i]!;
      for (let c = 0; c < m; c++) out[i * m + c] = mem[ob + i * m + c]! / z;
    }
    return { out, bytes: 4 * (sums + padded - sc) };
  }
}

let instance: SoftmaxAttention | undefined;

/** Whether the kernel takes this shape (keys and value columns in whole tiles of 8). */
export const softmaxKernelFits = (n: number, m: number): boolean => n % 8 === 0 && m % 8 === 0;

export function softmaxAttention(x: AttentionInputs, lo: number, hi: number): { out: Float32Array; bytes: number } {
  instance ??= new SoftmaxAttention();
  return instance.run(x, lo, hi);
}
