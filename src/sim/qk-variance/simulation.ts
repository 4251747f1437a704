import { z } from 'zod';
import { moments, normalInterval, zScore } from '../../stats/moments.js';
import { defineSimulation } from '../types.js';
import { QkRow } from './rows.js';
import { analyseQkVariance } from './analysis.js';

/**
 * qk-variance: s = q·k (or q·k/√d) for q, k iid N(mu, sigma² I) in R^d.
 * Theory: E[q·k] = ‖mu‖², Var[q·k] = d·sigma⁴ + 2·sigma²·‖mu‖²
 * (divide by √d and by d when scaled). d·mu² is ‖mu‖² only when every entry of mu equals mu.
 */

const Mu = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('zero') }).strict(),
  z.object({ kind: z.literal('constant'), m: z.number().describe('every entry equals m: mu = m·1') }).strict(),
  z
    .object({
      kind: z.literal('random'),
      norm: z.number().nonnegative().describe('‖mu‖; direction uniform on the sphere'),
    })
    .strict(),
]);
type Mu = z.output<typeof Mu>;

const Params = z
  .object({
    d: z
      .number()
      .int()
      .min(1)
      .max(1 << 20)
      .describe('dimension of q and k'),
    sigma: z.number().positive().describe('standard deviation of every entry'),
    mu: Mu.default({ kind: 'zero' }).describe('mean vector spec; @default {kind: zero}'),
    scaling: z.enum(['none', 'sqrt_d']).default('none').describe('divide q·k by √d; @default none'),
  })
  .strict();

const Settings = z
  .object({
    trials: z.number().int().min(100).max(1e8).default(50_000).describe('samples of q·k per point; @default 50000'),
  })
  .strict();

/** The mean vector for one point; a random direction draws d normals from the point's own generator. */
function meanVector(mu: Mu, d: number, normals: (out: Float64Array) => void): Float64Array {
  const v = new Float64Array(d);
  if (mu.kind === 'constant') v.fill(mu.m);
  if (mu.kind === 'random') {
    normals(v);
    const len = Math.hypot(...v);
    for (let j = 0; j < d; j++) v[j] = (v[j]! / len) * mu.norm;
  }
  return v;
}

export const qkVariance = defineSimulation({
  kind: 'qk-variance',
  summary: 'mean and variance of q·k versus d; the effect of dividing by √d',
  params: Params,
  settings: Settings,
  timing: false,
  row: QkRow,
  measuredColumns: ['time_ms'],
  analyse: (rows) => analyseQkVariance(rows),
  // Fitted on the reference machine: 264 default points, 1.4e-5 ms per trial × dimension.
  estimateMs: ({ d }, { trials }) => 4 + 1.4e-5 * trials * d,
  run({ params, settings }, ctx) {
    const t0 = ctx.now();
    const { d, sigma, scaling } = params;
    const { trials } = settings;
    const mu = meanVector(params.mu, d, (out) => ctx.rng.fill(out));
    let muSq = 0;
    for (let j = 0; j < d; j++) muSq += mu[j]! * mu[j]!;
    const scale = scaling === 'sqrt_d' ? 1 / Math.sqrt(d) : 1;

    // Draw in blocks of about 64k normals so the buffers stay in cache.
    const block = Math.max(1, Math.floor(65_536 / d));
    const a = new Float64Array(block * d);
    const b = new Float64Array(block * d);
    const s = new Float64Array(trials);
    for (let t0b = 0; t0b < trials; t0b += block) {
      const rows = Math.min(block, trials - t0b);
      ctx.rng.fill(a);
      ctx.rng.fill(b);
      for (let r = 0; r < rows; r++) {
        let dot = 0;
        const o = r * d;
        for (let j = 0; j < d; j++) dot += (mu[j]! + sigma * a[o + j]!) * (mu[j]! + sigma * b[o + j]!);
        s[t0b + r] = dot * scale;
      }
    }

    const m = moments(s);
    const theoryMean = muSq * scale;
    const theoryVar = (d * sigma ** 4 + 2 * sigma ** 2 * muSq) * scale * scale;
    const ci = (est: number, se: number, level: number) => normalInterval(est, se, level);
    const [mean95, mean99, var95, var99] = [
      ci(m.mean, m.meanSe, 0.95),
      ci(m.mean, m.meanSe, 0.99),
      ci(m.variance, m.varianceSe, 0.95),
      ci(m.variance, m.varianceSe, 0.99),
    ];
    return [
      {
        d,
        sigma,
        mu_kind: params.mu.kind,
        mu_m: params.mu.kind === 'constant' ? params.mu.m : null,
        mu_norm: Math.sqrt(muSq),
        scaling,
        trials,
        mean: m.mean,
        mean_ci_low: mean95.low,
        mean_ci_high: mean95.high,
        mean_ci99_low: mean99.low,
        mean_ci99_high: mean99.high,
        var: m.variance,
        var_ci_low: var95.low,
        var_ci_high: var95.high,
        var_ci99_low: var99.low,
        var_ci99_high: var99.high,
        theory_mean: theoryMean,
        theory_var: theoryVar,
        z_mean: zScore(m.mean, theoryMean, m.meanSe),
        z_var: zScore(m.variance, theoryVar, m.varianceSe),
        time_ms: ctx.now() - t0,
      },
    ];
  },
});
