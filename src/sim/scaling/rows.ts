/** scaling's row: one per method × causal × N × D (× D_random), read by the simulation and its analysis. */
import { z } from 'zod';
import { Samples } from '../timing.js';

const maybe = z.number().nullable();
export const ScalingRow = z.object({
  method: z.string(),
  causal: z.boolean(),
  N: z.number(),
  D: z.number(),
  M: z.number(),
  C: z.number(),
  D_random: maybe,
  features: maybe,
  time_ms: maybe,
  time_ci_low: maybe,
  time_ci_high: maybe,
  samples: maybe,
  peak_bytes: maybe,
  predicted_bytes: maybe,
  flops: maybe,
  gflops: maybe,
  max_rel_error: maybe,
  rel_error: maybe,
  rel_error_ci_low: maybe,
  rel_error_ci_high: maybe,
  draws: maybe,
  skipped_reason: z.string().nullable(),
  time_samples_ms: Samples,
});
export type ScalingRow = z.output<typeof ScalingRow>;
