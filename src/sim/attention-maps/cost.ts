/**
 * The cost model of an attention-maps point: the model's forward pass over every token (2 FLOPs per weight per token,
 * at the rate measured on the reference machine) plus the scoring of every head's T × T map in JavaScript, once more
 * for the untrained baseline. The model's size comes from the run's checks, which open it before the estimate.
 */
import { modelSize } from './engines.js';

/**
 * Constants measured on the reference machine (2 cores, AMD EPYC, shared; scripts/attention-maps-speed.ts): a
 * GPT-2-shaped model (124 M weights, 144 heads) at T = 128 with 32 sequences ran its forward pass in 8.9 – 24 s and
 * its scoring in 1.4 – 3.3 s, depending on the load; the 2-layer example's points take about 1 s, mostly the session
 * and the maps' extra call.
 */
const FIXED_MS = 150;
const GFLOPS = 50;
const SCORE_NS_PER_ENTRY = 25;

export function modelCostMs(file: string, T: number, sequences: number, baseline: boolean): number {
  const size = modelSize(file) ?? { weights: 1e6, heads: 8 };
  const forward = (2 * size.weights * T * sequences) / (GFLOPS * 1e6);
  const scoring = (size.heads * T * T * sequences * SCORE_NS_PER_ENTRY) / 1e6;
  return (FIXED_MS + forward + scoring) * (baseline ? 2 : 1);
}
