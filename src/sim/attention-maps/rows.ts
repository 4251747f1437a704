/** attention-maps' row: one per model (trained, untrained) × probe × T × layer × head, read by the simulation and its analysis. */
import { z } from 'zod';

const maybe = z.number().nullable();

/** Each score (scores.ts says how it is computed): the mean over the point's sequences and its 95% interval. */
export const MapsRow = z.object({
  model: z.enum(['trained', 'untrained']),
  probe: z.string(),
  T: z.number(),
  layer: z.number(),
  head: z.number(),
  sequences: z.number(),
  previous_token_score: maybe,
  previous_token_score_ci_low: maybe,
  previous_token_score_ci_high: maybe,
  next_token_score: maybe,
  next_token_score_ci_low: maybe,
  next_token_score_ci_high: maybe,
  first_token_mass: maybe,
  first_token_mass_ci_low: maybe,
  first_token_mass_ci_high: maybe,
  duplicate_token_score: maybe,
  duplicate_token_score_ci_low: maybe,
  duplicate_token_score_ci_high: maybe,
  induction_score: maybe,
  induction_score_ci_low: maybe,
  induction_score_ci_high: maybe,
  entropy_ratio: maybe,
  entropy_ratio_ci_low: maybe,
  entropy_ratio_ci_high: maybe,
  max_weight: maybe,
  max_weight_ci_low: maybe,
  max_weight_ci_high: maybe,
  logit_var: maybe,
  logit_var_ci_low: maybe,
  logit_var_ci_high: maybe,
  /** The head's map (t × t, t = min(T, map_T)) on the point's map sequence, where the head is among the point's top heads of some score (trained model only). */
  map: z.array(z.number()).nullable(),
  /** The map sequence's token labels, as a JSON list (beside a map). */
  map_tokens: z.string().nullable(),
  time_ms: z.number(),
});
export type MapsRow = z.output<typeof MapsRow>;
