/**
 * Theory for the scaling experiment: FLOPs per method (matrix products; the O(N²) or O(N·F) elementwise work is
 * not counted), the bytes a call is predicted to hold at its peak (used to skip points over the memory budget before
 * they run, and written beside the measured peak), and the time a call is predicted to take (the run's estimate).
 */
import type { Method } from './methods.js';
import { evaluateFlops } from './flops-expression.js';

export interface CostPoint {
  /** A built-in method, or `user`: a model from a file, whose cost is its `flops` expression if any. */
  method: Method | 'user';
  causal: boolean;
  N: number;
  D: number;
  M: number;
  /** Features of the linear form (C, 2R or R); 0 for the N² methods. */
  F: number;
  causalChunk: number;
  chunkRows: number;
  /** The engine: its graphs hold different intermediates. */
  engine: 'onnx' | 'tfjs';
  /** A user method's FLOPs, as an expression in N, D and M. */
  flops?: string;
}

/** Most chunks in one linear-form graph: the graph is unrolled, and a session's set-up grows with its nodes. */
export const MAX_CHUNKS = 128;

/** Rows per chunk: at least `rows`, and more where N would need more than MAX_CHUNKS chunks. */
export const chunkRowsFor = (n: number, rows: number): number => Math.max(rows, Math.ceil(n / MAX_CHUNKS));

/**
 * Rows per chunk of a linear form with F features: the power of two nearest to `bytes` of φ (F × rows floats), from
 * 64 to 4096 rows (and at least N/MAX_CHUNKS). At 16 MiB: 2048 rows at D = 64 (C = 2145), 4096 below. At D = 64,
 * N = 4096 on a 2-core Xeon (AVX-512): 2048 rows 14.5 ms a call, 1024 rows 15.1, 256 rows 18.3 (products of few
 * rows run below the engine's best rate), 4096 rows 19 (φ's largest part, 32 MiB, leaves the cache).
 */
export const linearChunkRows = (n: number, features: number, bytes: number): number =>
  chunkRowsFor(n, Math.min(4096, Math.max(64, 2 ** Math.round(Math.log2(bytes / (4 * Math.max(1, features)))))));

/** Query rows per block of causal softmax on onnx: N/8 (8 blocks), each attending to the keys up to its last row. */
export const causalSoftmaxRows = (n: number): number => Math.ceil(n / 8);

export function flopsOf(p: CostPoint): number | null {
  const { N, D, M, F } = p;
  switch (p.method) {
    case 'user':
      return p.flops ? evaluateFlops(p.flops, { N, D, M }) : null;
    case 'softmax':
      // Causal on onnx: blocks of r query rows against the keys up to their last row, Σ_b 2·r·(b·r)·(D+M).
      if (p.causal && p.engine === 'onnx') {
        const r = causalSoftmaxRows(N);
        const blocks = Math.ceil(N / r);
        return r * r * (D + M) * blocks * (blocks + 1);
      }
      return 2 * N * N * (D + M);
    case 'flash':
      // The fused kernel skips the tiles above the diagonal when causal: N(N + 1)/2 scores, each 2(D + M) FLOPs.
      return p.causal ? N * (N + 1) * (D + M) : 2 * N * N * (D + M);
    case 'quadratic-kernel-direct':
      return 2 * N * N * (D + M);
    case 'quadratic-kernel': {
      // State φ(K)ᵀV and apply φ(Q)·S. On onnx the denominators come in closed form (G = K'ᵀK' and Q'·G: 4ND²), on
      // tfjs as a 65th value column (4NC). Causal (both): [V|1]; the first chunk applies no state and the last adds
      // none, and each chunk's own masked block is computed in N² form (Q_c·K_cᵀ, then its weights times [V_c|1]).
      if (!p.causal) return p.engine === 'onnx' ? 4 * N * (F * M + D * D) : 4 * N * F * (M + 1);
      const r = Math.min(p.causalChunk, N);
      return 4 * Math.max(0, N - r) * F * (M + 1) + 2 * N * r * (D + M + 1);
    }
    default:
      // Random features: the projections w·x for q and k, then the same linear form.
      return 4 * N * F * (M + 1) + 4 * N * (p.method === 'favor' ? F : F / 2) * D;
  }
}

/**
 * Predicted peak bytes of one call, beyond its inputs (null for a model from a file).
 * onnx (fitted to the memory probe at D = M = 64, N = 1024…8192): softmax holds the N×N scores once (the softmax runs
 * in place) and the output (within 3%); causal softmax about 2.3 blocks of r × N scores; the direct kernel two N×N
 * buffers (within 1%); the linear forms Qᵀ, Kᵀ, V or [V | 1] and the output (∝ N), and for one chunk of rows
 * about three times φ: its parts, the rolled rows and the scaled inputs (∝ chunk · D²; measured at D = 8, 16, 64 and
 * N = 1024 … 32768 with 16 MiB chunks: within 35%, except D = 8 at N = 1024 where the whole call holds 1.3 MiB).
 * tfjs: two row halves at once, each with its scores and probabilities (softmax, direct) or one φ chunk and the state.
 */
export function predictedBytes(p: CostPoint): number | null {
  const { N, D, M, F } = p;
  if (p.method === 'user') return null;
  if (p.engine === 'onnx') {
    const nm = N * M;
    if (p.method === 'softmax') return 4 * (p.causal ? 2.3 * causalSoftmaxRows(N) * N + 2 * nm : N * N + nm);
    if (p.method === 'flash') return flashBytesPerRow(p) * N;
    if (p.method === 'quadratic-kernel-direct') return 4 * (2 * N * N + N * (2 * M + 1));
    const rows = Math.min(p.causal ? p.causalChunk : p.chunkRows, N);
    // Causal: more of each chunk's partial results stay until the final Concat (fitted: about 2(M+1) + C/5 per row).
    const chunk = p.method === 'quadratic-kernel' ? rows * (2 * D + 1 + 3 * F) : rows * 3 * F;
    return linearBytesPerRow(p) * N + 4 * (chunk + 2 * F * (M + 1));
  }
  // flash does not run on tfjs (skipped before its bytes matter): the same formula as on onnx.
  if (p.method === 'flash') return flashBytesPerRow(p) * N;
  const inputs = 4 * (N * D + 2 * (N * D + N * M) + N * M);
  if (p.method === 'softmax') return 4 * N * N * (p.causal ? 3.25 : 2) + inputs;
  if (p.method === 'quadratic-kernel-direct') return 4 * N * N * (p.causal ? 4.25 : 3) + inputs;
  const rows = Math.min(p.causal ? p.causalChunk : p.chunkRows, N);
  return 2 * 4 * (rows * F * 2 + F * (M + 1) * 2) + inputs;
}

/**
 * Bytes per row the fused kernel holds (the b of a + b·N): Q, K and V copied to BNSH and the output, 4(2D + 2M);
 * causal (GroupQueryAttention) also its present K and V, 4(3D + 3M). Measured with the memory probe at D = M = 64
 * (1024 and 1536 per row; the constant part is the kernel's per-thread tiles).
 */
export const flashBytesPerRow = (p: Pick<CostPoint, 'causal' | 'D' | 'M'>): number =>
  4 * (p.causal ? 3 : 2) * (p.D + p.M);

/**
 * Bytes per row of the linear form on onnx (the b of a + b·N in `predictedBytes`): Qᵀ, Kᵀ, V and the output, and when
 * causal the chunks' partial results kept until the final Concat.
 */
export const linearBytesPerRow = (p: Pick<CostPoint, 'causal' | 'D' | 'M' | 'F'>): number =>
  4 * (2 * p.M + 1 + 2 * p.D + (p.causal ? 2 * (p.M + 1) + p.F / 5 : 0));

/**
 * Predicted ms of one call: FLOPs at the engine's rate on the reference machine (2 cores: onnx about 45 GFLOP/s,
 * tfjs-wasm about 15) plus a fixed cost per call and per chunk of the linear forms. A model from a file without a
 * `flops` expression is costed as softmax attention of its shape.
 */
export function callMs(p: CostPoint): number {
  const flops = flopsOf(p) ?? 2 * p.N * p.N * (p.D + p.M);
  const onnx = p.engine === 'onnx';
  return (onnx ? 0.05 : 0.2) + chunksOf(p) * (onnx ? 0.02 : 0.1) + flops / (onnx ? 4.5e7 : 1.5e7);
}

const chunksOf = (p: CostPoint) => (p.F ? Math.ceil(p.N / Math.min(p.causal ? p.causalChunk : p.chunkRows, p.N)) : 1);

/**
 * Predicted ms of making an onnx session for a call: building and encoding its graph, then ONNX Runtime's planning
 * (fitted: about 5 ms, and 12 ms per chunk of a linear form).
 */
export const sessionMs = (p: CostPoint): number => 5 + (p.F ? 12 * chunksOf(p) : 0);
