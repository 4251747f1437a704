/**
 * Theory for the scaling experiment: FLOPs per method (matrix products; the O(N²) or O(N·F) elementwise work is
 * not counted), the bytes a call is predicted to hold at its peak (used to skip points over the memory budget before
 * they run, and written beside the measured peak), and the time a call is predicted to take (the run's estimate).
 */
import { quadraticFeatures } from '../tensor/features.js';
import type { Method } from '../tensor/methods.js';
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
 * 64 to 4096 rows (and at least N/MAX_CHUNKS). At 2 MiB: 256 rows at D = 64 (C = 2145), 1024 at 32, 4096 at 16 and 8;
 * on this machine each ran its D fastest (with 256 rows throughout, D = 8 ran at 9 GFLOP/s instead of 16, D = 32 at
 * 54 instead of 66; at D = 64, 512 rows ran at 79 against 89; at D = 8, 16384 rows were 1.2 – 1.5× slower than 4096).
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
    case 'quadratic-kernel-direct':
      return 2 * N * N * (D + M);
    case 'quadratic-kernel': {
      // State φ(K)ᵀ[V|1] and apply φ(Q)·S. Causal: the first chunk applies no state and the last adds none, and each
      // chunk's own masked block is computed in N² form (Q_c·K_cᵀ, then its weights times [V_c|1]).
      if (!p.causal) return 4 * N * F * (M + 1);
      const r = Math.min(p.causalChunk, N);
      return 4 * Math.max(0, N - r) * F * (M + 1) + 2 * N * r * (D + M + 1);
    }
    default:
      // Random features: the projections w·x for q and k, then the same linear form.
      return 4 * N * F * (M + 1) + 4 * N * (p.method === 'favor' ? F : F / 2) * D;
  }
}

/** N where 2N²(D+M) = 4N·C·(M+1): the FLOP-theoretic crossover of softmax and the quadratic kernel. */
export const theoryCrossover = (d: number, m: number): number => (2 * quadraticFeatures(d) * (m + 1)) / (d + m);

/**
 * Predicted peak bytes of one call, beyond its inputs (null for a model from a file).
 * onnx (fitted to the memory probe at D = M = 64, N = 1024…8192): softmax holds the N×N scores once (the softmax runs
 * in place) and the output (within 3%); causal softmax about 2.3 blocks of r × N scores; the direct kernel two N×N
 * buffers (within 1%); the linear forms [V | 1], Qᵀ, Kᵀ and the output (∝ N), and for one chunk of rows the outer
 * table [1; x'; √2·x'], the two gathered factors and φ (∝ chunk · D², within 35%).
 * tfjs: two row halves at once, each with its scores and probabilities (softmax, direct) or one φ chunk and the state.
 */
export function predictedBytes(p: CostPoint): number | null {
  const { N, D, M, F } = p;
  if (p.method === 'user') return null;
  if (p.engine === 'onnx') {
    const nm = N * M;
    if (p.method === 'softmax') return 4 * (p.causal ? 2.3 * causalSoftmaxRows(N) * N + 2 * nm : N * N + nm);
    if (p.method === 'quadratic-kernel-direct') return 4 * (2 * N * N + N * (2 * M + 1));
    const rows = Math.min(p.causal ? p.causalChunk : p.chunkRows, N);
    // Causal: more of each chunk's partial results stay until the final Concat (fitted: about 2(M+1) + C/5 per row).
    const perN = N * (2 * M + 1 + 2 * D + (p.causal ? 2 * (M + 1) + F / 5 : 0));
    const chunk = p.method === 'quadratic-kernel' ? rows * (2 * D + 1 + 3 * F) : rows * 3 * F;
    return 4 * (perN + chunk + 2 * F * (M + 1));
  }
  const inputs = 4 * (N * D + 2 * (N * D + N * M) + N * M);
  if (p.method === 'softmax') return 4 * N * N * (p.causal ? 3.25 : 2) + inputs;
  if (p.method === 'quadratic-kernel-direct') return 4 * N * N * (p.causal ? 4.25 : 3) + inputs;
  const rows = Math.min(p.causal ? p.causalChunk : p.chunkRows, N);
  return 2 * 4 * (rows * F * 2 + F * (M + 1) * 2) + inputs;
}

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

/** Predicted ms of making an onnx session for a call: building and encoding its graph, then ONNX Runtime's planning (fitted: about 5 ms, and 12 ms per chunk of a linear form). */
export const sessionMs = (p: CostPoint): number => 5 + (p.F ? 12 * chunksOf(p) : 0);
