import type { Tensor2D } from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { decodeChecks } from './checks.js';
import { decodeStep } from './reference.js';
import { analyseDecode, RATIO_COLUMNS, ROOFLINE_COLUMNS } from './analysis.js';
import { decodeCost } from './cost.js';
import { onnxDecodeChecks, onnxDecodeStep, onnxProbes } from './engines.js';
import { combineRounds, ONE_ROUND, probeMs, roundOptions, roundsMs, timeCall, type Timing } from '../timing.js';
import { defineSimulation } from '../types.js';
import { DecodeRow } from './rows.js';

/**
 * mha-vs-mqa: bytes moved and time per incremental decoding step for multi-head (g = h),
 * grouped-query (g groups) and multi-query (g = 1) attention as the KV cache grows. The
 * analytic model gives FLOPs and bytes by category; the step is timed on the backend; setup
 * measures this machine's bandwidth and peak FLOP/s once, for the memory-bound prediction
 * and the roofline, and runs the correctness checks.
 */

const Params = z
  .object({
    variant: z.enum(['mha', 'gqa', 'mqa']).describe('mha: g = h; gqa: g = groups; mqa: g = 1'),
    groups: z.number().int().min(1).default(4).describe('key/value heads of gqa; @default 4'),
    b: z.number().int().min(1).describe('sequences decoded at once'),
    n: z.number().int().min(1).describe('tokens in the KV cache'),
    d: z.number().int().min(1).describe('model width'),
    h: z.number().int().min(1).describe('query heads (head width d/h)'),
    dtype_bytes: z.union([z.literal(4), z.literal(2)]).default(4).describe('bytes per number; 2 is analytic only (the steps are timed in float32); @default 4'),
  })
  .strict()
  .refine((p) => p.d % p.h === 0, { message: 'h must divide d', path: ['h'] })
  .refine((p) => p.variant !== 'gqa' || (p.groups < p.h && p.h % p.groups === 0), { message: 'gqa groups must divide h and be below it', path: ['groups'] });

const Hardware = z.object({ name: z.string(), bandwidth: z.number().positive(), peak_flops: z.number().positive(), dtype_bytes: z.number().int().positive().default(2) }).strict();

const Settings = z
  .object({
    max_cache_bytes: z.number().positive().default(2 ** 30).describe('skip shapes whose MHA cache would exceed this; @default 1 GiB'),
    time_budget_ms: z.number().positive().default(150).describe('minimum time spent measuring each point; @default 150'),
    min_samples: z.number().int().min(3).default(5).describe('@default 5'),
    rounds: z.number().int().min(1).max(20).default(3).describe('timing rounds: every point once per round, each with its share of time_budget_ms and min_samples, samples pooled (as in scaling); @default 3'),
    hardware: z.array(Hardware).default([]).describe('roofline presets (bytes/s, FLOP/s)'),
    roofline: z.object({ n: z.number().int().positive(), d: z.number().int().positive(), h: z.number().int().positive(), b: z.array(z.number().int().positive()) }).strict().default({ n: 4096, d: 1024, h: 16, b: [1, 8, 64] }),
  })
  .strict();
type Settings = z.output<typeof Settings>;

const kvHeads = (p: { variant: string; groups: number; h: number }) => (p.variant === 'mha' ? p.h : p.variant === 'mqa' ? 1 : p.groups);

const CHECK_COLUMNS = ['check', 'description', 'max_abs_diff', 'passed_shape'] as const;

/** The time window of a point (a 20 ms warm-up: decode steps have few shapes, compiled in the first points). */
const timingWindow = (settings: Settings) => ({ timeMs: settings.time_budget_ms, minSamples: settings.min_samples, warmupMs: 20 });


/** The timing columns of a step moving `bytes` and computing `flops`, against its bound `predictedMs` (bytes ÷ bandwidth). */
function timingColumns(t: Timing, bytes: number, flops: number, predictedMs: number | null): Partial<DecodeRow> {
  return {
    time_ms: t.medianMs, time_ci_low: t.lowMs, time_ci_high: t.highMs, samples: t.samples.length,
    bandwidth_gbs: bytes / (t.medianMs * 1e6), gflops: flops / (t.medianMs * 1e6), time_samples_ms: t.samples,
    predicted_ms: predictedMs, time_over_bound: predictedMs ? t.medianMs / predictedMs : null,
  };
}

export const mhaVsMqa = defineSimulation({
  kind: 'mha-vs-mqa',
  summary: 'bytes moved and time per decoding step for multi-head, grouped-query and multi-query attention',
  params: Params,
  settings: Settings,
  timing: true,
  engines: ['onnx', 'tensorflow', 'wasm', 'cpu'],
  row: DecodeRow,
  measuredColumns: ['time_ms', 'time_ci_low', 'time_ci_high', 'samples', 'measured_bytes', 'bandwidth_gbs', 'gflops', 'predicted_ms', 'time_over_bound', 'time_samples_ms'],
  tables: { ratios: RATIO_COLUMNS, roofline: ROOFLINE_COLUMNS, checks: CHECK_COLUMNS },
  async setup({ tf, now, rng, backend, onnx }) {
    if (backend === 'onnx') {
      // The probes and the graph's checks on the engine that runs the steps; the tfjs step's checks beside them.
      const run = await onnx();
      const { bandwidth, peak } = await onnxProbes(run, now);
      const graph = await onnxDecodeChecks(run, rng, now);
      const checks = [...graph.checks, ...decodeChecks(tf, rng)];
      return {
        values: { bandwidth_bytes_per_s: bandwidth, peak_flops: peak, ...graph.values },
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
    analyseDecode(
      rows,
      [
        { name: 'this machine (measured)', bandwidth: setup.values['bandwidth_bytes_per_s'] ?? 1, peak_flops: setup.values['peak_flops'] ?? 1, dtype_bytes: 4 },
        ...settings.hardware,
      ],
      { n: settings.roofline.n, d: settings.roofline.d, h: settings.roofline.h, bs: settings.roofline.b },
    ),
  estimateMs(params, settings, engine) {
    const { b, n, d, h, dtype_bytes: s } = params;
    if (s !== 4 || decodeCost({ b, n, d, h, g: h, s: 4 }).kvCacheBytes > settings.max_cache_bytes) return 0;
    if (engine === 'onnx') {
      // onnx on the reference machine: a step streams its bytes at about 10 GB/s; fresh inputs are filled at about
      // 1.2 GB/s (page faults included) once per round, and the memory probe fills its own copy once. (The first
      // point of a run at a new size of about 1 GiB pays some 3 – 4 s more, not modelled.)
      const cost = decodeCost({ b, n, d, h, g: kvHeads(params), s });
      const call = 0.05 + cost.bytesTotal / 1e7;
      const fill = (cost.kvCacheBytes + cost.bytesWeights) / 1.2e6;
      return fill + call + settings.rounds * fill + roundsMs(settings.rounds, call, timingWindow(settings));
    }
    // Fitted on the reference machine: a step streams its bytes at about 4.5 GB/s; filling the cache runs at
    // about 1 GB/s and the weights at about 1.2 GB/s; tf.profile's call costs about 3.3 ms per MB of weights
    // (fitted on d = 8192, h = 64: 2.5 – 9.7 s a point), which dominates at large d.
    const cost = decodeCost({ b, n, d, h, g: kvHeads(params), s });
    const call = 0.1 + cost.bytesTotal / 4.5e6;
    const profiled = call + cost.bytesWeights / 3e5;
    // per round: the cache and weights filled, then the round's warm-up and samples; once: the profiled call
    return profiled + settings.rounds * (cost.kvCacheBytes / 1e6 + cost.bytesWeights / 1.2e6) + roundsMs(settings.rounds, call, timingWindow(settings));
  },
  rounds: (settings: Settings) => settings.rounds,
  combine: (rounds) => combineRounds(rounds, (first, t) => ({ ...first, ...timingColumns(t, first.bytes_total, first.flops, first.predicted_ms) })),
  async run({ params, settings, round = ONE_ROUND }, ctx) {
    const { b, n, d, h, dtype_bytes: s, variant } = params;
    const g = kvHeads(params);
    const cost = decodeCost({ b, n, d, h, g, s });
    const row: DecodeRow = {
      variant, kv_heads: g, b, n, d, h, dtype_bytes: s, flops: cost.flops, bytes_weights: cost.bytesWeights,
      bytes_activations: cost.bytesActivations, bytes_kv_read: cost.bytesKvRead, bytes_kv_write: cost.bytesKvWrite,
      bytes_total: cost.bytesTotal, intensity: cost.intensity, kv_cache_bytes: cost.kvCacheBytes,
      time_ms: null, time_ci_low: null, time_ci_high: null, samples: null, measured_bytes: null, bandwidth_gbs: null, gflops: null,
      predicted_ms: null, time_over_bound: null, skipped_reason: null, time_samples_ms: null,
    };
    const mhaCache = decodeCost({ b, n, d, h, g: h, s: 4 }).kvCacheBytes;
    if (s !== 4) return [{ ...row, skipped_reason: 'float16 is analytic only: the steps are timed in float32' }];
    if (mhaCache > settings.max_cache_bytes) return [{ ...row, skipped_reason: `MHA cache ${(mhaCache / 2 ** 20).toFixed(0)} MiB > ${(settings.max_cache_bytes / 2 ** 20).toFixed(0)} MiB` }];
    const bw = ctx.setup.values['bandwidth_bytes_per_s'];
    const timed = (t: Timing, measuredBytes: number | null): DecodeRow[] => [
      { ...row, ...timingColumns(t, cost.bytesTotal, cost.flops, bw ? (cost.bytesTotal / bw) * 1e3 : null), measured_bytes: measuredBytes },
    ];
    const label = `${variant} at n=${n}`;
    if (ctx.backend === 'onnx') {
      const step = await onnxDecodeStep(await ctx.onnx(), { b, n, d, h, g });
      try {
        // The bytes a step holds are measured once, in the first round; every round times the step.
        const measuredBytes = round.index === 0 ? await step.measuredBytes() : null;
        return timed(await timeCall(step.step, { ...roundOptions(round, timingWindow(settings)), now: ctx.now, label }), measuredBytes);
      } finally {
        await step.release();
      }
    }

    const { tf } = ctx;
    const k = d / h;
    // Values do not change the time of dense products: constant fills are cheap to create at 1 GiB.
    const x = tf.fill([b, d], 0.01) as Tensor2D;
    const w = {
      wq: tf.fill([d, h * k], 0.01) as Tensor2D,
      wk: tf.fill([d, g * k], 0.01) as Tensor2D,
      wv: tf.fill([d, g * k], 0.01) as Tensor2D,
      wo: tf.fill([h * k, d], 0.01) as Tensor2D,
    };
    const cache = {
      k: Array.from({ length: b * g }, () => tf.fill([n, k], 0.01) as Tensor2D),
      vT: Array.from({ length: b * g }, () => tf.fill([k, n], 0.01) as Tensor2D),
    };
    try {
      // The bytes a step holds are measured once, in the first round; every round times the step.
      let measuredBytes: number | null = null;
      if (round.index === 0) {
        const before = tf.memory().numBytes;
        const profile = await tf.profile(() => {
          decodeStep(tf, x, w, cache, h, g).dispose();
          return [];
        });
        measuredBytes = profile.peakBytes - before;
      }
      const t = await timeCall(
        () => {
          const y = decodeStep(tf, x, w, cache, h, g);
          y.dataSync();
          y.dispose();
        },
        { ...roundOptions(round, timingWindow(settings)), now: ctx.now, label },
      );
      return timed(t, measuredBytes);
    } finally {
      tf.dispose([x, w.wq, w.wk, w.wv, w.wo, ...cache.k, ...cache.vT]);
    }
  },
});
