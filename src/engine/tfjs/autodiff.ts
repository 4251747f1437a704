/**
 * Single-query attention in tfjs, for autodiff: softmax(K·q·scale)ᵀV and argmax attention
 * (one-hot weights at the largest score). Gradients go through the backend's autodiff.
 */
import type * as tfc from '@tensorflow/tfjs-core';

type TF = typeof tfc;

export type AttentionForm = 'softmax' | 'argmax';

let gradients: Promise<unknown> | undefined;
/**
 * Load the gradient functions, once: tfjs-core's Node bundle registers none, and the union
 * package @tensorflow/tfjs registers them in the global registry this engine shares. Loaded
 * only where autodiff is used, so other runs and the workers do not pay for layers and converter.
 */
export function loadGradients(): Promise<unknown> {
  return (gradients ??= import('@tensorflow/tfjs'));
}

/** Attention output (M) for one query q (D), keys K (N×D), values V (N×M). */
export function attend(
  tf: TF,
  form: AttentionForm,
  q: tfc.Tensor1D,
  k: tfc.Tensor2D,
  v: tfc.Tensor2D,
  scale = 1,
): tfc.Tensor1D {
  const n = k.shape[0];
  const scores = tf.reshape(tf.matMul(k, tf.reshape(q, [-1, 1])), [n]);
  const w =
    form === 'softmax' ? tf.softmax(tf.mul(scores, scale)) : tf.cast(tf.oneHot(tf.argMax(scores), n), 'float32');
  return tf.reshape(tf.matMul(tf.reshape(w, [1, n]), v), [-1]) as tfc.Tensor1D;
}

export interface AttentionGrads {
  /** ‖∂L/∂q‖, ‖∂L/∂K‖_F, ‖∂L/∂V‖_F for L = Σ output. */
  q: number;
  k: number;
  v: number;
  /** Rows of V that receive any gradient. */
  vRows: number;
}

/** Gradient norms of L = Σ attend(q, K, V) with respect to q, K and V. */
export function attentionGrads(
  tf: TF,
  form: AttentionForm,
  q: tfc.Tensor1D,
  k: tfc.Tensor2D,
  v: tfc.Tensor2D,
  scale = 1,
): AttentionGrads {
  return tf.tidy(() => {
    const [gq, gk, gv] = tf.grads((a: tfc.Tensor, b: tfc.Tensor, c: tfc.Tensor) =>
      tf.sum(attend(tf, form, a as tfc.Tensor1D, b as tfc.Tensor2D, c as tfc.Tensor2D, scale)),
    )([q, k, v]) as [tfc.Tensor, tfc.Tensor, tfc.Tensor];
    const norm = (t: tfc.Tensor) => Math.sqrt(tf.sum(tf.square(t)).dataSync()[0]!);
    const rowHasGrad = tf.greater(tf.max(tf.abs(gv), 1), 0);
    return { q: norm(gq), k: norm(gk), v: norm(gv), vRows: tf.sum(tf.cast(rowHasGrad, 'int32')).dataSync()[0]! };
  });
}
