/**
 * Theory for the scaling experiment: FLOPs per method (matrix products; the O(N²) or O(N·F)
 * elementwise work is not counted) and the backend bytes a call is predicted to hold at its
 * peak, used to skip points over the memory budget before they run.
 */
import { linearKernelBytes } from '../tensor/linear-kernel.js';
import type { Method } from '../tensor/methods.js';

/** C = 1 + D + D(D+1)/2: the quadratic kernel's feature count. */
export const quadraticFeatures = (d: number): number => 1 + d + (d * (d + 1)) / 2;

export interface CostPoint {
  method: Method;
  causal: boolean;
  N: number;
  D: number;
  M: number;
  /** Features of the linear form (C, 2R or R); 0 for the N² methods. */
  F: number;
  causalChunk: number;
  chunks: number;
}

/** Rows below which a chunk is not split further: small calls pay per-chunk dispatch, not cache misses. */
export const MIN_CHUNK_ROWS = 128;

/**
 * Rows per chunk of the linear forms: N/chunks, but never fewer than min(N/2, 128), so a small call does not run
 * chunks of a few rows each, while a large one keeps φ for N/chunks rows (still ∝ N) in cache.
 */
export const linearChunkRows = (n: number, chunks: number): number => Math.max(Math.ceil(n / chunks), Math.min(Math.ceil(n / 2), MIN_CHUNK_ROWS));

export function flopsOf(p: CostPoint): number {
  const { N, D, M, F } = p;
  switch (p.method) {
    case 'softmax':
    case 'quadratic-kernel-direct':
      return 2 * N * N * (D + M);
    case 'quadratic-kernel':
      // state φ(K)ᵀ[V|1] and apply φ(Q)·S; causal adds the masked intra-chunk N² blocks.
      return 4 * N * F * (M + 1) + (p.causal ? 2 * N * Math.min(p.causalChunk, N) * (D + M + 1) : 0);
    default:
      // Random features: the projections w·x for q and k, then the same linear form.
      return 4 * N * F * (M + 1) + 4 * N * (p.method === 'favor' ? F : F / 2) * D;
  }
}

/** N where 2N²(D+M) = 4N·C·(M+1): the FLOP-theoretic crossover of softmax and the quadratic kernel. */
export const theoryCrossover = (d: number, m: number): number => (2 * quadraticFeatures(d) * (m + 1)) / (d + m);

/**
 * Predicted peak backend bytes of one call, summed over the two row halves that run at once:
 * N² score-sized buffers (softmax: the fused kernel's scores, overwritten by the probabilities; causal on
 * tfjs: scores, probabilities, a 1-byte mask and the masked copy; the direct kernel keeps scores, +1 and the square), or for the linear forms one
 * φ chunk and the state per half (the fused quadratic kernel: also its output; the tfjs paths: plus the inputs each half holds).
 */
export function predictedBytes(p: CostPoint): number {
  const { N, D, M, F } = p;
  const inputs = 4 * (N * D + 2 * (N * D + N * M) + N * M);
  // Non-causal softmax on wasm runs the fused kernel, which reads its resident inputs in place and holds the
  // scores once (the probabilities overwrite them), the output and the row sums. (Other backends' tfjs path: 2·N² + inputs.)
  if (p.method === 'softmax' && !p.causal) return 4 * N * (N + M + 1);
  if (p.method === 'softmax') return 4 * N * N * 3.25 + inputs;
  if (p.method === 'quadratic-kernel-direct') return 4 * N * N * (p.causal ? 4.25 : 3) + inputs;
  const rows = p.causal ? Math.min(p.causalChunk, N) : linearChunkRows(N, p.chunks);
  // The non-causal quadratic kernel on wasm runs the fused kernel: per half, φ for one chunk and the state or its output.
  if (p.method === 'quadratic-kernel' && !p.causal) return 2 * linearKernelBytes(Math.ceil(N / 2), D, M, rows);
  return 2 * 4 * (rows * F * 2 + F * (M + 1) * 2) + inputs;
}
