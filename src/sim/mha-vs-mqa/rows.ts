/**
 * mha-vs-mqa's row: one per variant × kernel × cache type × b × n × d × h (× window, latent), read by the simulation
 * and its analysis.
 */
import { z } from 'zod';
import { Samples } from '../timing.js';

const maybe = z.number().nullable();
export const MhaVsMqaRow = z.object({
  variant: z.string(),
  kernel: z.string(),
  kv_dtype: z.string(),
  kv_scales: z.string().nullable(),
  window: maybe,
  d_latent: maybe,
  d_rope: maybe,
  kv_heads: z.number(),
  b: z.number(),
  n: z.number(),
  d: z.number(),
  h: z.number(),
  dtype_bytes: z.number(),
  flops: z.number(),
  bytes_weights: z.number(),
  bytes_activations: z.number(),
  bytes_kv_read: z.number(),
  bytes_kv_scales: z.number(),
  bytes_kv_write: z.number(),
  bytes_kv_copy: z.number(),
  bytes_total: z.number(),
  intensity: z.number(),
  kv_cache_bytes: z.number(),
  kv_bytes_per_token: z.number(),
  tokens_read: z.number(),
  time_ms: maybe,
  time_ci_low: maybe,
  time_ci_high: maybe,
  samples: maybe,
  measured_bytes: maybe,
  bandwidth_gbs: maybe,
  gflops: maybe,
  predicted_ms: maybe,
  time_over_bound: maybe,
  skipped_reason: z.string().nullable(),
  /** Every sample in ms, round by round (each round's ascending), `time_round_sizes` of them in each round. */
  time_samples_ms: Samples,
  /** How many of `time_samples_ms` each timing round took: ratios of two points are paired by round (analysis.ts). */
  time_round_sizes: Samples,
});
export type MhaVsMqaRow = z.output<typeof MhaVsMqaRow>;
