import { msg } from '../../messages.js';
import { z } from 'zod';
import type { NormalRng } from '../../random/normal.js';
import { median, medianInterval } from '../../stats/quantile.js';
import { randomInputs, type SharedInputs } from './kernels.js';
import type { Backend } from '../../engine/backend.js';
import { METHODS, type Method } from './methods.js';
import { referenceRows, relErrors, sampleRows } from './reference.js';
import { quadraticFeatures } from './features.js';
import { callMs, chunkRowsFor, flopsOf, linearChunkRows, predictedBytes, sessionMs, type CostPoint } from './cost.js';
import { prepareCall, type PreparedCall } from './engines.js';
import { checkMethodFiles, UserMethod, type MethodShapes } from './user-methods.js';
import { analyseScaling, FITS_COLUMNS } from './analysis.js';
import {
  combineRounds,
  ONE_ROUND,
  roundOptions,
  roundsMs,
  timeCall,
  timingColumns,
  timingSettings,
  timingWindow,
  type Timing,
} from '../timing.js';
import { defineSimulation } from '../types.js';
import { ScalingRow } from './rows.js';

/** Why `flash` does not run on the tfjs engines (the row's skipped_reason). */
export const FLASH_TFJS =
  "flash is ONNX Runtime's fused kernel (MultiHeadAttention or GroupQueryAttention): onnx engine only";

/**
 * scaling: time and memory of softmax attention (O(N²·max(D, M)); materialized, and fused as `flash`, O(N) memory)
 * against the degree-2 polynomial kernel (q·k/√D + 1)² in linear form (O(N·C·M), C = 1 + D + D(D+1)/2), with the N²
 * form of the same kernel as reference, causal variants, and random-feature approximations of softmax (Fourier, the
 * homework's Fourier variant, FAVOR+).
 */

const RANDOM: readonly string[] = ['rff', 'rff-homework', 'favor'];

/** The params schema of each list of method names, built once (a grid block parses every point with it). */
const paramsSchemas = new Map<string, ReturnType<typeof buildParamsSchema>>();
function paramsSchema(names: readonly string[]) {
  const key = names.join('\n');
  let schema = paramsSchemas.get(key);
  if (!schema) paramsSchemas.set(key, (schema = buildParamsSchema(names)));
  return schema;
}

/** The params of a grid whose methods are the built-ins and the names of `settings.methods`. */
function buildParamsSchema(names: readonly string[]) {
  return z
    .object({
      method: z
        .enum(names as [string, ...string[]])
        .describe('attention method: a built-in, or a name of settings.methods'),
      causal: z.boolean().default(false).describe('mask future keys; @default false'),
      N: z
        .number()
        .int()
        .min(2)
        .max(1 << 20)
        .describe('sequence length'),
      D: z.number().int().min(1).max(256).describe('query/key width'),
      M: z.number().int().min(1).max(4096).describe('value width'),
      D_random: z
        .number()
        .int()
        .min(1)
        .max(1 << 16)
        .optional()
        .describe('random features (rff, rff-homework, favor only)'),
    })
    .strict()
    .refine((p) => RANDOM.includes(p.method) === (p.D_random !== undefined), {
      message: 'D_random is required for rff, rff-homework and favor, and only for them',
      path: ['D_random'],
    })
    .refine(
      (p) =>
        !p.causal ||
        p.method === 'softmax' ||
        p.method === 'flash' ||
        p.method === 'quadratic-kernel' ||
        p.method === 'quadratic-kernel-direct',
      {
        message: 'causal is implemented for softmax, flash and the quadratic kernel only',
        path: ['causal'],
      },
    )
    .refine((p) => !(p.method === 'flash' && p.causal && p.D !== p.M), {
      message: 'causal flash (GroupQueryAttention) needs D = M: one head size for queries, keys and values',
      path: ['M'],
    });
}
const Params = paramsSchema(METHODS);
type Params = z.output<typeof Params>;

const Settings = z
  .object({
    memory_budget_bytes: z
      .number()
      .positive()
      .default(2 ** 30)
      .describe('skip points predicted to hold more memory; @default 1 GiB'),
    ...timingSettings(400),
    warmup_ms: z
      .number()
      .nonnegative()
      .default(50)
      .describe(
        'warm-up time before measuring a shape the first time (operator caches, tier-up); later rounds warm up with one call; @default 50',
      ),
    error_rows: z
      .number()
      .int()
      .min(1)
      .default(64)
      .describe('query rows compared with the float64 reference; @default 64'),
    error_draws: z
      .number()
      .int()
      .min(1)
      .default(16)
      .describe('independent draws of the random features per point (median error reported); @default 16'),
    chunk_bytes: z
      .number()
      .int()
      .min(4096)
      .default(2 ** 24)
      .describe(
        'φ bytes per chunk of the linear forms (φ is built for one chunk at a time): rows per chunk are the power of two nearest to it, from 64 to 4096, and at least N/128 (a graph has at most 128 chunks); @default 16 MiB',
      ),
    causal_chunk: z
      .number()
      .int()
      .min(8)
      .default(256)
      .describe('rows per chunk of the causal prefix sums (at least N/128); @default 256'),
    fit_min_N: z.number().int().min(2).default(1024).describe('slopes and classes use N ≥ this; @default 1024'),
    single_round_ms: z
      .number()
      .positive()
      .default(100)
      .describe(
        'a point whose call the cost model puts at this many ms or more is timed in the first round only, with all of time_budget_ms and min_samples: later rounds would each make a new session and fault in its arena again (1 GiB for softmax at N = 16384: 0.6 – 2 s a round), and its samples already span a second or more; @default 100',
      ),
    methods: z
      .record(z.string().regex(/^[a-z][a-z0-9-]*$/, 'a lowercase name: letters, digits, dashes'), UserMethod)
      .default({})
      .describe(
        'attention methods from ONNX files: name → { onnx: path relative to the experiment file, exact: softmax | none, flops: expression in N, D, M }; grid methods may use the names',
      ),
  })
  .strict()
  .refine((s) => Object.keys(s.methods).every((name) => !(METHODS as readonly string[]).includes(name)), {
    message: `a method from a file cannot take a built-in name (${METHODS.join(', ')})`,
    path: ['methods'],
  });
type Settings = z.output<typeof Settings>;

/**
 * Directions w of the random features (R × D): w ~ N(0, σ⁻²I) for rff (σ² = √D), N(0, σ²I) for the homework's variant,
 * N(0, I) for FAVOR+.
 */
function drawDirections(method: string, d: number, count: number, rng: NormalRng): Float32Array | null {
  if (!RANDOM.includes(method)) return null;
  const w = new Float32Array(count * d);
  rng.fill(w);
  const std = method === 'rff' ? d ** -0.25 : method === 'rff-homework' ? d ** 0.25 : 1;
  for (let i = 0; i < w.length; i++) w[i] = w[i]! * std;
  return w;
}

/** What the cost formulas need of a point: its shape and the width F of its features. */
function costPoint(p: Params, settings: Settings, backend: Backend): CostPoint {
  const count = p.D_random ?? 0;
  const F =
    p.method === 'favor'
      ? count
      : RANDOM.includes(p.method)
        ? 2 * count
        : p.method === 'quadratic-kernel'
          ? quadraticFeatures(p.D)
          : 0;
  const user = settings.methods[p.method];
  return {
    method: user ? 'user' : (p.method as Method),
    causal: p.causal,
    N: p.N,
    D: p.D,
    M: p.M,
    F,
    causalChunk: chunkRowsFor(p.N, settings.causal_chunk),
    chunkRows: linearChunkRows(p.N, F, settings.chunk_bytes),
    engine: backend === 'onnx' ? 'onnx' : 'tfjs',
    ...(user?.flops ? { flops: user.flops } : {}),
  };
}

/** The (D, M) shapes each method runs at. */
function methodShapes(points: readonly { params: Params }[]): MethodShapes {
  const out: MethodShapes = {};
  for (const { params: p } of points) {
    const list = (out[p.method] ??= []);
    if (!list.some((s) => s.D === p.D && s.M === p.M)) list.push({ D: p.D, M: p.M });
  }
  return out;
}

const MiB = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;

export const scaling = defineSimulation({
  kind: 'scaling',
  summary:
    'time and memory of exact softmax attention (materialized, and fused: flash) versus quadratic-kernel linear attention as N grows',
  params: Params,
  paramsFor: (settings: Settings) => paramsSchema([...METHODS, ...Object.keys(settings.methods)]),
  settings: Settings,
  timing: true,
  engines: ['onnx', 'tensorflow', 'wasm', 'cpu'],
  files: (settings: Settings) => Object.keys(settings.methods).map((name) => ['methods', name, 'onnx']),
  prepare: (settings: Settings, points, at) => checkMethodFiles(settings.methods, methodShapes(points), at),
  row: ScalingRow,
  measuredColumns: ['time_ms', 'time_ci_low', 'time_ci_high', 'samples', 'peak_bytes', 'gflops', 'time_samples_ms'],
  tables: { fits: FITS_COLUMNS },
  analyse: (rows, settings: Settings) =>
    analyseScaling(
      rows,
      settings.fit_min_N,
      new Set(Object.keys(settings.methods).filter((m) => settings.methods[m]!.exact === 'softmax')),
    ),
  rounds: (settings: Settings) => settings.rounds,
  combine: (rounds) => combineRounds(rounds, (first, t) => ({ ...first, ...rowTiming(t, first.flops) })),
  estimateMs(params, settings, engine) {
    const cost = costPoint(params, settings, engine);
    if ((predictedBytes(cost) ?? 0) > settings.memory_budget_bytes || (params.method === 'flash' && engine !== 'onnx'))
      return 0;
    // Per round a session (onnx: graph built and planned) and a warm-up and its share of the samples; once, the error
    // calls (one per draw of random features) and on onnx the memory probe's call, in a process of its own.
    const call = callMs(cost);
    const draws = RANDOM.includes(params.method) ? settings.error_draws : 1;
    const onnx = engine === 'onnx';
    const rounds = call >= settings.single_round_ms ? 1 : settings.rounds;
    return (
      (draws + (onnx ? 1 : 0)) * call +
      rounds * (onnx ? sessionMs(cost) : 0) +
      roundsMs(rounds, call, pointWindow(settings))
    );
  },
  async run({ params, settings, round = ONE_ROUND }, ctx) {
    const { method, causal, N, D, M } = params;
    const cost = costPoint(params, settings, ctx.backend);
    const row = emptyRow(params, cost);
    const skipped = skipReason(row.predicted_bytes, method, ctx.backend, settings);
    if (skipped) return [{ ...row, skipped_reason: skipped }];
    // A long call is timed in the first round only (see single_round_ms); later rounds add no samples.
    const single = callMs(cost) >= settings.single_round_ms;
    if (single && round.index > 0) return [{ ...row, time_samples_ms: [] }];
    const user = settings.methods[method];
    if (user && ctx.backend !== 'onnx') throw new Error(msg.methodNeedsOnnxEngine(method));

    const x = randomInputs(ctx.rng, N, D, M);
    // A method from a file brings its own graph: the shape's method is then only a placeholder.
    const shape = {
      method: (user ? 'softmax' : method) as Method,
      causal,
      n: N,
      d: D,
      m: M,
      count: params.D_random ?? 0,
      chunk: cost.chunkRows,
      causalChunk: cost.causalChunk,
    };
    const call = await prepareCall(ctx, shape, x, { file: user?.onnx, peak: round.index === 0 });
    try {
      // The timed call: the first draw of features (the same draw in every round: the generator restarts per round).
      const timed = drawDirections(method, D, shape.count, ctx.rng);
      // Errors and peak bytes are deterministic: measured in the first round only, which later rounds just time.
      const measured = round.index === 0 ? await errorsAndPeak(params, settings, { x, call, timed, rng: ctx.rng }) : {};
      const t = await timeCall(() => call.run(timed), {
        ...roundOptions(single ? ONE_ROUND : round, pointWindow(settings)),
        // In the first round the error calls have warmed the session up already.
        ...(round.index === 0 ? { warmupCalls: 1 } : {}),
        now: ctx.now,
        label: `${method} at N=${N}`,
      });
      return [{ ...row, ...measured, ...rowTiming(t, row.flops) }];
    } finally {
      await call.release();
    }
  },
});

/** A point's row before anything is measured: its shape, its features, and what the cost model predicts. */
function emptyRow(params: Params, cost: ReturnType<typeof costPoint>): ScalingRow {
  const { method, causal, N, D, M } = params;
  return {
    method,
    causal,
    N,
    D,
    M,
    C: quadraticFeatures(D),
    D_random: params.D_random ?? null,
    features: cost.F || null,
    time_ms: null,
    time_ci_low: null,
    time_ci_high: null,
    samples: null,
    peak_bytes: null,
    predicted_bytes: predictedBytes(cost),
    flops: flopsOf(cost),
    gflops: null,
    max_rel_error: null,
    rel_error: null,
    rel_error_ci_low: null,
    rel_error_ci_high: null,
    draws: null,
    skipped_reason: null,
    time_samples_ms: null,
  };
}

/** Why a point is not run: over the memory budget, or flash off the onnx engine; null where it runs. */
function skipReason(predicted: number | null, method: string, backend: string, settings: Settings): string | null {
  if (predicted !== null && predicted > settings.memory_budget_bytes)
    return `predicted ${MiB(predicted)} > memory budget ${MiB(settings.memory_budget_bytes)}`;
  if (method === 'flash' && backend !== 'onnx') return FLASH_TFJS;
  return null;
}

/**
 * The first round's deterministic measurements: errors against the float64 reference on error_rows rows (over
 * error_draws draws of the random features, their spread being the point), and the peak bytes of the timed call.
 */
async function errorsAndPeak(
  params: Params,
  settings: Settings,
  o: { x: SharedInputs; call: PreparedCall; timed: Float32Array | null; rng: NormalRng },
): Promise<Partial<ScalingRow>> {
  const { method, causal, N, D, M } = params;
  const user = settings.methods[method];
  const exact = user
    ? user.exact === 'none'
      ? null
      : user.exact
    : method.startsWith('quadratic')
      ? 'quadratic'
      : 'softmax';
  // The peak is measured (in the probe's process, started with the session: prepareCall; or in the tfjs executor's
  // thread) while this thread computes the float64 reference and makes the error calls; the timed calls wait for it.
  // One after the other, session, probe and reference took 4, 13 and 10 s of a 90 s default run (Zen 4). The error
  // calls are the session's first calls, just before the timed ones, and warm it up for them (a softmax session at
  // N = 16384 grows ONNX Runtime's arena by 1 GiB in each of its first two calls: 0.9 and 1.4 s, then 0.5 s a call).
  const peakBytes = o.call.peakBytes(o.timed);
  // Handled here too, should the reference or an error call throw first.
  peakBytes.catch(() => {});
  const rows = sampleRows(N, settings.error_rows);
  const ref = exact ? referenceRows(o.x, exact, causal, rows) : null;
  // Random features: errors over independent draws of w (their spread is the point); the rest are deterministic.
  const draws = RANDOM.includes(method) ? settings.error_draws : 1;
  const maxErrors: number[] = [];
  const froErrors: number[] = [];
  for (let i = 0; i < draws; i++) {
    // The first call warms up; every call's output is checked against float64.
    const out = await o.call.run(i === 0 ? o.timed : drawDirections(method, D, params.D_random ?? 0, o.rng));
    if (!ref) continue;
    const err = relErrors(out, M, rows, ref);
    maxErrors.push(err.max);
    froErrors.push(err.fro);
  }
  const peak = await peakBytes;
  const errorCi = medianInterval(froErrors);
  return {
    peak_bytes: peak,
    ...(ref
      ? {
          max_rel_error: median(maxErrors),
          rel_error: median(froErrors),
          rel_error_ci_low: draws > 1 ? errorCi.low : null,
          rel_error_ci_high: draws > 1 ? errorCi.high : null,
          draws,
        }
      : {}),
  };
}

/** A point's time window: scaling's warm-up is a setting (a shape's first round compiles its operators). */
const pointWindow = (settings: Settings) => timingWindow(settings, settings.warmup_ms);

/** The timing columns, and the rate of a point that counts its FLOPs. */
function rowTiming(t: Timing, flops: number | null): Partial<ScalingRow> {
  return { ...timingColumns(t), gflops: flops === null ? null : flops / (t.medianMs * 1e6) };
}
