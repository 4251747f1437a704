import { zCritical } from './normal.js';

/** Sample moments of one Monte Carlo sample, with standard errors of the mean and the variance. */
export interface Moments {
  n: number;
  mean: number;
  /** Unbiased sample variance. */
  variance: number;
  /** Fourth central moment (biased, m4). */
  m4: number;
  meanSe: number;
  /** Standard error of the sample variance from the fourth moment: sqrt((m4 − (n−3)/(n−1)·s⁴)/n). */
  varianceSe: number;
}

/** Two passes over the sample (mean first), so large means do not swamp the variance. */
export function moments(x: ArrayLike<number>): Moments {
  const n = x.length;
  if (n < 2) throw new RangeError('moments need at least 2 samples');
  let sum = 0;
  for (let i = 0; i < n; i++) sum += x[i]!;
  const mean = sum / n;
  let s2 = 0;
  let s4 = 0;
  for (let i = 0; i < n; i++) {
    const e = x[i]! - mean;
    const e2 = e * e;
    s2 += e2;
    s4 += e2 * e2;
  }
  const variance = s2 / (n - 1);
  const m4 = s4 / n;
  const v4 = m4 - ((n - 3) / (n - 1)) * variance * variance;
  return { n, mean, variance, m4, meanSe: Math.sqrt(variance / n), varianceSe: Math.sqrt(Math.max(v4, 0) / n) };
}

export interface Interval {
  low: number;
  high: number;
}

/** Normal-theory interval estimate ± z·se at the given two-sided level. */
export function normalInterval(estimate: number, se: number, level = 0.95): Interval {
  const h = zCritical(level) * se;
  return { low: estimate - h, high: estimate + h };
}

/** (estimate − theory) / se; 0 when both agree exactly and se is 0. */
export function zScore(estimate: number, theory: number, se: number): number {
  const diff = estimate - theory;
  if (se === 0) return diff === 0 ? 0 : Math.sign(diff) * Infinity;
  return diff / se;
}
