import { z } from 'zod';
import type { NormalRng } from '../random/normal.js';
import { median, medianInterval } from '../stats/quantile.js';
import { randomInputs } from '../tensor/executor.js';
import type { FeatureMap } from '../tensor/features.js';
import { METHODS, runMethod, type Method, type MethodCall } from '../tensor/methods.js';
import { referenceRows, relErrors, sampleRows } from '../tensor/reference.js';
import { flopsOf, linearChunkRows, predictedBytes, quadraticFeatures, type CostPoint } from './scaling-cost.js';
import { analyseScaling, FITS_COLUMNS } from './scaling-fits.js';
import { combineRounds, ONE_ROUND, roundOptions, roundsMs, samplesCell, timeCall, type Timing } from './timing.js';
import { defineSimulation, type Row } from './types.js';

/**
 * scaling: time and memory of softmax attention (O(N²·max(D, M))) against the degree-2
 * polynomial kernel (q·k/√D + 1)² in linear form (O(N·C·M), C = 1 + D + D(D+1)/2),
 * with the N² form of the same kernel as reference, causal variants, and random-feature
 * approximations of softmax (Fourier, the homework's Fourier variant, FAVOR+).
 */

const RANDOM: readonly Method[] = ['rff', 'rff-homework', 'favor'];

const Params = z
  .object({
    method: z.enum(METHODS).describe('attention method'),
    causal: z.boolean().default(false).describe('mask future keys; @default false'),
    N: z.number().int().min(2).max(1 << 20).describe('sequence length'),
    D: z.number().int().min(1).max(256).describe('query/key width'),
    M: z.number().int().min(1).max(4096).describe('value width'),
    D_random: z.number().int().min(1).max(1 << 16).optional().describe('random features (rff, rff-homework, favor only)'),
  })
  .strict()
  .refine((p) => RANDOM.includes(p.method) === (p.D_random !== undefined), {
    message: 'D_random is required for rff, rff-homework and favor, and only for them',
    path: ['D_random'],
  })
  .refine((p) => !p.causal || p.method === 'softmax' || p.method === 'quadratic-kernel' || p.method === 'quadratic-kernel-direct', {
    message: 'causal is implemented for softmax and the quadratic kernel only',
    path: ['causal'],
  });

const Settings = z
  .object({
    memory_budget_bytes: z.number().positive().default(2 ** 30).describe('skip points predicted to hold more backend memory; @default 1 GiB'),
    time_budget_ms: z.number().positive().default(400).describe('minimum time spent measuring each point; @default 400'),
    warmup_ms: z.number().nonnegative().default(50).describe('warm-up time before measuring a shape the first time (wasm tier-up, operator caches); later rounds warm up with one call; @default 50'),
    min_samples: z.number().int().min(3).default(5).describe('minimum timed samples per point; @default 5'),
    error_rows: z.number().int().min(1).default(64).describe('query rows compared with the float64 reference; @default 64'),
    error_draws: z.number().int().min(1).default(16).describe('independent draws of the random features per point (median error reported); @default 16'),
    chunks: z.number().int().min(2).default(16).describe('row chunks of the linear forms, split between the two halves (φ memory ∝ N·C/chunks; chunks of at least min(N/2, 128) rows); @default 16'),
    causal_chunk: z.number().int().min(8).default(256).describe('rows per chunk of the causal prefix sums; @default 256'),
    fit_min_N: z.number().int().min(2).default(1024).describe('slopes and classes use N ≥ this; @default 1024'),
    rounds: z.number().int().min(1).max(20).default(3).describe('timing rounds: every point is measured once per round, each round with its share of time_budget_ms and min_samples, and the samples are pooled (a slow spell of a shared machine then falls on a third of many points, not on all of one); @default 3'),
  })
  .strict();
type Settings = z.output<typeof Settings>;

/**
 * The feature map of a method. Fourier features of exp(−‖q−k‖²/2σ²), σ² = √D, need
 * w ~ N(0, σ⁻²I); the homework's w ~ N(0, σ²I) agrees only when σ = 1.
 */
function featureMap(method: Method, d: number, count: number, rng: NormalRng): FeatureMap {
  if (!RANDOM.includes(method)) return { kind: 'quadratic' };
  const w = new Float32Array(count * d);
  rng.fill(w);
  const std = method === 'rff' ? d ** -0.25 : method === 'rff-homework' ? d ** 0.25 : 1;
  for (let i = 0; i < w.length; i++) w[i] = w[i]! * std;
  return method === 'favor' ? { kind: 'positive', w, count } : { kind: 'fourier', w, count };
}

/** What the cost formulas need of a point: its shape and the width F of its features. */
function costPoint(p: z.output<typeof Params>, settings: Settings): CostPoint {
  const count = p.D_random ?? 0;
  const F = p.method === 'favor' ? count : RANDOM.includes(p.method) ? 2 * count : p.method === 'quadratic-kernel' ? quadraticFeatures(p.D) : 0;
  return { method: p.method, causal: p.causal, N: p.N, D: p.D, M: p.M, F, causalChunk: settings.causal_chunk, chunks: settings.chunks };
}

const MiB = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;

export const scaling = defineSimulation({
  kind: 'scaling',
  summary: 'time and memory of softmax versus quadratic-kernel linear attention as N grows',
  params: Params,
  settings: Settings,
  timing: true,
  columns: [
    'method', 'causal', 'N', 'D', 'M', 'C', 'D_random', 'features',
    'time_ms', 'time_ci_low', 'time_ci_high', 'samples', 'peak_bytes', 'predicted_bytes',
    'flops', 'gflops', 'max_rel_error', 'rel_error', 'rel_error_ci_low', 'rel_error_ci_high', 'draws',
    'skipped_reason', 'time_samples_ms',
  ],
  measuredColumns: ['time_ms', 'time_ci_low', 'time_ci_high', 'samples', 'peak_bytes', 'gflops', 'time_samples_ms'],
  tables: { fits: FITS_COLUMNS },
  analyse: (rows, settings: Settings) => analyseScaling(rows, settings.fit_min_N),
  rounds: (settings: Settings) => settings.rounds,
  combine: (rounds) => combineRounds(rounds, (first, t) => ({ ...first, ...timingColumns(t, Number(first.flops)) })),
  estimateMs(params, settings) {
    const cost = costPoint(params, settings);
    if (predictedBytes(cost) > settings.memory_budget_bytes) return 0;
    // Fitted on the reference machine: about 30 GFLOP/s plus 0.2 ms per call; per round a warm-up and its share
    // of the samples; the error calls (one per draw of random features) once.
    const call = 0.2 + flopsOf(cost) / 3e7;
    const draws = RANDOM.includes(params.method) ? settings.error_draws : 1;
    return draws * call + roundsMs(settings.rounds, call, timingWindow(settings));
  },
  async run({ params, settings, round = ONE_ROUND }, ctx) {
    const { method, causal, N, D, M } = params;
    const cost = costPoint(params, settings);
    const flops = flopsOf(cost);
    const predicted = predictedBytes(cost);
    const row: Row = {
      method, causal, N, D, M, C: quadraticFeatures(D), D_random: params.D_random ?? null, features: cost.F || null,
      time_ms: null, time_ci_low: null, time_ci_high: null, samples: null, peak_bytes: null, predicted_bytes: predicted,
      flops, gflops: null, max_rel_error: null, rel_error: null, rel_error_ci_low: null, rel_error_ci_high: null, draws: null,
      skipped_reason: null, time_samples_ms: null,
    };
    if (predicted > settings.memory_budget_bytes) {
      return [{ ...row, skipped_reason: `predicted ${MiB(predicted)} > memory budget ${MiB(settings.memory_budget_bytes)}` }];
    }

    const x = randomInputs(ctx.rng, N, D, M);
    const exec = await ctx.executor();
    await exec.setInputs(x);
    const callFor = (map: FeatureMap): MethodCall => ({ method, causal, n: N, d: D, m: M, map, chunk: linearChunkRows(N, settings.chunks), causalChunk: settings.causal_chunk });
    // The timed call: the first draw of features (the same draw in every round: the generator restarts per round).
    const timed = callFor(featureMap(method, D, params.D_random ?? 0, ctx.rng));
    // Errors and peak bytes are deterministic: measured in the first round only, which later rounds just time.
    let measured: Row = {};
    if (round.index === 0) {
      const rows = sampleRows(N, settings.error_rows);
      const ref = referenceRows(x, method.startsWith('quadratic') ? 'quadratic' : 'softmax', causal, rows);
      // Random features: errors over independent draws of w (their spread is the point); the rest are deterministic.
      const draws = RANDOM.includes(method) ? settings.error_draws : 1;
      const maxErrors: number[] = [];
      const froErrors: number[] = [];
      let peakBytes = 0;
      for (let i = 0; i < draws; i++) {
        // The first call warms up and reports the backend's peak bytes; every call's output is checked against float64.
        const result = await runMethod(exec, i === 0 ? timed : callFor(featureMap(method, D, params.D_random ?? 0, ctx.rng)), i === 0);
        if (i === 0) peakBytes = result.peakBytes;
        const err = relErrors(result.out, M, rows, ref);
        maxErrors.push(err.max);
        froErrors.push(err.fro);
      }
      const errorCi = medianInterval(froErrors);
      measured = {
        peak_bytes: peakBytes,
        max_rel_error: median(maxErrors),
        rel_error: median(froErrors),
        rel_error_ci_low: draws > 1 ? errorCi.low : null,
        rel_error_ci_high: draws > 1 ? errorCi.high : null,
        draws,
      };
    }
    const t = await timeCall(async () => void (await runMethod(exec, timed, false)), {
      ...roundOptions(round, timingWindow(settings)),
      now: ctx.now,
      label: `${method} at N=${N}`,
    });
    return [{ ...row, ...measured, ...timingColumns(t, flops) }];
  },
});

const timingWindow = (settings: Settings) => ({ timeMs: settings.time_budget_ms, minSamples: settings.min_samples, warmupMs: settings.warmup_ms });

function timingColumns(t: Timing, flops: number): Row {
  return {
    time_ms: t.medianMs,
    time_ci_low: t.lowMs,
    time_ci_high: t.highMs,
    samples: t.samples.length,
    gflops: flops / (t.medianMs * 1e6),
    time_samples_ms: samplesCell(t.samples),
  };
}


