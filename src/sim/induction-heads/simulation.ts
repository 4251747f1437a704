import { z } from 'zod';
import { NormalRng } from '../../random/normal.js';
import {
  batchScores,
  duplicateTokenScore,
  firstTokenMass,
  prefixMatchingScore,
  previousTokenScore,
} from './head-scores.js';
import { defineSimulation } from '../types.js';
import {
  analyseInduction,
  HEAD_COLUMNS,
  PHASE_COLUMNS,
  CURVE_COLUMNS,
  MAP_COLUMNS,
  INTERVAL_COLUMNS,
} from './analysis.js';
import { repeatedRandom, repeatedSegments, Target, type Batch } from './data.js';
import { modelGraph } from './graphs.js';
import {
  Adam,
  forward,
  lossAndGrads,
  randomWeights,
  tokenLosses,
  weightList,
  type Shape,
  type Weights,
} from './model.js';
import { InductionRow } from './rows.js';

/**
 * induction-heads: attention-only transformers of 1 and 2 layers trained from scratch (Adam, fresh random data every
 * step, seeds as replicates) on random tokens in which a segment recurs at a random offset. Two layers can compose a
 * previous-token head with a head whose keys read it (K-composition): an induction head, which copies the token that
 * followed the earlier occurrence of the current one. One layer cannot. Every recorded step measures the loss on
 * first occurrences and on repeated tokens, and each head's previous-token, prefix-matching and first-token scores
 * on a held-out batch of repeated random tokens; each trained model is attached as ONNX (models/…).
 */

const Params = z
  .object({
    layers: z.number().int().min(1).max(4).describe('attention layers'),
    heads: z
      .number()
      .int()
      .min(1)
      .max(8)
      .default(2)
      .describe('heads per layer (d_model must divide by it); @default 2'),
    d_model: z.number().int().min(4).max(128).default(32).describe('residual stream width; @default 32'),
    positions: z
      .enum(['learned', 'sinusoidal'])
      .default('learned')
      .describe('learned position embeddings (N(0, 1) at init) or fixed sinusoids; @default learned'),
  })
  .strict()
  .refine((p) => p.d_model % p.heads === 0, { message: 'd_model must be a multiple of heads', path: ['d_model'] });

const Settings = z
  .object({
    vocab: z.number().int().min(4).max(256).default(16).describe('tokens; @default 16'),
    n: z.number().int().min(8).max(128).default(24).describe('sequence length T; @default 24'),
    segment: z
      .number()
      .int()
      .min(2)
      .default(8)
      .describe('length of the segment that recurs (two copies must fit in n); @default 8'),
    steps: z.number().int().min(1).max(100_000).default(600).describe('Adam steps; @default 600'),
    batch: z.number().int().min(1).default(64).describe('sequences per step, drawn fresh each step; @default 64'),
    lr: z.number().positive().default(0.01).describe('Adam learning rate; @default 0.01'),
    weight_decay: z
      .number()
      .min(0)
      .default(0)
      .describe('AdamW decoupled weight decay of the matrices (not the embeddings); @default 0'),
    record_every: z
      .number()
      .int()
      .min(1)
      .default(25)
      .describe('steps between recorded rows (and step 0 and the last); @default 25'),
    eval_size: z
      .number()
      .int()
      .min(1)
      .default(128)
      .describe('held-out sequences of each kind the recorded losses and scores are measured on; @default 128'),
    phase_window: z
      .number()
      .int()
      .min(1)
      .default(100)
      .describe(
        'steps over which the analysis finds the fastest fall of the repeated-token loss (a multiple of record_every); @default 100',
      ),
    export: z
      .boolean()
      .default(true)
      .describe('attach each trained model as models/<layers>L-seed<seed>.onnx; @default true'),
  })
  .strict()
  .refine((s) => 2 * s.segment <= s.n, { message: 'two copies of the segment must fit in n', path: ['segment'] })
  .refine((s) => s.phase_window % s.record_every === 0, {
    message: 'phase_window must be a multiple of record_every',
    path: ['phase_window'],
  });
type Settings = z.output<typeof Settings>;

/** The example every map row is drawn on: the same repeated random sequence for every point with this vocab and n. */
const fixedExample = (s: Shape): Batch =>
  repeatedRandom(1, s.n, s.vocab, new NormalRng(Uint32Array.of(s.vocab, s.n, 20261205, 28)));

/** Mean loss and accuracy over the targets of one kind. */
function byKind(
  loss: Float64Array,
  correct: Uint8Array,
  kind: Uint8Array,
  want: number,
): { loss: number; accuracy: number } {
  let [l, a, c] = [0, 0, 0];
  for (let r = 0; r < kind.length; r++) {
    if (kind[r] !== want) continue;
    l += loss[r]!;
    a += correct[r]!;
    c++;
  }
  return { loss: l / c, accuracy: a / c };
}

/** The file a trained model is attached as: `models/2L-seed0.onnx`, with any non-default shape in the name. */
export function modelPath(
  p: { layers: number; heads: number; d_model: number; positions: string },
  seed: number,
): string {
  const extra = [
    p.heads !== 2 ? `${p.heads}h` : '',
    p.d_model !== 32 ? `d${p.d_model}` : '',
    p.positions !== 'learned' ? p.positions : '',
  ].filter(Boolean);
  return `models/${[`${p.layers}L`, ...extra, `seed${seed}`].join('-')}.onnx`;
}

/** The columns every row of a point repeats. */
type Base = Pick<InductionRow, 'layers' | 'heads' | 'd_model' | 'positions' | 'seed'>;

/** The columns a row of one kind leaves empty. */
const NONE = {
  layer: null,
  head: null,
  loss: null,
  loss_first: null,
  loss_repeated: null,
  accuracy_first: null,
  accuracy_repeated: null,
  previous_token_score: null,
  prefix_matching_score: null,
  duplicate_token_score: null,
  first_token_mass: null,
  map: null,
  time_ms: 0,
} as const;

/**
 * A recorded step's rows: the held-out losses and accuracies (first and repeated halves), then every head's scores
 * on the random repeated probe.
 */
function recordedRows(
  o: { shape: Shape; weights: Weights; base: Base; held: Batch & { kind: Uint8Array }; probe: Batch },
  step: number,
): InductionRow[] {
  const { shape, weights, base, held, probe } = o;
  const { n, heads } = shape;
  const period = Math.floor(n / 2);
  const rows: InductionRow[] = [];
  const f = forward(shape, weights, held.tokens, held.size);
  const { loss, correct } = tokenLosses(shape, f.out, held.tokens, held.size);
  let total = 0;
  for (let r = 0; r < loss.length; r++) if (r % n !== n - 1) total += loss[r]!;
  const first = byKind(loss, correct, held.kind, Target.first);
  const repeated = byKind(loss, correct, held.kind, Target.repeated);
  rows.push({
    ...base,
    ...NONE,
    row_kind: 'step',
    step,
    loss: total / (held.size * (n - 1)),
    loss_first: first.loss,
    loss_repeated: repeated.loss,
    accuracy_first: first.accuracy,
    accuracy_repeated: repeated.accuracy,
  });
  const g = forward(shape, weights, probe.tokens, probe.size);
  g.attn.forEach((a, l) => {
    const prev = batchScores(a, probe.size, heads, n, previousTokenScore);
    const prefix = batchScores(a, probe.size, heads, n, (m, t, o) => prefixMatchingScore(m, t, period, o));
    const dup = batchScores(a, probe.size, heads, n, (m, t, o) => duplicateTokenScore(m, t, period, o));
    const sink = batchScores(a, probe.size, heads, n, firstTokenMass);
    for (let h = 0; h < heads; h++) {
      rows.push({
        ...base,
        ...NONE,
        row_kind: 'head',
        step,
        layer: l + 1,
        head: h,
        previous_token_score: prev[h]!,
        prefix_matching_score: prefix[h]!,
        duplicate_token_score: dup[h]!,
        first_token_mass: sink[h]!,
      });
    }
  });
  return rows;
}

/** The trained model's attention maps on the fixed example: one row per layer and head. */
function mapRows(shape: Shape, weights: Weights, base: Base, step: number): InductionRow[] {
  const { n, heads } = shape;
  const rows: InductionRow[] = [];
  const example = fixedExample(shape);
  forward(shape, weights, example.tokens, 1).attn.forEach((a, l) => {
    for (let h = 0; h < heads; h++)
      rows.push({
        ...base,
        ...NONE,
        row_kind: 'map',
        step,
        layer: l + 1,
        head: h,
        map: Array.from(a.subarray(h * n * n, (h + 1) * n * n)),
      });
  });
  return rows;
}

export const inductionHeads = defineSimulation({
  kind: 'induction-heads',
  summary:
    'two attention-only layers learn an induction head (previous-token head + K-composition), one layer cannot; the phase change over seeds',
  params: Params,
  settings: Settings,
  row: InductionRow,
  measuredColumns: ['time_ms'],
  timing: false,
  engines: ['cpu', 'wasm'],
  tables: {
    curves: CURVE_COLUMNS,
    heads: HEAD_COLUMNS,
    phase: PHASE_COLUMNS,
    phase_interval: INTERVAL_COLUMNS,
    maps: MAP_COLUMNS,
  },
  // Hand-written loops (model.ts), whatever the tfjs backend: a step is ≈ 14·B·T·d² + 4·B·T²·d multiply-adds per layer
  // (forward and backward) plus the unembedding's; recorded evaluations add theirs. 1.04 ns per multiply-add, from the
  // default run's CPU time (docs/benchmarks.md, "Figures behind constants").
  estimateMs: ({ layers, d_model: d }, s) => {
    const step = layers * (14 * s.batch * s.n * d * d + 4 * s.batch * s.n * s.n * d) + 6 * s.batch * s.n * d * s.vocab;
    const evals =
      (Math.floor(s.steps / s.record_every) + 2) *
      2 *
      s.eval_size *
      s.n *
      (layers * (4 * d * d + s.n * d) + d * s.vocab);
    return 20 + (s.steps * step + evals) * 1.04e-6;
  },
  analyse: (rows, settings) => analyseInduction(rows, settings.phase_window),
  run({ params, settings, replicate }, ctx) {
    const t0 = ctx.now();
    const { rng } = ctx;
    const { layers, heads, d_model: d, positions } = params;
    const { vocab, n, segment } = settings;
    const shape: Shape = { vocab, n, d, layers, heads, positions };
    const weights: Weights = randomWeights(shape, rng);
    const params_ = weightList(weights);
    // Decay the matrices only (AdamW's usual choice); sinusoidal positions get zero gradient and stay fixed.
    const adam = new Adam(params_, {
      lr: settings.lr,
      beta1: 0.9,
      beta2: 0.999,
      eps: 1e-8,
      weightDecay: settings.weight_decay,
      decay: params_.map((_, i) => i >= 2),
    });
    const held = repeatedSegments(settings.eval_size, n, vocab, segment, rng);
    const probe = repeatedRandom(settings.eval_size, n, vocab, rng);
    const base = { layers, heads, d_model: d, positions, seed: replicate };
    const rows: InductionRow[] = [];
    for (let step = 0; step <= settings.steps; step++) {
      if (step % settings.record_every === 0 || step === settings.steps)
        rows.push(...recordedRows({ shape, weights, base, held, probe }, step));
      if (step === settings.steps) break;
      const batch = repeatedSegments(settings.batch, n, vocab, segment, rng);
      adam.step(weightList(lossAndGrads(shape, weights, batch.tokens, batch.size).grads));
    }
    rows.push(...mapRows(shape, weights, base, settings.steps));
    if (settings.export) ctx.attach(modelPath(params, replicate), modelGraph(shape, weights));
    const ms = ctx.now() - t0;
    return rows.map((r) => ({ ...r, time_ms: ms }));
  },
});

export type { Settings as InductionSettings };
