/**
 * induction-heads' row: per recorded step one `step` row and one `head` row per head, and per head a final `map` row;
 * read by the simulation and its analysis.
 */
import { z } from 'zod';

const maybe = z.number().nullable();
export const InductionRow = z.object({
  layers: z.number(),
  heads: z.number(),
  d_model: z.number(),
  positions: z.string(),
  seed: z.number(),
  row_kind: z.enum(['step', 'head', 'map']),
  step: z.number(),
  /** 1-based layer and 0-based head of a head or map row. */
  layer: maybe,
  head: maybe,
  loss: maybe,
  loss_first: maybe,
  loss_repeated: maybe,
  accuracy_first: maybe,
  accuracy_repeated: maybe,
  previous_token_score: maybe,
  prefix_matching_score: maybe,
  duplicate_token_score: maybe,
  first_token_mass: maybe,
  /** A map row's attention weights on the fixed example, [T, T] row-major (queries × keys). */
  map: z.array(z.number()).nullable(),
  time_ms: z.number(),
});
export type InductionRow = z.output<typeof InductionRow>;
