/**
 * mha-vs-mqa on the onnx engine: the decode step as one ONNX Runtime session per shape, over inputs made once per
 * point (the weights and the KV cache are wrapped, not copied, on every call: the setup checks it), and the
 * machine probes (bandwidth, peak FLOP/s) run on the same engine.
 */
import type * as Ort from 'onnxruntime-node';
import { decodeGraph, sumGraph, decodeInputs, firstElementGraph, matMulGraph, type DecodeShape } from './graphs.js';
import type { OnnxEngine, OnnxRun } from '../../engine/onnx/engine.js';
import type { NormalRng } from '../../random/normal.js';
import { decodeReference } from './reference.js';
import type { DecodeCheck } from './checks.js';
import { probeMs } from '../timing.js';

const size = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

function feeds(engine: OnnxEngine, dims: Record<string, number[]>, value: number): Record<string, Ort.Tensor> {
  return Object.fromEntries(Object.entries(dims).map(([name, d]) => [name, new engine.ort.Tensor('float32', new Float32Array(size(d)).fill(value), d)]));
}

export interface OnnxStep {
  step(): Promise<void>;
  /** Peak resident bytes of one step beyond its inputs (null where the probe is unavailable). */
  measuredBytes(): Promise<number | null>;
  release(): Promise<void>;
}

export async function onnxDecodeStep({ engine, probe }: OnnxRun, shape: DecodeShape): Promise<OnnxStep> {
  const model = decodeGraph(shape);
  const dims = decodeInputs(shape);
  const session = await engine.session(model);
  // Values do not change the time of dense products: constant fills are cheap to create at 1 GiB.
  const inputs = feeds(engine, dims, 0.01);
  return {
    step: async () => void (await session.run(inputs)),
    measuredBytes: async () => (probe ? probe.peak(model, dims, 'decode step') : null),
    release: () => session.release(),
  };
}

/** Read bandwidth (the sum of 64 Mi floats: 256 MiB read) and peak FLOP/s (a 1024³ product) on the onnx engine. */
export async function onnxProbes({ engine }: OnnxRun, now: () => number): Promise<{ bandwidth: number; peak: number }> {
  const length = 1 << 26;
  const sum = await engine.session(sumGraph(length));
  const mm = await engine.session(matMulGraph(1024));
  try {
    const a = feeds(engine, { a: [length] }, 1);
    const bandwidth = (4 * length) / ((await probeMs(now, () => sum.run(a), 'bandwidth probe')) / 1e3);
    const m = feeds(engine, { a: [1024, 1024], b: [1024, 1024] }, 0.5);
    const peak = (2 * 1024 ** 3) / ((await probeMs(now, () => mm.run(m), 'peak FLOP/s probe')) / 1e3);
    return { bandwidth, peak };
  } finally {
    await Promise.all([sum.release(), mm.release()]);
  }
}

/**
 * Whether a call copies its inputs: the first element of a 256 MiB input against that of a 1 KiB one. A copy of
 * 256 MiB takes tens of ms; reading one element in place, the two calls take the same few µs.
 */
export async function onnxInputCopyCheck({ engine }: OnnxRun, now: () => number): Promise<{ largeMs: number; smallMs: number; first: number }> {
  let first = NaN;
  const ms = async (length: number) => {
    const s = await engine.session(firstElementGraph(length));
    try {
      const a = feeds(engine, { a: [length] }, 1);
      first = ((await s.run(a)).first!.data as Float32Array)[0]!;
      return await probeMs(now, () => s.run(a), `input copy probe (${length} floats)`);
    } finally {
      await s.release();
    }
  };
  return { largeMs: await ms(1 << 26), smallMs: await ms(256), first };
}

/** The ONNX graph of the step against the float64 per-head loop, for g = h, 2 and 1; and the input-copy probe. */
export async function onnxDecodeChecks(run: OnnxRun, rng: NormalRng, now: () => number): Promise<{ checks: DecodeCheck[]; values: Record<string, number> }> {
  const { engine } = run;
  const b = 2, d = 32, h = 8, n = 24, k = d / h;
  const checks: DecodeCheck[] = [];
  for (const g of [h, 2, 1]) {
    const shape = { b, n, d, h, g };
    const dims = decodeInputs(shape);
    const draw = (count: number, scale: number) => {
      const a = new Float32Array(count);
      rng.fill(a);
      return a.map((v) => v * scale);
    };
    const x = draw(b * d, 1);
    const wq = draw(d * h * k, 1 / Math.sqrt(d));
    const wk = draw(d * g * k, 1 / Math.sqrt(d));
    const wv = draw(d * g * k, 1 / Math.sqrt(d));
    const wo = draw(h * k * d, 1 / Math.sqrt(h * k));
    const kc = draw(b * g * n * k, 1);
    const vc = draw(b * g * n * k, 1);
    // The graph reads K as Kᵀ per (sequence, kv head): [b, g, k, n].
    const kT = new Float32Array(kc.length);
    for (let i = 0; i < b * g; i++) for (let t = 0; t < n; t++) for (let c = 0; c < k; c++) kT[(i * k + c) * n + t] = kc[(i * n + t) * k + c]!;
    const values: Record<string, Float32Array> = { x, Wq: wq, Wk: wk, Wv: wv, Wo: wo, Kt: kT, V: vc };
    const session = await engine.session(decodeGraph(shape));
    try {
      const out = await session.run(Object.fromEntries(Object.entries(dims).map(([name, dd]) => [name, new engine.ort.Tensor('float32', values[name]!, dd)])));
      const y = out.y!;
      const ref = decodeReference(x, wq, wo, kc, vc, { b, d, h, g, n, kv: k });
      let diff = 0;
      for (let i = 0; i < ref.length; i++) diff = Math.max(diff, Math.abs((y.data as Float32Array)[i]! - ref[i]!));
      checks.push({ check: `onnx-graph-g=${g}`, description: `the ONNX graph of the step (g = ${g}) against the per-head loop`, max_abs_diff: diff, passed_shape: y.dims.join() === `${b},${d}` });
    } finally {
      await session.release();
    }
  }
  const copy = await onnxInputCopyCheck(run, now);
  // max_abs_diff: the first element read back against the value written (1).
  checks.push({
    check: 'onnx-inputs-in-place',
    description: 'a call reads its inputs where they lie: the first element of a 256 MiB input at most 3× (+ 0.05 ms) as slow as that of a 1 KiB one (a copy of 256 MiB takes tens of ms; the times are in the manifest)',
    max_abs_diff: Math.abs(copy.first - 1),
    passed_shape: copy.largeMs < 3 * copy.smallMs + 0.05,
  });
  return { checks, values: { input_first_element_ms_256MiB: copy.largeMs, input_first_element_ms_1KiB: copy.smallMs } };
}
