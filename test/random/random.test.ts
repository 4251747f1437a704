import { describe, expect, it } from 'vitest';
import { NormalRng } from '../../src/random/normal.js';
import { rngFor } from '../../src/random/seed.js';
import { moments } from '../../src/stats/moments.js';
import { sfc32Below } from '../../src/random/sfc32.js';
import seedrandom from 'seedrandom';

describe('NormalRng', () => {
  it('draws N(0, 1): mean, variance and kurtosis within 5 standard errors over 2^20 draws', () => {
    const x = new Float64Array(1 << 20);
    new NormalRng(Uint32Array.of(1, 2, 3, 4)).fill(x);
    const m = moments(x);
    expect(Math.abs(m.mean) / m.meanSe).toBeLessThan(5);
    expect(Math.abs(m.variance - 1) / m.varianceSe).toBeLessThan(5);
    // E[z⁴] = 3 with sd sqrt(96/n) ≈ 0.0096
    expect(Math.abs(m.m4 - 3)).toBeLessThan(0.05);
  });

  it('fill and normal() give the same stream', () => {
    const a = new Float64Array(10_000);
    new NormalRng(Uint32Array.of(9, 8, 7, 6)).fill(a);
    const g = new NormalRng(Uint32Array.of(9, 8, 7, 6));
    const b = Float64Array.from({ length: 10_000 }, () => g.normal());
    expect(b).toEqual(a);
  });

  it('tail mass beyond 3 matches 2·(1 − Φ(3)) = 0.0026998', () => {
    const x = new Float64Array(1 << 21);
    new NormalRng(Uint32Array.of(5, 6, 7, 8)).fill(x);
    const frac = x.filter((v) => Math.abs(v) > 3).length / x.length;
    expect(Math.abs(frac - 0.0026998)).toBeLessThan(5 * Math.sqrt(0.0027 / x.length));
  });
});

describe('seeds', () => {
  it('depend on (seed, point id, replicate) only', () => {
    const draw = (s: number, id: string, r: number) => rngFor(s, id, r).normal();
    expect(draw(1, 'abc', 0)).toBe(draw(1, 'abc', 0));
    expect(draw(1, 'abc', 0)).not.toBe(draw(2, 'abc', 0));
    expect(draw(1, 'abc', 0)).not.toBe(draw(1, 'abd', 0));
    expect(draw(1, 'abc', 0)).not.toBe(draw(1, 'abc', 1));
  });
});

describe('sfc32Below', () => {
  it('draws integers below n, the same ones from the same seed, and spreads them evenly', () => {
    const seeded = () => sfc32Below(seedrandom('sfc32'));
    const a = seeded();
    const b = seeded();
    const draws = Array.from({ length: 6000 }, () => a(6));
    expect(draws).toEqual(Array.from({ length: 6000 }, () => b(6)));
    const counts = [0, 1, 2, 3, 4, 5].map((k) => draws.filter((x) => x === k).length);
    // Each face 1000 times expected; sd ≈ 29, so 850 – 1150 is five sds either way.
    for (const c of counts) {
      expect(c).toBeGreaterThan(850);
      expect(c).toBeLessThan(1150);
    }
    expect(counts.reduce((s, c) => s + c, 0)).toBe(6000);
  });
});
