/**
 * Growth with a fixed cost: y ≈ a + b·N^p (a ≥ 0, b ≥ 0), and the straight line y ≈ a + b·N. A log-log slope reads a
 * fixed cost as slower growth (a call that pays 0.6 ms of set-up at N = 128 bends the slope below 1); fitting a
 * separately leaves p to the growth. Least squares on relative residuals for times (they span decades), on absolute
 * ones for bytes (see `Weights`).
 */
import { weightedLine } from '../../stats/fit.js';

export interface PowerFit {
  /** Fixed part (the units of y), at least 0. */
  a: number;
  /** Scale of the growing part, at least 0. */
  b: number;
  /** Exponent of the growing part, within [P_MIN, P_MAX]. */
  p: number;
  /**
   * 95% profile-likelihood interval of p: every p whose best a, b fit within n·ln(RSS(p)/RSS_min) ≤ 3.84 (the
   * χ²₁ quantile); null with fewer than 4 points (three parameters fit three points exactly). An end at P_MIN or
   * P_MAX means the data do not bound p on that side (a growth too small to see against a).
   */
  pLow: number | null;
  pHigh: number | null;
  /** Weighted residual sum of squares at the best p (see `Weights`). */
  rss: number;
  n: number;
}

export const P_MIN = 0;
export const P_MAX = 4;
const STEP = 0.0025;
const CHI2_1_95 = 3.841458820694124;

/**
 * How residuals weigh: `relative` (weights 1/y², for times, whose noise grows with them and which span decades) or
 * `absolute` (weights 1, for bytes, whose noise is the allocator's and the page's granularity whatever the size, so
 * that the smallest sizes do not decide the fit).
 */
export type Weights = 'relative' | 'absolute';

/** Best a ≥ 0, b ≥ 0 for y ≈ a + b·x, and its weighted RSS (relative: Σ((y − fit)/y)²; absolute: Σ(y − fit)² / Σy²). */
function linearPart(
  x: readonly number[],
  y: readonly number[],
  weights: Weights = 'relative',
): { a: number; b: number; rss: number } {
  const scale = weights === 'absolute' ? y.reduce((s, v) => s + v * v, 0) : 0;
  const weight = (yi: number) => (weights === 'absolute' ? 1 / scale : 1 / (yi * yi));
  const line = weightedLine(x, y, (i) => weight(y[i]!));
  const { sw, sy, sxx, sxy } = line.sums;
  let [a, b] = [line.intercept, line.slope];
  // On the boundary: no fixed cost (b alone), or no growth (a alone), whichever fits better.
  if (a < 0 || b < 0) {
    const onlyB = { a: 0, b: Math.max(0, sxy / sxx) };
    const onlyA = { a: sy / sw, b: 0 };
    ({ a, b } = rss(onlyB) <= rss(onlyA) ? onlyB : onlyA);
  }
  return { a, b, rss: rss({ a, b }) };
  function rss(c: { a: number; b: number }): number {
    return y.reduce((s, yi, i) => s + weight(yi) * (yi - c.a - c.b * x[i]!) ** 2, 0);
  }
}

/** y ≈ a + b·N (a straight line with a fixed part), fitted like `fitPower` with p = 1. */
export function fitAffine(
  n: readonly number[],
  y: readonly number[],
  weights: Weights = 'relative',
): { a: number; b: number; rss: number } {
  check(n, y, 2);
  return linearPart(n, y, weights);
}

/** Fit y ≈ a + b·N^p: p on a grid of STEP over [P_MIN, P_MAX], then a and b by weighted least squares for each p. */
export function fitPower(n: readonly number[], y: readonly number[], weights: Weights = 'relative'): PowerFit {
  check(n, y, 3);
  // N scaled to its largest value, so that N^p stays in range for every p.
  const top = Math.max(...n);
  const u = n.map((v) => v / top);
  const profile: { p: number; a: number; b: number; rss: number }[] = [];
  for (let k = 0; k <= Math.round((P_MAX - P_MIN) / STEP); k++) {
    const p = Number((P_MIN + k * STEP).toFixed(4));
    const f = linearPart(
      u.map((v) => v ** p),
      y,
      weights,
    );
    profile.push({ p, ...f });
  }
  // The smallest p that fits as well as any (to rounding): a constant reads as p = 0, not as an arbitrary p with b ≈ 0.
  const least = Math.min(...profile.map((c) => c.rss));
  const best = profile.find((c) => c.rss <= least * (1 + 1e-9) + 1e-24 * n.length)!;
  let pLow: number | null = null;
  let pHigh: number | null = null;
  if (n.length >= 4) {
    // A perfect fit (RSS 0) still gets an interval: relative residuals below 1e-6 count as rounding (ill-conditioned
    // solves near p = 0, where N^p is nearly constant, leave more than float64 epsilon).
    const floor = Math.max(best.rss, 1e-12 * n.length);
    const inside = (c: { rss: number }) => n.length * Math.log(Math.max(c.rss, floor) / floor) <= CHI2_1_95;
    const i = profile.indexOf(best);
    let lo = i;
    while (lo > 0 && inside(profile[lo - 1]!)) lo--;
    let hi = i;
    while (hi < profile.length - 1 && inside(profile[hi + 1]!)) hi++;
    pLow = profile[lo]!.p;
    pHigh = profile[hi]!.p;
  }
  // b back in the units of N: b·(N/top)^p = (b/top^p)·N^p.
  return { a: best.a, b: best.b / top ** best.p, p: best.p, pLow, pHigh, rss: best.rss, n: n.length };
}

function check(n: readonly number[], y: readonly number[], min: number): void {
  if (n.length !== y.length) throw new RangeError('N and y differ in length');
  if (n.length < min) throw new RangeError(`a fit of ${min} parameters needs at least ${min} points`);
  if ([...n, ...y].some((v) => !(v > 0))) throw new RangeError('the fit needs positive N and y');
}
