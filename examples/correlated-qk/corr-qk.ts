/**
 * q·k for correlated q and k: q ~ N(0, I_d) and k = ρ·q + √(1 − ρ²)·ε with ε ~ N(0, I_d), so each coordinate
 * pair (q_i, k_i) is standard bivariate normal with correlation ρ, and pairs are independent across i.
 *
 * Closed form: E[q_i k_i] = ρ and E[q_i² k_i²] = 1 + 2ρ², so Var(q_i k_i) = 1 + ρ², and over d coordinates
 *   E[q·k] = d·ρ,   Var(q·k) = d·(1 + ρ²).
 * Dividing by √d (scaling: sqrt_d) divides the mean by √d and the variance by d.
 *
 * A simulation from a file gets what a built-in gets: its params and settings validated with located errors,
 * grids, --set, --quick, seeds derived from (experiment seed, point, replicate), --jobs workers, resume, shards,
 * claims, charts, the report and, with estimateMs, the cost estimate. Rules: the run is pure given its context
 * (all randomness from ctx.rng), and time is read only through ctx.now.
 */
import { defineSimulation, moments, normalInterval, z, zScore } from 'attnlab';

export default defineSimulation({
  kind: 'correlated-qk',
  summary: 'mean and variance of q·k for q, k with per-coordinate correlation ρ',
  // The grid axes: one value each per point. Defaults make an axis optional in the YAML.
  params: z
    .object({
      d: z
        .number()
        .int()
        .min(1)
        .max(1 << 16)
        .describe('dimension of q and k'),
      rho: z.number().min(-1).max(1).describe('correlation of q_i and k_i'),
      scaling: z.enum(['none', 'sqrt_d']).default('none').describe('divide q·k by √d; @default none'),
    })
    .strict(),
  // Settings apply to every point.
  settings: z
    .object({ trials: z.number().int().min(100).default(20_000).describe('samples of q·k per point; @default 20000') })
    .strict(),
  // The row each point returns: its keys, in this order, are the columns of results.csv.
  row: z.object({
    d: z.number(),
    rho: z.number(),
    scaling: z.string(),
    trials: z.number(),
    mean: z.number(),
    mean_ci_low: z.number(),
    mean_ci_high: z.number(),
    var: z.number(),
    var_ci_low: z.number(),
    var_ci_high: z.number(),
    theory_mean: z.number(),
    theory_var: z.number(),
    z_mean: z.number(),
    z_var: z.number(),
    time_ms: z.number(),
  }),
  measuredColumns: ['time_ms'],
  timing: false,
  // Predicted ms of one point on one thread: about 25 ns per trial and coordinate on the reference machine.
  estimateMs: ({ d }, { trials }) => 2 + 2.5e-5 * trials * d,
  run({ params: { d, rho, scaling }, settings: { trials } }, ctx) {
    const t0 = ctx.now();
    const scale = scaling === 'sqrt_d' ? 1 / Math.sqrt(d) : 1;
    const c = Math.sqrt(1 - rho * rho);
    const q = new Float64Array(d);
    const e = new Float64Array(d);
    const s = new Float64Array(trials);
    for (let t = 0; t < trials; t++) {
      ctx.rng.fill(q);
      ctx.rng.fill(e);
      let dot = 0;
      for (let i = 0; i < d; i++) dot += q[i]! * (rho * q[i]! + c * e[i]!);
      s[t] = dot * scale;
    }
    const m = moments(s);
    const mean = normalInterval(m.mean, m.meanSe);
    const variance = normalInterval(m.variance, m.varianceSe);
    const theoryMean = d * rho * scale;
    const theoryVar = d * (1 + rho * rho) * scale * scale;
    return [
      {
        d,
        rho,
        scaling,
        trials,
        mean: m.mean,
        mean_ci_low: mean.low,
        mean_ci_high: mean.high,
        var: m.variance,
        var_ci_low: variance.low,
        var_ci_high: variance.high,
        theory_mean: theoryMean,
        theory_var: theoryVar,
        z_mean: zScore(m.mean, theoryMean, m.meanSe),
        z_var: zScore(m.variance, theoryVar, m.varianceSe),
        time_ms: ctx.now() - t0,
      },
    ];
  },
});
