import { z } from 'zod';
import { AttnlabError, type SourceLocation } from '../../errors.js';
import { msg } from '../../messages.js';
import { moments, normalInterval } from '../../stats/moments.js';
import { gpt2Tokenizer, GPT2_VOCAB, jsonTokenizer, type TextTokenizer } from './tokenizers.js';
import { defineSimulation } from '../types.js';
import {
  ablationCostMs,
  ablationModes,
  ablationRows,
  AblationSetting,
  HeadSet,
  parseLabel,
  resolveSets,
} from './ablate-point.js';
import { AblationProblem, openAblator } from './ablator.js';
import { ABLATION_COLUMNS, COMPOSITION_COLUMNS } from './analysis-ablation.js';
import { analyseMaps, MAP_COLUMNS, HEAD_COLUMNS, TOP_COLUMNS } from './analysis.js';
import { modelCostMs } from './cost.js';
import { largestLength, ModelProblem, openModel, type AttentionModel } from './engines.js';
import { PROBES, probeSequences, type Probe, type ProbeBatch } from './probes.js';
import { MapsRow } from './rows.js';
import { headScores, SCORES, type HeadScores, type Score } from './scores.js';

/**
 * attention-maps: inside a trained transformer (any ONNX model with eager attention), which heads attend to the
 * previous token, the first token (sinks), duplicates, and the token after an earlier occurrence (induction), and how
 * far its pre-softmax logits are from variance 1. The attention probabilities and logits are found by graph surgery
 * (graphs.ts), the probes are drawn from the point's generator (probes.ts), each score is a mean over the point's
 * sequences with a 95% interval (scores.ts), and `baseline: untrained` runs the same sequences through the model with
 * its weight matrices permuted.
 */

const Params = z
  .object({
    probe: z
      .enum(PROBES)
      .describe(
        'random: uniform random tokens; repeated: a random segment twice (induction); tokens: settings.tokens; text: settings.texts, tokenized',
      ),
    T: z.number().int().min(6).max(16384).describe('sequence length, in tokens (the prefix included)'),
  })
  .strict();
type Params = z.output<typeof Params>;

const Settings = z
  .object({
    model: z.string().min(1).optional().describe('the ONNX model, a path relative to the experiment file (required)'),
    ids_input: z
      .string()
      .min(1)
      .default('input_ids')
      .describe(
        'the int64 token-id input, [1, T] or [batch, T]; other inputs are filled by rule: attention_mask ones, position_ids 0…T−1, token_type_ids zeros; @default input_ids',
      ),
    vocab: z
      .number()
      .int()
      .min(2)
      .optional()
      .describe(
        'vocabulary size; @default the rows of the embedding table the ids index, else the width of the first output',
      ),
    sequences: z
      .number()
      .int()
      .min(2)
      .max(4096)
      .default(32)
      .describe('sequences per point for the random and repeated probes; @default 32'),
    attention: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe(
        'names of the attention-probability tensors, one per layer in order, for graphs where they cannot be found',
      ),
    prefix: z
      .array(z.number().int().min(0))
      .default([])
      .describe('token ids that open every sequence (a BOS or [CLS] token), within T; @default none'),
    tokens: z
      .array(z.array(z.number().int().min(0)).min(1))
      .default([])
      .describe('token-id lists of the tokens probe (each cut to T)'),
    texts: z.array(z.string().min(1)).default([]).describe('sentences of the text probe, tokenized and cut to T'),
    tokenizer: z
      .string()
      .min(1)
      .optional()
      .describe(
        "a Hugging Face tokenizer.json for the text probe and the maps' labels; @default GPT-2's byte-pair encoding for models with 50257 tokens",
      ),
    baseline: z
      .enum(['none', 'untrained'])
      .default('none')
      .describe(
        'untrained: the same sequences also through the model with the entries of each weight matrix permuted (its own scale, nothing learned) or re-drawn (baseline_std); @default none',
      ),
    baseline_seed: z.number().int().min(0).default(0).describe('seed of the permutation (or of the draws); @default 0'),
    baseline_std: z
      .number()
      .positive()
      .optional()
      .describe(
        "re-draw each weight matrix from N(0, baseline_std²) instead of permuting it: the model's own initialisation (GPT-2 and BERT: 0.02); @default permute",
      ),
    map_T: z
      .number()
      .int()
      .min(0)
      .max(64)
      .default(24)
      .describe('length of the sequence each point draws its attention maps on (0: no maps); @default 24'),
    ablation: AblationSetting,
    head_sets: z
      .array(HeadSet)
      .default([])
      .describe(
        'named sets of heads ablated together (redundant heads mask each other’s single ablations); @default none',
      ),
    composition: z
      .boolean()
      .default(true)
      .describe('with ablation: each score of every head above the ablated one, clean and ablated; @default true'),
    logits_output: z
      .string()
      .min(1)
      .optional()
      .describe('with ablation: the output holding the logits [batch, T, vocab]; @default the output of that shape'),
    head_view: z
      .boolean()
      .default(true)
      .describe("keep every head's map on the point's map sequence, for the report's head view; @default true"),
    map_heads: z
      .number()
      .int()
      .min(1)
      .max(8)
      .default(2)
      .describe('heads per score whose maps are kept (the highest at each point); @default 2'),
  })
  .strict();
type Settings = z.output<typeof Settings>;

const sink = (s: Settings) => ({ file: s.model ?? '', idsInput: s.ids_input, attention: s.attention, vocab: s.vocab });

/** Heads ranked first for a score: the highest, but for entropy_ratio the lowest (the most concentrated). */
const ranksLow = (score: Score) => score === 'entropy_ratio';

/** The tokenizer of the text probe and of the maps' labels: the user's tokenizer.json, or GPT-2's for its vocabulary. */
const tokenizers = new Map<string, Promise<TextTokenizer | null>>();
function tokenizerFor(s: Settings, vocab: number): Promise<TextTokenizer | null> {
  const key = `${s.tokenizer ?? ''}|${vocab}`;
  let t = tokenizers.get(key);
  if (!t) {
    t = s.tokenizer ? jsonTokenizer(s.tokenizer) : vocab === GPT2_VOCAB ? gpt2Tokenizer() : Promise.resolve(null);
    tokenizers.set(key, t);
  }
  return t;
}

/** The id lists of the tokens or text probe (empty for the others). */
async function probeLists(probe: Probe, s: Settings, vocab: number): Promise<number[][]> {
  if (probe === 'tokens') return s.tokens;
  if (probe !== 'text') return [];
  const tok = await tokenizerFor(s, vocab);
  return tok ? s.texts.map((t) => tok.encode(t)) : [];
}

/** Each head's scores on each sequence: [layer][head][sequence], scored call by call (the maps are not kept). */
async function scoreBatch(model: AttentionModel, batch: ProbeBatch, T: number): Promise<HeadScores[][][]> {
  const scores = model.layers.map((l) => Array.from({ length: l.heads }, (): HeadScores[] => []));
  await model.each(batch.sequences, (outputs, first) => {
    outputs.forEach((o, layer) => {
      const n = o.probs.length / (o.heads * T * T);
      for (let h = 0; h < o.heads; h++) {
        for (let b = 0; b < n; b++)
          scores[layer]![h]!.push(
            headScores(o.probs, o.logits, (b * o.heads + h) * T * T, T, batch.sequences[first + b]!, batch.repeat),
          );
      }
    });
  });
  return scores;
}

/** A row of `record` with every score, ablation and map column empty. */
function emptyRow(model: MapsRow['model'], record: MapsRow['record'], p: Params, sequences: number): MapsRow {
  const scores = Object.fromEntries(SCORES.flatMap((x) => [x, `${x}_ci_low`, `${x}_ci_high`].map((c) => [c, null])));
  return {
    model,
    record,
    probe: p.probe,
    T: p.T,
    layer: null,
    head: null,
    sequences,
    ...scores,
    ablation: null,
    ablated: null,
    measure: null,
    clean: null,
    ablated_value: null,
    delta: null,
    delta_ci_low: null,
    delta_ci_high: null,
    ratio: null,
    ratio_ci_low: null,
    ratio_ci_high: null,
    map: null,
    map_tokens: null,
    time_ms: 0,
  } as MapsRow;
}

/** The loss and composition records of one model (trained or its baseline) at a point, where ablations are asked. */
async function ablate(
  kind: MapsRow['model'],
  s: Settings,
  p: Params,
  model: AttentionModel,
  batch: ProbeBatch,
  heads: readonly MapsRow[],
): Promise<MapsRow[]> {
  const modes = ablationModes(s.ablation);
  if (!modes.length) return [];
  const o = kind === 'trained' ? sink(s) : { ...sink(s), permuteSeed: s.baseline_seed, untrainedStd: s.baseline_std };
  const ablator = await openAblator(o, model, s.logits_output);
  const score = (x: string, layer: number, head: number) =>
    (heads.find((r) => r.layer === layer && r.head === head)?.[x as Score] as number | null | undefined) ?? null;
  const sets = resolveSets(
    s.head_sets,
    score,
    model.layers.map((l) => l.heads),
  );
  const base = (record: MapsRow['record']) => emptyRow(kind, record, p, batch.sequences.length);
  const { rows } = await ablationRows(ablator, batch.sequences, batch.repeat, modes, sets, s.composition, base);
  return rows;
}

/** Rows of one model at one point: each score's mean over sequences with its 95% interval. */
function summarise(kind: MapsRow['model'], p: Params, scores: HeadScores[][][], timeMs: number): MapsRow[] {
  return scores.flatMap((heads, layer) =>
    heads.map((perSeq, head) => {
      const row: Record<string, unknown> = { ...emptyRow(kind, 'head', p, perSeq.length), layer, head };
      for (const score of SCORES) {
        const values = perSeq.flatMap((s) => (s[score] === null ? [] : [s[score]!]));
        const m = values.length >= 2 ? moments(values) : null;
        const ci = m ? normalInterval(m.mean, m.meanSe) : null;
        row[score] = m ? m.mean : (values[0] ?? null);
        row[`${score}_ci_low`] = ci ? ci.low : null;
        row[`${score}_ci_high`] = ci ? ci.high : null;
      }
      return { ...row, time_ms: timeMs } as MapsRow;
    }),
  );
}

/** The point's map sequence through the model: the maps of the heads ranked in the top `map_heads` of some score. */
async function addMaps(
  rows: MapsRow[],
  model: AttentionModel,
  batch: ProbeBatch,
  t: number,
  labels: string[],
  s: Settings,
): Promise<void> {
  const keep = new Set<MapsRow>(s.head_view ? rows : []);
  for (const score of SCORES) {
    const ranked = rows
      .filter((r) => r[score] !== null)
      .sort((a, b) => (ranksLow(score) ? a[score]! - b[score]! : b[score]! - a[score]!));
    for (const r of ranked.slice(0, s.map_heads)) keep.add(r);
  }
  if (!keep.size) return;
  const outputs = await model.run(batch.sequences);
  for (const r of keep) {
    const [layer, head] = [r.layer!, r.head!];
    const o = outputs[layer]!;
    r.map = Array.from(o.probs.subarray(head * t * t, (head + 1) * t * t), (x) => Math.round(x * 1e4) / 1e4);
    r.map_tokens = JSON.stringify(labels);
  }
}

export const attentionMaps = defineSimulation({
  kind: 'attention-maps',
  summary:
    'per-head attention scores (previous token, first token, duplicate, induction, entropy, logit variance) of any ONNX transformer',
  params: Params,
  settings: Settings,
  row: MapsRow,
  measuredColumns: ['time_ms'],
  // ONNX Runtime runs each call on every core: points run one at a time, in this thread (each worker would open its
  // own copy of the model: GPT-2-sized, 2 workers took 7.9 GB and 107 s against 2.9 GB and 43 s for one).
  timing: true,
  engines: ['onnx'],
  tables: {
    heads: HEAD_COLUMNS,
    top_heads: TOP_COLUMNS,
    maps: MAP_COLUMNS,
    ablation: ABLATION_COLUMNS,
    composition: COMPOSITION_COLUMNS,
  },
  files: (s: Settings) => [...(s.model ? [['model']] : []), ...(s.tokenizer ? [['tokenizer']] : [])],
  prepare: (s: Settings, points, at) =>
    checkModel(
      s,
      points.map((p) => p.params),
      at,
    ),
  estimateMs: (p, s: Settings) => {
    const n = p.probe === 'tokens' ? s.tokens.length : p.probe === 'text' ? s.texts.length : s.sequences;
    const base = modelCostMs(s.model ?? '', p.T, n, s.baseline === 'untrained');
    return base + ablationCostMs(s.model ?? '', p.T, n, ablationModes(s.ablation).length, s.baseline === 'untrained');
  },
  analyse: (rows, s: Settings) =>
    analyseMaps(
      rows,
      s.baseline_std === undefined
        ? 'weight matrices permuted'
        : `weight matrices re-drawn from N(0, ${s.baseline_std}²)`,
    ),
  async run({ params, settings: s }, ctx) {
    const t0 = ctx.now();
    const model = await openModel(sink(s));
    const lists = await probeLists(params.probe, s, model.vocab);
    const batch = probeSequences(params.probe, params.T, s.sequences, model.vocab, ctx.rng, s.prefix, lists);
    // The map sequence: map_T tokens, or T where the model takes no other length (and T is short enough to draw).
    const t = model.fixedT === null ? Math.min(params.T, s.map_T) : model.fixedT <= s.map_T ? model.fixedT : 0;
    const mapBatch =
      t >= 6 ? probeSequences(params.probe, t, 1, model.vocab, ctx.rng, s.prefix, lists.slice(0, 1)) : null;
    const trained = await scoreBatch(model, batch, params.T);
    const rows = summarise('trained', params, trained, 0);
    if (mapBatch) {
      const tok = await tokenizerFor(s, model.vocab);
      const labels = mapBatch.sequences[0]!.map((id) => (tok ? tok.label(id) : String(id)));
      await addMaps(rows, model, mapBatch, t, labels, s);
    }
    rows.push(...(await ablate('trained', s, params, model, batch, rows)));
    if (s.baseline === 'untrained') {
      const untrained = await openModel({ ...sink(s), permuteSeed: s.baseline_seed, untrainedStd: s.baseline_std });
      const heads = summarise('untrained', params, await scoreBatch(untrained, batch, params.T), 0);
      rows.push(...heads, ...(await ablate('untrained', s, params, untrained, batch, heads)));
    }
    const ms = ctx.now() - t0;
    return rows.map((r) => ({ ...r, time_ms: ms }));
  },
});

/** Makes a located BAD_MODEL error: the key's path in the experiment file, and the message. */
type Fail = (path: (string | number)[], text: string) => AttnlabError;

/** Everything that loading the model can tell before any work: the model, its inputs, the probes' tokens, and T. */
async function checkModel(
  s: Settings,
  points: readonly Params[],
  at: (path: (string | number)[]) => SourceLocation,
): Promise<void> {
  const fail: Fail = (path, text) => new AttnlabError('BAD_MODEL', text, at(path));
  if (!s.model)
    throw new AttnlabError(
      'SCHEMA',
      msg.missingKey('settings.model', 'the path of an ONNX model, relative to the experiment file'),
      at(['settings']),
    );
  let model: AttentionModel;
  try {
    model = await openModel(sink(s));
  } catch (e) {
    if (e instanceof ModelProblem) throw fail(e.key, e.message);
    throw e;
  }
  checkGivenIds(s, model, fail);
  const probes = new Set(points.map((p) => p.probe));
  const longest = (probe: Probe) => Math.max(...points.filter((p) => p.probe === probe).map((p) => p.T));
  if (probes.has('tokens')) checkTokensProbe(s, longest('tokens'), fail);
  if (probes.has('text')) await checkTextProbe(s, model, longest('text'), fail);
  if (probes.has('repeated')) checkRepeatedProbe(s, points, fail);
  await checkAblation(s, model, fail);
  await checkLengths(model, points, fail);
}

const outside = (ids: readonly number[], vocab: number) => ids.find((id) => id >= vocab);

/** The prefix's and the token lists' ids are in the model's vocabulary. */
function checkGivenIds(s: Settings, { vocab, file }: AttentionModel, fail: Fail): void {
  const bad = outside(s.prefix, vocab);
  if (bad !== undefined) throw fail(['settings', 'prefix'], msg.idsOutOfVocab('settings.prefix', file, bad, vocab));
  s.tokens.forEach((list, i) => {
    const id = outside(list, vocab);
    if (id !== undefined)
      throw fail(['settings', 'tokens', i], msg.idsOutOfVocab(`settings.tokens[${i}]`, file, id, vocab));
  });
}

/** The tokens probe has token lists, each (after the prefix) as long as its longest T. */
function checkTokensProbe(s: Settings, longest: number, fail: Fail): void {
  if (!s.tokens.length) throw fail(['grid', 'probe'], msg.probeMissing('tokens', 'tokens'));
  s.tokens.forEach((list, i) => {
    if (s.prefix.length + list.length < longest)
      throw fail(
        ['settings', 'tokens', i],
        msg.probeTooShort(`settings.tokens[${i}]`, s.prefix.length + list.length, longest),
      );
  });
}

/** The text probe has texts and a tokenizer, and each text tokenizes into the vocabulary and to its longest T. */
async function checkTextProbe(s: Settings, { vocab, file }: AttentionModel, longest: number, fail: Fail) {
  if (!s.texts.length) throw fail(['grid', 'probe'], msg.probeMissing('text', 'texts'));
  let tok: TextTokenizer | null;
  try {
    tok = await tokenizerFor(s, vocab);
  } catch (e) {
    tokenizers.clear();
    throw fail(['settings', 'tokenizer'], msg.tokenizerFailed(s.tokenizer ?? '', (e as Error).message.split('\n')[0]!));
  }
  if (!tok) throw fail(['grid', 'probe'], msg.noTokenizer(file, vocab));
  const lists = s.texts.map((t) => tok.encode(t));
  lists.forEach((list, i) => {
    const id = outside(list, vocab);
    if (id !== undefined)
      throw fail(['settings', 'texts', i], msg.idsOutOfVocab(`settings.texts[${i}] (tokenized)`, file, id, vocab));
    if (s.prefix.length + list.length < longest)
      throw fail(
        ['settings', 'texts', i],
        msg.probeTooShort(`settings.texts[${i}]`, s.prefix.length + list.length, longest),
      );
  });
}

/** The repeated probe's shortest T leaves at least 4 tokens after the prefix. */
function checkRepeatedProbe(s: Settings, points: readonly Params[], fail: Fail): void {
  if (Math.min(...points.filter((p) => p.probe === 'repeated').map((p) => p.T)) - s.prefix.length >= 4) return;
  throw fail(
    ['grid', 'T'],
    msg.probeTooShort(
      'grid.T (repeated probe, after the prefix)',
      Math.min(...points.map((p) => p.T)) - s.prefix.length,
      s.prefix.length + 4,
    ),
  );
}

/** The grid's T are the model's fixed length where it has one, and the longest T runs (within its position limit). */
async function checkLengths(model: AttentionModel, points: readonly Params[], fail: Fail): Promise<void> {
  const { file } = model;
  const maxT = Math.max(...points.map((p) => p.T));
  const other = points.find((p) => model.fixedT !== null && p.T !== model.fixedT);
  if (other && model.fixedT !== null) throw fail(['grid', 'T'], msg.fixedLengthGrid(file, other.T, model.fixedT));
  const problem = await model.tryLength(maxT);
  if (problem !== null)
    throw fail(['grid', 'T'], msg.tooLongForModel(file, maxT, await largestLength(model, 6, maxT), problem));
}

/** Head sets name heads the model has; the model has a logits output and a batch axis to ablate along. */
async function checkAblation(s: Settings, model: AttentionModel, fail: Fail): Promise<void> {
  if (!ablationModes(s.ablation).length) return;
  const heads = model.layers.map((l) => l.heads);
  s.head_sets.forEach((set, i) =>
    (set.heads ?? []).forEach((label, j) => {
      const h = parseLabel(label);
      if (h.layer >= heads.length || h.head >= heads[h.layer]!)
        throw fail(
          ['settings', 'head_sets', i, 'heads', j],
          msg.noSuchHead(`settings.head_sets[${i}].heads[${j}]`, model.file, label, heads),
        );
    }),
  );
  if (model.maxBatch === 1)
    throw fail(['settings', 'ablation'], msg.ablationUnavailable(model.file, 'its batch axis is fixed to 1'));
  try {
    await openAblator(sink(s), model, s.logits_output);
  } catch (e) {
    if (!(e instanceof AblationProblem || e instanceof Error)) throw e;
    const key = s.logits_output ? ['settings', 'logits_output'] : ['settings', 'ablation'];
    throw fail(key, msg.ablationUnavailable(model.file, e.message.split('\n')[0]!));
  }
}
