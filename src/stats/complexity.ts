/**
 * Growth of cost with size: which class fits, and where two methods cross.
 * Times span decades, so fits weight each point by 1/y² (relative error), as perfplot and
 * benchopt do when they compare curves on log axes.
 */
import { weightedLine } from './fit.js';
import type { Interval } from './moments.js';

export const GrowthClass = {
  N: (n: number) => n,
  'N log N': (n: number) => n * Math.log2(n),
  'N^2': (n: number) => n * n,
  'N^3': (n: number) => n * n * n,
} as const;
export type GrowthClass = keyof typeof GrowthClass;

export interface ClassFit {
  cls: GrowthClass;
  /** y ≈ a·f(N) + b */
  a: number;
  b: number;
  aic: number;
}

/** Weighted least squares y ≈ a·f + b with weights 1/y²; AIC = n·ln(RSS/n) + 2·2. */
function fitClass(cls: GrowthClass, n: readonly number[], y: readonly number[]): ClassFit {
  const f = n.map(GrowthClass[cls]);
  const { slope: a, intercept: b } = weightedLine(f, y, (i) => 1 / y[i]! ** 2);
  const rss = y.reduce((s, yi, i) => s + ((yi - a * f[i]! - b) / yi) ** 2, 0);
  return { cls, a, b, aic: y.length * Math.log(Math.max(rss, 1e-300) / y.length) + 4 };
}

/** Every class fitted, best (lowest AIC) first. Needs at least 3 points. */
export function rankClasses(n: readonly number[], y: readonly number[]): ClassFit[] {
  if (n.length < 3) throw new RangeError('class selection needs at least 3 points');
  return (Object.keys(GrowthClass) as GrowthClass[]).map((c) => fitClass(c, n, y)).sort((p, q) => p.aic - q.aic);
}

/**
 * The N where method a stops being cheaper than b (or the reverse): linear interpolation in
 * log N of the difference of log times at its first sign change. null when they never cross.
 */
export function crossover(n: readonly number[], a: readonly number[], b: readonly number[]): number | null {
  const diff = n.map((_, i) => Math.log(a[i]!) - Math.log(b[i]!));
  for (let i = 1; i < n.length; i++) {
    const d0 = diff[i - 1]!;
    const d1 = diff[i]!;
    if (d0 === 0) return n[i - 1]!;
    if (Math.sign(d0) !== Math.sign(d1)) {
      const t = d0 / (d0 - d1);
      return Math.exp(Math.log(n[i - 1]!) + t * (Math.log(n[i]!) - Math.log(n[i - 1]!)));
    }
  }
  return null;
}

/** Crossover with an interval: the same interpolation on the low/high ends of each method's time interval. */
export function crossoverInterval(
  n: readonly number[],
  a: { mid: readonly number[]; low: readonly number[]; high: readonly number[] },
  b: { mid: readonly number[]; low: readonly number[]; high: readonly number[] },
): { n: number | null } & Partial<Interval> {
  const mid = crossover(n, a.mid, b.mid);
  const ends = [crossover(n, a.low, b.high), crossover(n, a.high, b.low)].filter((v): v is number => v !== null);
  if (mid === null || ends.length < 2) return { n: mid };
  return { n: mid, low: Math.min(...ends, mid), high: Math.max(...ends, mid) };
}
