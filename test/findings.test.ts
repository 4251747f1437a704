/** The findings a report opens with, on fixed data: golden files, so a change to their wording or numbers is seen. */
import { describe, expect, it } from 'vitest';
import { qkVariance } from '../src/sim/qk-variance/simulation.js';
import { scaling } from '../src/sim/scaling/simulation.js';
import { analyseScaling } from '../src/sim/scaling/analysis.js';
import { expectGolden } from './golden.js';
import { loadExperiment, resolveExperimentFile } from '../src/spec/load.js';
import { selectRows } from '../src/spec/claims.js';
import { scalingRow } from './sim/scaling/scaling-rows.js';

const noSetup = { values: {}, tables: {} };

const scalingFile = await loadExperiment(resolveExperimentFile('scaling'));

describe('findings on fixed data', () => {
  it('qk-variance: Var ∝ d unscaled, σ⁴ scaled, the mean with mu = 1·1 ∝ √d, a random mu of norm 2 at 4', () => {
    const row = (
      d: number,
      scaling: string,
      mu: { kind: string; m?: number; norm: number },
      mean: number,
      v: number,
    ) => ({
      d,
      sigma: 1,
      mu_kind: mu.kind,
      mu_m: mu.m ?? null,
      mu_norm: mu.norm,
      scaling,
      trials: 40000,
      mean,
      mean_ci_low: mean - 0.01,
      mean_ci_high: mean + 0.01,
      mean_ci99_low: mean - 0.013,
      mean_ci99_high: mean + 0.013,
      var: v,
      var_ci_low: v * 0.99,
      var_ci_high: v * 1.01,
      var_ci99_low: v * 0.987,
      var_ci99_high: v * 1.013,
      theory_mean: mean,
      theory_var: v,
      z_mean: 0.5,
      z_var: d === 16 ? -2.25 : 0.25,
      time_ms: 1,
    });
    const ds = [1, 4, 16, 64, 256];
    const rows = ds.flatMap((d) => [
      row(d, 'none', { kind: 'zero', norm: 0 }, 0, d * (d === 16 ? 1.02 : 1)),
      row(d, 'sqrt_d', { kind: 'zero', norm: 0 }, 0, 1 + 0.001 * Math.log2(d)),
      row(d, 'sqrt_d', { kind: 'constant', m: 1, norm: Math.sqrt(d) }, Math.sqrt(d), 1),
      row(d, 'none', { kind: 'random', norm: 2 }, 4 + 0.01 * Math.log2(d), 1),
    ]);
    const a = qkVariance.analyse!(rows, { trials: 40000 }, noSetup);
    expectGolden('qk-variance.findings.txt', `${a.findings!.join('\n')}\n`);
  });

  it('scaling: exact power laws N² (both forms) and N, bytes per row, crossovers against both forms of exact attention', () => {
    // onnx's FLOP counts, from which the FLOP theory comes: 2N²(D+M) and 4N(C·M + D²)
    const row = (method: string, N: number, ms: number, bytes: number, D = 64, predicted = bytes) =>
      scalingRow(method, N, D, { ms, bytes, predicted });
    // softmax 2·10⁻⁶·N² ms, flash 10⁻⁶·N² ms, the linear form 10⁻²·N ms: the linear form meets softmax at N = 5000 and
    // flash at 10000. Memory: 4N² (p = 2); flash 2¹⁹ + 1024·N (formula 1024 per row); the linear form 8 MiB + 1 KiB·N
    // against a formula of 900 bytes per row. A 2% wobble at N = 4096 gives the fits an interval.
    const wobble = (N: number) => (N === 4096 ? 1.02 : 1);
    const rows = [1024, 2048, 4096, 8192, 16384].flatMap((N) => [
      row('softmax', N, 2e-6 * N * N * wobble(N), 4 * N * N),
      row('flash', N, 1e-6 * N * N * wobble(N), 2 ** 19 + 1024 * N, 64, 1024 * N),
      row('quadratic-kernel', N, 1e-2 * N * wobble(N), 2 ** 23 + 1024 * N, 64, 2 ** 23 + 900 * N),
    ]);
    // D = 32: softmax 10⁻⁶·N², the linear form 2·10⁻³·N: equal at N = 2000, 3.37× the FLOP theory 2(561·32 + 32²)/64 = 593.
    rows.push(
      ...[1024, 2048, 4096].flatMap((N) => [
        row('softmax', N, 1e-6 * N * N, 4 * N * N, 32),
        row('quadratic-kernel', N, 2e-3 * N, 2 ** 22 + 512 * N, 32),
      ]),
    );
    // Random features whose error is exactly D_random^(−1/2): slope −0.50.
    rows.push(
      ...[256, 512, 1024].map((R) => ({
        ...row('rff', 256, 1, 1, 4),
        D_random: R,
        features: 2 * R,
        rel_error: R ** -0.5,
      })),
    );
    const a = analyseScaling(rows, 1024);
    expectGolden('scaling.findings.txt', `${a.findings!.join('\n')}\n`);
    // The time finding's numbers are the rows the time claims read (kind time-per-flop): ×1 with ±5% ends,
    // ×exp(±√(ln(1/0.95)² + ln 1.05²)) = [0.932, 1.07].
    const fits = a.tables['fits']!.rows;
    const f3 = (v: unknown) => Number(Number(v).toPrecision(3));
    for (const c of scalingFile.experiment.claims.filter((x) => x.where['kind'] === 'time-per-flop')) {
      const read = selectRows(fits, { ...c.where, D: 64, causal: false });
      expect(read.length, c.id).toBeGreaterThan(0);
      for (const r of read)
        expect(a.findings![0], c.id).toContain(
          `×${f3(r['ratio'])} [${f3(r['ratio_ci_low'])}, ${f3(r['ratio_ci_high'])}]`,
        );
    }
    expect(a.findings![0]).toContain('×1 [0.932, 1.07]');
    void scaling;
  });
});
