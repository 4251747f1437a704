import type { Interval } from './moments.js';

/** Median of a sample (not sorted in place). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
}

/** P(X ≤ k) for X ~ Binomial(n, 1/2). */
function binomialCdfHalf(k: number, n: number): number {
  let term = 0.5 ** n;
  let sum = term;
  for (let i = 1; i <= k; i++) {
    term = (term * (n - i + 1)) / i;
    sum += term;
  }
  return sum;
}

/**
 * Distribution-free interval for the median from order statistics:
 * [x_(j), x_(n+1−j)] with the largest j whose coverage 1 − 2·P(B ≤ j−1) is at least `level`
 * (B ~ Binomial(n, 1/2)); with too few samples for that level it is [min, max], and
 * `coverage` says what it really covers (5 samples: 93.75%).
 */
export function medianInterval(xs: readonly number[], level = 0.95): Interval & { coverage: number } {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return { low: NaN, high: NaN, coverage: 0 };
  let j = 1;
  while (j + 1 <= n / 2 && 1 - 2 * binomialCdfHalf(j, n) >= level) j++;
  return { low: s[j - 1]!, high: s[n - j]!, coverage: 1 - 2 * binomialCdfHalf(j - 1, n) };
}
