import type * as tfc from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { NormalRng } from '../../random/normal.js';
import { loadGradients } from '../../engine/tfjs/autodiff.js';
import { analyseTraining, CURVE_COLUMNS, MAP_COLUMNS } from './analysis.js';
import {
  evaluate,
  forward,
  handWeights,
  loss,
  makeBatch,
  randomWeights,
  type Batch,
  type Shape,
  type Weights,
} from './model.js';
import { defineSimulation } from '../types.js';
import { TrainingRow } from './rows.js';

/**
 * attention-training: one attention layer trained with Adam on two tasks (select by content: copy the marked
 * token; select by position: copy the first token), with softmax attention, argmax attention (hard selection in the
 * forward pass: its gradient to W_q and W_k is zero almost everywhere, so they never learn) and a hand-designed
 * head (model.ts in this folder says how it is built) beside the learned ones. Seeds are replicates.
 */

const Params = z
  .object({
    task: z
      .enum(['content', 'position'])
      .describe(
        'content: every position outputs the token at the one marked position; position: the token at position 0',
      ),
    attention: z
      .enum(['softmax', 'argmax', 'hand'])
      .describe('softmax and argmax are trained from a small random init; hand is built from the task, not trained'),
    scaling: z
      .enum(['sqrt_d', 'none'])
      .default('sqrt_d')
      .describe('logits divided by √d_model, or not; @default sqrt_d'),
    vocab: z.number().int().min(2).max(64).default(8).describe('tokens; @default 8'),
    n: z.number().int().min(2).max(64).default(8).describe('sequence length; @default 8'),
    d_model: z.number().int().min(4).max(256).describe('embedding width (the hand-designed head needs vocab + 3)'),
  })
  .strict()
  .refine((p) => p.attention !== 'hand' || p.d_model >= p.vocab + 3, {
    message: 'the hand-designed head needs d_model ≥ vocab + 3',
    path: ['d_model'],
  });

const Settings = z
  .object({
    steps: z.number().int().min(1).max(100_000).default(300).describe('Adam steps; @default 300'),
    batch: z.number().int().min(1).default(32).describe('sequences per step; @default 32'),
    lr: z.number().positive().default(0.02).describe('Adam learning rate; @default 0.02'),
    init: z
      .number()
      .positive()
      .default(0.1)
      .describe(
        'standard deviation of q, k, v at initialisation (W entries N(0, init²/d_model); embeddings N(0, 1)); @default 0.1',
      ),
    train_embeddings: z
      .boolean()
      .default(false)
      .describe(
        'train the token and positional embeddings too (they also feed q and k, so argmax attention then moves its selection through them); @default false',
      ),
    record_every: z
      .number()
      .int()
      .min(1)
      .default(25)
      .describe('steps between recorded rows (and the first and the last); @default 25'),
    eval_size: z
      .number()
      .int()
      .min(1)
      .default(128)
      .describe('held-out sequences the recorded accuracy, entropy and weights are measured on; @default 128'),
    fd_probes: z
      .number()
      .int()
      .min(1)
      .default(4)
      .describe('random directions of W_q and of W_k per recorded step for the finite-difference probe; @default 4'),
    fd_step: z
      .number()
      .positive()
      .default(1e-4)
      .describe('the probe moves W by this fraction of its Frobenius norm; @default 1e-4'),
  })
  .strict();
type Settings = z.output<typeof Settings>;

/** The fixed example the attention maps are drawn on: the same sequence for every point of a task, vocab and n. */
function fixedExample(s: Shape): Batch {
  return makeBatch(s, 1, new NormalRng(Uint32Array.of(s.task === 'content' ? 1 : 2, s.vocab, s.n, 20261202)));
}

const cosine = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let [ab, aa, bb] = [0, 0, 0];
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  return aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : 0;
};

/** One training run's fixed parts: the engine, the task's shape, the weights trained, the held-out batch. */
interface Training {
  tf: typeof tfc;
  rng: NormalRng;
  shape: Shape;
  form: 'softmax' | 'argmax';
  settings: Settings;
  weights: Weights;
  evalBatch: Batch;
  /** The fixed example whose attention map the rows keep (before and after training). */
  example: Batch;
  /** The hand-designed head: nothing is trained or probed. */
  hand: boolean;
}

/** The columns every row of a run repeats. */
type Base = Pick<TrainingRow, 'task' | 'attention' | 'scaling' | 'vocab' | 'n' | 'd_model' | 'seed'>;

/** The columns a step row leaves empty (they belong to the final row), and the final row's step columns. */
const FINAL_ONLY = {
  steps_to_99: null,
  top_key_agreement: null,
  weights_cosine: null,
  bilinear_cosine: null,
  chance: null,
  map_init: null,
  map_trained: null,
} as const;
const STEP_ONLY = {
  grad_q: null,
  grad_k: null,
  grad_v: null,
  grad_out: null,
  fd_zero_q: null,
  fd_zero_k: null,
  fd_change_q: null,
} as const;

/** The attention map of the fixed example under weights `w`. */
const mapOf = ({ tf, shape, form, example }: Training, w: Weights) =>
  tf.tidy(() => Array.from(forward(tf, shape, w, example, form).weights.dataSync()));

/**
 * Loss change along `fd_probes` random directions of W (a step of fd_step·‖W‖): the fraction exactly 0, the mean
 * |change|.
 */
function probe(run: Training, W: tfc.Variable, batch: Batch): { zero: number; change: number } {
  const { tf, rng, shape, form, settings, weights } = run;
  let zeros = 0;
  let change = 0;
  const before = tf.tidy(() => loss(tf, shape, weights, batch, form).dataSync()[0]!);
  const original = tf.clone(W);
  try {
    for (let p = 0; p < settings.fd_probes; p++) {
      const u = new Float32Array(W.size);
      rng.fill(u);
      tf.tidy(() => {
        const dir = tf.tensor(u, W.shape);
        const step = tf.mul(
          dir,
          (settings.fd_step * tf.norm(original).dataSync()[0]!) / Math.max(1e-30, tf.norm(dir).dataSync()[0]!),
        );
        W.assign(tf.add(original, step));
      });
      const after = tf.tidy(() => loss(tf, shape, weights, batch, form).dataSync()[0]!);
      if (after === before) zeros++;
      change += Math.abs(after - before) / settings.fd_probes;
    }
  } finally {
    W.assign(original);
    original.dispose();
  }
  return { zero: zeros / settings.fd_probes, change };
}

/** A recorded step's row: the held-out evaluation, the gradients' norms, the loss's response to W_q and W_k. */
function stepRow(run: Training, base: Base, step: number, grads: Record<string, tfc.Tensor> | null, batch: Batch) {
  const { tf, shape, form, weights } = run;
  const e = evaluate(tf, shape, weights, run.evalBatch, form);
  const norm = (k: keyof Weights) => (grads ? tf.tidy(() => tf.norm(grads[weights[k].name]!).dataSync()[0]!) : null);
  const [fq, fk] = run.hand ? [null, null] : [probe(run, weights.Wq, batch), probe(run, weights.Wk, batch)];
  const row: TrainingRow = {
    ...base,
    row_kind: 'step',
    step,
    loss: e.loss,
    accuracy: e.accuracy,
    entropy: e.entropy,
    entropy_ratio: e.entropy / Math.log(shape.n),
    target_weight: e.targetWeight,
    grad_q: norm('Wq'),
    grad_k: norm('Wk'),
    grad_v: norm('Wv'),
    grad_out: norm('Wo'),
    fd_zero_q: fq?.zero ?? null,
    fd_zero_k: fk?.zero ?? null,
    fd_change_q: fq?.change ?? null,
    ...FINAL_ONLY,
    time_ms: 0,
  };
  return { row, accuracy: e.accuracy };
}

/** Adam over fresh batches, a row every record_every steps and at the end; the first step at 99% held-out accuracy. */
function train(run: Training, optimizer: tfc.Optimizer, base: Base) {
  const { tf, shape, form, settings, weights } = run;
  const trained = [
    ...(settings.train_embeddings ? [weights.E, weights.M, weights.P] : []),
    weights.Wq,
    weights.Wk,
    weights.Wv,
    weights.Wo,
  ];
  const rows: TrainingRow[] = [];
  let stepsTo99: number | null = null;
  const record = (step: number, grads: Record<string, tfc.Tensor> | null, batch: Batch) => {
    const { row, accuracy } = stepRow(run, base, step, grads, batch);
    if (stepsTo99 === null && accuracy >= 0.99) stepsTo99 = step;
    rows.push(row);
  };
  const steps = run.hand ? 0 : settings.steps;
  for (let step = 0; step <= steps; step++) {
    const batch = makeBatch(shape, settings.batch, run.rng);
    const due = step % settings.record_every === 0 || step === steps;
    if (step === steps) {
      if (due) record(step, null, batch);
      break;
    }
    // Every variable is asked for its gradient, W_q and W_k included: for argmax they come back exactly zero.
    const { value, grads } = tf.variableGrads(() => loss(tf, shape, weights, batch, form), trained);
    if (due) record(step, grads, batch);
    optimizer.applyGradients(Object.entries(grads).map(([name, tensor]) => ({ name, tensor })));
    value.dispose();
    tf.dispose(Object.values(grads));
  }
  return { rows, stepsTo99: stepsTo99 as number | null };
}

/**
 * The final row: the held-out evaluation, and agreement with the hand-designed head: attention weights, and
 * W_qW_kᵀ in the input basis (every token at every position), each query's row centred (softmax ignores a per-query
 * constant).
 */
function finalRow(
  run: Training,
  hand: Weights,
  base: Base,
  o: { stepsTo99: number | null; mapInit: number[] },
): TrainingRow {
  const { tf, shape, form, weights, evalBatch } = run;
  const { vocab, n, d } = shape;
  const final = evaluate(tf, shape, weights, evalBatch, form);
  const [learnedW, handW] = tf.tidy(() => [
    forward(tf, shape, weights, evalBatch, form).weights.dataSync(),
    forward(tf, shape, hand, evalBatch, 'softmax').weights.dataSync(),
  ]);
  const bilinear = (w: Weights) =>
    tf.tidy(() => {
      // Every token at every position, unmarked and marked: the queries' and keys' input g = E[t] + P[i] + m·M.
      const plain = tf.reshape(tf.add(tf.expandDims(w.E, 1), tf.expandDims(w.P, 0)), [vocab * n, d]);
      const inputs = tf.concat([plain, tf.add(plain, w.M)]) as tfc.Tensor2D;
      const scores = tf.matMul(tf.matMul(tf.matMul(inputs, w.Wq), w.Wk, false, true), inputs, false, true);
      return tf.sub(scores, tf.mean(scores, 1, true)).dataSync();
    });
  return {
    ...base,
    row_kind: 'final',
    step: run.hand ? 0 : run.settings.steps,
    loss: final.loss,
    accuracy: final.accuracy,
    entropy: final.entropy,
    entropy_ratio: final.entropy / Math.log(n),
    target_weight: final.targetWeight,
    ...STEP_ONLY,
    steps_to_99: o.stepsTo99,
    top_key_agreement: final.topIsTarget,
    weights_cosine: cosine(learnedW, handW),
    bilinear_cosine: cosine(bilinear(weights), bilinear(hand)),
    chance: 1 / n + (1 - 1 / n) / vocab,
    map_init: o.mapInit,
    map_trained: mapOf(run, weights),
    time_ms: 0,
  };
}

export const attentionTraining = defineSimulation({
  kind: 'attention-training',
  summary:
    'softmax attention learns to select by content and by position, argmax cannot; learned heads beside hand-designed ones',
  params: Params,
  settings: Settings,
  row: TrainingRow,
  measuredColumns: ['time_ms'],
  timing: false,
  tables: { curves: CURVE_COLUMNS, maps: MAP_COLUMNS },
  async setup() {
    await loadGradients();
    return { values: {}, tables: {} };
  },
  // Fitted on the reference machine (wasm, one thread per point, --jobs 2): an Adam step of a batch of 32 with its
  // share of the recorded evaluations and probes costs about 2.5 + 0.06·d_model ms at n = 8 (default grid: 59 s
  // measured).
  estimateMs: ({ attention, d_model }, s) => (attention === 'hand' ? 15 : 20 + s.steps * (2.5 + 0.06 * d_model)),
  analyse: (rows) => analyseTraining(rows),
  async run({ params, settings, replicate }, ctx) {
    const t0 = ctx.now();
    const { tf, rng } = ctx;
    const { task, attention, scaling, vocab, n, d_model: d } = params;
    const shape: Shape = { task, vocab, n, d, scale: scaling === 'sqrt_d' ? 1 / Math.sqrt(d) : 1 };
    // The selection the weights are run with: the hand-designed head is a softmax head.
    const form = attention === 'argmax' ? 'argmax' : 'softmax';
    const evalBatch = makeBatch(shape, settings.eval_size, rng);
    const example = fixedExample(shape);
    const weights: Weights =
      attention === 'hand'
        ? handWeights(tf, shape)
        : randomWeights(tf, shape, settings.init, settings.train_embeddings, rng);
    const hand = handWeights(tf, shape);
    const run: Training = { tf, rng, shape, form, settings, weights, evalBatch, example, hand: attention === 'hand' };
    const mapInit = mapOf(run, weights);
    const base = { task, attention, scaling, vocab, n, d_model: d, seed: replicate };
    const optimizer = tf.train.adam(settings.lr);
    try {
      const { rows, stepsTo99 } = train(run, optimizer, base);
      rows.push(finalRow(run, hand, base, { stepsTo99, mapInit }));
      const ms = ctx.now() - t0;
      return rows.map((r) => ({ ...r, time_ms: ms }));
    } finally {
      optimizer.dispose();
      tf.dispose([...Object.values(weights), ...Object.values(hand)]);
    }
  },
});
