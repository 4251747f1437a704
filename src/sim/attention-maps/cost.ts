/**
 * The cost model of an attention-maps point: the model's forward pass over every token (2 FLOPs per weight per token,
 * at the rate measured on the reference machine) plus the scoring of every head's T × T map in JavaScript, once more
 * for the untrained baseline. The model's size comes from the run's checks, which open it before the estimate.
 */
import { modelSize } from './engines.js';

/** Constants fitted on the reference machine (2 cores, AMD EPYC): see docs/experiments/attention-maps.md. */
const FIXED_MS = 30;
const GFLOPS = 20;
const SCORE_NS_PER_ENTRY = 12;

export function modelCostMs(file: string, T: number, sequences: number, baseline: boolean): number {
  const size = modelSize(file) ?? { weights: 1e6, heads: 8 };
  const forward = (2 * size.weights * T * sequences) / (GFLOPS * 1e6);
  const scoring = (size.heads * T * T * sequences * SCORE_NS_PER_ENTRY) / 1e6;
  return (FIXED_MS + forward + scoring) * (baseline ? 2 : 1);
}
