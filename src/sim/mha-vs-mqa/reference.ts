/**
 * One incremental decoding step in tfjs, after the homework's einsums:
 *   q = einsum('bd,dhk->bhk', x, W_q)          k_new, v_new = x·W_k, x·W_v   (g heads)
 *   logits = einsum('bhk,bgnk->bhn') / √k      (query head i reads kv head ⌊i/(h/g)⌋)
 *   o = einsum('bhn,bgnv->bhv', softmax(logits), V)      y = einsum('bhv,hvd->bd', o, W_o)
 * On wasm a batched matMul (batch > 1) runs a naive kernel at ~1.6 GFLOP/s, and the right operand
 * of a 2D product is repacked on every call; so the cache is kept per (sequence, kv head) as the
 * LEFT operand of 2D products, K as [n, k] and V transposed as [kv, n], and only the small query
 * side is repacked. Each product costs ~40 µs of dispatch, though, so when a (sequence, kv head)
 * item is small (r·n·k < 32 000: the naive kernel's time at ~1.6 GFLOP/s is below that dispatch)
 * one batched product over all items is faster: the step picks by that rule, the same for every
 * variant, so time differences are bytes and dispatch, not a kernel that only one variant gets.
 * The value head width kv may differ from k (the homework's 3b: a value projection 2·d_model
 * wide): the split of V and the merge into W_o must both use it.
 */
import type * as tfc from '@tensorflow/tfjs-core';

type TF = typeof tfc;

export interface DecodeWeights {
  /** d × h·k */
  wq: tfc.Tensor2D;
  /** d × g·k */
  wk: tfc.Tensor2D;
  /** d × g·kv */
  wv: tfc.Tensor2D;
  /** h·kv × d */
  wo: tfc.Tensor2D;
}

export interface DecodeCache {
  /** Per (sequence, kv head), index b_i·g + g_i: K as [n, k]. */
  k: tfc.Tensor2D[];
  /** Per (sequence, kv head): Vᵀ as [kv, n]. */
  vT: tfc.Tensor2D[];
}

/** Below this many multiply-adds per (sequence, kv head), one batched product beats per-item dispatch. */
export const BATCHED_BELOW = 32_000;

export type DecodePath = 'auto' | 'batched' | 'per-item';

/** y (b × d) for x (b × d); also computes the new token's k and v (their cache write is in the cost model). */
export function decodeStep(
  tf: TF,
  x: tfc.Tensor2D,
  w: DecodeWeights,
  cache: DecodeCache,
  h: number,
  g: number,
  path: DecodePath = 'auto',
): tfc.Tensor2D {
  const [b] = x.shape;
  const k = w.wq.shape[1] / h;
  const [kv, n] = cache.vT[0]!.shape;
  const r = h / g;
  const batched = path === 'batched' || (path === 'auto' && r * n * k < BATCHED_BELOW);
  return tf.tidy(() => {
    // q per (sequence, kv head), scaled by 1/√k here rather than on the n scores.
    const q = tf.mul(tf.reshape(tf.matMul(x, w.wq), [b * g, r, k]), 1 / Math.sqrt(k));
    tf.matMul(x, w.wk);
    tf.matMul(x, w.wv);
    if (batched) {
      const scores = tf.matMul(q, tf.stack(cache.k) as tfc.Tensor3D, false, true); // [b·g, r, n]
      const o = tf.matMul(tf.softmax(scores), tf.stack(cache.vT) as tfc.Tensor3D, false, true); // [b·g, r, kv]
      return tf.matMul(tf.reshape(o, [b, h * kv]), w.wo);
    }
    const qT = tf.unstack(tf.transpose(q, [0, 2, 1])) as tfc.Tensor2D[];
    const oT = qT.map((qi, i) => {
      const scoresT = tf.matMul(cache.k[i]!, qi); // [n, r]
      const weightsT =
        r === 1
          ? tf.reshape(tf.softmax(tf.reshape(scoresT, [1, -1])), [-1, 1])
          : tf.transpose(tf.softmax(tf.transpose(scoresT)));
      return tf.matMul(cache.vT[i]!, weightsT as tfc.Tensor2D); // [kv, r]
    });
    const o = tf.transpose(tf.stack(oT), [0, 2, 1]); // [b·g, r, kv]
    return tf.matMul(tf.reshape(o, [b, h * kv]), w.wo);
  });
}

/** The same step as a per-head loop in float64: the reference for every variant. */
export function decodeReference(
  x: ArrayLike<number>,
  wq: ArrayLike<number>,
  wo: ArrayLike<number>,
  kCache: ArrayLike<number>,
  vCache: ArrayLike<number>,
  dims: { b: number; d: number; h: number; g: number; n: number; kv: number },
): Float64Array {
  const { b, d, h, g, n, kv } = dims;
  const k = d / h;
  const y = new Float64Array(b * d);
  for (let bi = 0; bi < b; bi++) {
    for (let hi = 0; hi < h; hi++) {
      const gi = Math.floor(hi / (h / g));
      const q = new Float64Array(k);
      for (let c = 0; c < k; c++)
        for (let j = 0; j < d; j++) q[c] = q[c]! + x[bi * d + j]! * wq[j * h * k + hi * k + c]!;
      // kCache is [b, g, n, k] and vCache [b, g, n, kv], row-major
      const logits = new Float64Array(n);
      let max = -Infinity;
      for (let t = 0; t < n; t++) {
        let s = 0;
        for (let c = 0; c < k; c++) s += q[c]! * kCache[((bi * g + gi) * n + t) * k + c]!;
        logits[t] = s / Math.sqrt(k);
        max = Math.max(max, logits[t]!);
      }
      let z = 0;
      for (let t = 0; t < n; t++) z += logits[t] = Math.exp(logits[t]! - max);
      for (let c = 0; c < kv; c++) {
        let o = 0;
        for (let t = 0; t < n; t++) o += (logits[t]! / z) * vCache[((bi * g + gi) * n + t) * kv + c]!;
        for (let j = 0; j < d; j++) y[bi * d + j] = y[bi * d + j]! + o * wo[(hi * kv + c) * d + j]!;
      }
    }
  }
  return y;
}

/** x (rows × inner) · w (inner × cols) in float64. */
export function matmul64(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  rows: number,
  inner: number,
  cols: number,
): Float64Array {
  const y = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++)
    for (let j = 0; j < inner; j++) {
      const a = x[i * inner + j]!;
      for (let c = 0; c < cols; c++) y[i * cols + c] = y[i * cols + c]! + a * w[j * cols + c]!;
    }
  return y;
}

/**
 * A symmetric quantized cache as GroupQueryAttention stores it: q = clamp(round(x / scale), −128, 127) for int8,
 * clamp(…, −8, 7) for int4, stored offset by 8 (0 – 15) two numbers a byte along the head (channel 2j in the low
 * nibble, 2j + 1 in the high: found by checking both orders and both encodings against ONNX Runtime 1.30), the scale
 * per tensor or per (kv head, channel). Values are [b, g, t, k]; `dequantized` is what the op computes with.
 */
export interface QuantizedCache {
  data: Int8Array | Uint8Array;
  dequantized: Float64Array;
}

export function quantizeCache(
  values: ArrayLike<number>,
  dims: { b: number; g: number; t: number; k: number },
  bits: 8 | 4,
  scales: Float32Array,
): QuantizedCache {
  const { b, g, t, k } = dims;
  const max = bits === 8 ? 127 : 7;
  const min = -max - 1;
  const data = bits === 8 ? new Int8Array(b * g * t * k) : new Uint8Array((b * g * t * k) / 2);
  const dequantized = new Float64Array(b * g * t * k);
  for (let i = 0; i < b * g * t * k; i++) {
    const c = i % k;
    const gi = Math.floor(i / (t * k)) % g;
    const scale = scales.length === 1 ? scales[0]! : scales[gi * k + c]!;
    const q = Math.min(max, Math.max(min, Math.round(values[i]! / scale)));
    dequantized[i] = q * scale;
    if (bits === 8) data[i] = q;
    else data[i >> 1] = data[i >> 1]! | (((q + 8) & 0xf) << (i % 2 === 0 ? 0 : 4));
  }
  return { data, dequantized };
}

/** Scales that map the largest |value| to the largest code: one for the tensor, or one per (kv head, channel). */
export function chooseScales(
  values: ArrayLike<number>,
  dims: { b: number; g: number; t: number; k: number },
  bits: 8 | 4,
  perChannel: boolean,
): Float32Array {
  const { b, g, t, k } = dims;
  const top = bits === 8 ? 127 : 7;
  const amax = new Float64Array(perChannel ? g * k : 1);
  for (let i = 0; i < b * g * t * k; i++) {
    const j = perChannel ? (Math.floor(i / (t * k)) % g) * k + (i % k) : 0;
    amax[j] = Math.max(amax[j]!, Math.abs(values[i]!));
  }
  return Float32Array.from(amax, (a) => (a > 0 ? a / top : 1));
}

/**
 * GroupQueryAttention's step in float64: the new token's k and v (x·W_k, x·W_v, passed through `store`, what the
 * cache keeps of a number) appended to the cache [b, g, n, k] (already what the op computes with: dequantized), then
 * attention over the last min(n + 1, window) tokens, as decodeReference.
 */
export function gqaOpReference(
  w: {
    x: ArrayLike<number>;
    wq: ArrayLike<number>;
    wk: ArrayLike<number>;
    wv: ArrayLike<number>;
    wo: ArrayLike<number>;
  },
  cache: { k: ArrayLike<number>; v: ArrayLike<number> },
  dims: { b: number; d: number; h: number; g: number; n: number; window?: number | undefined },
  store: (values: Float64Array, which: 'k' | 'v') => Float64Array,
): Float64Array {
  const { b, d, h, g, n, window } = dims;
  const k = d / h;
  const kNew = store(matmul64(w.x, w.wk, b, d, g * k), 'k');
  const vNew = store(matmul64(w.x, w.wv, b, d, g * k), 'v');
  const t = Math.min(n + 1, window ?? n + 1);
  const from = n + 1 - t;
  const kc = new Float64Array(b * g * t * k);
  const vc = new Float64Array(b * g * t * k);
  for (let bg = 0; bg < b * g; bg++) {
    for (let s = 0; s < t; s++) {
      const pos = from + s;
      for (let c = 0; c < k; c++) {
        const at = (bg * t + s) * k + c;
        const bi = Math.floor(bg / g),
          gi = bg % g;
        kc[at] = pos < n ? cache.k[(bg * n + pos) * k + c]! : kNew[bi * g * k + gi * k + c]!;
        vc[at] = pos < n ? cache.v[(bg * n + pos) * k + c]! : vNew[bi * g * k + gi * k + c]!;
      }
    }
  }
  return decodeReference(w.x, w.wq, w.wo, kc, vc, { b, d, h, g, n: t, kv: k });
}

/** The MLA step (see cost.ts) in float64, over weights laid out as mlaInputs names them. */
export function mlaReference(
  w: Record<'x' | 'Wq' | 'Wuk' | 'Wqr' | 'Wuv' | 'Wo' | 'C' | 'KR', ArrayLike<number>>,
  dims: { b: number; d: number; h: number; n: number; dc: number; dr: number },
): Float64Array {
  const { b, d, h, n, dc, dr } = dims;
  const k = d / h;
  const alpha = 1 / Math.sqrt(k + dr);
  const q = matmul64(w.x, w.Wq, b, d, d); // [b, h·k]
  const qr = matmul64(w.x, w.Wqr, b, d, h * dr); // [b, h·dr]
  const o = new Float64Array(b * d); // [b, h·k]
  for (let bi = 0; bi < b; bi++) {
    for (let hi = 0; hi < h; hi++) {
      const qc = new Float64Array(dc);
      for (let c = 0; c < k; c++)
        for (let l = 0; l < dc; l++) qc[l] = qc[l]! + q[bi * d + hi * k + c]! * w.Wuk[(hi * k + c) * dc + l]!;
      const logits = new Float64Array(n);
      let max = -Infinity;
      for (let t = 0; t < n; t++) {
        let s = 0;
        for (let l = 0; l < dc; l++) s += qc[l]! * w.C[(bi * n + t) * dc + l]!;
        for (let r = 0; r < dr; r++) s += qr[bi * h * dr + hi * dr + r]! * w.KR[(bi * n + t) * dr + r]!;
        logits[t] = s * alpha;
        max = Math.max(max, logits[t]!);
      }
      let z = 0;
      for (let t = 0; t < n; t++) z += logits[t] = Math.exp(logits[t]! - max);
      const oc = new Float64Array(dc);
      for (let t = 0; t < n; t++)
        for (let l = 0; l < dc; l++) oc[l] = oc[l]! + (logits[t]! / z) * w.C[(bi * n + t) * dc + l]!;
      for (let l = 0; l < dc; l++)
        for (let c = 0; c < k; c++)
          o[bi * d + hi * k + c] = o[bi * d + hi * k + c]! + oc[l]! * w.Wuv[(hi * dc + l) * k + c]!;
    }
  }
  return matmul64(o, w.Wo, b, d, d);
}
