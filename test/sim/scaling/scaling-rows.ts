/** Fixture rows of the scaling experiment for its analysis: timed, with the FLOP counts the engine reports. */
import { flopsOf, type CostPoint } from '../../../src/sim/scaling/cost.js';
import type { ScalingRow } from '../../../src/sim/scaling/rows.js';
import { quadraticFeatures } from '../../../src/sim/scaling/features.js';

/**
 * One timed row of `method` at N, D = M: `ms` with a ±5% interval, `bytes` measured and `predicted` (default: the
 * same), and the FLOP count of softmax or flash, or of the linear form for every other method, on `engine` (the analysis takes its FLOP theory
 * from these counts).
 */
export function scalingRow(
  method: string,
  N: number,
  D: number,
  {
    ms = 1,
    bytes = 1,
    predicted = bytes,
    causal = false,
    engine = 'onnx',
  }: { ms?: number; bytes?: number; predicted?: number; causal?: boolean; engine?: CostPoint['engine'] } = {},
): ScalingRow {
  const C = quadraticFeatures(D);
  // Exact attention (materialized or fused) has no features, and its FLOP count is its own.
  const exact = method === 'softmax' || method === 'flash';
  return {
    method,
    causal,
    N,
    D,
    M: D,
    C,
    D_random: null,
    features: exact ? null : C,
    time_ms: ms,
    time_ci_low: ms * 0.95,
    time_ci_high: ms * 1.05,
    samples: 9,
    peak_bytes: bytes,
    predicted_bytes: predicted,
    flops: flopsOf({
      method: exact ? (method as 'softmax' | 'flash') : 'quadratic-kernel',
      causal,
      N,
      D,
      M: D,
      F: exact ? 0 : C,
      causalChunk: 256,
      chunkRows: 256,
      engine,
    }),
    gflops: null,
    max_rel_error: null,
    rel_error: null,
    rel_error_ci_low: null,
    rel_error_ci_high: null,
    draws: null,
    skipped_reason: null,
    time_samples_ms: [ms],
  };
}
