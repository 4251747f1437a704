import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import seedrandom from 'seedrandom';
import { describe, expect, it } from 'vitest';
import { msg } from '../src/messages.js';
import { bootstrapRatio, estimateDifference, mannWhitneyU, minimumP, timingVerdict } from '../src/stats/compare.js';
import { cli, latestRun, listFiles, tmp } from './helpers.js';

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

  it('a known 2× ratio: the bootstrap interval covers 2 and excludes 1; the verdict is slower', () => {
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
    const summary = (s: number[]) => ({ groups: [s], interval: [Math.min(...s), Math.max(...s)] as const });
    const wide = [0, Infinity] as const; // an interval that decides nothing: the U test does
    expect(timingVerdict(summary(a), summary(b), wide, 1.1)).toMatchObject({ verdict: 'slower', tested: true });
    expect(timingVerdict(summary(b), summary(a), wide, 1.1)).toMatchObject({ verdict: 'faster' });
    // Within the noise threshold: a 5% difference is `same` even when significant.
    expect(timingVerdict(summary(a), summary(a.map((x) => x * 1.05)), wide, 1.1).verdict).toBe('same');
  });

  it("asv's guard: with 5 samples each the U test cannot reach p < 0.002, so the intervals decide", () => {
    const v = timingVerdict({ groups: [[1, 1.1, 1.2, 1.3, 1.4]], interval: [1, 1.4] }, { groups: [[3, 3.1, 3.2, 3.3, 3.4]], interval: [3, 3.4] }, [0.5, 4], 1.1);
    expect(v).toMatchObject({ verdict: 'slower', tested: false, p: null });
    expect(timingVerdict({ groups: [[1, 2, 3, 4, 5]], interval: [1, 5] }, { groups: [[2, 3, 4, 5, 6]], interval: [2, 6] }, [0.5, 4], 1.1).verdict).toBe('same');
    // criterion's rule: a ratio whose whole interval lies beyond the threshold is a change, whatever the test could say.
    expect(timingVerdict({ groups: [[1, 2, 3, 4, 5]], interval: [1, 5] }, { groups: [[2, 3, 4, 5, 6]], interval: [2, 6] }, [1.2, 1.8], 1.1).verdict).toBe('slower');
  });

  it('rounds are the units: sessions spread ±30% make a 12% shift noise, however many samples each holds', () => {
    // 8 rounds per run, each a session with its own speed (factors 0.7 … 1.3; B's all 12% slower), 50 tight samples in each.
    const rnd = seedrandom('sessions');
    const speeds = [0.7, 0.8, 0.9, 1, 1, 1.1, 1.2, 1.3];
    const run = (shift: number) => speeds.map((f) => Array.from({ length: 50 }, () => f * shift * (1 + 0.002 * rnd())));
    const [a, b] = [run(1), run(1.12)];
    const boot = bootstrapRatio(a, b, seedrandom('boot'));
    const v = timingVerdict({ groups: a, interval: boot.a }, { groups: b, interval: boot.b }, [boot.low, boot.high], 1.1);
    expect(v.tested).toBe(true); // 8 against 8 rounds: the smallest p is 2/12870
    expect(v.ratio).toBeCloseTo(1.12, 2);
    expect(v.p!).toBeGreaterThan(0.002);
    expect(v.verdict).toBe('same');
    expect(boot.low).toBeLessThan(1);
    expect(boot.high).toBeGreaterThan(1.12);
    // Pooled as 400 samples each, the same data look different beyond doubt (p < 1e-6): the samples are not independent.
    expect(mannWhitneyU(a.flat(), b.flat()).p).toBeLessThan(1e-6);
    expect(timingVerdict({ groups: [a.flat()], interval: boot.a }, { groups: [b.flat()], interval: boot.b }, [boot.low, boot.high], 1.1).verdict).toBe('slower');
  });

  it('estimates: B − A with the normal interval of the difference and z', () => {
    // se 1 each (95% half-width 1.96): diff 3, se √2, z = 2.1213, interval 3 ± 1.96·√2.
    const d = estimateDifference({ value: 10, low: 10 - 1.959964, high: 10 + 1.959964 }, { value: 13, low: 13 - 1.959964, high: 13 + 1.959964 });
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
    expect((await cli(['softmax-saturation', '--quick', '--set', 'd=[4]', '--set', 'draws=100', '--out', out])).code).toBe(0);
    const before = listFiles(out);
    const cases: [string[], string][] = [
      [['compare', 'qk-variance@nope', 'qk-variance@latest'], msg.unknownRun('qk-variance', 'nope', readdirSync(join(out, 'qk-variance')).filter((d) => d !== 'latest'))],
      [['compare', 'no-such-dir', 'qk-variance@latest'], msg.compareRef('no-such-dir')],
      [['compare', 'qk-variance@latest', 'softmax-saturation@latest'], msg.compareExperiments('qk-variance', 'softmax-saturation')],
      [['compare', 'qk-variance@latest'], msg.compareUsage()],
      [['compare', 'qk-variance@latest', 'qk-variance@latest', '--threshold', '0.5'], msg.badOptionValue('threshold', '0.5', 'a factor ≥ 1, e.g. 1.10')],
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
    const shard = join(out, 'qk-variance', readdirSync(join(out, 'qk-variance')).find((d) => d.endsWith('shard1of2'))!);
    const r = await cli(['compare', shard, shard, '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(msg.compareShard(shard, '1/2'));
  });
});
