/**
 * attention-training's row: one per logged step and one final row per point, read by the simulation and its analysis.
 */
import { z } from 'zod';

const maybe = z.number().nullable();
export const TrainingRow = z.object({
  task: z.string(),
  attention: z.string(),
  scaling: z.string(),
  vocab: z.number(),
  n: z.number(),
  d_model: z.number(),
  seed: z.number(),
  row_kind: z.enum(['step', 'final']),
  step: z.number(),
  loss: z.number(),
  accuracy: z.number(),
  entropy: z.number(),
  entropy_ratio: z.number(),
  target_weight: z.number(),
  grad_q: maybe,
  grad_k: maybe,
  grad_v: maybe,
  grad_out: maybe,
  fd_zero_q: maybe,
  fd_zero_k: maybe,
  fd_change_q: maybe,
  steps_to_99: maybe,
  top_key_agreement: maybe,
  weights_cosine: maybe,
  bilinear_cosine: maybe,
  chance: maybe,
  map_init: z.array(z.number()).nullable(),
  map_trained: z.array(z.number()).nullable(),
  time_ms: z.number(),
});
export type TrainingRow = z.output<typeof TrainingRow>;
