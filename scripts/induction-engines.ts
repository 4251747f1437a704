/**
 * induction-heads: one training step (forward, gradients, Adam) of the default model on each engine that can train
 * here — the hand-written loops of src/sim/induction-heads/model.ts, and tfjs autodiff on its cpu and wasm backends
 * — timed in one process, so their ratio holds even on a busy machine. Usage:
 *   npx tsx scripts/induction-engines.ts [layers=2] [steps=15]
 */
import { cpus } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { activate } from '../src/engine/backend.js';
import { loadGradients } from '../src/engine/tfjs/autodiff.js';
import { rngFor } from '../src/random/seed.js';
import { Adam, lossAndGrads, randomWeights, weightList, type Shape } from '../src/sim/induction-heads/model.js';
import { repeatedSegments } from '../src/sim/induction-heads/data.js';

const layers = Number(process.argv[2] ?? 2);
const steps = Number(process.argv[3] ?? 15);
const s: Shape = { vocab: 16, n: 24, d: 32, layers, heads: 2, positions: 'learned' };
const B = 64;
const rng = rngFor(1, 'engines', 0);
const w = randomWeights(s, rng);
const batches = Array.from({ length: steps + 2 }, () => repeatedSegments(B, s.n, s.vocab, 8, rng));

function timeLoops(): number {
  const params = weightList(w).map((a) => Float64Array.from(a));
  const copy = {
    ...w,
    E: params[0]!,
    P: params[1]!,
    Wq: params.slice(2, 2 + layers),
    Wk: params.slice(2 + layers, 2 + 2 * layers),
    Wv: params.slice(2 + 2 * layers, 2 + 3 * layers),
    Wo: params.slice(2 + 3 * layers, 2 + 4 * layers),
    U: params.at(-1)!,
  };
  const adam = new Adam(params, {
    lr: 1e-2,
    beta1: 0.9,
    beta2: 0.999,
    eps: 1e-8,
    weightDecay: 0,
    decay: params.map(() => false),
  });
  const step = (i: number) => adam.step(weightList(lossAndGrads(s, copy, batches[i]!.tokens, B).grads));
  step(0);
  step(1);
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) step(i + 2);
  return (performance.now() - t0) / steps;
}

async function timeTfjs(backend: 'cpu' | 'wasm'): Promise<number> {
  await activate(backend);
  const { vocab: V, n: T, d, heads: H } = s;
  const dh = d / H;
  const v = (a: Float64Array, shape: number[]) => tf.variable(tf.tensor(Float32Array.from(a), shape));
  const E = v(w.E, [V, d]);
  const P = v(w.P, [T, d]);
  const Ws = [w.Wq, w.Wk, w.Wv, w.Wo].map((list) => list.map((a) => v(a, [d, d])));
  const U = v(w.U, [d, V]);
  const mask = tf.tensor2d(
    Array.from({ length: T * T }, (_, k) => (k % T <= Math.floor(k / T) ? 0 : -1e9)),
    [T, T],
  );
  const loss = (tokens: Int32Array) => {
    const ids = tf.tensor2d(tokens, [B, T], 'int32');
    // Embeddings by a one-hot product (Gather's gradient has no wasm kernel).
    let x = tf.add(
      tf.reshape(tf.matMul(tf.oneHot(tf.reshape(ids, [B * T]), V).toFloat() as tf.Tensor2D, E as tf.Tensor2D), [
        B,
        T,
        d,
      ]),
      P,
    ) as tf.Tensor3D;
    for (let l = 0; l < layers; l++) {
      const flat = tf.reshape(x, [B * T, d]) as tf.Tensor2D;
      const split = (W: tf.Variable) =>
        tf.transpose(tf.reshape(tf.matMul(flat, W as tf.Tensor2D), [B, T, H, dh]), [0, 2, 1, 3]);
      const [q, k, vv] = [split(Ws[0]![l]!), split(Ws[1]![l]!), split(Ws[2]![l]!)];
      const a = tf.softmax(tf.add(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(dh)), mask));
      const z = tf.reshape(tf.transpose(tf.matMul(a, vv), [0, 2, 1, 3]), [B * T, d]) as tf.Tensor2D;
      x = tf.add(x, tf.reshape(tf.matMul(z, Ws[3]![l]! as tf.Tensor2D), [B, T, d])) as tf.Tensor3D;
    }
    const logits = tf.reshape(
      tf.slice(
        tf.matMul(tf.reshape(x, [B * T, d]) as tf.Tensor2D, U as tf.Tensor2D).reshape([B, T, V]),
        [0, 0, 0],
        [B, T - 1, V],
      ),
      [B * (T - 1), V],
    );
    const next = tf.reshape(tf.slice(ids, [0, 1], [B, T - 1]), [B * (T - 1)]);
    return tf.losses.softmaxCrossEntropy(tf.oneHot(next, V), logits) as tf.Scalar;
  };
  const opt = tf.train.adam(1e-2);
  const step = (i: number) =>
    tf.tidy(() => {
      opt.minimize(() => loss(batches[i]!.tokens));
    });
  step(0);
  step(1);
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) step(i + 2);
  return (performance.now() - t0) / steps;
}

await loadGradients();
console.log(
  `CPU: ${cpus()[0]?.model} × ${cpus().length}; ${layers} layers, d_model 32, T 24, batch 64, ${steps} steps each`,
);
// The loops are timed before and after the tfjs backends: on a busy machine the two differ, and the ratios use their mean.
const before = timeLoops();
console.log(`hand-written loops: ${before.toFixed(1)} ms per step`);
const order = (process.env.ORDER ?? 'cpu,wasm').split(',') as ('cpu' | 'wasm')[];
const tfjs: Record<string, number> = {};
for (const b of order) tfjs[b] = await timeTfjs(b);
const after = timeLoops();
const loops = (before + after) / 2;
console.log(`hand-written loops again: ${after.toFixed(1)} ms per step`);
for (const [backend, ms] of Object.entries(tfjs))
  console.log(`tfjs ${backend}: ${ms.toFixed(1)} ms per step (${(ms / loops).toFixed(2)} × the loops)`);
