/**
 * Scores of one attention head's pattern, as the interpretability literature defines them (Olsson et al. 2022;
 * TransformerLens's head detector). `attn` is one map, row-major [T, T]: row i is query i's weights over keys j ≤ i.
 * Each score is the mean, over the queries it applies to, of the weight on one key per query.
 */

/** Mean of attn[i, key(i)] over the queries i for which key(i) is defined (not null). */
function meanWeight(attn: ArrayLike<number>, n: number, key: (i: number) => number | null, offset = 0): number {
  let sum = 0;
  let count = 0;
  for (let i = 0; i < n; i++) {
    const j = key(i);
    if (j === null) continue;
    sum += attn[offset + i * n + j]!;
    count++;
  }
  return count ? sum / count : NaN;
}

/** Weight on the previous token, i − 1, over queries 1 … T−1: 1 for a perfect previous-token head. */
export const previousTokenScore = (attn: ArrayLike<number>, n: number, offset = 0): number =>
  meanWeight(attn, n, (i) => (i >= 1 ? i - 1 : null), offset);

/** Weight on key 0 over queries 1 … T−1 (query 0 can only attend to itself): the attention-sink mass. */
export const firstTokenMass = (attn: ArrayLike<number>, n: number, offset = 0): number =>
  meanWeight(attn, n, (i) => (i >= 1 ? 0 : null), offset);

/**
 * Prefix matching on a sequence whose second part repeats its first `period` tokens (t_i = t_{i−period}): query i ≥
 * period weighs the token that followed the earlier occurrence of t_i, key i − period + 1. 1 for a perfect induction
 * head.
 */
export const prefixMatchingScore = (attn: ArrayLike<number>, n: number, period: number, offset = 0): number =>
  meanWeight(attn, n, (i) => (i >= period ? i - period + 1 : null), offset);

/**
 * Duplicate-token score on the same kind of sequence: query i ≥ period weighs key i − period, the earlier occurrence
 * of its own token. A layer-1 duplicate-token head lets a layer-2 head find "the position after my earlier
 * occurrence" from positions alone (Q-composition), an induction circuit without a previous-token head.
 */
export const duplicateTokenScore = (attn: ArrayLike<number>, n: number, period: number, offset = 0): number =>
  meanWeight(attn, n, (i) => (i >= period ? i - period : null), offset);

/** Head scores averaged over a batch of maps laid out [batch, heads, T, T]: one value per head. */
export function batchScores(
  attn: ArrayLike<number>,
  batch: number,
  heads: number,
  n: number,
  score: (a: ArrayLike<number>, n: number, offset: number) => number,
): number[] {
  return Array.from({ length: heads }, (_, h) => {
    let sum = 0;
    for (let b = 0; b < batch; b++) sum += score(attn, n, (b * heads + h) * n * n);
    return sum / batch;
  });
}
