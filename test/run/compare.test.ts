import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import seedrandom from 'seedrandom';
import { describe, expect, it } from 'vitest';
import { msg } from '../../src/messages.js';
import {
  bootstrapRatio,
  estimateDifference,
  mannWhitneyU,
  minimumP,
  pointNoise,
  PRIOR_DF,
  sessionHalfWidth,
  sessionNoise,
  timingVerdict,
  UNMEASURED_NOISE_FACTOR,
} from '../../src/stats/compare.js';
import { cli, latestRun, listFiles, tmp } from '../helpers.js';

describe('comparison statistics, checked by hand', () => {
  it('the smallest p a rank test can give is 2 / C(n + m, n)', () => {
    expect(minimumP(3, 3)).toBeCloseTo(2 / 20, 12);
    expect(minimumP(5, 5)).toBeCloseTo(2 / 252, 12);
    expect(minimumP(7, 7)).toBeCloseTo(2 / 3432, 12);
    expect(minimumP(2, 40)).toBeCloseTo(2 / 861, 12);
  });

  it('Mann–Whitney U: exact without ties, normal with tie and continuity corrections otherwise', () => {
    // Complete separation: U = 0, p = 2 / C(6, 3) = 0.1 and 2 / C(8, 4) = 2/70.
    expect(mannWhitneyU([1, 2, 3], [4, 5, 6])).toEqual({ u: 0, p: 0.1 });
    expect(mannWhitneyU([5, 6, 7, 8], [1, 2, 3, 4]).u).toBe(16);
    expect(mannWhitneyU([5, 6, 7, 8], [1, 2, 3, 4]).p).toBeCloseTo(2 / 70, 12);
    // One overlap in 3 × 3: U = 1 or 8 of 9; P(U ≤ 1) = 2/20, so p = 0.2.
    expect(mannWhitneyU([1, 2, 4], [3, 5, 6]).p).toBeCloseTo(0.2, 12);
    // Ties: ranks 1.5 1.5 3.5 | 3.5 5.5 5.5, U = 0.5, var = 9/12 · (7 − 18/30) = 4.8, z = (4 − 0.5)/√4.8 = 1.5975, p = 0.1101.
    const tied = mannWhitneyU([1, 1, 2], [2, 3, 3]);
    expect(tied.u).toBe(0.5);
    expect(tied.p).toBeCloseTo(0.1101, 3);
  });

  it('a known 2× ratio: the bootstrap interval covers 2 and excludes 1; seeded', () => {
    const rnd = seedrandom('two-times');
    const noisy = (scale: number) => Array.from({ length: 40 }, () => scale * Math.exp(0.1 * (rnd() - 0.5)));
    const a = noisy(1);
    const b = noisy(2);
    const r = bootstrapRatio([a], [b], seedrandom('boot'));
    expect(r.ratio).toBeCloseTo(2, 1);
    expect(r.low).toBeLessThan(2);
    expect(r.high).toBeGreaterThan(2);
    expect(r.low).toBeGreaterThan(1.9);
    // Seeded: the same interval every time.
    expect(bootstrapRatio([a], [b], seedrandom('boot'))).toEqual(r);
  });

  it('the noise between sessions by hand: round medians 1, e^0.1, e^−0.1 → variance 0.02 / 2 = 0.01 on 2 df', () => {
    const point = [[1, 1, 1], [Math.exp(0.1)], [Math.exp(-0.1)]];
    const noise = sessionNoise([point, [[5, 6, 7]]])!; // a point measured once adds nothing
    expect(noise.df).toBe(2);
    expect(noise.variance).toBeCloseTo(0.01, 12);
    expect(sessionNoise([[[1, 2]], [[3]]])).toBeNull();
  });

  it("criterion's noise band: a change only where the whole widened interval lies beyond the threshold", () => {
    // σ² = 0.01 on many df a side (t = 1.960), 3 rounds a side: half-width 1.960 · √(0.01 · 2/3) = 0.1600 on the log scale.
    const noise = { variance: 0.01, df: 10_000 };
    const half = sessionHalfWidth(noise, noise, [3, 3])!;
    expect(half).toBeCloseTo(0.16, 3);
    const verdict = (ratio: number) => timingVerdict(ratio, [ratio, ratio], half, 1.1);
    expect(verdict(1.3).low).toBeCloseTo(1.3 * Math.exp(-0.16), 3);
    expect(verdict(1.3).verdict).toBe('slower'); // low 1.108 > 1.1
    expect(verdict(1 / 1.3).verdict).toBe('faster');
    expect(verdict(1.2).verdict).toBe('inconclusive'); // beyond 1.1, but low 1.022 reaches into the band
    expect(verdict(1.05).verdict).toBe('same');
    // The wider of the two stands (the bootstrap resamples the rounds, so it holds their spread already; adding the two
    // would count it twice): ±0.15 under ±0.16 changes nothing, ±0.2 over it makes 1.3 inconclusive (low 1.064).
    expect(timingVerdict(1.3, [1.3 * Math.exp(-0.15), 1.3 * Math.exp(0.15)], half, 1.1).low).toBeCloseTo(
      1.3 * Math.exp(-0.16),
      3,
    );
    expect(timingVerdict(1.3, [1.3 * Math.exp(-0.15), 1.3 * Math.exp(0.15)], half, 1.1).verdict).toBe('slower');
    expect(timingVerdict(1.3, [1.3 * Math.exp(-0.2), 1.3 * Math.exp(0.2)], half, 1.1).low).toBeCloseTo(
      1.3 * Math.exp(-0.2),
      3,
    );
    expect(timingVerdict(1.3, [1.3 * Math.exp(-0.2), 1.3 * Math.exp(0.2)], half, 1.1).verdict).toBe('inconclusive');
  });

  it("a point's own rounds moderate the run's pooled σ (limma): (d₀·σ₀² + (R − 1)·s²) / (d₀ + R − 1) on d₀ + R − 1 df", () => {
    expect(PRIOR_DF).toBe(4);
    // Pooled σ₀² = 0.01; the point's three rounds at log medians 0, 0.3, −0.3: s² = 0.09 on 2 df.
    const pooled = { variance: 0.01, df: 100 };
    const noisy = [[1], [Math.exp(0.3)], [Math.exp(-0.3)]];
    const m = pointNoise(sessionNoise([noisy]), pooled)!;
    expect(m.df).toBe(6);
    expect(m.variance).toBeCloseTo((4 * 0.01 + 2 * 0.09) / 6, 12); // 0.036667
    // A steady point (three equal rounds) is pulled toward the pool, not to zero: 4·0.01/6.
    expect(pointNoise(sessionNoise([[[1], [1], [1]]]), pooled)!.variance).toBeCloseTo(0.04 / 6, 12);
    // One round: the pool on d₀; no rounds anywhere: null.
    expect(pointNoise(sessionNoise([[[1, 2, 3]]]), pooled)).toEqual({ variance: 0.01, df: 4 });
    expect(pointNoise(sessionNoise([[[1, 2, 3]]]), null)).toBeNull();
    // The noisy point's interval is wider than the pool alone would make it: t(df) · √(2·σ²/3) with Welch's df from 6 a side.
    const moderated = sessionHalfWidth(m, m, [3, 3])!;
    const poolOnly = sessionHalfWidth(pooled, pooled, [3, 3])!;
    expect(moderated).toBeCloseTo(2.1788 * Math.sqrt((2 * 0.036667) / 3), 3); // Welch df 12, t = 2.1788
    expect(poolOnly).toBeLessThan(moderated / 2);
  });

  it("each run's own spread: a loaded B's wide rounds widen by σ_B²/R_B; a run without rounds borrows the other's σ", () => {
    // A: σ² 0.0004 over 2 df, 3 rounds; B: σ² 0.09 over 2 df, 3 rounds → √(0.0004/3 + 0.09/3) = 0.17359, Welch df ≈ 2.02 → 2, t = 4.3027.
    const [a, b] = [
      { variance: 0.0004, df: 2 },
      { variance: 0.09, df: 2 },
    ];
    expect(sessionHalfWidth(a, b, [3, 3])).toBeCloseTo(4.3027 * Math.sqrt(0.0004 / 3 + 0.09 / 3), 3);
    // B without rounds: A's σ stands for both (on A's 2 df), R_B = 1: t(2) · √(0.0004 · (1/3 + 1)).
    expect(sessionHalfWidth(a, null, [3, 1])).toBeCloseTo(4.3027 * Math.sqrt(0.0004 * (4 / 3)), 3);
    expect(sessionHalfWidth(null, null, [1, 1])).toBeNull();
  });

  it('runs without rounds have no noise estimate: a change only beyond UNMEASURED_NOISE_FACTOR, else inconclusive or same', () => {
    expect(UNMEASURED_NOISE_FACTOR).toBe(1.5);
    expect(timingVerdict(2, [1.95, 2.05], null, 1.1).verdict).toBe('slower');
    expect(timingVerdict(0.5, [0.49, 0.51], null, 1.1).verdict).toBe('faster');
    expect(timingVerdict(1.3, [1.29, 1.31], null, 1.1).verdict).toBe('inconclusive');
    expect(timingVerdict(1.05, [1.04, 1.06], null, 1.1).verdict).toBe('same');
  });

  it('rounds are the units: sessions spread ±30% make a 12% shift noise, however many samples each holds', () => {
    // 8 rounds per run, each a session with its own speed (factors 0.7 … 1.3; B's all 12% slower), 50 tight samples in each.
    const rnd = seedrandom('sessions');
    const speeds = [0.7, 0.8, 0.9, 1, 1, 1.1, 1.2, 1.3];
    const run = (shift: number) => speeds.map((f) => Array.from({ length: 50 }, () => f * shift * (1 + 0.002 * rnd())));
    const [a, b] = [run(1), run(1.12)];
    const boot = bootstrapRatio(a, b, seedrandom('boot'));
    const [na, nb] = [sessionNoise([a])!, sessionNoise([b])!];
    expect(na.df).toBe(7);
    const v = timingVerdict(boot.ratio, [boot.low, boot.high], sessionHalfWidth(na, nb, [8, 8]), 1.1);
    expect(boot.ratio).toBeCloseTo(1.12, 2);
    expect(v.verdict).toBe('inconclusive');
    expect(v.low).toBeLessThan(1);
    // Pooled as 400 samples each, the same data look different beyond doubt (p < 1e-6): the samples are not independent,
    // and a verdict that ignored the sessions (no noise term, the bootstrap of one group each) would call it a change.
    expect(mannWhitneyU(a.flat(), b.flat()).p).toBeLessThan(1e-6);
    const flat = bootstrapRatio([a.flat()], [b.flat()], seedrandom('boot'));
    expect(flat.low).toBeGreaterThan(1.1);
  });

  it('estimates: B − A with the normal interval of the difference and z', () => {
    // se 1 each (95% half-width 1.96): diff 3, se √2, z = 2.1213, interval 3 ± 1.96·√2.
    const d = estimateDifference(
      { value: 10, low: 10 - 1.959964, high: 10 + 1.959964 },
      { value: 13, low: 13 - 1.959964, high: 13 + 1.959964 },
    );
    expect(d.diff).toBe(3);
    expect(d.z).toBeCloseTo(3 / Math.SQRT2, 5);
    expect(d.low).toBeCloseTo(3 - 1.959964 * Math.SQRT2, 5);
  });
});

const QK = ['qk-variance', '--quick', '--set', 'd=[4,16]', '--set', 'trials=2000'];

describe('npm run exp -- compare', () => {
  it('two runs of one seed: every estimate the same (z = 0); the page lands in B and its path is printed last; the index links it', async () => {
    const out = join(tmp(), 'results');
    expect((await cli([...QK, '--out', out])).code).toBe(0);
    const first = latestRun(out, 'qk-variance');
    expect((await cli([...QK, '--out', out])).code).toBe(0);
    const second = latestRun(out, 'qk-variance');
    const r = await cli(['compare', 'qk-variance@' + first.split('/').pop(), 'qk-variance@latest', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('# compare qk-variance: A → B');
    expect(lines).toContain('| point | estimate | A | B | B − A [95% CI] | z | |');
    // Points are named by the parameters that vary in the grid (sigma is 1 throughout).
    expect(r.stdout).toMatch(/\| d=4 mu=\{"kind":"zero"\} scaling=none \| mean \| /);
    expect(r.stdout).toContain('estimates: 32 compared, 0 differ (|z| > 3)');
    const page = join(second, `compare-${first.split('/').pop()}.html`);
    expect(lines.at(-1)).toBe(page);
    expect(readFileSync(page, 'utf8')).toContain('<h2>Estimates</h2>');
    // The run itself wrote the same comparison with the run before it, and the index links it.
    const index = readFileSync(join(out, 'index.html'), 'utf8');
    expect(index).toContain(`href="qk-variance/${second.split('/').pop()}/compare-${first.split('/').pop()}.html"`);
    expect(index.match(/vs previous/g)).toHaveLength(1);
  });

  it('bad arguments exit 2 with a clear message and write nothing', async () => {
    const out = join(tmp(), 'results');
    expect((await cli([...QK, '--out', out])).code).toBe(0);
    expect(
      (await cli(['softmax-saturation', '--quick', '--set', 'd=[4]', '--set', 'draws=100', '--out', out])).code,
    ).toBe(0);
    const before = listFiles(out);
    const cases: [string[], string][] = [
      [
        ['compare', 'qk-variance@nope', 'qk-variance@latest'],
        msg.unknownRun(
          'qk-variance',
          'nope',
          readdirSync(join(out, 'qk-variance')).filter((d) => d !== 'latest'),
        ),
      ],
      [['compare', 'no-such-dir', 'qk-variance@latest'], msg.compareRef('no-such-dir')],
      [
        ['compare', 'qk-variance@latest', 'softmax-saturation@latest'],
        msg.compareExperiments('qk-variance', 'softmax-saturation'),
      ],
      [['compare', 'qk-variance@latest'], msg.compareUsage()],
      [
        ['compare', 'qk-variance@latest', 'qk-variance@latest', '--threshold', '0.5'],
        msg.badOptionValue('threshold', '0.5', 'a factor ≥ 1, e.g. 1.10'),
      ],
    ];
    for (const [args, message] of cases) {
      const r = await cli([...args, '--out', out]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toContain(message);
    }
    expect(listFiles(out)).toEqual(before);
    expect(existsSync(join(out, 'index.html'))).toBe(true);
  });

  it('a shard is refused: merge first', async () => {
    const out = join(tmp(), 'results');
    expect((await cli([...QK, '--shard', '1/2', '--out', out])).code).toBe(0);
    const shard = join(
      out,
      'qk-variance',
      readdirSync(join(out, 'qk-variance')).find((d) => d.endsWith('shard1of2'))!,
    );
    const r = await cli(['compare', shard, shard, '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(msg.compareShard(shard, '1/2'));
  });
});
