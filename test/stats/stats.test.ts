import { describe, expect, it } from 'vitest';
import { evaluateClaim } from '../../src/spec/claims.js';
import { combine, decide, ratioOf } from '../../src/stats/verdict.js';
import { bootstrapRatio } from '../../src/stats/compare.js';
import seedrandom from 'seedrandom';
import { msg } from '../../src/messages.js';
import { fitLine, logLogSlope } from '../../src/stats/fit.js';
import { moments, normalInterval, zScore } from '../../src/stats/moments.js';
import { normalQuantile, zCritical } from '../../src/stats/normal.js';
import { Claim } from '../../src/spec/schema.js';

describe('moments', () => {
  it('matches hand computation on 1, 2, 3, 4', () => {
    // mean 2.5; deviations ±1.5, ±0.5; sum of squares 5 → variance 5/3; m4 = (2·5.0625 + 2·0.0625)/4 = 2.5625
    const m = moments([1, 2, 3, 4]);
    expect(m.mean, 'mean').toBe(2.5);
    expect(m.variance, 'variance').toBeCloseTo(5 / 3, 15);
    expect(m.m4, 'm4').toBeCloseTo(2.5625, 15);
    expect(m.meanSe, 'se of mean').toBeCloseTo(Math.sqrt(5 / 3 / 4), 15);
    // se of variance: sqrt((m4 − (n−3)/(n−1)·s⁴)/n) = sqrt((2.5625 − (1/3)(25/9))/4)
    expect(m.varianceSe, 'se of variance').toBeCloseTo(Math.sqrt((2.5625 - 25 / 27) / 4), 15);
  });

  it('is not swamped by a large mean (two passes)', () => {
    const m = moments([1e9 + 1, 1e9 + 2, 1e9 + 3]);
    expect(m.variance).toBe(1);
  });

  it('gives a 95% interval of ±1.959964·se', () => {
    const ci = normalInterval(10, 1, 0.95);
    expect(ci.low).toBeCloseTo(8.040036, 6);
    expect(ci.high).toBeCloseTo(11.959964, 6);
    expect(zScore(12, 10, 0.5)).toBe(4);
  });
});

describe('normal quantile', () => {
  it('has the textbook values', () => {
    expect(normalQuantile(0.5)).toBe(0);
    expect(normalQuantile(0.975)).toBeCloseTo(1.959963985, 8);
    expect(normalQuantile(0.995)).toBeCloseTo(2.575829304, 8);
    expect(normalQuantile(0.001)).toBeCloseTo(-3.090232306, 8);
    expect(zCritical(0.99)).toBeCloseTo(2.575829304, 8);
  });
});

describe('fits', () => {
  it('recovers an exact line with zero slope error', () => {
    const f = fitLine([0, 1, 2, 3], [1, 3, 5, 7]);
    expect(f.slope).toBe(2);
    expect(f.intercept).toBe(1);
    expect(f.slopeSe).toBe(0);
  });
  it('log-log slope of y = 3·x² is 2', () => {
    const x = [1, 2, 4, 8, 16];
    expect(
      logLogSlope(
        x,
        x.map((v) => 3 * v * v),
      ).slope,
    ).toBeCloseTo(2, 12);
  });
  it('refuses non-positive values', () => {
    expect(() => logLogSlope([1, 2], [0, 1])).toThrow(RangeError);
  });
});

describe('claims', () => {
  const rows = [
    { d: 1, v: 1, lo: 0.9, hi: 1.1, z: 0.5, g: 'a' },
    { d: 2, v: 2, lo: 1.9, hi: 2.1, z: -1.2, g: 'a' },
    { d: 4, v: 4.4, lo: 3.9, hi: 4.1, z: 6, g: 'a' },
    { d: 8, v: 8, lo: 7.9, hi: 8.1, z: 0.1, g: 'b' },
  ];
  const claim = (c: unknown) => Claim.parse(c);

  it('fraction: 3 of 4 rows within their bounds', () => {
    const r = evaluateClaim(
      claim({ id: 'c', text: 't', kind: 'fraction', test: { column: 'v', between: ['lo', 'hi'] }, at_least: 0.75 }),
      rows,
      ['d', 'g'],
    );
    expect(r.status).toBe('pass');
    // The verdict names the worst row (1.5 interval widths outside) and where it is; the parameters that vary locate it.
    if (r.status !== 'error') expect(r.measured).toBe('3/4 rows (75%); worst: v = 4.4 in [3.9, 4.1] at d = 4, g = a');
    const strict = evaluateClaim(
      claim({ id: 'c', text: 't', kind: 'fraction', test: { column: 'v', between: ['lo', 'hi'] } }),
      rows,
    );
    expect(strict.status).toBe('fail');
  });

  it('abs_below reports the worst value; where filters rows', () => {
    const r = evaluateClaim(
      claim({ id: 'c', text: 't', kind: 'fraction', where: { g: 'a' }, test: { column: 'z', abs_below: 5 } }),
      rows,
      ['d', 'g'],
    );
    expect(r.status).toBe('fail');
    // g is fixed by the where: only d locates the row. Every value is one click away, failures marked.
    if (r.status !== 'error') {
      expect(r.measured).toBe('2/3 rows (66.67%); worst: max |z| = 6 at d = 4');
      expect(r.values).toBe('d = 1: 0.5\nd = 2: -1.2\nd = 4: 6 ✗');
    }
    const passing = evaluateClaim(
      claim({ id: 'c', text: 't', kind: 'fraction', where: { g: 'a' }, test: { column: 'z', abs_below: 7 } }),
      rows,
      ['d'],
    );
    if (passing.status !== 'error')
      expect(passing.measured).toBe('3/3 rows (100%); closest to the bound: max |z| = 6 at d = 4');
    const same = evaluateClaim(
      claim({ id: 'c', text: 't', kind: 'fraction', test: { column: 'g', between: [0, 1] } }),
      rows.map((x) => ({ ...x, g: 1 })),
      ['d'],
    );
    if (same.status !== 'error') expect(same.measured).toBe('4/4 rows (100%); every g = 1');
  });

  it('Bonferroni bound over 4 rows at α = 0.05 is z(1 − 0.05/8) = 2.498', () => {
    const r = evaluateClaim(
      claim({ id: 'c', text: 't', kind: 'fraction', test: { column: 'z', abs_below_bonferroni: 0.05 } }),
      rows,
    );
    expect(r.expected).toContain('|z| < 2.498');
    expect(r.status).toBe('fail');
  });

  it('spread: (max − min)/mean per group', () => {
    // group a: v = 1, 2, 4.4 → (4.4 − 1)/2.4667 = 1.378; group b: one row → 0
    const r = evaluateClaim(claim({ id: 's', text: 't', kind: 'spread', column: 'v', per: ['g'], below: 0.5 }), rows);
    expect(r.status).toBe('fail');
    if (r.status !== 'error') expect(r.measured).toBe('g=a: 1.38; g=b: 0');
  });

  it('monotone: strictly along x, and says where it breaks', () => {
    const up = evaluateClaim(
      claim({ id: 'm', text: 't', kind: 'monotone', x: 'd', y: 'v', direction: 'increasing' }),
      rows,
    );
    expect(up.status).toBe('pass');
    const down = evaluateClaim(
      claim({ id: 'm', text: 't', kind: 'monotone', x: 'd', y: 'z', direction: 'decreasing' }),
      rows,
    );
    expect(down.status).toBe('fail');
    if (down.status !== 'error') expect(down.measured).toBe('not at d = 4');
  });

  it('slope: v = d gives slope 1 per group; a where that selects nothing is an error', () => {
    const exact = rows.map((r) => ({ ...r, v: r.d }));
    const r = evaluateClaim(
      claim({ id: 's', text: 't', kind: 'slope', x: 'd', y: 'v', expect: { target: 1, tol: 0.01 } }),
      exact,
    );
    expect(r.status).toBe('pass');
    const none = evaluateClaim(
      claim({
        id: 's',
        text: 't',
        kind: 'slope',
        where: { g: 'zzz' },
        x: 'd',
        y: 'v',
        expect: { target: 1, tol: 0.01 },
      }),
      exact,
    );
    expect(none.status).toBe('error');
  });

  it('slope over the largest x only: a fixed cost of 10 flattens the small sizes, the top 4 of 1 … 4096 grow like N', () => {
    const sizes = [1, 4, 16, 64, 256, 1024, 4096];
    const data = sizes.map((n) => ({ n, t: 10 + n }));
    const all = evaluateClaim(
      claim({ id: 's', text: 't', kind: 'slope', x: 'n', y: 't', expect: { target: 1, tol: 0.15 } }),
      data,
    );
    // Least squares over the whole range: 0.74, and the curvature widens its 95% t-interval (5 degrees of freedom) to
    // [0.565, 0.914], across the edge 0.85: the claim cannot tell, and says so.
    expect(all.status).toBe('inconclusive');
    if (all.status === 'inconclusive') expect(all.measured).toBe('0.7393 [0.565, 0.9136]');
    const top = evaluateClaim(
      claim({ id: 's', text: 't', kind: 'slope', x: 'n', y: 't', largest: 4, expect: { target: 1, tol: 0.15 } }),
      data,
    );
    // 64 … 4096: 10 + n is within 1.16× of n, slope 0.97 [0.917, 1.017], inside [0.85, 1.15]
    expect(top.status).toBe('pass');
    if (top.status === 'pass') expect(top.measured).toBe('0.967 [0.9166, 1.017]');
    expect(top.expected).toContain('the 4 largest n');
  });
});

describe('three verdicts: an interval inside the range passes, outside fails, across an edge is inconclusive', () => {
  const claim = (c: unknown) => Claim.parse(c);
  it('bootstrapRatio, paired: rounds at 1, 2 and 3 ms against 0.5, 1 and 1.5 ms give 2 [2, 2] (every resample draws the same rounds for both); drawn apart, [0.67, 6]', () => {
    const [a, b] = [
      [[1], [2], [3]],
      [[0.5], [1], [1.5]],
    ];
    const paired = bootstrapRatio(b, a, seedrandom('t'), 1000, 0.95, true);
    expect([paired.ratio, paired.low, paired.high]).toEqual([2, 2, 2]);
    // Unpaired, a resample can take a's slowest round against b's fastest: 3/0.5 = 6, and 1/1.5 = 0.67 the other way.
    const apart = bootstrapRatio(b, a, seedrandom('t'));
    expect(apart.low).toBeLessThan(1);
    expect(apart.high).toBeGreaterThan(4);
    expect(() => bootstrapRatio([[1], [2]], a, seedrandom('t'), 1000, 0.95, true)).toThrow(
      'paired rounds: 2 against 3',
    );
  });
  it('ratioOf: 2 [1.9, 2.1] ÷ 1 [0.95, 1.05] is 2 × exp(±√(ln(2/1.9)² + ln 1.05²)) = [1.863, 2.147]', () => {
    const r = ratioOf({ value: 2, low: 1.9, high: 2.1 }, { value: 1, low: 0.95, high: 1.05 });
    expect(r.value).toBe(2);
    expect(r.low).toBeCloseTo(2 * Math.exp(-Math.hypot(Math.log(2 / 1.9), Math.log(1.05))), 12);
    expect(r.high).toBeCloseTo(2 * Math.exp(Math.hypot(Math.log(2.1 / 2), Math.log(1 / 0.95))), 12);
    expect([r.low, r.high].map((v) => Number(v.toFixed(3)))).toEqual([1.863, 2.147]);
  });

  it('decide: [1.9, 2.1] in [1.75, 2.25] passes, [2.3, 2.6] fails, [2.1, 2.4] is inconclusive', () => {
    expect(decide([1.9, 2.1], [1.75, 2.25])).toBe('pass');
    expect(decide([2.3, 2.6], [1.75, 2.25])).toBe('fail');
    expect(decide([1.5, 1.7], [1.75, 2.25])).toBe('fail');
    expect(decide([2.1, 2.4], [1.75, 2.25])).toBe('inconclusive');
    // An exact value is its own interval: on the edge it passes, past it it fails.
    expect(decide([2.25, 2.25], [1.75, 2.25])).toBe('pass');
    expect(decide([2.26, 2.26], [1.75, 2.25])).toBe('fail');
    expect(combine(['pass', 'inconclusive', 'pass'])).toBe('inconclusive');
    expect(combine(['inconclusive', 'fail'])).toBe('fail');
  });

  // p with its interval in p_ci_low, p_ci_high (found by name) against 2 ± 0.25.
  const fits = (rows: { D: number; p: number; lo: number; hi: number }[]) =>
    rows.map((r) => ({ D: r.D, p: r.p, p_ci_low: r.lo, p_ci_high: r.hi }));
  const quadratic = claim({ id: 'q', text: 't', kind: 'fraction', test: { column: 'p', between: [1.75, 2.25] } });

  it('pass: every interval inside the range', () => {
    const r = evaluateClaim(
      quadratic,
      fits([
        { D: 32, p: 2, lo: 1.9, hi: 2.1 },
        { D: 64, p: 2.1, lo: 2, hi: 2.2 },
      ]),
      ['D'],
    );
    expect(r.status).toBe('pass');
    if (r.status === 'pass') {
      expect(r.measured).toBe('2/2 rows (100%); closest to the bound: p = 2.1 [2, 2.2] at D = 64');
      expect(r.values).toBe('D = 32: 2 [1.9, 2.1]\nD = 64: 2.1 [2, 2.2]');
    }
  });

  it('fail: one interval wholly outside (an N^2.45 that its interval [2.3, 2.6] confirms), whatever the others', () => {
    const r = evaluateClaim(
      quadratic,
      fits([
        { D: 32, p: 2.45, lo: 2.3, hi: 2.6 },
        { D: 64, p: 2.2, lo: 2.1, hi: 2.4 },
      ]),
      ['D'],
    );
    expect(r.status).toBe('fail');
    if (r.status === 'fail') {
      expect(r.measured).toBe('0/2 rows (0%), 1 undecided; worst: p = 2.45 [2.3, 2.6] at D = 32');
      expect(r.values).toBe('D = 32: 2.45 [2.3, 2.6] ✗\nD = 64: 2.2 [2.1, 2.4] ?');
    }
  });

  it('inconclusive: p = 2.2 inside the range, but its interval [2.1, 2.4] reaches past 2.25; the reason and the cure are printed', () => {
    const r = evaluateClaim(
      quadratic,
      fits([
        { D: 32, p: 2, lo: 1.9, hi: 2.1 },
        { D: 64, p: 2.2, lo: 2.1, hi: 2.4 },
      ]),
      { params: ['D'], cure: msg.cureTiming(0.23) },
    );
    expect(r.status).toBe('inconclusive');
    if (r.status === 'inconclusive') {
      expect(r.reason).toBe(
        '1 of 2 rows straddle an edge of 1.75 ≤ p ≤ 2.25 (1 pass, 2 needed), e.g. p = 2.2 [2.1, 2.4] at D = 64',
      );
      expect(r.cure).toBe('rounds disagree by 23%: rerun on a quieter machine or with more rounds (--set rounds=N)');
    }
  });

  it('at_least counts undecided rows as possible passes: 3 of 4 needed, 2 pass and 1 undecided is inconclusive, 2 and 0 fail', () => {
    const base = { id: 'f', text: 't', kind: 'fraction', test: { column: 'v', between: [0, 1] }, at_least: 0.75 };
    const row = (v: number, lo: number, hi: number) => ({ v, v_ci_low: lo, v_ci_high: hi });
    const [ok, open, bad] = [row(0.5, 0.4, 0.6), row(0.9, 0.8, 1.2), row(2, 1.5, 2.5)];
    expect(evaluateClaim(claim(base), [ok, ok, open, bad]).status).toBe('inconclusive');
    expect(evaluateClaim(claim(base), [ok, ok, bad, bad]).status).toBe('fail');
    expect(evaluateClaim(claim(base), [ok, ok, ok, open]).status).toBe('pass');
  });

  it('interval columns named in the claim; abs_below decides on the largest and smallest magnitude', () => {
    const named = claim({
      id: 'n',
      text: 't',
      kind: 'fraction',
      test: { column: 'x', between: [0, 1], interval: ['lo', 'hi'] },
    });
    expect(evaluateClaim(named, [{ x: 0.5, lo: 0.2, hi: 0.8 }]).status).toBe('pass');
    expect(evaluateClaim(named, [{ x: 0.9, lo: 0.6, hi: 1.3 }]).status).toBe('inconclusive');
    const small = claim({ id: 'a', text: 't', kind: 'fraction', test: { column: 'e', abs_below: 0.1 } });
    const e = (v: number, lo: number, hi: number) => [{ e: v, e_ci_low: lo, e_ci_high: hi }];
    expect(evaluateClaim(small, e(0.01, -0.02, 0.05)).status).toBe('pass'); // |e| ≤ 0.05 < 0.1
    expect(evaluateClaim(small, e(0.08, 0.05, 0.12)).status).toBe('inconclusive'); // 0.05 < 0.1 ≤ 0.12
    expect(evaluateClaim(small, e(-0.2, -0.3, -0.15)).status).toBe('fail'); // |e| ≥ 0.15 ≥ 0.1
  });

  it('spread and monotone from the rows’ intervals', () => {
    const spread = claim({ id: 's', text: 't', kind: 'spread', column: 'v', below: 0.5 });
    const row = (v: number, lo: number, hi: number) => ({ v, v_ci_low: lo, v_ci_high: hi });
    // values 1 and 1.2, mean 1.1: spread 0.18; from the intervals at least (1.1 − 1.1)⁺/1.1 = 0, at most (1.3 − 0.9)/1.1 = 0.364
    expect(evaluateClaim(spread, [row(1, 0.9, 1.1), row(1.2, 1.1, 1.3)]).status).toBe('pass');
    // 1 and 1.6 (mean 1.3): at least (1.4 − 1.1)/1.3 = 0.23, at most (1.8 − 0.9)/1.3 = 0.69: across 0.5
    expect(evaluateClaim(spread, [row(1, 0.9, 1.1), row(1.6, 1.4, 1.8)]).status).toBe('inconclusive');
    // 1 and 3 (mean 2): at least (2.8 − 1.1)/2 = 0.85
    expect(evaluateClaim(spread, [row(1, 0.9, 1.1), row(3, 2.8, 3.2)]).status).toBe('fail');
    const up = claim({ id: 'm', text: 't', kind: 'monotone', x: 'x', y: 'v', direction: 'increasing' });
    const at = (x: number, v: number, lo: number, hi: number) => ({ x, ...row(v, lo, hi) });
    expect(evaluateClaim(up, [at(1, 1, 0.9, 1.1), at(2, 2, 1.9, 2.1)]).status).toBe('pass');
    expect(evaluateClaim(up, [at(1, 1, 0.9, 1.1), at(2, 1.05, 1, 1.2)]).status).toBe('inconclusive');
    expect(evaluateClaim(up, [at(1, 1, 0.9, 1.1), at(2, 0.5, 0.4, 0.6)]).status).toBe('fail');
  });
});
