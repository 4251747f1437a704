/** softmax-saturation's row: one per point, read by the simulation and its analysis. */
import { z } from 'zod';

export const RANKS = [1, 2, 4, 8, 16, 32] as const;

export const SatRow = z.object({
  d: z.number(),
  n: z.number(),
  scaling: z.string(),
  temperature: z.number(),
  draws: z.number(),
  logit_var: z.number(),
  entropy: z.number(),
  entropy_ci_low: z.number(),
  entropy_ci_high: z.number(),
  entropy_norm: z.number(),
  theory_entropy: z.number(),
  entropy_theory_rel: z.number(),
  max_weight: z.number(),
  max_weight_ci_low: z.number(),
  max_weight_ci_high: z.number(),
  top2_gap: z.number(),
  saturated_frac: z.number(),
  jacobian_fro: z.number(),
  jacobian_fro_ci_low: z.number(),
  jacobian_fro_ci_high: z.number(),
  jacobian_spec: z.number(),
  jacobian_spec_max: z.number(),
  grad_q_norm: z.number(),
  grad_q_ci_low: z.number().nullable(),
  grad_q_ci_high: z.number().nullable(),
  grad_k_norm: z.number(),
  argmax_grad_q_norm: z.number(),
  argmax_grad_k_norm: z.number(),
  argmax_grad_v_rows: z.number(),
  /** Mean weight of the r-th largest key (null where r > n). */
  ...(Object.fromEntries(RANKS.map((r) => [`w${r}`, z.number().nullable()])) as Record<
    `w${(typeof RANKS)[number]}`,
    z.ZodNullable<z.ZodNumber>
  >),
  time_ms: z.number(),
});
export type SatRow = z.output<typeof SatRow>;
