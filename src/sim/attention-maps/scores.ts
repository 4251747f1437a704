/**
 * Scores of one head on one sequence, from its T × T attention map A (row i: query i's weights over the keys) and,
 * where the graph gives them, its logits (the Softmax's input, after scale and mask). Each score is a mean over the
 * queries it applies to; null where no query does.
 *
 * A key is visible to a query unless the mask hides it: its logit is −∞ or below −1000 (exports mask with −∞, −10⁴
 * or the float minimum), or, without logits, its weight is exactly 0.
 */

export const SCORES = [
  'previous_token_score',
  'next_token_score',
  'first_token_mass',
  'duplicate_token_score',
  'induction_score',
  'entropy_ratio',
  'max_weight',
  'logit_var',
] as const;
export type Score = (typeof SCORES)[number];
export type HeadScores = Record<Score, number | null>;

/** Where the repeated probe's two copies lie: positions [start, start + length) and [start + length, start + 2·length). */
export interface Repeat {
  start: number;
  length: number;
}

const MASKED = -1000;

/**
 * The scores of one map. `probs` and `logits` are T × T, row-major, read from `offset`.
 * - previous_token_score: mean of A[i, i−1] over queries i ≥ 1 that see key i − 1;
 * - next_token_score: mean of A[i, i+1] over queries that see key i + 1 (bidirectional models; null under a causal mask);
 * - first_token_mass: mean of A[i, 0] over queries i ≥ 1 that see key 0;
 * - duplicate_token_score: over queries with an earlier or later visible key holding the same token, the weight on those keys;
 * - induction_score: over queries of the second copy (position i = s + L + j), the weight on the token after the
 *   first occurrence, A[i, i − L + 1] (repeated probe only);
 * - entropy_ratio: H(A[i, ·]) / ln(keys visible to i), over queries that see at least 2 keys;
 * - max_weight: max_j A[i, j], over the same queries;
 * - logit_var: the variance (n − 1 denominator) of query i's logits over its visible keys, over the same queries.
 */
export function headScores(
  probs: Float32Array,
  logits: Float32Array | null,
  offset: number,
  T: number,
  tokens: readonly number[],
  repeat: Repeat | null,
): HeadScores {
  const visible = logits
    ? (i: number, j: number) => {
        const l = logits[offset + i * T + j]!;
        return l > MASKED;
      }
    : (i: number, j: number) => probs[offset + i * T + j]! > 0;
  const A = (i: number, j: number) => probs[offset + i * T + j]!;
  const acc = () => ({ sum: 0, n: 0 });
  const prev = acc();
  const next = acc();
  const firstTok = acc();
  const dup = acc();
  const ind = acc();
  const ent = acc();
  const max = acc();
  const lvar = acc();
  for (let i = 0; i < T; i++) {
    let keys = 0;
    let h = 0;
    let m = 0;
    let dupMass = 0;
    let dupKeys = 0;
    let lsum = 0;
    let lsq = 0;
    for (let j = 0; j < T; j++) {
      if (!visible(i, j)) continue;
      keys++;
      const a = A(i, j);
      if (a > 0) h -= a * Math.log(a);
      if (a > m) m = a;
      if (j !== i && tokens[j] === tokens[i]) {
        dupMass += a;
        dupKeys++;
      }
      if (logits) {
        const l = logits[offset + i * T + j]!;
        lsum += l;
        lsq += l * l;
      }
    }
    if (i >= 1 && visible(i, i - 1)) add(prev, A(i, i - 1));
    if (i + 1 < T && visible(i, i + 1)) add(next, A(i, i + 1));
    if (i >= 1 && visible(i, 0)) add(firstTok, A(i, 0));
    if (dupKeys) add(dup, dupMass);
    if (
      repeat &&
      i >= repeat.start + repeat.length &&
      i < repeat.start + 2 * repeat.length &&
      visible(i, i - repeat.length + 1)
    )
      add(ind, A(i, i - repeat.length + 1));
    if (keys >= 2) {
      add(ent, h / Math.log(keys));
      add(max, m);
      // The logits of one query differ by a constant softmax ignores; their spread about their own mean is what counts.
      if (logits) add(lvar, Math.max(0, (lsq - (lsum * lsum) / keys) / (keys - 1)));
    }
  }
  const mean = (x: { sum: number; n: number }) => (x.n ? x.sum / x.n : null);
  return {
    previous_token_score: mean(prev),
    next_token_score: mean(next),
    first_token_mass: mean(firstTok),
    duplicate_token_score: mean(dup),
    induction_score: repeat ? mean(ind) : null,
    entropy_ratio: mean(ent),
    max_weight: mean(max),
    logit_var: logits ? mean(lvar) : null,
  };
}

function add(x: { sum: number; n: number }, v: number): void {
  x.sum += v;
  x.n++;
}
