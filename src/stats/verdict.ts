/**
 * Verdicts from intervals, as equivalence tests (two one-sided tests) give them: an interval inside a range passes,
 * one disjoint from it fails, one across an edge is inconclusive. Claims (src/spec/claims.ts) and the experiments'
 * analyses (ratios of two measured times) share these.
 */

/** A claim's three verdicts. */
export type Verdict = 'pass' | 'fail' | 'inconclusive';

/** An interval [low, high] of a measured quantity (low = high for an exact one). */
export type Interval = readonly [number, number];

/**
 * The verdict of an interval against a range [lo, hi]: inside it, pass; disjoint from it, fail; across an edge,
 * inconclusive. [1.9, 2.1] against [1.75, 2.25] passes, [2.3, 2.6] fails, [2.1, 2.4] is inconclusive.
 */
export function decide([low, high]: Interval, [lo, hi]: Interval): Verdict {
  if (lo <= low && high <= hi) return 'pass';
  return high < lo || low > hi ? 'fail' : 'inconclusive';
}

/** A measured value with its interval (a time with its rounds' bootstrap interval, say). */
export interface Estimate {
  value: number;
  low: number;
  high: number;
}

/**
 * a ÷ b with an interval from theirs, each end's distance on the log scale added in quadrature (independent
 * measurements: two ±5% ends give ×exp(±√2·ln 1.05…) ≈ ±7%, not the ±10% of adding them):
 * low = a/b · exp(−√(ln(a/a_low)² + ln(b_high/b)²)), high = a/b · exp(√(ln(a_high/a)² + ln(b/b_low)²)).
 */
export function ratioOf(a: Estimate, b: Estimate): Estimate {
  const value = a.value / b.value;
  const down = Math.hypot(Math.log(a.value / a.low), Math.log(b.high / b.value));
  const up = Math.hypot(Math.log(a.high / a.value), Math.log(b.value / b.low));
  return { value, low: value * Math.exp(-down), high: value * Math.exp(up) };
}

/** Verdicts of parts combined: any fail fails the whole; else any inconclusive leaves it undecided. */
export function combine(vs: readonly Verdict[]): Verdict {
  return vs.includes('fail') ? 'fail' : vs.includes('inconclusive') ? 'inconclusive' : 'pass';
}
