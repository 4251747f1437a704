/**
 * Comparing two measurements, as asv and criterion do: the ratio of medians with a seeded bootstrap interval
 * (resampling rounds, then samples within them) or, where wider, the t-interval of the noise between sessions that the
 * rounds measure, a verdict only where that whole interval lies beyond the noise threshold, a Mann–Whitney U test on
 * the rounds' medians shown beside it, and for Monte Carlo estimates the difference with its normal interval and z.
 */
import { median } from './quantile.js';
import { tCritical, zCritical } from './normal.js';
import { sfc32Below, type Uniform } from '../random/sfc32.js';

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
function resampledMedians(g: Groups, rand: Uniform): (rounds?: readonly number[]) => number {
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
  // A timing run's 10⁵ – 10⁶ samples, each drawn 2,000 times, are too many draws for seedrandom: sfc32, seeded by it.
  const below = sfc32Below(rand);
  // `rounds`: the groups to draw, where the caller draws them (a paired bootstrapRatio: the same for two points).
  return (rounds) => {
    counts.fill(0);
    let total = 0;
    for (let i = 0; i < ranks.length; i++) {
      const group = ranks[rounds ? rounds[i]! : below(ranks.length)]!;
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
 * Seeded by `rand`, so a comparison prints the same intervals every time. `paired`: a and b were timed in the same
 * rounds (every point once per round, so a round's state of the machine is shared by both): each resample draws the
 * rounds once, for both, then samples within each drawn round of each. A slow spell over one round then slows both
 * sides of every resample it is drawn into and moves the ratio little, where two independent draws would each span it.
 */
export function bootstrapRatio(
  a: Groups,
  b: Groups,
  rand: Uniform,
  resamples = 2000,
  level = 0.95,
  paired = false,
): { ratio: number; low: number; high: number; a: [number, number]; b: [number, number] } {
  if (paired && a.length !== b.length) throw new Error(`paired rounds: ${a.length} against ${b.length}`);
  const ratio = median(b.flat()) / median(a.flat());
  const ma: number[] = [];
  const mb: number[] = [];
  const r: number[] = [];
  const [nextA, nextB] = [resampledMedians(a, rand), resampledMedians(b, rand)];
  const pick = paired ? sfc32Below(rand) : null;
  for (let i = 0; i < resamples; i++) {
    const rounds = pick ? Array.from({ length: a.length }, () => pick(a.length)) : undefined;
    ma.push(nextA(rounds));
    mb.push(nextB(rounds));
    r.push(mb[i]! / ma[i]!);
  }
  const [low, high] = percentiles(r, level);
  return { ratio, low, high, a: percentiles(ma, level), b: percentiles(mb, level) };
}

/**
 * Percentile-bootstrap interval of the median of samples in rounds (two-level: rounds drawn with replacement, then
 * samples within each drawn round), so that it holds the noise between sessions the rounds show; the interval of a
 * claim on a timing (src/sim/timing.ts's pooledTiming). With one round it is the samples' own bootstrap interval.
 */
export function bootstrapMedian(g: Groups, rand: Uniform, resamples = 1000, level = 0.95): [number, number] {
  const next = resampledMedians(g, rand);
  return percentiles(
    Array.from({ length: resamples }, () => next()),
    level,
  );
}

/** The smallest two-sided p-value a rank test can give with samples of n and m: 2 / C(n + m, n). */
export function minimumP(n: number, m: number): number {
  let c = 1;
  for (let i = 1; i <= Math.min(n, m); i++) c = (c * (n + m - Math.min(n, m) + i)) / i;
  return Math.min(1, 2 / c);
}

/**
 * Two-sided Mann–Whitney U test: exact (by counting) for small samples without ties, else normal with tie and
 * continuity corrections.
 */
export function mannWhitneyU(a: readonly number[], b: readonly number[]): { u: number; p: number } {
  const n = a.length;
  const m = b.length;
  const all = [...a.map((v) => ({ v, g: 0 })), ...b.map((v) => ({ v, g: 1 }))].sort((x, y) => x.v - y.v);
  // Mid-ranks for ties.
  const ranks = new Array<number>(all.length);
  let tieTerm = 0;
  for (let i = 0; i < all.length;) {
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

export type TimingVerdict = 'faster' | 'slower' | 'same' | 'inconclusive';

/** Session-to-session noise of log time: a variance and its degrees of freedom. */
export interface SessionNoise {
  variance: number;
  df: number;
}

/**
 * The spread between sessions, from the timing rounds: each round of a point opens its own session, so the round
 * medians of one point differ by what differs between sessions (and runs), which the samples within one session do
 * not show. Pooled over points: Σ (log m_r − mean)² / Σ (R − 1). Null where no point has two rounds.
 */
export function sessionNoise(points: readonly Groups[]): SessionNoise | null {
  return poolNoise(
    points.map((g) => {
      if (g.length < 2) return null;
      const logs = g.map((r) => Math.log(median(r)));
      const mean = logs.reduce((s, x) => s + x, 0) / logs.length;
      return { variance: logs.reduce((s, x) => s + (x - mean) ** 2, 0) / (logs.length - 1), df: logs.length - 1 };
    }),
  );
}

/** Points' noises pooled, each weighted by its degrees of freedom (what sessionNoise gives for all of them at once). */
export function poolNoise(each: readonly (SessionNoise | null)[]): SessionNoise | null {
  let [ss, df] = [0, 0];
  for (const n of each) {
    if (!n) continue;
    ss += n.variance * n.df;
    df += n.df;
  }
  return df > 0 ? { variance: ss / df, df } : null;
}

/**
 * Prior degrees of freedom of a run's pooled σ when it moderates one point's own (limma's moderated variance). Points
 * differ in how much their sessions disagree (a call the size of a time slice more than a long one), so the pooled σ
 * alone is too narrow for the noisiest points and too wide for the steadiest; a point's own σ from two to twelve rounds
 * is too uncertain alone. 4: about the median of limma's moment estimate over kept runs (docs/benchmarks.md).
 */
export const PRIOR_DF = 4;

/**
 * One point's noise between sessions in one run: its own (sessionNoise of its rounds: the variance of log median on
 * R − 1 degrees of freedom), moderated toward the run's pooled one, (d₀·σ₀² + (R − 1)·s²) / (d₀ + R − 1) on
 * d₀ + R − 1 degrees of freedom; the pooled σ on d₀ where the point has a single round (own null); null where the run
 * has no rounds at all.
 */
export function pointNoise(
  own: SessionNoise | null,
  pooled: SessionNoise | null,
  prior = PRIOR_DF,
): SessionNoise | null {
  if (!pooled) return null;
  if (!own) return { variance: pooled.variance, df: prior };
  return { variance: (prior * pooled.variance + own.df * own.variance) / (prior + own.df), df: prior + own.df };
}

/**
 * Without rounds a run has no estimate of the noise between sessions: a ratio beyond this factor is called a change
 * anyway (far beyond the run-to-run drift measured on the reference machine, docs/compare.md), one between the
 * threshold and it is `inconclusive`.
 */
export const UNMEASURED_NOISE_FACTOR = 1.5;

/**
 * Half-width, on the log scale, that the noise between sessions adds to a ratio of medians over R_A and R_B rounds:
 * t · √(σ_A²/R_A + σ_B²/R_B), each run's σ from its own rounds (a loaded run's spread does not widen an idle run's),
 * Welch–Satterthwaite's degrees of freedom; a run without rounds borrows the other's σ. Null where neither has rounds.
 */
export function sessionHalfWidth(
  a: SessionNoise | null,
  b: SessionNoise | null,
  rounds: readonly [number, number],
  level = 0.95,
): number | null {
  if (!a || !b) {
    // One estimate for both sides: its own degrees of freedom.
    const one = a ?? b;
    return one ? tCritical(level, one.df) * Math.sqrt(one.variance * (1 / rounds[0] + 1 / rounds[1])) : null;
  }
  const [va, vb] = [a.variance / rounds[0], b.variance / rounds[1]];
  if (va + vb === 0) return 0;
  const df = (va + vb) ** 2 / (va ** 2 / a.df + vb ** 2 / b.df);
  return tCritical(level, Math.max(1, Math.floor(df))) * Math.sqrt(va + vb);
}

/**
 * One point's verdict, criterion's way: B/A with its bootstrap interval widened by the noise between sessions
 * (`sessionHalf`, on the log scale, from the moderated σ of pointNoise) where that is the wider of the two, and a
 * change called only when the whole interval lies beyond the noise threshold. A ratio beyond the threshold whose
 * interval still reaches into it is `inconclusive`; one within it is `same`. Without a noise estimate (null: no rounds)
 * see UNMEASURED_NOISE_FACTOR.
 */
export function timingVerdict(
  ratio: number,
  bootstrap: readonly [number, number],
  sessionHalf: number | null,
  threshold: number,
): { verdict: TimingVerdict; low: number; high: number } {
  const beyond = ratio > threshold || ratio < 1 / threshold;
  if (sessionHalf === null) {
    const verdict =
      ratio > UNMEASURED_NOISE_FACTOR
        ? 'slower'
        : ratio < 1 / UNMEASURED_NOISE_FACTOR
          ? 'faster'
          : beyond
            ? 'inconclusive'
            : 'same';
    return { verdict, low: bootstrap[0], high: bootstrap[1] };
  }
  const bootHalf = Math.max(Math.log(ratio / bootstrap[0]), Math.log(bootstrap[1] / ratio), 0);
  // Both estimate the same uncertainty: the bootstrap resamples the rounds (so it holds their spread already) and
  // knows the samples within them; the t-interval on the rounds' medians corrects for there being few of them.
  // Adding the two in quadrature would count the rounds' spread twice.
  const half = Math.max(bootHalf, sessionHalf);
  const [low, high] = [ratio * Math.exp(-half), ratio * Math.exp(half)];
  const verdict = low > threshold ? 'slower' : high < 1 / threshold ? 'faster' : beyond ? 'inconclusive' : 'same';
  return { verdict, low, high };
}

/** B − A for two estimates given with 95% intervals (normal): the difference, its 95% interval and z. */
export function estimateDifference(
  a: { value: number; low: number; high: number },
  b: { value: number; low: number; high: number },
): { diff: number; low: number; high: number; z: number } {
  const z95 = zCritical(0.95);
  const se = Math.hypot((a.high - a.low) / (2 * z95), (b.high - b.low) / (2 * z95));
  const diff = b.value - a.value;
  return {
    diff,
    low: diff - z95 * se,
    high: diff + z95 * se,
    z: se > 0 ? diff / se : diff === 0 ? 0 : Math.sign(diff) * Infinity,
  };
}
