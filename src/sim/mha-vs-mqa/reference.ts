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
export function decodeStep(tf: TF, x: tfc.Tensor2D, w: DecodeWeights, cache: DecodeCache, h: number, g: number, path: DecodePath = 'auto'): tfc.Tensor2D {
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
      const weightsT = r === 1 ? tf.reshape(tf.softmax(tf.reshape(scoresT, [1, -1])), [-1, 1]) : tf.transpose(tf.softmax(tf.transpose(scoresT)));
      return tf.matMul(cache.vT[i]!, weightsT as tfc.Tensor2D); // [kv, r]
    });
    const o = tf.transpose(tf.stack(oT), [0, 2, 1]); // [b·g, r, kv]
    return tf.matMul(tf.reshape(o, [b, h * kv]), w.wo);
  });
}

/** The same step as a per-head loop in float64: the reference for every variant. */
export function decodeReference(
  x: Float32Array, wq: Float32Array, wo: Float32Array, kCache: Float32Array, vCache: Float32Array,
  dims: { b: number; d: number; h: number; g: number; n: number; kv: number },
): Float64Array {
  const { b, d, h, g, n, kv } = dims;
  const k = d / h;
  const y = new Float64Array(b * d);
  for (let bi = 0; bi < b; bi++) {
    for (let hi = 0; hi < h; hi++) {
      const gi = Math.floor(hi / (h / g));
      const q = new Float64Array(k);
      for (let c = 0; c < k; c++) for (let j = 0; j < d; j++) q[c] = q[c]! + x[bi * d + j]! * wq[j * h * k + hi * k + c]!;
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
      for (let t = 0; t < n; t++) z += (logits[t] = Math.exp(logits[t]! - max));
      for (let c = 0; c < kv; c++) {
        let o = 0;
        for (let t = 0; t < n; t++) o += (logits[t]! / z) * vCache[((bi * g + gi) * n + t) * kv + c]!;
        for (let j = 0; j < d; j++) y[bi * d + j] = y[bi * d + j]! + o * wo[(hi * kv + c) * d + j]!;
      }
    }
  }
  return y;
}
