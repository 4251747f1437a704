/**
 * The model of attention-training: one single-head attention layer on token and positional embeddings,
 *
 *   h_i = E[x_i] + P[i],  g_i = h_i + m_i·M,  q_i = g_i W_q,  k_j = g_j W_k,  v_j = h_j W_v,
 *   a_ij = softmax_j(q_i·k_j · c)  (c = 1/√d or 1)  or, for argmax, one-hot at argmax_j q_i·k_j,
 *   y_i = (Σ_j a_ij v_j) W_o  (logits over the vocabulary),  L = mean cross-entropy over batch and positions,
 *
 * in tfjs, so gradients come from autodiff through whichever selection the variant uses: for argmax the tape runs
 * through argMax and oneHot, whose gradients are zero, and W_q and W_k are asked for their gradients like every
 * other variable (they get exact zeros; nothing leaves them out).
 *
 * Inputs: tokens 0 … V−1 and a mark m_i (1 at the one marked position of a content sequence, else 0), which enters
 * the queries and keys through its own embedding M but not the values: a value cannot announce "I am marked", so
 * the only way to the marked token is to attend to it (with the mark in the values, a head can solve the content
 * task with near-uniform attention and values that amplify the marked token, and trained heads did). The target of
 * every position is the token at the marked position (content) or at position 0 (position).
 *
 * The hand-designed head (nothing trained), in an embedding of d ≥ V + 3 dimensions:
 *   E[t] = e_t + e_bias (dims 0 … V−1 the token, V+1 a constant 1), M = e_mark (dim V);
 *   P[0] = e_first (dim V+2), P[i > 0] = 0;
 *   W_q = β·e_bias e_0ᵀ (every query is the same vector β·e_0);
 *   W_k = e_mark e_0ᵀ (content: keys carry the mark) or e_first e_0ᵀ (position: keys carry "I am position 0");
 *   W_v = Σ_{t<V} e_t e_tᵀ (values copy the token), W_o = Σ_{t<V} e_t e_tᵀ (the readout reads it back).
 * So q_i·k_j = β at the target key and 0 elsewhere, and with β·c = 4 ln n + 4 the target's weight is
 * 1/(1 + (n−1)e^(−β·c)) > 1 − n^(−3)/50: the output is the target's token, always (100% accuracy), and
 * W_qW_kᵀ = β·e_bias e_markᵀ (content) or β·e_bias e_firstᵀ (position) in the input basis.
 */
import { msg } from '../../messages.js';
import type * as tfc from '@tensorflow/tfjs-core';
import type { NormalRng } from '../../random/normal.js';

type TF = typeof tfc;

export type Task = 'content' | 'position';
export type Variant = 'softmax' | 'argmax' | 'hand';

export interface Shape {
  task: Task;
  vocab: number;
  n: number;
  d: number;
  /** Logit scale c: 1/√d or 1. */
  scale: number;
}

/**
 * A batch of sequences: token ids, marks (1 at the marked position), the target token of every position, and each
 * sequence's target position.
 */
export interface Batch {
  tokens: Int32Array;
  marks: Float32Array;
  targets: Int32Array;
  targetPos: Int32Array;
  size: number;
}

/** `size` sequences of the task, drawn from `rng`. */
export function makeBatch(s: Shape, size: number, rng: NormalRng): Batch {
  const { n, vocab } = s;
  const tokens = new Int32Array(size * n);
  const marks = new Float32Array(size * n);
  const targets = new Int32Array(size * n);
  const targetPos = new Int32Array(size);
  const draw = (k: number) => Math.min(k - 1, Math.floor(rng.uniform() * k));
  for (let b = 0; b < size; b++) {
    for (let i = 0; i < n; i++) tokens[b * n + i] = draw(vocab);
    const at = s.task === 'content' ? draw(n) : 0;
    targetPos[b] = at;
    if (s.task === 'content') marks[b * n + at] = 1;
    targets.fill(tokens[b * n + at]!, b * n, (b + 1) * n);
  }
  return { tokens, marks, targets, targetPos, size };
}

export interface Weights {
  E: tfc.Variable;
  M: tfc.Variable;
  P: tfc.Variable;
  Wq: tfc.Variable;
  Wk: tfc.Variable;
  Wv: tfc.Variable;
  Wo: tfc.Variable;
}

export const WEIGHT_NAMES = ['E', 'M', 'P', 'Wq', 'Wk', 'Wv', 'Wo'] as const;

/**
 * Random initial weights: embeddings with N(0, 1) entries, and W_q, W_k, W_v, W_o with N(0, init²/d) entries, so
 * q, k and v start with entries of standard deviation about `init` and the logits near 0 (attention near uniform).
 * Embeddings are trained only with `trainEmbeddings` (see the simulation's notes on why they are fixed by default).
 */
export function randomWeights(tf: TF, s: Shape, init: number, trainEmbeddings: boolean, rng: NormalRng): Weights {
  const make = (rows: number, cols: number, std: number, trainable: boolean, name: string) => {
    const data = new Float32Array(rows * cols);
    rng.fill(data);
    for (let i = 0; i < data.length; i++) data[i] = data[i]! * std;
    return tf.variable(tf.tensor2d(data, [rows, cols]), trainable, `${name}_${Math.floor(rng.uniform() * 1e9)}`);
  };
  const { vocab: V, n, d } = s;
  const w = init / Math.sqrt(d);
  return {
    E: make(V, d, 1, trainEmbeddings, 'E'),
    M: make(1, d, 1, trainEmbeddings, 'M'),
    P: make(n, d, 1, trainEmbeddings, 'P'),
    Wq: make(d, d, w, true, 'Wq'),
    Wk: make(d, d, w, true, 'Wk'),
    Wv: make(d, d, w, true, 'Wv'),
    Wo: make(d, V, w, true, 'Wo'),
  };
}

/** The hand-designed weights of the module header, as plain arrays (row-major). */
export function handArrays(
  s: Shape,
): Record<(typeof WEIGHT_NAMES)[number], { data: Float32Array; shape: [number, number] }> {
  const { vocab: V, n, d } = s;
  if (d < V + 3) throw new Error(msg.handHeadWidth(V + 3, d));
  const [MARK, BIAS, FIRST] = [V, V + 1, V + 2];
  const beta = (4 * Math.log(n) + 4) / s.scale;
  const m = (rows: number, cols: number, set: (put: (r: number, c: number, v: number) => void) => void) => {
    const data = new Float32Array(rows * cols);
    set((r, c, v) => (data[r * cols + c] = v));
    return { data, shape: [rows, cols] as [number, number] };
  };
  return {
    E: m(V, d, (put) => {
      for (let t = 0; t < V; t++) {
        put(t, t, 1);
        put(t, BIAS, 1);
      }
    }),
    M: m(1, d, (put) => put(0, MARK, 1)),
    P: m(n, d, (put) => put(0, FIRST, 1)),
    Wq: m(d, d, (put) => put(BIAS, 0, beta)),
    Wk: m(d, d, (put) => put(s.task === 'content' ? MARK : FIRST, 0, 1)),
    Wv: m(d, d, (put) => {
      for (let t = 0; t < V; t++) put(t, t, 1);
    }),
    Wo: m(d, V, (put) => {
      for (let t = 0; t < V; t++) put(t, t, 1);
    }),
  };
}

export function handWeights(tf: TF, s: Shape): Weights {
  const a = handArrays(s);
  const v = (k: (typeof WEIGHT_NAMES)[number]) => tf.variable(tf.tensor2d(a[k].data, a[k].shape), false);
  return { E: v('E'), M: v('M'), P: v('P'), Wq: v('Wq'), Wk: v('Wk'), Wv: v('Wv'), Wo: v('Wo') };
}

/** Attention logits [B, n, n] and weights [B, n, n], and output logits [B, n, V]. */
export function forward(
  tf: TF,
  s: Shape,
  w: Weights,
  batch: Batch,
  variant: Variant,
): { scores: tfc.Tensor3D; weights: tfc.Tensor3D; logits: tfc.Tensor3D } {
  const { n, d, vocab: V } = s;
  const B = batch.size;
  // Embeddings by one-hot products (differentiable on every backend).
  const onehot = tf.oneHot(tf.tensor1d(batch.tokens, 'int32'), V).toFloat() as tfc.Tensor2D;
  const h = tf.reshape(tf.add(tf.reshape(tf.matMul(onehot, w.E), [B, n, d]), w.P), [B * n, d]) as tfc.Tensor2D;
  // The mark joins the queries' and keys' input only.
  const g = tf.add(h, tf.matMul(tf.tensor2d(batch.marks, [B * n, 1]), w.M)) as tfc.Tensor2D;
  const [q, k, v] = [tf.matMul(g, w.Wq), tf.matMul(g, w.Wk), tf.matMul(h, w.Wv)].map(
    (x) => tf.reshape(x, [B, n, d]) as tfc.Tensor3D,
  ) as [tfc.Tensor3D, tfc.Tensor3D, tfc.Tensor3D];
  const scores = tf.mul(tf.matMul(q, k, false, true), s.scale) as tfc.Tensor3D;
  const weights = (
    variant === 'argmax' ? tf.oneHot(tf.argMax(scores, -1), n).toFloat() : tf.softmax(scores)
  ) as tfc.Tensor3D;
  const out = tf.reshape(tf.matMul(weights, v), [B * n, d]) as tfc.Tensor2D;
  const logits = tf.reshape(tf.matMul(out, w.Wo), [B, n, V]) as tfc.Tensor3D;
  return { scores, weights, logits };
}

/** Mean cross-entropy of the output logits against every position's target. */
export function lossOf(tf: TF, s: Shape, logits: tfc.Tensor3D, batch: Batch): tfc.Scalar {
  const labels = tf.oneHot(tf.tensor1d(batch.targets, 'int32'), s.vocab).toFloat();
  const logp = tf.logSoftmax(tf.reshape(logits, [batch.size * s.n, s.vocab]));
  return tf.neg(tf.mean(tf.sum(tf.mul(labels, logp), -1))) as tfc.Scalar;
}

export const loss = (tf: TF, s: Shape, w: Weights, batch: Batch, variant: Variant): tfc.Scalar =>
  lossOf(tf, s, forward(tf, s, w, batch, variant).logits, batch);

/** What a recorded step reports of the weights on a batch: accuracy, entropy of the attention, weight on the target. */
export function evaluate(
  tf: TF,
  s: Shape,
  w: Weights,
  batch: Batch,
  variant: Variant,
): { loss: number; accuracy: number; entropy: number; targetWeight: number; topIsTarget: number } {
  return tf.tidy(() => {
    const { weights, logits } = forward(tf, s, w, batch, variant);
    const l = lossOf(tf, s, logits, batch).dataSync()[0]!;
    const pred = tf.argMax(logits, -1).dataSync();
    const a = weights.dataSync();
    const { n } = s;
    let correct = 0;
    let entropy = 0;
    let target = 0;
    let top = 0;
    for (let b = 0; b < batch.size; b++) {
      const at = batch.targetPos[b]!;
      for (let i = 0; i < n; i++) {
        const row = (b * n + i) * n;
        if (pred[b * n + i] === batch.targets[b * n + i]) correct++;
        let best = 0;
        for (let j = 0; j < n; j++) {
          const p = a[row + j]!;
          if (p > 0) entropy -= p * Math.log(p);
          if (p > a[row + best]!) best = j;
        }
        target += a[row + at]!;
        if (best === at) top++;
      }
    }
    const queries = batch.size * n;
    return {
      loss: l,
      accuracy: correct / queries,
      entropy: entropy / queries,
      targetWeight: target / queries,
      topIsTarget: top / queries,
    };
  });
}
