/**
 * Comparing two measurements, as asv and criterion do: the ratio of medians with a seeded bootstrap interval
 * (resampling rounds, then samples within them), a Mann–Whitney U test (on the rounds' medians where both sides have
 * rounds; run only when the counts let it reach the significance level: asv's guard), and
 * for Monte Carlo estimates the difference with its normal interval and z.
 */
import { median } from './quantile.js';
import { zCritical } from './normal.js';

/** A uniform generator in [0, 1) (seedrandom's, in practice). */
export type Uniform = () => number;

/**
 * A point's timing samples in groups: one group per timing round (each round a session of its own, so rounds are
 * the independent units and samples within one are not), or a single group where the point was measured once.
 */
export type Groups = readonly (readonly number[])[];

/**
 * Medians of bootstrap resamples of `g`: groups drawn with replacement, then samples within each drawn group. The
 * samples are ranked once; a resample only counts how often each rank was drawn and walks the counts to its middle
 * ranks (O(samples) a resample instead of a sort: a point timed 8,000 times is resampled 2,000 times in 0.2 s).
 */
function resampledMedians(g: Groups, rand: Uniform): () => number {
  const values = g.flat();
  const order = values.map((_, i) => i).sort((x, y) => values[x]! - values[y]!);
  const rankOf = new Int32Array(values.length);
  order.forEach((at, rank) => (rankOf[at] = rank));
  const ranks: Int32Array[] = [];
  let offset = 0;
  for (const group of g) {
    ranks.push(rankOf.subarray(offset, offset + group.length));
    offset += group.length;
  }
  const counts = new Int32Array(values.length);
  // sfc32 seeded from `rand`: a timing run holds 10⁵ – 10⁶ samples, and 2,000 resamples draw each 2,000 times, which
  // at seedrandom's 30 M draws a second took half a minute; sfc32 draws several times faster, still seeded.
  let [a, b, c, d] = Array.from({ length: 4 }, () => Math.floor(rand() * 2 ** 32) | 0) as [number, number, number, number];
  const below = (n: number): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (((c << 21) | (c >>> 11)) + t) | 0;
    return Math.floor(((t >>> 0) / 4294967296) * n);
  };
  return () => {
    counts.fill(0);
    let total = 0;
    for (let i = 0; i < ranks.length; i++) {
      const group = ranks[below(ranks.length)]!;
      for (let j = 0; j < group.length; j++) counts[group[below(group.length)]!]!++;
      total += group.length;
    }
    // The values at ranks ⌊(total−1)/2⌋ and ⌊total/2⌋ of the resample, as median() takes them.
    const [lo, hi] = [(total - 1) >> 1, total >> 1];
    let seen = 0;
    let low = NaN;
    for (let r = 0; r < counts.length; r++) {
      seen += counts[r]!;
      if (Number.isNaN(low) && seen > lo) low = values[order[r]!]!;
      if (seen > hi) return (low + values[order[r]!]!) / 2;
    }
    return NaN;
  };
}

const percentiles = (xs: number[], level: number): [number, number] => {
  xs.sort((x, y) => x - y);
  const tail = (1 - level) / 2;
  return [xs[Math.floor(tail * (xs.length - 1))]!, xs[Math.ceil((1 - tail) * (xs.length - 1))]!];
};

/**
 * Percentile-bootstrap intervals (two-level where there are rounds) of median(b) / median(a) and of each median.
 * Seeded by `rand`, so a comparison prints the same intervals every time.
 */
export function bootstrapRatio(a: Groups, b: Groups, rand: Uniform, resamples = 2000, level = 0.95): { ratio: number; low: number; high: number; a: [number, number]; b: [number, number] } {
  const ratio = median(b.flat()) / median(a.flat());
  const ma: number[] = [];
  const mb: number[] = [];
  const r: number[] = [];
  const [nextA, nextB] = [resampledMedians(a, rand), resampledMedians(b, rand)];
  for (let i = 0; i < resamples; i++) {
    ma.push(nextA());
    mb.push(nextB());
    r.push(mb[i]! / ma[i]!);
  }
  const [low, high] = percentiles(r, level);
  return { ratio, low, high, a: percentiles(ma, level), b: percentiles(mb, level) };
}

/** The smallest two-sided p-value a rank test can give with samples of n and m: 2 / C(n + m, n). */
export function minimumP(n: number, m: number): number {
  let c = 1;
  for (let i = 1; i <= Math.min(n, m); i++) c = (c * (n + m - Math.min(n, m) + i)) / i;
  return Math.min(1, 2 / c);
}

/** Two-sided Mann–Whitney U test: exact (by counting) for small samples without ties, else normal with tie and continuity corrections. */
export function mannWhitneyU(a: readonly number[], b: readonly number[]): { u: number; p: number } {
  const n = a.length;
  const m = b.length;
  const all = [...a.map((v) => ({ v, g: 0 })), ...b.map((v) => ({ v, g: 1 }))].sort((x, y) => x.v - y.v);
  // Mid-ranks for ties.
  const ranks = new Array<number>(all.length);
  let tieTerm = 0;
  for (let i = 0; i < all.length; ) {
    let j = i;
    while (j + 1 < all.length && all[j + 1]!.v === all[i]!.v) j++;
    for (let k = i; k <= j; k++) ranks[k] = (i + j) / 2 + 1;
    const t = j - i + 1;
    tieTerm += t ** 3 - t;
    i = j + 1;
  }
  const rankSumA = all.reduce((s, x, i) => s + (x.g === 0 ? ranks[i]! : 0), 0);
  const u = rankSumA - (n * (n + 1)) / 2;
  const mean = (n * m) / 2;
  if (tieTerm === 0 && n * m <= 2500) {
    // Exact: the number of arrangements with each U, by the recurrence f(n, m, u) = f(n−1, m, u−m) + f(n, m−1, u).
    const counts = uDistribution(n, m);
    const total = counts.reduce((s, c) => s + c, 0);
    const lo = Math.min(u, n * m - u);
    let tail = 0;
    for (let k = 0; k <= lo; k++) tail += counts[k]!;
    return { u, p: Math.min(1, (2 * tail) / total) };
  }
  const variance = ((n * m) / 12) * (n + m + 1 - tieTerm / ((n + m) * (n + m - 1)));
  const z = (Math.abs(u - mean) - 0.5) / Math.sqrt(variance);
  return { u, p: Math.min(1, 2 * normalTail(Math.max(0, z))) };
}

/** Counts of U = 0 … n·m over all arrangements of n and m distinct values. */
function uDistribution(n: number, m: number): number[] {
  // f[i][j] as arrays over u, built up in i for each j.
  let prev: number[][] = Array.from({ length: m + 1 }, () => [1]);
  for (let i = 1; i <= n; i++) {
    const cur: number[][] = [[1]];
    for (let j = 1; j <= m; j++) {
      const size = i * j + 1;
      const row = new Array<number>(size).fill(0);
      const left = cur[j - 1]!;
      for (let k = 0; k < left.length; k++) row[k]! += left[k]!;
      const up = prev[j]!;
      for (let k = 0; k < up.length; k++) row[k + j]! += up[k]!;
      cur.push(row);
    }
    prev = cur;
  }
  return prev[m]!;
}

/** P(Z > z) for a standard normal (Abramowitz–Stegun 7.1.26 through erfc; absolute error below 1.5e-7). */
function normalTail(z: number): number {
  const x = z / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return 0.5 * poly * Math.exp(-x * x);
}

export type TimingVerdict = 'faster' | 'slower' | 'same';

/**
 * When two timings differ. asv's rule: the U test says so at `pThreshold` (default 0.002), or, where the counts are
 * too small for the test to reach it, the medians' intervals do not overlap. With rounds on both sides the test ranks
 * the rounds' medians (the independent units), which needs nearly every round of one side beyond every round of the
 * other; criterion's rule covers the rest: a change whose whole bootstrap interval lies beyond the noise threshold
 * is one. Either way a ratio within the noise threshold ([1/threshold, threshold]) is `same`.
 */
export function timingVerdict(
  a: { groups: Groups; interval: readonly [number, number] },
  b: { groups: Groups; interval: readonly [number, number] },
  ratioInterval: readonly [number, number],
  threshold: number,
  pThreshold = 0.002,
): { verdict: TimingVerdict; ratio: number; p: number | null; tested: boolean } {
  const ratio = median(b.groups.flat()) / median(a.groups.flat());
  const byRound = a.groups.length > 1 && b.groups.length > 1;
  const [ua, ub] = byRound ? [a.groups.map((g) => median(g)), b.groups.map((g) => median(g))] : [a.groups.flat(), b.groups.flat()];
  const tested = minimumP(ua.length, ub.length) < pThreshold;
  const p = tested ? mannWhitneyU(ua, ub).p : null;
  const beyondNoise = ratioInterval[0] > threshold || ratioInterval[1] < 1 / threshold;
  const differs = beyondNoise || (p !== null ? p < pThreshold : a.interval[1] < b.interval[0] || b.interval[1] < a.interval[0]);
  const verdict = !differs ? 'same' : ratio > threshold ? 'slower' : ratio < 1 / threshold ? 'faster' : 'same';
  return { verdict, ratio, p, tested };
}

/** B − A for two estimates given with 95% intervals (normal): the difference, its 95% interval and z. */
export function estimateDifference(a: { value: number; low: number; high: number }, b: { value: number; low: number; high: number }): { diff: number; low: number; high: number; z: number } {
  const z95 = zCritical(0.95);
  const se = Math.hypot((a.high - a.low) / (2 * z95), (b.high - b.low) / (2 * z95));
  const diff = b.value - a.value;
  return { diff, low: diff - z95 * se, high: diff + z95 * se, z: se > 0 ? diff / se : diff === 0 ? 0 : Math.sign(diff) * Infinity };
}
