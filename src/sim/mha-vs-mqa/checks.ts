/**
 * Correctness of the decode step, as data: each check runs small random cases and reports the
 * largest absolute difference from its reference (and, for the homework's 3b, whether the
 * wrong head width is refused).
 */
import type * as tfc from '@tensorflow/tfjs-core';
import { NormalRng } from '../../random/normal.js';
import { decodeReference, decodeStep, type DecodePath } from './reference.js';

type TF = typeof tfc;

export interface DecodeCheck {
  check: string;
  description: string;
  max_abs_diff: number;
  /** The largest difference the check allows (float32 kernels: 1e-5 on outputs of size about 1). */
  tolerance: number;
  diff_over_tolerance: number;
  passed_shape: boolean;
}

/** A check at float32's tolerance, 1e-5. */
export function float32Check(c: Omit<DecodeCheck, 'tolerance' | 'diff_over_tolerance'>): DecodeCheck {
  return { ...c, tolerance: 1e-5, diff_over_tolerance: c.max_abs_diff / 1e-5 };
}

function randn(rng: NormalRng, n: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  rng.fill(a);
  for (let i = 0; i < n; i++) a[i] = a[i]! * scale;
  return a;
}

/** The cache as tensors per (sequence, kv head): K [n, k] and Vᵀ [kv, n], from [b, g, n, ·] arrays. */
function cacheTensors(tf: TF, kc: Float32Array, vc: Float32Array, bg: number, n: number, k: number, kv: number) {
  const kT: ReturnType<TF['tensor2d']>[] = [];
  const vT: ReturnType<TF['tensor2d']>[] = [];
  for (let i = 0; i < bg; i++) {
    kT.push(tf.tensor2d(kc.subarray(i * n * k, (i + 1) * n * k), [n, k]));
    const t = new Float32Array(kv * n);
    for (let s = 0; s < n; s++) for (let c = 0; c < kv; c++) t[c * n + s] = vc[(i * n + s) * kv + c]!;
    vT.push(tf.tensor2d(t, [kv, n]));
  }
  return { k: kT, vT };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Run the step for g kv heads and value head width kv; returns y and the float64 reference. */
function runCase(
  tf: TF,
  rng: NormalRng,
  dims: { b: number; d: number; h: number; g: number; n: number; kv: number },
  shared?: { wk: Float32Array; wv: Float32Array; kc: Float32Array; vc: Float32Array },
  path: DecodePath = 'auto',
) {
  const { b, d, h, g, n, kv } = dims;
  const k = d / h;
  const x = randn(rng, b * d);
  const wq = randn(rng, d * h * k, 1 / Math.sqrt(d));
  const wo = randn(rng, h * kv * d, 1 / Math.sqrt(h * kv));
  const wk = shared?.wk ?? randn(rng, d * g * k, 1 / Math.sqrt(d));
  const wv = shared?.wv ?? randn(rng, d * g * kv, 1 / Math.sqrt(d));
  const kc = shared?.kc ?? randn(rng, b * g * n * k);
  const vc = shared?.vc ?? randn(rng, b * g * n * kv);
  const y = tf.tidy(() =>
    decodeStep(
      tf,
      tf.tensor2d(x, [b, d]),
      {
        wq: tf.tensor2d(wq, [d, h * k]),
        wk: tf.tensor2d(wk, [d, g * k]),
        wv: tf.tensor2d(wv, [d, g * kv]),
        wo: tf.tensor2d(wo, [h * kv, d]),
      },
      cacheTensors(tf, kc, vc, b * g, n, k, kv),
      h,
      g,
      path,
    ),
  );
  const out = {
    y: y.dataSync() as Float32Array,
    shape: y.shape,
    ref: decodeReference(x, wq, wo, kc, vc, dims),
    x,
    wq,
    wo,
  };
  y.dispose();
  return out;
}

/** Every check, on both formulations of the step (one batched product, or one per item). */
export function decodeChecks(tf: TF, rng: NormalRng): DecodeCheck[] {
  return (['batched', 'per-item'] as const).flatMap((path) =>
    checksFor(tf, rng, path).map((c) => ({ ...c, check: `${c.check} (${path})` })),
  );
}

function checksFor(tf: TF, rng: NormalRng, path: DecodePath): DecodeCheck[] {
  const b = 2,
    d = 32,
    h = 8,
    n = 24,
    k = d / h;
  const checks: DecodeCheck[] = [];

  // MQA equals MHA when every head's K/V weights (and so cache) are the same.
  const wk1 = randn(rng, d * k, 1 / Math.sqrt(d));
  const wv1 = randn(rng, d * k, 1 / Math.sqrt(d));
  const kc1 = randn(rng, b * n * k);
  const vc1 = randn(rng, b * n * k);
  const tileCols = (w: Float32Array) =>
    Float32Array.from({ length: d * h * k }, (_, i) => w[Math.floor(i / (h * k)) * k + (i % k)]!);
  const tileCache = (c: Float32Array) =>
    Float32Array.from({ length: b * h * n * k }, (_, i) => c[Math.floor(i / (h * n * k)) * n * k + (i % (n * k))]!);
  const seed = rng.nextInt32();
  const mqa = runCase(tf, rngFrom(seed), { b, d, h, g: 1, n, kv: k }, { wk: wk1, wv: wv1, kc: kc1, vc: vc1 }, path);
  const mha = runCase(
    tf,
    rngFrom(seed),
    { b, d, h, g: h, n, kv: k },
    { wk: tileCols(wk1), wv: tileCols(wv1), kc: tileCache(kc1), vc: tileCache(vc1) },
    path,
  );
  checks.push(
    float32Check({
      check: 'mqa-equals-mha-shared-kv',
      description: 'MQA = MHA when every head has the same K/V weights',
      max_abs_diff: maxAbsDiff(mqa.y, mha.y),
      passed_shape: true,
    }),
  );

  for (const [name, g, description] of [
    ['gqa-g=h-is-mha', h, 'GQA with g = h against the per-head MHA loop'],
    ['gqa-g=2', 2, 'GQA with g = 2 against the per-head loop'],
    ['gqa-g=1-is-mqa', 1, 'GQA with g = 1 against the per-head MQA loop'],
  ] as const) {
    const r = runCase(tf, rng, { b, d, h, g, n, kv: k }, undefined, path);
    checks.push(
      float32Check({ check: name, description, max_abs_diff: maxAbsDiff(r.y, r.ref), passed_shape: r.shape[1] === d }),
    );
  }

  // The homework's 3b: W_v is 2·d_model wide, so the value head width is 2k; split and merge must both use it.
  const wide = runCase(tf, rng, { b, d, h, g: h, n, kv: 2 * k }, undefined, path);
  let refusesWrongWidth = false;
  try {
    tf.tidy(() =>
      decodeStep(
        tf,
        tf.zeros([b, d]),
        { wq: tf.zeros([d, d]), wk: tf.zeros([d, d]), wv: tf.zeros([d, 2 * d]), wo: tf.zeros([h * k, d]) },
        {
          k: Array.from({ length: b * h }, () => tf.zeros([n, k]) as ReturnType<TF['tensor2d']>),
          vT: Array.from({ length: b * h }, () => tf.zeros([2 * k, n]) as ReturnType<TF['tensor2d']>),
        },
        h,
        h,
        path,
      ),
    );
  } catch {
    refusesWrongWidth = true; // merging o (h·2k wide) into a W_o built for h·k rows cannot run
  }
  checks.push(
    float32Check({
      check: 'wide-values-3b',
      description:
        'values 2·d_model wide: runs with the value head width in split and merge, output d_model wide, equals the per-head loop; a merge built for width k is refused',
      max_abs_diff: maxAbsDiff(wide.y, wide.ref),
      passed_shape: wide.shape[1] === d && refusesWrongWidth,
    }),
  );
  return checks;
}

/** A generator for replaying the same draws in two cases. */
function rngFrom(seed: number): NormalRng {
  return new NormalRng(Uint32Array.of(seed >>> 0, 0x9e3779b9, 7, 11));
}
