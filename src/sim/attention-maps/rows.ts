/**
 * attention-maps' row, of three records (read by the simulation and its analysis):
 * - head: one per model (trained, untrained) × probe × T × layer × head, with its scores;
 * - loss: one per model × probe × T × ablation × ablated head (or named set) × loss measure (effects.ts);
 * - composition: one per model × probe × T × ablation × ablated head (or set) × head above it × score.
 */
import { z } from 'zod';

const maybe = z.number().nullable();

/** Each score (scores.ts says how it is computed): the mean over the point's sequences and its 95% interval. */
export const MapsRow = z.object({
  model: z.enum(['trained', 'untrained']),
  record: z.enum(['head', 'loss', 'composition']),
  probe: z.string(),
  T: z.number(),
  /** The head scored (head, composition) or ablated (loss; empty for a set). */
  layer: maybe,
  head: maybe,
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
  /** zero, mean or uniform (loss and composition records). */
  ablation: z.string().nullable(),
  /** The ablated head (L1H0) or named set. */
  ablated: z.string().nullable(),
  /** loss: the class of positions (all, first_copy, second_copy, rest, second_minus_first); composition: the score. */
  measure: z.string().nullable(),
  /** Means over the sequences, clean and ablated; their difference and ratio, each with its 95% interval. */
  clean: maybe,
  ablated_value: maybe,
  delta: maybe,
  delta_ci_low: maybe,
  delta_ci_high: maybe,
  ratio: maybe,
  ratio_ci_low: maybe,
  ratio_ci_high: maybe,
  /** The head's map (t × t, t = min(T, map_T)) on the point's map sequence, where the head is among the point's top heads of some score (trained model only). */
  map: z.array(z.number()).nullable(),
  /** The map sequence's token labels, as a JSON list (beside a map). */
  map_tokens: z.string().nullable(),
  time_ms: z.number(),
});
export type MapsRow = z.output<typeof MapsRow>;
