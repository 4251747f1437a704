import type { Tensor2D } from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { decodeChecks } from './checks.js';
import { decodeStep } from './reference.js';
import { analyseMhaVsMqa, DESIGN_COLUMNS, KERNEL_COLUMNS, RATIO_COLUMNS, ROOFLINE_COLUMNS } from './analysis.js';
import { decodeCost, KV_DTYPE_BYTES, mlaCost, scaleNumbers, type DecodeCost, type KvDtype } from './cost.js';
import {
  float16Native,
  onnxDecodeChecks,
  onnxDecodeStep,
  onnxKernelChecks,
  onnxProbes,
  type StepSpec,
} from './engines.js';
import { AttnlabError, type SourceLocation } from '../../errors.js';
import { msg } from '../../messages.js';
import {
  combineRounds,
  ONE_ROUND,
  probeMs,
  roundOptions,
  roundsMs,
  timeCall,
  timingColumns,
  timingSettings,
  timingWindow,
  type Round,
  type Timing,
} from '../timing.js';
import { defineSimulation, notApplicable, type SimContext } from '../types.js';
import { MhaVsMqaRow } from './rows.js';

/**
 * mha-vs-mqa: bytes moved and time per incremental decoding step for multi-head (g = h), grouped-query (g groups),
 * multi-query (g = 1) and multi-head latent attention (mla), with float32, float16, int8 and int4 KV caches and
 * sliding windows, on the hand-built graph and on ONNX Runtime's GroupQueryAttention (the kernel inference engines
 * run). The analytic model gives FLOPs and bytes by category; the step is timed on the backend; setup measures this
 * machine's bandwidth and peak FLOP/s once, for the memory-bound prediction and the roofline, and runs the
 * correctness checks of every kernel against its float64 loop.
 */

const Params = z
  .object({
    variant: z
      .enum(['mha', 'gqa', 'mqa', 'mla'])
      .describe('mha: g = h; gqa: g = groups; mqa: g = 1; mla: a latent cache of d_latent + d_rope per token'),
    groups: z.number().int().min(1).default(4).describe('key/value heads of gqa; @default 4'),
    kernel: z
      .enum(['graph', 'gqa-op'])
      .default('graph')
      .describe(
        'graph: the hand-built MatMul–Softmax–MatMul step; gqa-op: com.microsoft GroupQueryAttention (onnx only); @default graph',
      ),
    kv_dtype: z
      .enum(['float32', 'float16', 'int8', 'int4'])
      .optional()
      .describe(
        'number type of the KV cache; int8 and int4 on gqa-op only; @default float32 (float16 where dtype_bytes is 2)',
      ),
    kv_scales: z
      .enum(['per-tensor', 'per-channel'])
      .default('per-channel')
      .describe('scales of an int8/int4 cache: one per tensor, or one per (kv head, channel); @default per-channel'),
    window: z
      .number()
      .int()
      .min(1)
      .optional()
      .describe('sliding window: the step reads the last min(n, window) tokens (a rolling buffer)'),
    d_latent: z.number().int().min(1).optional().describe('mla: latent width per token and layer (DeepSeek-V2: 512)'),
    d_rope: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe('mla: width of the shared RoPE key per token and layer; @default 64 with mla'),
    b: z.number().int().min(1).describe('sequences decoded at once'),
    n: z.number().int().min(1).describe('tokens in the KV cache'),
    d: z.number().int().min(1).describe('model width'),
    h: z.number().int().min(1).describe('query heads (head width d/h)'),
    dtype_bytes: z
      .union([z.literal(4), z.literal(2)])
      .default(4)
      .describe('bytes per number of weights and activations (4: float32, 2: float16); @default 4'),
  })
  .strict()
  .refine((p) => p.d % p.h === 0, { message: 'h must divide d', path: ['h'] })
  .refine((p) => p.variant !== 'gqa' || (p.groups < p.h && p.h % p.groups === 0), {
    message: 'gqa groups must divide h and be below it',
    path: ['groups'],
  })
  .refine((p) => p.variant !== 'mla' || p.d_latent !== undefined, { message: msg.decodeMlaNeeds(), path: ['variant'] })
  // Combinations that do not exist, with messages from the catalog that name the point's values.
  .superRefine((p, ctx) => {
    const say = (message: string, path: string) => ctx.addIssue({ code: 'custom', message, path: [path] });
    // A parameter of another variant or kernel does not apply to this point: a --set that made it drops it (grid.ts).
    const moot = (message: string, path: string, reason: string) =>
      ctx.addIssue({ code: 'custom', message, path: [path], params: notApplicable(reason) });
    const latent = (key: string) =>
      moot(msg.decodeLatentWithout(key, p.variant), key, msg.decodeLatentOnly(key, p.variant));
    if (p.d_latent !== undefined && p.variant !== 'mla') latent('d_latent');
    else if (p.d_rope !== undefined && p.variant !== 'mla') latent('d_rope');
    else if (p.kernel === 'graph' && (p.kv_dtype === 'int8' || p.kv_dtype === 'int4'))
      moot(msg.decodeQuantizedOnGraph(p.kv_dtype), 'kv_dtype', msg.decodeQuantizedOnGraph(p.kv_dtype));
    else if ((p.kv_dtype === 'float32' && p.dtype_bytes === 2) || (p.kv_dtype === 'float16' && p.dtype_bytes === 4))
      say(msg.decodeKvDtype(p.kv_dtype, p.dtype_bytes), 'kv_dtype');
    else if ((p.kv_dtype === 'int8' || p.kv_dtype === 'int4') && !isQuantHead(p.d / p.h))
      say(msg.decodeQuantHead(p.d / p.h), 'kv_dtype');
  });
type Params = z.output<typeof Params>;

function isQuantHead(k: number): boolean {
  return Number.isInteger(k) && k >= 8 && (k & (k - 1)) === 0;
}

/** A published model's attention, for the table of KV bytes per token (analytic). */
const Design = z
  .object({
    name: z.string(),
    design: z.enum(['mha', 'gqa', 'mla']),
    layers: z.number().int().positive(),
    heads: z.number().int().positive(),
    kv_heads: z.number().int().positive().optional().describe('gqa (mha: heads)'),
    head_dim: z.number().int().positive().optional().describe('mha, gqa'),
    d_latent: z.number().int().positive().optional().describe('mla'),
    d_rope: z.number().int().min(0).optional().describe('mla'),
    window: z.number().int().positive().optional(),
    source: z.string().describe('where the numbers come from'),
  })
  .strict();

const Hardware = z
  .object({
    name: z.string(),
    bandwidth: z.number().positive(),
    peak_flops: z.number().positive(),
    dtype_bytes: z.number().int().positive().default(2),
  })
  .strict();

const Settings = z
  .object({
    max_cache_bytes: z
      .number()
      .positive()
      .default(2 ** 30)
      .describe('skip shapes whose MHA cache would exceed this; @default 1 GiB'),
    ...timingSettings(150),
    hardware: z.array(Hardware).default([]).describe('roofline presets (bytes/s, FLOP/s)'),
    roofline: z
      .object({
        n: z.number().int().positive(),
        d: z.number().int().positive(),
        h: z.number().int().positive(),
        b: z.array(z.number().int().positive()),
      })
      .strict()
      .default({ n: 4096, d: 1024, h: 16, b: [1, 8, 64] }),
    designs: z
      .array(Design)
      .default([])
      .describe('published models whose KV bytes per token the report tabulates (analytic)'),
    designs_n: z
      .number()
      .int()
      .positive()
      .default(32768)
      .describe('the context length at which the designs table compares the bytes a step reads; @default 32768'),
  })
  .strict();
type Settings = z.output<typeof Settings>;

const kvHeads = (p: { variant: string; groups: number; h: number }) =>
  p.variant === 'mha' ? p.h : p.variant === 'mqa' || p.variant === 'mla' ? 1 : p.groups;
const kvDtype = (p: Params): KvDtype => p.kv_dtype ?? (p.dtype_bytes === 2 ? 'float16' : 'float32');
const quantizedDtype = (t: KvDtype): t is 'int8' | 'int4' => t === 'int8' || t === 'int4';

/** The point's cost: the step's FLOPs and bytes by category, on its kernel. */
function pointCost(p: Params): DecodeCost {
  const { b, n, d, h, dtype_bytes: s } = p;
  const t = kvDtype(p);
  if (p.variant === 'mla')
    return mlaCost({ b, n, d, h, dc: p.d_latent!, dr: p.d_rope ?? 64, s, sKv: KV_DTYPE_BYTES[t], window: p.window });
  const g = kvHeads(p);
  return decodeCost({
    b,
    n,
    d,
    h,
    g,
    s,
    sKv: KV_DTYPE_BYTES[t],
    scaleNumbers: scaleNumbers(t, p.kv_scales, g, d / h),
    window: p.window,
    copiesCache: p.kernel === 'gqa-op',
  });
}

/**
 * The largest cache of the point's shape (MHA's, float32): points whose MHA cache exceeds max_cache_bytes are skipped
 * together.
 */
const mhaCacheBytes = (p: Params) =>
  decodeCost({ b: p.b, n: p.n, d: p.d, h: p.h, g: p.h, s: 4, window: p.window }).kvCacheBytes;

const CHECK_COLUMNS = [
  'check',
  'description',
  'max_abs_diff',
  'tolerance',
  'diff_over_tolerance',
  'passed_shape',
] as const;

/** The time window of a point (a 20 ms warm-up: decode steps have few shapes, compiled in the first points). */
const pointWindow = (settings: Settings) => timingWindow(settings, 20);

/**
 * The timing columns of a step moving `bytes` and computing `flops`, against its bound `predictedMs` (bytes ÷
 * bandwidth).
 */
function rowTiming(t: Timing, bytes: number, flops: number, predictedMs: number | null): Partial<MhaVsMqaRow> {
  return {
    ...timingColumns(t),
    bandwidth_gbs: bytes / (t.medianMs * 1e6),
    gflops: flops / (t.medianMs * 1e6),
    predicted_ms: predictedMs,
    time_over_bound: predictedMs ? t.medianMs / predictedMs : null,
  };
}

/** The engine call a point times (onnx): its kernel and shape. */
function stepSpec(p: Params): StepSpec {
  const { b, n, d, h } = p;
  const elem = p.dtype_bytes === 2 ? 'float16' : 'float32';
  if (p.variant === 'mla')
    return {
      kernel: 'mla',
      shape: { b, n: Math.min(n, p.window ?? n), d, h, dc: p.d_latent!, dr: p.d_rope ?? 64, elem },
    };
  const g = kvHeads(p);
  if (p.kernel === 'gqa-op')
    return {
      kernel: 'gqa-op',
      shape: { b, n: Math.min(n, p.window ?? n), d, h, g, kv: kvDtype(p), scales: p.kv_scales, window: p.window },
    };
  return { kernel: 'graph', shape: { b, n, d, h, g, window: p.window, elem } };
}

/** Where a point cannot be timed on this engine, why (the row stays analytic). */
function analyticOnly(p: Params, backend: string): string | null {
  if (p.variant === 'mla' && p.kernel === 'gqa-op') return msg.decodeMlaKernel();
  if (backend === 'onnx') return null;
  if (p.kernel === 'gqa-op' || p.variant === 'mla')
    return `${p.variant === 'mla' ? 'the mla graph' : 'kernel gqa-op'} runs on the onnx engine only`;
  if (kvDtype(p) !== 'float32') return `${kvDtype(p)} steps run on the onnx engine only (the tfjs step is float32)`;
  return null;
}

/**
 * A float16 step the engine would run by converting its cache to float32 first stays analytic (its time would be the
 * conversion's).
 */
function float16Converted(p: Params, setup: Record<string, number>): string | null {
  if (p.dtype_bytes !== 2) return null;
  const kernel = p.variant === 'mla' ? 'mla' : p.kernel === 'gqa-op' ? 'gqa_op' : 'graph';
  return setup[`float16_native_${kernel}`] === 0
    ? msg.decodeFloat16Converted(p.variant === 'mla' ? 'mla graph' : `${p.kernel} kernel`)
    : null;
}

/** A window larger than every n of its points never fills: an error at the grid's window key. */
async function checkWindows(
  points: readonly { params: Params }[],
  at: (path: (string | number)[]) => SourceLocation,
): Promise<void> {
  const largest = new Map<number, number>();
  for (const { params: p } of points)
    if (p.window !== undefined) largest.set(p.window, Math.max(largest.get(p.window) ?? 0, p.n));
  for (const [window, n] of largest) {
    if (window <= n) continue;
    // The first grid block that names a window (a block without one locates at the block itself).
    let where = at(['grid']);
    for (let i = 0; i < 64; i++) {
      const key = at(['grid', i, 'window']);
      if (key.line !== undefined && key.line !== at(['grid', i]).line) {
        where = key;
        break;
      }
    }
    throw new AttnlabError('BAD_GRID', msg.decodeWindowTooLarge(window, n), where);
  }
}

/** A point's row before anything is timed: its shape and everything the cost model counts. */
function analyticRow(params: Params, cost: DecodeCost): MhaVsMqaRow {
  const { b, n, d, h, dtype_bytes: s, variant, kernel } = params;
  const dtype = kvDtype(params);
  return {
    variant,
    kernel,
    kv_dtype: dtype,
    kv_scales: quantizedDtype(dtype) ? params.kv_scales : null,
    window: params.window ?? null,
    d_latent: params.d_latent ?? null,
    d_rope: variant === 'mla' ? (params.d_rope ?? 64) : null,
    kv_heads: kvHeads(params),
    b,
    n,
    d,
    h,
    dtype_bytes: s,
    flops: cost.flops,
    bytes_weights: cost.bytesWeights,
    bytes_activations: cost.bytesActivations,
    bytes_kv_read: cost.bytesKvRead,
    bytes_kv_scales: cost.bytesKvScales,
    bytes_kv_write: cost.bytesKvWrite,
    bytes_kv_copy: cost.bytesKvCopy,
    bytes_total: cost.bytesTotal,
    intensity: cost.intensity,
    kv_cache_bytes: cost.kvCacheBytes,
    kv_bytes_per_token: cost.kvBytesPerToken,
    tokens_read: cost.tokensRead,
    time_ms: null,
    time_ci_low: null,
    time_ci_high: null,
    samples: null,
    measured_bytes: null,
    bandwidth_gbs: null,
    gflops: null,
    predicted_ms: null,
    time_over_bound: null,
    skipped_reason: null,
    time_samples_ms: null,
    time_round_sizes: null,
  };
}

/** Which round is timed, under what label, with which settings. */
interface StepTiming {
  round: Round;
  label: string;
  settings: Settings;
}

/**
 * The step on ONNX Runtime: its bytes measured in the first round, every round timed; a float16 graph the engine has
 * no kernel for stays analytic, with the engine's reason.
 */
async function timeOnnxStep(
  ctx: Pick<SimContext, 'onnx' | 'now'>,
  params: Params,
  o: StepTiming,
): Promise<{ t: Timing; bytes: number | null } | { skipped: string }> {
  let step;
  try {
    step = await onnxDecodeStep(await ctx.onnx(), stepSpec(params));
  } catch (e) {
    if (params.dtype_bytes === 2)
      return { skipped: `no float16 kernel on this engine: ${String((e as Error).message).split('\n')[0]}` };
    throw e;
  }
  try {
    // The bytes a step holds are measured once, in the first round; every round times the step.
    const bytes = o.round.index === 0 ? await step.measuredBytes() : null;
    const t = await timeCall(step.step, {
      ...roundOptions(o.round, pointWindow(o.settings)),
      now: ctx.now,
      label: o.label,
    });
    return { t, bytes };
  } finally {
    await step.release();
  }
}

/** The step on a tfjs backend, over constant inputs (values do not change the time of dense products). */
async function timeTfjsStep(
  ctx: Pick<SimContext, 'tf' | 'now'>,
  params: Params,
  cost: DecodeCost,
  o: StepTiming,
): Promise<{ t: Timing; bytes: number | null }> {
  const { tf } = ctx;
  const { b, d, h } = params;
  const g = kvHeads(params);
  const k = d / h;
  const t = cost.tokensRead;
  // Constant fills are cheap to create at 1 GiB.
  const x = tf.fill([b, d], 0.01) as Tensor2D;
  const w = {
    wq: tf.fill([d, h * k], 0.01) as Tensor2D,
    wk: tf.fill([d, g * k], 0.01) as Tensor2D,
    wv: tf.fill([d, g * k], 0.01) as Tensor2D,
    wo: tf.fill([h * k, d], 0.01) as Tensor2D,
  };
  const cache = {
    k: Array.from({ length: b * g }, () => tf.fill([t, k], 0.01) as Tensor2D),
    vT: Array.from({ length: b * g }, () => tf.fill([k, t], 0.01) as Tensor2D),
  };
  try {
    // The bytes a step holds are measured once, in the first round; every round times the step.
    let bytes: number | null = null;
    if (o.round.index === 0) {
      const before = tf.memory().numBytes;
      const profile = await tf.profile(() => {
        decodeStep(tf, x, w, cache, h, g).dispose();
        return [];
      });
      bytes = profile.peakBytes - before;
    }
    const timing = await timeCall(
      () => {
        const y = decodeStep(tf, x, w, cache, h, g);
        y.dataSync();
        y.dispose();
      },
      { ...roundOptions(o.round, pointWindow(o.settings)), now: ctx.now, label: o.label },
    );
    return { t: timing, bytes };
  } finally {
    tf.dispose([x, w.wq, w.wk, w.wv, w.wo, ...cache.k, ...cache.vT]);
  }
}

export const mhaVsMqa = defineSimulation({
  kind: 'mha-vs-mqa',
  summary:
    'bytes moved and time per decoding step for MHA, GQA, MQA and MLA, quantized KV caches and sliding windows, on a hand graph and on GroupQueryAttention',
  params: Params,
  settings: Settings,
  timing: true,
  engines: ['onnx', 'tensorflow', 'wasm', 'cpu'],
  row: MhaVsMqaRow,
  measuredColumns: [
    'time_ms',
    'time_ci_low',
    'time_ci_high',
    'samples',
    'measured_bytes',
    'bandwidth_gbs',
    'gflops',
    'predicted_ms',
    'time_over_bound',
    'time_samples_ms',
    'time_round_sizes',
  ],
  tables: {
    ratios: RATIO_COLUMNS,
    kernels: KERNEL_COLUMNS,
    designs: DESIGN_COLUMNS,
    roofline: ROOFLINE_COLUMNS,
    checks: CHECK_COLUMNS,
  },
  prepare: (_settings: Settings, points, at) => checkWindows(points, at),
  async setup({ tf, now, rng, backend, onnx }) {
    if (backend === 'onnx') {
      // The probes and every kernel's checks on the engine that runs the steps; the tfjs step's checks beside them.
      const run = await onnx();
      const { bandwidth, peak } = await onnxProbes(run, now);
      const graph = await onnxDecodeChecks(run, rng, now);
      const kernels = await onnxKernelChecks(run, rng);
      const native = await float16Native(run);
      const checks = [...graph.checks, ...kernels, ...decodeChecks(tf, rng)];
      return {
        values: {
          bandwidth_bytes_per_s: bandwidth,
          peak_flops: peak,
          ...graph.values,
          float16_native_graph: native.graph,
          float16_native_gqa_op: native['gqa-op'],
          float16_native_mla: native.mla,
        },
        tables: { checks: { columns: CHECK_COLUMNS, rows: checks.map((c) => ({ ...c })) } },
      };
    }
    // Bandwidth: a + b over 16 Mi floats moves 3 × 64 MiB. Peak: a 1024³ product, 2 GFLOP.
    // wasm ops finish when the call returns; a readback would time a 64 MiB copy instead.
    const [a, b, m] = [tf.fill([1 << 24], 1), tf.fill([1 << 24], 2), tf.fill([1024, 1024], 0.5) as Tensor2D];
    try {
      const bw = (3 * 4 * (1 << 24)) / ((await probeMs(now, () => tf.add(a, b).dispose(), 'bandwidth probe')) / 1e3);
      const peak = (2 * 1024 ** 3) / ((await probeMs(now, () => tf.matMul(m, m).dispose(), 'peak FLOP/s probe')) / 1e3);
      const checks = decodeChecks(tf, rng);
      return {
        values: { bandwidth_bytes_per_s: bw, peak_flops: peak },
        tables: { checks: { columns: CHECK_COLUMNS, rows: checks.map((c) => ({ ...c })) } },
      };
    } finally {
      tf.dispose([a, b, m]);
    }
  },
  analyse: (rows, settings: Settings, setup) =>
    analyseMhaVsMqa(
      rows,
      [
        {
          name: 'this machine (measured)',
          bandwidth: setup.values['bandwidth_bytes_per_s'] ?? 1,
          peak_flops: setup.values['peak_flops'] ?? 1,
          dtype_bytes: 4,
        },
        ...settings.hardware,
      ],
      { n: settings.roofline.n, d: settings.roofline.d, h: settings.roofline.h, bs: settings.roofline.b },
      { designs: settings.designs, n: settings.designs_n },
    ),
  estimateMs(params, settings, engine) {
    if (mhaCacheBytes(params) > settings.max_cache_bytes || analyticOnly(params, engine)) return 0;
    const cost = pointCost(params);
    if (engine === 'onnx') {
      // On ONNX Runtime's CPU provider the graph and MLA kernels convert a float16 cache to float32 (the setup's
      // probe, float16_native_graph 0), so those points stay analytic: their cost is the row.
      if (params.dtype_bytes === 2 && params.kernel !== 'gqa-op') return 0;
      // onnx on the reference machine: a step streams its bytes at about 10 GB/s (GroupQueryAttention about 6 GB/s, its
      // copy of the cache included; float16 products about 2.5 GB/s, converting as they go) and its small products
      // reach about 15 GFLOP/s (MLA's scores, compute-bound here); fresh inputs are filled at about 1.2 GB/s (page
      // faults included) once per round, and the memory probe fills its own copy once. (The first point of a run at a
      // new size of about 1 GiB pays some 3 – 4 s more, not modelled.) The fit: docs/benchmarks.md, "Figures behind
      // constants".
      const rate = params.kernel === 'gqa-op' ? 6e6 : params.dtype_bytes === 2 ? 2.5e6 : 1e7;
      const call = 0.05 + cost.bytesTotal / rate + (params.variant === 'mla' ? cost.flops / 1.5e7 : 0);
      const fill = (cost.kvCacheBytes * (params.kernel === 'gqa-op' ? 2 : 1) + cost.bytesWeights) / 1.2e6;
      return fill + call + settings.rounds * fill + roundsMs(settings.rounds, call, pointWindow(settings));
    }
    // Fitted on the reference machine: a step streams its bytes at about 4.5 GB/s; filling the cache runs at
    // about 1 GB/s and the weights at about 1.2 GB/s; tf.profile's call costs about 3.3 ms per MB of weights
    // (fitted on d = 8192, h = 64: 2.5 – 9.7 s a point), which dominates at large d.
    const call = 0.1 + cost.bytesTotal / 4.5e6;
    const profiled = call + cost.bytesWeights / 3e5;
    // per round: the cache and weights filled, then the round's warm-up and samples; once: the profiled call
    return (
      profiled +
      settings.rounds * (cost.kvCacheBytes / 1e6 + cost.bytesWeights / 1.2e6) +
      roundsMs(settings.rounds, call, pointWindow(settings))
    );
  },
  rounds: (settings: Settings) => settings.rounds,
  combine: (rounds) =>
    combineRounds(rounds, (first, t, samples) => ({
      ...first,
      ...rowTiming(t, first.bytes_total, first.flops, first.predicted_ms),
      time_samples_ms: samples.flat(),
      time_round_sizes: samples.map((s) => s.length),
    })),
  async run({ params, settings, round = ONE_ROUND }, ctx) {
    const cost = pointCost(params);
    const row = analyticRow(params, cost);
    const why = analyticOnly(params, ctx.backend) ?? float16Converted(params, ctx.setup.values);
    if (why) return [{ ...row, skipped_reason: why }];
    const mhaCache = mhaCacheBytes(params);
    if (mhaCache > settings.max_cache_bytes)
      return [
        {
          ...row,
          skipped_reason: `MHA cache ${(mhaCache / 2 ** 20).toFixed(0)} MiB > ${(settings.max_cache_bytes / 2 ** 20).toFixed(0)} MiB`,
        },
      ];
    const bw = ctx.setup.values['bandwidth_bytes_per_s'];
    const timed = (t: Timing, measuredBytes: number | null): MhaVsMqaRow[] => [
      {
        ...row,
        ...rowTiming(t, cost.bytesTotal, cost.flops, bw ? (cost.bytesTotal / bw) * 1e3 : null),
        measured_bytes: measuredBytes,
      },
    ];
    const { variant, kernel, n } = params;
    const step = { round, label: `${variant} (${kernel}, ${row.kv_dtype}) at n=${n}`, settings };
    if (ctx.backend === 'onnx') {
      const measured = await timeOnnxStep(ctx, params, step);
      return 'skipped' in measured ? [{ ...row, skipped_reason: measured.skipped }] : timed(measured.t, measured.bytes);
    }
    const measured = await timeTfjsStep(ctx, params, cost, step);
    return timed(measured.t, measured.bytes);
  },
});
