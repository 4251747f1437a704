/**
 * mha-vs-mqa on the onnx engine: the decode step as one ONNX Runtime session per shape, over inputs made once per
 * point (the weights and the KV cache are wrapped, not copied, on every call: the setup checks it), and the
 * machine probes (bandwidth, peak FLOP/s) run on the same engine.
 */
import type * as Ort from 'onnxruntime-node';
import {
  decodeGraph,
  sumGraph,
  decodeInputs,
  firstElementGraph,
  matMulGraph,
  gqaOpGraph,
  gqaOpInputs,
  mlaGraph,
  mlaInputs,
  type DecodeShape,
  type GqaOpShape,
  type MlaGraphShape,
} from './graphs.js';
import { fromHalfBits, toHalfBits, type ElemType } from '../../engine/onnx/graph.js';
import type { OnnxEngine, OnnxRun } from '../../engine/onnx/engine.js';
import type { NormalRng } from '../../random/normal.js';
import { chooseScales, decodeReference, gqaOpReference, matmul64, mlaReference, quantizeCache } from './reference.js';
import { float32Check, type DecodeCheck } from './checks.js';
import { probeMs } from '../timing.js';
import { castInputs } from '../../engine/onnx/casts.js';

const size = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

function feeds(engine: OnnxEngine, dims: Record<string, number[]>, value: number): Record<string, Ort.Tensor> {
  return Object.fromEntries(
    Object.entries(dims).map(([name, d]) => [
      name,
      new engine.ort.Tensor('float32', new Float32Array(size(d)).fill(value), d),
    ]),
  );
}

export interface OnnxStep {
  step(): Promise<void>;
  /**
   * Peak resident bytes of one step beyond its inputs (null where the probe is unavailable or the inputs are not
   * float32).
   */
  measuredBytes(): Promise<number | null>;
  release(): Promise<void>;
}

/** What one timed step runs: a kernel, a variant's shape, the cache's number type. */
export type StepSpec =
  | { kernel: 'graph'; shape: DecodeShape }
  | { kernel: 'gqa-op'; shape: GqaOpShape }
  | { kernel: 'mla'; shape: MlaGraphShape };

const HALF_001 = toHalfBits([0.01])[0]!;

/**
 * A tensor of constant value: values do not change the time of dense products, and constant fills are cheap at 1 GiB.
 */
function constant(engine: OnnxEngine, elem: ElemType, dims: number[]): Ort.Tensor {
  const len = size(dims);
  switch (elem) {
    case 'float16':
      return new engine.ort.Tensor('float16', new Uint16Array(len).fill(HALF_001), dims);
    case 'int8':
      return new engine.ort.Tensor('int8', new Int8Array(len).fill(1), dims);
    case 'uint8':
      return new engine.ort.Tensor('uint8', new Uint8Array(len).fill(0x11), dims);
    default:
      return new engine.ort.Tensor('float32', new Float32Array(len).fill(0.01), dims);
  }
}

/** The model and its constant inputs, with the names the timed call fetches. */
export function stepModel(
  engine: OnnxEngine,
  spec: StepSpec,
): {
  model: Uint8Array;
  inputs: Record<string, Ort.Tensor>;
  fetch: string[];
  floatDims: Record<string, number[]> | null;
} {
  if (spec.kernel === 'gqa-op') {
    const { shape } = spec;
    const inputs: Record<string, Ort.Tensor> = {};
    for (const [name, [dims, elem]] of Object.entries(gqaOpInputs(shape))) inputs[name] = constant(engine, elem, dims);
    // n tokens in the cache, the new one lands at n: seqlens_k is the total length less one.
    inputs['seqlens_k'] = new engine.ort.Tensor('int32', new Int32Array(shape.b).fill(shape.n), [shape.b]);
    inputs['total_sequence_length'] = new engine.ort.Tensor('int32', Int32Array.of(shape.n + 1), [1]);
    return { model: gqaOpGraph(shape), inputs, fetch: ['y'], floatDims: null };
  }
  const dims = spec.kernel === 'mla' ? mlaInputs(spec.shape) : decodeInputs(spec.shape);
  const elem = spec.shape.elem ?? 'float32';
  const model = spec.kernel === 'mla' ? mlaGraph(spec.shape) : decodeGraph(spec.shape);
  return {
    model,
    inputs: Object.fromEntries(Object.entries(dims).map(([name, d]) => [name, constant(engine, elem, d)])),
    fetch: ['y'],
    floatDims: elem === 'float32' ? dims : null,
  };
}

export async function onnxDecodeStep({ engine, probe }: OnnxRun, spec: StepSpec): Promise<OnnxStep> {
  const { model, inputs, fetch, floatDims } = stepModel(engine, spec);
  const session = await engine.session(model);
  return {
    step: async () => void (await session.run(inputs, fetch)),
    measuredBytes: async () =>
      probe && floatDims ? probe.peak(model, floatDims, `decode step (${spec.kernel})`) : null,
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
export async function onnxInputCopyCheck(
  { engine }: OnnxRun,
  now: () => number,
): Promise<{ largeMs: number; smallMs: number; first: number }> {
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
export async function onnxDecodeChecks(
  run: OnnxRun,
  rng: NormalRng,
  now: () => number,
): Promise<{ checks: DecodeCheck[]; values: Record<string, number> }> {
  const { engine } = run;
  const b = 2,
    d = 32,
    h = 8,
    n = 24,
    k = d / h;
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
    for (let i = 0; i < b * g; i++)
      for (let t = 0; t < n; t++) for (let c = 0; c < k; c++) kT[(i * k + c) * n + t] = kc[(i * n + t) * k + c]!;
    const values: Record<string, Float32Array> = { x, Wq: wq, Wk: wk, Wv: wv, Wo: wo, Kt: kT, V: vc };
    const session = await engine.session(decodeGraph(shape));
    try {
      const out = await session.run(
        Object.fromEntries(
          Object.entries(dims).map(([name, dd]) => [name, new engine.ort.Tensor('float32', values[name]!, dd)]),
        ),
      );
      const y = out.y!;
      const ref = decodeReference(x, wq, wo, kc, vc, { b, d, h, g, n, kv: k });
      let diff = 0;
      for (let i = 0; i < ref.length; i++) diff = Math.max(diff, Math.abs((y.data as Float32Array)[i]! - ref[i]!));
      checks.push(
        float32Check({
          check: `onnx-graph-g=${g}`,
          description: `the ONNX graph of the step (g = ${g}) against the per-head loop`,
          max_abs_diff: diff,
          passed_shape: y.dims.join() === `${b},${d}`,
        }),
      );
    } finally {
      await session.release();
    }
  }
  const copy = await onnxInputCopyCheck(run, now);
  // max_abs_diff: the first element read back against the value written (1).
  checks.push(
    float32Check({
      check: 'onnx-inputs-in-place',
      description:
        'a call reads its inputs where they lie: the first element of a 256 MiB input at most 3× (+ 0.05 ms) as slow as that of a 1 KiB one (a copy of 256 MiB takes tens of ms; the times are in the manifest)',
      max_abs_diff: Math.abs(copy.first - 1),
      passed_shape: copy.largeMs < 3 * copy.smallMs + 0.05,
    }),
  );
  return { checks, values: { input_first_element_ms_256MiB: copy.largeMs, input_first_element_ms_1KiB: copy.smallMs } };
}

/**
 * Tolerances of the kernels against their float64 references, on outputs of size about 1 (see
 * docs/experiments/mha-vs-mqa.md).
 */
export const TOLERANCE = { float32: 1e-5, float16: 2e-2, int8: 1e-4, int4: 1e-4 } as const;

type Draw = (count: number, scale: number) => Float32Array;

function drawer(rng: NormalRng): Draw {
  return (count, scale) => {
    const a = new Float32Array(count);
    rng.fill(a);
    return a.map((v) => v * scale);
  };
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/**
 * The past cache as GroupQueryAttention reads it (n tokens and room for the new one), in the shape's cache type:
 * quantized with its scales (int8, int4), in float16, or float32; with the cache the reference reads and how it
 * stores the new token (as the op does: quantized with the same scales, or rounded to float16).
 */
function pastCacheFeeds(
  engine: OnnxEngine,
  shape: GqaOpShape,
  c: { kc: Float32Array; vc: Float32Array },
  inputs: ReturnType<typeof gqaOpInputs>,
) {
  const { b, n, d, h, g, kv, scales } = shape;
  const k = d / h;
  const half = kv === 'float16';
  const { kc, vc } = c;
  const dims = { b, g, t: n, k };
  // The past buffer holds n tokens and room for the new one: [b, g, n + 1, ·].
  const padded = (
    a: ArrayLike<number>,
    per: number,
    T: { new (len: number): ArrayLike<number> & { [i: number]: number } },
  ) => {
    const out = new T(b * g * (n + 1) * per);
    for (let bg = 0; bg < b * g; bg++)
      for (let i = 0; i < n * per; i++) out[bg * (n + 1) * per + i] = a[bg * n * per + i]!;
    return out;
  };
  const feeds: Record<string, Ort.Tensor> = {};
  let cache = { k: kc as ArrayLike<number>, v: vc as ArrayLike<number> };
  let store = (a: Float64Array) => a;
  if (kv === 'int8' || kv === 'int4') {
    const bits = kv === 'int8' ? 8 : 4;
    const ks = chooseScales(kc, dims, bits, scales === 'per-channel');
    const vs = chooseScales(vc, dims, bits, scales === 'per-channel');
    const qk = quantizeCache(kc, dims, bits, ks);
    const qv = quantizeCache(vc, dims, bits, vs);
    cache = { k: qk.dequantized, v: qv.dequantized };
    // The op quantizes the new token with the same scales as it appends it.
    store = (a: Float64Array, which?: 'k' | 'v') =>
      quantizeCache(a, { b, g, t: 1, k }, bits, which === 'v' ? vs : ks).dequantized;
    const per = bits === 8 ? k : k / 2;
    const T = bits === 8 ? Int8Array : Uint8Array;
    feeds['past_key'] = new engine.ort.Tensor(
      bits === 8 ? 'int8' : 'uint8',
      padded(qk.data, per, T) as Int8Array,
      inputs['past_key']![0],
    );
    feeds['past_value'] = new engine.ort.Tensor(
      bits === 8 ? 'int8' : 'uint8',
      padded(qv.data, per, T) as Int8Array,
      inputs['past_value']![0],
    );
    feeds['k_scale'] = new engine.ort.Tensor('float32', ks, inputs['k_scale']![0]);
    feeds['v_scale'] = new engine.ort.Tensor('float32', vs, inputs['v_scale']![0]);
  } else if (half) {
    store = (a: Float64Array) => fromHalfBits(toHalfBits(a));
    feeds['past_key'] = new engine.ort.Tensor(
      'float16',
      toHalfBits(padded(kc, k, Float32Array)),
      inputs['past_key']![0],
    );
    feeds['past_value'] = new engine.ort.Tensor(
      'float16',
      toHalfBits(padded(vc, k, Float32Array)),
      inputs['past_value']![0],
    );
  } else {
    feeds['past_key'] = new engine.ort.Tensor(
      'float32',
      padded(kc, k, Float32Array) as Float32Array,
      inputs['past_key']![0],
    );
    feeds['past_value'] = new engine.ort.Tensor(
      'float32',
      padded(vc, k, Float32Array) as Float32Array,
      inputs['past_value']![0],
    );
  }
  return { feeds, cache, store };
}

/**
 * One GroupQueryAttention step on random inputs against gqaOpReference; also returns the tensors for the sharing check.
 */
async function gqaOpCase(engine: OnnxEngine, draw: Draw, shape: GqaOpShape) {
  const { b, n, d, h, g, kv, window } = shape;
  const k = d / h;
  const half = kv === 'float16';
  const round = (a: Float32Array) => (half ? Float32Array.from(fromHalfBits(toHalfBits(a))) : a);
  const w = {
    x: round(draw(b * d, 1)),
    wq: round(draw(d * h * k, 1 / Math.sqrt(d))),
    wk: round(draw(d * g * k, 1 / Math.sqrt(d))),
    wv: round(draw(d * g * k, 1 / Math.sqrt(d))),
    wo: round(draw(h * k * d, 1 / Math.sqrt(h * k))),
  };
  const kc = round(draw(b * g * n * k, 1));
  const vc = round(draw(b * g * n * k, 1));
  const inputs = gqaOpInputs(shape);
  const { feeds, cache, store } = pastCacheFeeds(engine, shape, { kc, vc }, inputs);
  for (const [name, value] of [
    ['x', w.x],
    ['Wq', w.wq],
    ['Wk', w.wk],
    ['Wv', w.wv],
    ['Wo', w.wo],
  ] as const) {
    feeds[name] = half
      ? new engine.ort.Tensor('float16', toHalfBits(value), inputs[name]![0])
      : new engine.ort.Tensor('float32', value, inputs[name]![0]);
  }
  feeds['seqlens_k'] = new engine.ort.Tensor('int32', new Int32Array(b).fill(n), [b]);
  feeds['total_sequence_length'] = new engine.ort.Tensor('int32', Int32Array.of(n + 1), [1]);
  const ref = gqaOpReference(w, cache, { b, d, h, g, n, window }, (a, which) =>
    (store as (a: Float64Array, which: 'k' | 'v') => Float64Array)(a, which),
  );
  const session = await engine.session(gqaOpGraph(shape));
  return { session, feeds, ref, w, k };
}

/**
 * The engine kernels against their float64 references: GroupQueryAttention for g = h, 2, 1 in float32, for each cache
 * type, under a window; the MLA graph; and whether onnxruntime-node lets present share past's buffer.
 */
export async function onnxKernelChecks({ engine }: OnnxRun, rng: NormalRng): Promise<DecodeCheck[]> {
  const draw = drawer(rng);
  const checks: DecodeCheck[] = [];
  const b = 2,
    d = 128,
    h = 4,
    n = 24,
    k = d / h;
  const cases: [string, GqaOpShape][] = [
    ...[h, 2, 1].map(
      (g) => [`gqa-op-g=${g}`, { b, n, d, h, g, kv: 'float32', scales: 'per-channel' }] as [string, GqaOpShape],
    ),
    ['gqa-op-float16', { b, n, d, h, g: 2, kv: 'float16', scales: 'per-channel' }],
    ['gqa-op-int8-per-channel', { b, n, d, h, g: 2, kv: 'int8', scales: 'per-channel' }],
    ['gqa-op-int8-per-tensor', { b, n, d, h, g: 1, kv: 'int8', scales: 'per-tensor' }],
    ['gqa-op-int4-per-channel', { b, n, d, h, g: 2, kv: 'int4', scales: 'per-channel' }],
    ['gqa-op-int4-per-tensor', { b, n, d, h, g: h, kv: 'int4', scales: 'per-tensor' }],
    // A rolling buffer of 8 tokens, full: the op reads the last 8 of the 9 (8 cached and the new one).
    ['gqa-op-window', { b, n: 8, d, h, g: 2, kv: 'float32', scales: 'per-channel', window: 8 }],
  ];
  for (const [name, shape] of cases) {
    const { session, feeds, ref } = await gqaOpCase(engine, draw, shape);
    try {
      const y = (await session.run(feeds, ['y']))['y']!;
      const data = shape.kv === 'float16' ? fromHalfBits(y.data as Uint16Array) : (y.data as Float32Array);
      const tolerance = TOLERANCE[shape.kv];
      const diff = maxDiff(data, ref);
      checks.push({
        check: name,
        description: `GroupQueryAttention, ${shape.kv} cache${shape.kv.startsWith('int') ? ` (${shape.scales} scales)` : ''}, g = ${shape.g}${shape.window ? `, window ${shape.window}` : ''}, against the float64 loop${shape.kv.startsWith('int') ? ' on the dequantized cache' : ''}`,
        max_abs_diff: diff,
        tolerance,
        diff_over_tolerance: diff / tolerance,
        passed_shape: y.dims.join() === `${b},${d}`,
      });
    } finally {
      await session.release();
    }
  }

  checks.push(await mlaCheck(engine, draw, b, n));
  checks.push(...(await presentSharingChecks(engine, draw, { n, d, h, k })));
  return checks;
}

/** MLA with absorbed projections (latent 16, RoPE 8) against its per-head loop. */
async function mlaCheck(engine: OnnxEngine, draw: Draw, b: number, n: number): Promise<DecodeCheck> {
  const m = { b, n, d: 32, h: 4, dc: 16, dr: 8 };
  const mk = m.d / m.h;
  const mw = {
    x: draw(b * m.d, 1),
    Wq: draw(m.d * m.d, 1 / Math.sqrt(m.d)),
    Wuk: draw(m.h * mk * m.dc, 1 / Math.sqrt(mk)),
    Wqr: draw(m.d * m.h * m.dr, 1 / Math.sqrt(m.d)),
    Wdkv: draw(m.d * m.dc, 1 / Math.sqrt(m.d)),
    Wkr: draw(m.d * m.dr, 1 / Math.sqrt(m.d)),
    Wuv: draw(m.h * m.dc * mk, 1 / Math.sqrt(m.dc)),
    Wo: draw(m.d * m.d, 1 / Math.sqrt(m.d)),
    C: draw(b * n * m.dc, 1),
    KR: draw(b * n * m.dr, 1),
  };
  const mla = await engine.session(mlaGraph(m));
  try {
    const dims = mlaInputs(m);
    const y = (
      await mla.run(
        Object.fromEntries(
          Object.entries(mw).map(([name, v]) => [name, new engine.ort.Tensor('float32', v, dims[name]!)]),
        ),
        ['y'],
      )
    )['y']!;
    const diff = maxDiff(y.data as Float32Array, mlaReference(mw, m));
    return {
      check: 'mla-graph',
      description:
        'the MLA step with absorbed projections (latent 16, RoPE 8) against the per-head loop over the latent cache',
      max_abs_diff: diff,
      tolerance: TOLERANCE.float32,
      diff_over_tolerance: diff / TOLERANCE.float32,
      passed_shape: y.dims.join() === `${b},${m.d}`,
    };
  } finally {
    await mla.release();
  }
}

/**
 * Present handed in as past's own buffer: the op appends in place (past's slot n holds the new key), but
 * onnxruntime-node returns each fetched output as a copy (a write to it leaves past unchanged).
 */
async function presentSharingChecks(
  engine: OnnxEngine,
  draw: Draw,
  o: { n: number; d: number; h: number; k: number },
): Promise<DecodeCheck[]> {
  const { n, d, h, k } = o;
  const checks: DecodeCheck[] = [];
  const shape: GqaOpShape = { b: 1, n, d, h, g: 2, kv: 'float32', scales: 'per-channel' };
  const { session, feeds, w } = await gqaOpCase(engine, draw, shape);
  try {
    const past = feeds['past_key']!;
    const out = await session.run(feeds, {
      y: new engine.ort.Tensor('float32', new Float32Array(d), [1, d]),
      present_key: past,
      present_value: feeds['past_value']!,
    });
    const kNew = matmul64(w.x, w.wk, 1, d, 2 * k);
    const slot = (past.data as Float32Array).subarray(n * k, (n + 1) * k); // kv head 0, position n
    const appendDiff = maxDiff(slot, kNew.subarray(0, k));
    const returned = out['present_key']!.data as Float32Array;
    const before = (past.data as Float32Array)[0]!;
    returned[0] = before + 1;
    const aliased = (past.data as Float32Array)[0] !== before;
    checks.push({
      check: 'gqa-op-present-shares-past',
      description:
        "present handed in as past's buffer: the op appends the new key in place (past's slot n holds x·W_k); max_abs_diff against x·W_k",
      max_abs_diff: appendDiff,
      tolerance: TOLERANCE.float32,
      diff_over_tolerance: appendDiff / TOLERANCE.float32,
      passed_shape: true,
    });
    checks.push({
      check: 'gqa-op-fetched-present-is-a-copy',
      description:
        "…but onnxruntime-node returns every fetched output as a copy (a write to the returned present leaves past's buffer as it was): an in-place step pays a copy of the whole cache, so the timed step fetches y alone and ONNX Runtime copies past into its own present (counted in bytes_kv_copy)",
      max_abs_diff: 0,
      tolerance: 1,
      diff_over_tolerance: 0,
      passed_shape: !aliased,
    });
  } finally {
    await session.release();
  }
  return checks;
}

/**
 * Whether the engine runs each kernel's float16 step natively, or converts the cache to float32 first (a Cast on the
 * cache input in the session's optimized graph): 1 native, 0 converted. The node types do not depend on the shape.
 */
export async function float16Native({ engine }: OnnxRun): Promise<Record<'graph' | 'gqa-op' | 'mla', number>> {
  const graph = await castInputs(engine, decodeGraph({ b: 1, n: 16, d: 64, h: 4, g: 2, elem: 'float16' }), ['Kt', 'V']);
  const op = await castInputs(
    engine,
    gqaOpGraph({ b: 1, n: 16, d: 64, h: 4, g: 2, kv: 'float16', scales: 'per-channel' }),
    ['past_key', 'past_value'],
  );
  const mla = await castInputs(engine, mlaGraph({ b: 1, n: 16, d: 64, h: 4, dc: 16, dr: 8, elem: 'float16' }), [
    'C',
    'KR',
  ]);
  return { graph: graph.length ? 0 : 1, 'gqa-op': op.length ? 0 : 1, mla: mla.length ? 0 : 1 };
}
