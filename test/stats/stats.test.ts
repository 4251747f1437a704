import { describe, expect, it } from 'vitest';
import { evaluateClaim } from '../../src/spec/claims.js';
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
    expect(all.status).toBe('fail'); // least squares over the whole range: 0.74
    const top = evaluateClaim(
      claim({ id: 's', text: 't', kind: 'slope', x: 'n', y: 't', largest: 4, expect: { target: 1, tol: 0.15 } }),
      data,
    );
    // 64 … 4096: 10 + n is within 1.16× of n, slope 0.97
    expect(top.status).toBe('pass');
    expect(top.expected).toContain('the 4 largest n');
  });
});
