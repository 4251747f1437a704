/**
 * What an ablation changes, with 95% intervals over the point's sequences (each sequence is its own pair: the same
 * tokens clean and ablated, in the same session):
 * - the next-token loss (nats per token) over a class of positions: `all`; on the repeated probe `first_copy` (targets
 *   inside the first copy after its first token: unpredictable), `second_copy` (targets inside the second copy after
 *   its first token: predictable by copying), `rest` (every target but the second copy's), and `second_minus_first`
 *   (the second copy's change less the first copy's, per sequence);
 * - every score of every head above the ablated layers (composition).
 * Each effect: clean and ablated means, their difference (delta) and the ratio ablated ÷ clean, each with an interval
 * (the ratio's by the delta method: the spread of ablated − ratio · clean over sequences).
 */
import { moments, normalInterval } from '../../stats/moments.js';
import type { ReplicaResult } from './ablation-feeds.js';
import { SCORES, type Repeat, type Score } from './scores.js';

export const LOSS_MEASURES = ['all', 'first_copy', 'second_copy', 'rest', 'second_minus_first'] as const;
export type LossMeasure = (typeof LOSS_MEASURES)[number];

export interface Effect {
  clean: number;
  ablated: number;
  delta: number;
  delta_ci_low: number | null;
  delta_ci_high: number | null;
  ratio: number | null;
  ratio_ci_low: number | null;
  ratio_ci_high: number | null;
}

/** The effect from paired per-sequence values (sequences where either is missing left out); null with none. */
export function paired(clean: readonly (number | null)[], ablated: readonly (number | null)[]): Effect | null {
  const idx = clean.flatMap((c, i) => (c === null || ablated[i] === null ? [] : [i]));
  if (!idx.length) return null;
  const c = idx.map((i) => clean[i]!);
  const a = idx.map((i) => ablated[i]!);
  const mean = (x: number[]) => x.reduce((s, v) => s + v, 0) / x.length;
  const [mc, ma] = [mean(c), mean(a)];
  const d = a.map((v, i) => v - c[i]!);
  const ci = d.length >= 2 ? normalInterval(ma - mc, moments(d).meanSe) : null;
  const ratio = mc !== 0 ? ma / mc : null;
  let rci: { low: number; high: number } | null = null;
  if (ratio !== null && d.length >= 2) {
    const resid = a.map((v, i) => v - ratio * c[i]!);
    rci = normalInterval(ratio, moments(resid).meanSe / Math.abs(mc));
  }
  return {
    clean: mc,
    ablated: ma,
    delta: ma - mc,
    delta_ci_low: ci?.low ?? null,
    delta_ci_high: ci?.high ?? null,
    ratio,
    ratio_ci_low: rci?.low ?? null,
    ratio_ci_high: rci?.high ?? null,
  };
}

/** Each loss measure of one sequence's per-position losses (nll[p] predicts the token at p + 1). */
export function sequenceLosses(nll: Float64Array, repeat: Repeat | null): Record<LossMeasure, number | null> {
  const sum: Record<'all' | 'first_copy' | 'second_copy' | 'rest', [number, number]> = {
    all: [0, 0],
    first_copy: [0, 0],
    second_copy: [0, 0],
    rest: [0, 0],
  };
  for (let p = 0; p + 1 < nll.length; p++) {
    const target = p + 1;
    const add = (k: keyof typeof sum) => ((sum[k][0] += nll[p]!), (sum[k][1] += 1));
    add('all');
    if (!repeat) continue;
    const { start, length } = repeat;
    const second = target > start + length && target < start + 2 * length;
    if (second) add('second_copy');
    else add('rest');
    if (target > start && target < start + length) add('first_copy');
  }
  const m = (k: keyof typeof sum) => (sum[k][1] ? sum[k][0] / sum[k][1] : null);
  const [first, second] = [m('first_copy'), m('second_copy')];
  return {
    all: m('all'),
    first_copy: first,
    second_copy: second,
    rest: m('rest'),
    second_minus_first: first !== null && second !== null ? second - first : null,
  };
}

export interface LossEffect {
  result: ReplicaResult;
  measure: LossMeasure;
  effect: Effect;
}
export interface CompositionEffect {
  result: ReplicaResult;
  layer: number;
  head: number;
  score: Score;
  effect: Effect;
}

/** The clean replica of each split. */
const cleanOf = (results: readonly ReplicaResult[]) =>
  new Map(results.filter((r) => r.replica.mode === null).map((r) => [r.split, r]));

export function lossEffects(results: readonly ReplicaResult[], repeat: Repeat | null): LossEffect[] {
  const clean = cleanOf(results);
  const losses = new Map(results.map((r) => [r, r.nll.map((n) => sequenceLosses(n, repeat))]));
  return results
    .filter((r) => r.replica.mode !== null)
    .flatMap((r) =>
      LOSS_MEASURES.flatMap((measure) => {
        const pick = (x: ReplicaResult) => losses.get(x)!.map((l) => l[measure]);
        const effect = paired(pick(clean.get(r.split)!), pick(r));
        return effect ? [{ result: r, measure, effect }] : [];
      }),
    );
}

/** Each score of each head above the replica's highest ablated layer. */
export function compositionEffects(results: readonly ReplicaResult[]): CompositionEffect[] {
  const clean = cleanOf(results);
  const out: CompositionEffect[] = [];
  for (const r of results.filter((x) => x.replica.mode !== null)) {
    const top = Math.max(...r.replica.heads.map((h) => h.layer));
    const base = clean.get(r.split)!;
    r.scores.forEach((heads, layer) => {
      if (layer <= top) return;
      heads.forEach((perSeq, head) => {
        for (const score of SCORES) {
          const effect = paired(
            base.scores[layer]![head]!.map((s) => s[score]),
            perSeq.map((s) => s[score]),
          );
          if (effect) out.push({ result: r, layer, head, score, effect });
        }
      });
    });
  }
  return out;
}
