import { describe, expect, it } from 'vitest';
import { crossover, crossoverInterval, rankClasses } from '../../src/stats/complexity.js';
import { median, medianInterval } from '../../src/stats/quantile.js';
import { flopsOf, predictedBytes, type CostPoint } from '../../src/sim/scaling/cost.js';
import { analyseScaling } from '../../src/sim/scaling/analysis.js';
import type { ScalingRow } from '../../src/sim/scaling/rows.js';
import { quadraticFeatures } from '../../src/sim/scaling/features.js';
import { scalingRow } from '../sim/scaling/scaling-rows.js';

const Ns = [128, 256, 512, 1024, 2048, 4096];

describe('growth class by AIC', () => {
  it('recovers the class that generated the data', () => {
    expect(
      rankClasses(
        Ns,
        Ns.map((n) => 3 * n * n + 5),
      )[0]!.cls,
    ).toBe('N^2');
    expect(
      rankClasses(
        Ns,
        Ns.map((n) => 0.5 * n + 100),
      )[0]!.cls,
    ).toBe('N');
    expect(
      rankClasses(
        Ns,
        Ns.map((n) => n * Math.log2(n)),
      )[0]!.cls,
    ).toBe('N log N');
    expect(
      rankClasses(
        Ns,
        Ns.map((n) => 1e-6 * n ** 3 + 1),
      )[0]!.cls,
    ).toBe('N^3');
  });
  it('fits a and b of a·N² + b exactly', () => {
    const best = rankClasses(
      Ns,
      Ns.map((n) => 3 * n * n + 5),
    )[0]!;
    expect(best.a).toBeCloseTo(3, 9);
    expect(best.b).toBeCloseTo(5, 3);
  });
});

describe('crossover', () => {
  it('N² against 100·N crosses at exactly N = 100 (log-linear interpolation is exact here)', () => {
    const n = [16, 32, 64, 128, 256];
    expect(
      crossover(
        n,
        n.map((x) => x * x),
        n.map((x) => 100 * x),
      ),
    ).toBeCloseTo(100, 9);
  });
  it('is null when the curves never cross', () => {
    expect(crossover([1, 2, 4], [1, 2, 3], [10, 20, 30])).toBeNull();
  });
  it('takes its interval from the ends of the time intervals', () => {
    const n = [16, 32, 64, 128, 256];
    const a = n.map((x) => x * x);
    const b = n.map((x) => 100 * x);
    const r = crossoverInterval(
      n,
      { mid: a, low: a.map((v) => v / 1.1), high: a.map((v) => v * 1.1) },
      { mid: b, low: b, high: b },
    );
    // a·1.1 crosses 100·N at N = 100/1.1; a/1.1 at N = 110.
    expect(r.n).toBeCloseTo(100, 9);
    expect(r.low).toBeCloseTo(100 / 1.1, 9);
    expect(r.high).toBeCloseTo(110, 9);
  });
});

describe('median and its distribution-free interval', () => {
  it('median of odd and even samples', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
  it('5 samples: [min, max], covering 1 − 2/32 = 93.75%', () => {
    expect(medianInterval([5, 1, 4, 2, 3])).toEqual({ low: 1, high: 5, coverage: 0.9375 });
  });
  it('20 samples: [x(6), x(15)], covering 1 − 2·P(B ≤ 5) = 95.86%', () => {
    const r = medianInterval(Array.from({ length: 20 }, (_, i) => 20 - i));
    expect(r.low).toBe(6);
    expect(r.high).toBe(15);
    expect(r.coverage).toBeCloseTo(0.958610535, 8);
  });
});

describe('scaling theory', () => {
  const base = { causal: false, causalChunk: 256, chunkRows: 256, engine: 'onnx' as const };
  it('C = 1 + D + D(D+1)/2', () => {
    expect(quadraticFeatures(64)).toBe(2145);
    expect(quadraticFeatures(32)).toBe(561);
    expect(quadraticFeatures(1)).toBe(3);
  });
  it('FLOPs: softmax 2N²(D+M), linear form 4N·(C·M + D²) on onnx (closed-form denominators), 4N·C·(M+1) on tfjs; causal softmax on onnx by 8 blocks, N²(D+M)·(1 + 1/8)', () => {
    expect(flopsOf({ ...base, method: 'softmax', N: 1024, D: 64, M: 64, F: 0 })).toBe(2 * 1024 ** 2 * 128);
    expect(flopsOf({ ...base, method: 'quadratic-kernel', N: 1024, D: 64, M: 64, F: 2145 })).toBe(
      4 * 1024 * (2145 * 64 + 64 * 64),
    );
    expect(flopsOf({ ...base, engine: 'tfjs', method: 'quadratic-kernel', N: 1024, D: 64, M: 64, F: 2145 })).toBe(
      4 * 1024 * 2145 * 65,
    );
    // blocks of 128 rows: Σ_b 2·128·(128·b)·128 for b = 1…8 = 128²·128·72
    expect(flopsOf({ ...base, method: 'softmax', causal: true, N: 1024, D: 64, M: 64, F: 0 })).toBe(
      128 * 128 * 128 * 72,
    );
    // causal linear form, chunks of 256: state and apply over N − 256 rows, each chunk's own 256² block
    expect(flopsOf({ ...base, method: 'quadratic-kernel', causal: true, N: 1024, D: 64, M: 64, F: 2145 })).toBe(
      4 * 768 * 2145 * 65 + 2 * 1024 * 256 * 129,
    );
    expect(flopsOf({ ...base, method: 'user', N: 1024, D: 64, M: 64, F: 0, flops: '4*N*D*M' })).toBe(
      4 * 1024 * 64 * 64,
    );
    expect(flopsOf({ ...base, method: 'user', N: 1024, D: 64, M: 64, F: 0 })).toBeNull();
  });
  describe('the FLOP theory of a crossover, from the FLOP counts the rows carry', () => {
    // Timed rows of softmax and the linear form on `engine` at each N, with flopsOf's counts; times are 1 ms alike.
    const rows = (ns: number[], d: number, causal: boolean, engine: CostPoint['engine']): ScalingRow[] =>
      ns.flatMap((N) => ['softmax', 'quadratic-kernel'].map((method) => scalingRow(method, N, d, { causal, engine })));
    const theory = (r: ScalingRow[]) =>
      analyseScaling(r, 1).tables['fits']!.rows.find((x) => x['kind'] === 'crossover')!['theory_N'] as number;
    it('onnx: 2(C·M + D²)/(D+M), 2209 at D = M = 64, also where the grid (N = 128, 256) lies below it', () => {
      // 2·(2145·64 + 64²)/128 = 2·141376/128
      expect(theory(rows([128, 256], 64, false, 'onnx'))).toBeCloseTo(2209, 6);
      // 2·(561·32 + 32²)/64 = 593, from a grid that brackets it
      expect(theory(rows([512, 1024], 32, false, 'onnx'))).toBeCloseTo(593, 6);
    });
    it('tfjs, with the denominators as a 65th column: 2C(M+1)/(D+M) = 2·2145·65/128 = 2178.515625', () => {
      expect(theory(rows([4096, 8192], 64, false, 'tfjs'))).toBeCloseTo(2178.515625, 6);
    });
    it('causal on onnx: where 8 blocks of softmax, N²·128·(1 + 1/8), meet chunks of 256 rows, 4(N − 256)·2145·65 + 2N·256·129', () => {
      // 144N = 557700 − 557700·256/N + 66048  →  144N² − 623748N + 142771200 = 0, the larger root
      const n = (623748 + Math.sqrt(623748 ** 2 - 4 * 144 * 142771200)) / (2 * 144);
      expect(n).toBeCloseTo(4089.12, 2);
      // log-log interpolation between 4096 and 8192 is within 0.1% of that root
      expect(theory(rows([2048, 4096, 8192], 64, true, 'onnx')) / n).toBeCloseTo(1, 3);
    });
  });
  it('predicted bytes on onnx: softmax N×N scores and the output; the direct kernel two N×N; the linear form per row and per chunk', () => {
    // 4·(N² + N·M) = 4·1024·1088
    expect(predictedBytes({ ...base, method: 'softmax', N: 1024, D: 64, M: 64, F: 0 })).toBe(4 * 1024 * 1088);
    // 4·(2N² + N·(2M + 1))
    expect(predictedBytes({ ...base, method: 'quadratic-kernel-direct', N: 1024, D: 64, M: 64, F: 0 })).toBe(
      4 * (2 * 1024 ** 2 + 1024 * 129),
    );
    // 4·(N·(2M + 1 + 2D) + rows·(2D + 1 + 3C) + 2C·(M + 1))
    expect(predictedBytes({ ...base, method: 'quadratic-kernel', N: 1024, D: 64, M: 64, F: 2145 })).toBe(
      4 * (1024 * 257 + 256 * (129 + 3 * 2145) + 2 * 2145 * 65),
    );
    expect(predictedBytes({ ...base, method: 'user', N: 1024, D: 64, M: 64, F: 0 })).toBeNull();
  });
  it('predicted bytes on tfjs: two halves of scores and probabilities plus the inputs', () => {
    // 8·N² + 4·(N·D + 2·(N·D + N·M) + N·M) = 8388608 + 4·393216
    expect(predictedBytes({ ...base, engine: 'tfjs', method: 'softmax', N: 1024, D: 64, M: 64, F: 0 })).toBe(
      8388608 + 1572864,
    );
  });
});
