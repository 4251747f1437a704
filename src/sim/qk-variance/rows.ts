/** qk-variance's row: one per point, read by the simulation and its analysis. */
import { z } from 'zod';

export const QkRow = z.object({
  d: z.number(),
  sigma: z.number(),
  mu_kind: z.string(),
  mu_m: z.number().nullable(),
  mu_norm: z.number(),
  scaling: z.string(),
  trials: z.number(),
  mean: z.number(),
  mean_ci_low: z.number(),
  mean_ci_high: z.number(),
  mean_ci99_low: z.number(),
  mean_ci99_high: z.number(),
  var: z.number(),
  var_ci_low: z.number(),
  var_ci_high: z.number(),
  var_ci99_low: z.number(),
  var_ci99_high: z.number(),
  theory_mean: z.number(),
  theory_var: z.number(),
  z_mean: z.number(),
  z_var: z.number(),
  time_ms: z.number(),
});
export type QkRow = z.output<typeof QkRow>;
