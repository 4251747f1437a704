/**
 * attention-maps on ONNX Runtime: open a user's model with its attention made visible (graphs.ts), check it on a
 * first call, and run batches of token ids, returning each layer's probabilities and logits.
 *
 *   file ─ read ─► decode ─► inputs checked ─► candidates ─► session with extra outputs ─► a call at T = 6 keeps
 *   the candidates shaped [batch, heads, T, T] (or [batch·heads, T, T]) ─► AttentionModel.run(ids)
 *
 * Problems a user can cause are thrown as ModelProblem (the settings key they concern and the message), which the
 * simulation turns into a located error.
 */
import type * as Ort from 'onnxruntime-node';
import { loadOnnx, type OnnxEngine } from '../../engine/onnx/engine.js';
import { describeNonOnnx, fileStart, fileVersion, readModelFile } from '../../engine/onnx/model-file.js';
import { forwardWeights, recordModelSize } from './cost.js';
import { NormalRng } from '../../random/normal.js';
import { msg } from '../../messages.js';
import { decodeModel, untrainedWeights, softmaxInput, summarize, withOutputs, type ModelSummary } from './graphs.js';

/** A problem with the model or the settings that name it: the settings key it concerns, and the message. */
export class ModelProblem extends Error {
  /** The path of the key in the experiment file (`['settings', 'model']`, `['grid', 'T']`). */
  readonly key: (string | number)[];
  constructor(key: (string | number)[], message: string) {
    super(message);
    this.key = key;
  }
}

export interface OpenOptions {
  file: string;
  idsInput: string;
  /** Names of the probability tensors, where the user gives them. */
  attention?: readonly string[] | undefined;
  /** Vocabulary size, where the user gives it. */
  vocab?: number | undefined;
  /** The untrained baseline: entries of every weight matrix permuted with this seed (or re-drawn, with `untrainedStd`). */
  permuteSeed?: number;
  untrainedStd?: number | undefined;
}

export interface Layer {
  probs: string;
  logits: string | null;
  heads: number;
}

/** One layer's tensors for a batch: [batch, heads, T, T] each, flattened. */
export interface LayerOutput {
  heads: number;
  probs: Float32Array;
  logits: Float32Array | null;
}

export interface AttentionModel {
  file: string;
  summary: ModelSummary;
  vocab: number;
  layers: Layer[];
  /** Sequences per call: 1 where the model's batch axis is fixed to 1. */
  maxBatch: number;
  /** The only sequence length the model takes, where its sequence axis is fixed; else null. */
  fixedT: number | null;
  /** Run token ids (sequences of one length) through the model; the outputs of every layer. */
  run(ids: readonly (readonly number[])[]): Promise<LayerOutput[]>;
  /**
   * The same, one call at a time (each holds at most 256 MiB of attention, or one sequence): `use` gets a call's
   * outputs and the index of its first sequence, so that a long run never holds every sequence's maps at once.
   */
  each(ids: readonly (readonly number[])[], use: (outputs: LayerOutput[], first: number) => void): Promise<void>;
  /** Whether a call at length T succeeds (the position limit); the error's first line when it does not. */
  tryLength(T: number): Promise<string | null>;
}

/** Inputs other than the ids that are filled by rule: the pattern of the name, and what goes in. */
const FILLED = [
  { pattern: /mask/i, fill: () => 1 },
  { pattern: /position/i, fill: (t: number) => t },
  { pattern: /token_type|segment/i, fill: () => 0 },
] as const;

const DISCOVERY_T = 6;
/** Attention outputs held at once (probabilities and logits of every layer for the sequences of one call). */
const CALL_BYTES = 256 * 2 ** 20;

const cache = new Map<string, Promise<AttentionModel>>();

/** The model opened for inspection, once per process for each file (as it now is), baseline and option set. */
export function openModel(o: OpenOptions): Promise<AttentionModel> {
  const key = JSON.stringify([
    o.file,
    fileVersion(o.file),
    o.idsInput,
    o.attention ?? null,
    o.vocab ?? null,
    o.permuteSeed ?? null,
    o.untrainedStd ?? null,
  ]);
  let m = cache.get(key);
  if (!m) {
    m = open(o);
    cache.set(key, m);
    m.catch(() => cache.delete(key));
  }
  return m;
}

const first = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
const dimsText = (dims: readonly (number | string)[]) => `[${dims.join(', ')}]`;

/**
 * The model's bytes with the attention as outputs, and what the checks need of it. The file's bytes and the decoded
 * graph stay inside this function, so that nothing the returned session's closures hold keeps them alive.
 */
function surgery(o: OpenOptions) {
  const { file, idsInput } = o;
  let bytes: Uint8Array;
  try {
    bytes = readModelFile(file);
  } catch (e) {
    throw new ModelProblem(['settings', 'model'], msg.modelUnreadable(file, first(e)));
  }
  let model: ReturnType<typeof decodeModel>;
  try {
    model = decodeModel(bytes);
  } catch (e) {
    throw new ModelProblem(['settings', 'model'], msg.notOnnx(file, first(e), describeNonOnnx(bytes.subarray(0, 512))));
  }
  if (!model.graph?.node?.length)
    throw new ModelProblem(
      ['settings', 'model'],
      msg.notOnnx(file, 'no graph with nodes in it', describeNonOnnx(bytes.subarray(0, 512))),
    );
  const summary = summarize(model);
  const inputsText = summary.inputs.map((i) => `${i.name} (${i.elem} ${dimsText(i.dims)})`).join(', ') || '(none)';
  const ids = summary.inputs.find((i) => i.name === idsInput);
  if (!ids || ids.elem !== 'int64' || ids.dims.length !== 2)
    throw new ModelProblem(['settings', 'ids_input'], msg.noIdsInput(file, idsInput, inputsText));
  for (const input of summary.inputs) {
    if (input.name === idsInput) continue;
    if (!FILLED.some((f) => f.pattern.test(input.name)) || input.dims.length !== 2)
      throw new ModelProblem(['settings', 'model'], msg.unknownInput(file, input.name, inputsText));
  }
  const outWidth = summary.outputs[0]?.dims.at(-1);
  const vocab = o.vocab ?? summary.embeddingRows[idsInput] ?? (typeof outWidth === 'number' ? outWidth : undefined);
  if (vocab === undefined) throw new ModelProblem(['settings', 'vocab'], msg.noVocab(file));

  let layers: Layer[];
  if (o.attention?.length) {
    layers = o.attention.map((name, i) => {
      if (!summary.values.has(name))
        throw new ModelProblem(['settings', 'attention', i], msg.noSuchTensor(file, name, summary.softmaxes));
      return { probs: name, logits: softmaxInput(model, name) ?? null, heads: 0 };
    });
  } else {
    layers = summary.candidates.map((c) => ({ probs: c.probs, logits: c.logits, heads: 0 }));
    if (!layers.length)
      throw new ModelProblem(['settings', 'model'], msg.noAttention(file, summary.softmaxes.length, summary.ops));
  }
  const fetches = [...new Set(layers.flatMap((l) => (l.logits ? [l.probs, l.logits] : [l.probs])))];
  const graph =
    o.permuteSeed === undefined
      ? model
      : untrainedWeights(model, new NormalRng(Uint32Array.of(0x5eed, o.permuteSeed, 1, 2)), o.untrainedStd);
  const weights = forwardWeights(model, fetches);
  return { summary, ids, vocab, layers, fetches, weights, edited: withOutputs(graph, fetches) };
}

type Seqs = readonly (readonly number[])[];
/** One session call: the sequences (of one length) and the outputs to fetch. */
type Call = (seqs: Seqs, names: readonly string[]) => Promise<Ort.InferenceSession.ReturnType>;

/** A session for the edited model; a file ONNX Runtime refuses is the user's problem, named with its first bytes. */
async function openSession(engine: OnnxEngine, file: string, edited: Uint8Array): Promise<Ort.InferenceSession> {
  try {
    return await engine.session(edited);
  } catch (e) {
    const start = fileStart(file);
    throw new ModelProblem(['settings', 'model'], msg.notOnnx(file, first(e), start && describeNonOnnx(start)));
  }
}

/** One input's tensor in its element type, `at(k)` giving the k-th entry of its [b, t] values. */
function inputTensor(ort: typeof Ort, elem: string, dims: number[], at: (k: number) => number): Ort.Tensor {
  const length = dims[0]! * dims[1]!;
  if (elem === 'int64')
    return new ort.Tensor(
      'int64',
      BigInt64Array.from({ length }, (_, k) => BigInt(at(k))),
      dims,
    );
  if (elem === 'int32')
    return new ort.Tensor(
      'int32',
      Int32Array.from({ length }, (_, k) => at(k)),
      dims,
    );
  if (elem === 'bool')
    return new ort.Tensor(
      'bool',
      Uint8Array.from({ length }, (_, k) => at(k)),
      dims,
    );
  return new ort.Tensor(
    'float32',
    Float32Array.from({ length }, (_, k) => at(k)),
    dims,
  );
}

/** Calls the session with the ids in `idsInput` and every other input filled by its rule (FILLED). */
function caller(ort: typeof Ort, session: Ort.InferenceSession, summary: ModelSummary, idsInput: string): Call {
  const feeds = (seqs: Seqs): Record<string, Ort.Tensor> => {
    const t = seqs[0]!.length;
    const out: Record<string, Ort.Tensor> = {};
    for (const input of summary.inputs) {
      const value =
        input.name === idsInput
          ? (i: number, j: number) => seqs[i]![j]!
          : (_: number, j: number) => FILLED.find((f) => f.pattern.test(input.name))!.fill(j);
      out[input.name] = inputTensor(ort, input.elem, [seqs.length, t], (k) => value(Math.floor(k / t), k % t));
    }
    return out;
  };
  return async (seqs, names) => session.run(feeds(seqs), [...names]);
}

/**
 * The first call, at `t0`: keeps the candidates that are float32 [batch, heads, T, T] probabilities (the MatMul's
 * other operand is then the values), with their logits where those have the same shape.
 */
async function probeLayers(o: OpenOptions, call: Call, layers: Layer[], fetches: string[], t0: number, vocab: number) {
  const { file } = o;
  let probe: Ort.InferenceSession.ReturnType;
  try {
    probe = await call([Array.from({ length: t0 }, (_, j) => j % vocab)], fetches);
  } catch (e) {
    throw new ModelProblem(['settings', 'model'], msg.firstCallFailed(file, t0, explainOrt(e, t0)));
  }
  const seen: string[] = [];
  const kept: Layer[] = [];
  for (const l of layers) {
    const dims = probe[l.probs]!.dims;
    const type = probe[l.probs]!.type;
    seen.push(`${l.probs} ${type} ${dimsText(dims)}`);
    // Scores are read as float32 (a float16 model: export it in float32).
    if (type !== 'float32') continue;
    const square = dims.length >= 3 && dims.at(-1) === t0 && dims.at(-2) === t0;
    const heads = dims.length === 4 && dims[0] === 1 ? dims[1]! : dims.length === 3 ? dims[0]! : 0;
    if (!square || !heads) {
      if (o.attention?.length)
        throw new ModelProblem(['settings', 'attention'], msg.namedTensorShape(file, l.probs, dimsText(dims), t0));
      continue;
    }
    const logitDims = l.logits ? probe[l.logits]?.dims : undefined;
    kept.push({ ...l, heads, logits: logitDims && logitDims.join() === dims.join() ? l.logits : null });
  }
  if (!kept.length) throw new ModelProblem(['settings', 'model'], msg.noAttentionShape(file, seen, t0));
  return kept;
}

/** Runs sequences in calls of at most CALL_BYTES of attention (and `maxBatch` sequences), handing each call's maps on. */
function batchedEach(call: Call, kept: Layer[], names: string[], maxBatch: number): AttentionModel['each'] {
  const bytesPerSeq = (t: number) => kept.reduce((a, l) => a + l.heads * t * t * 4 * (l.logits ? 2 : 1), 0);
  return async (seqs, use) => {
    const t = seqs[0]!.length;
    const per = Math.max(1, Math.min(maxBatch, Math.floor(CALL_BYTES / bytesPerSeq(t))));
    for (let i = 0; i < seqs.length; i += per) {
      const out = await call(seqs.slice(i, i + per), names);
      // [batch·heads, T, T] and [batch, heads, T, T] hold the same numbers in the same order.
      use(
        kept.map((l) => ({
          heads: l.heads,
          probs: out[l.probs]!.data as Float32Array,
          logits: l.logits ? (out[l.logits]!.data as Float32Array) : null,
        })),
        i,
      );
    }
  };
}

/** The calls' outputs joined layer by layer, as one call over every sequence would have returned them. */
function joinCalls(kept: Layer[], parts: LayerOutput[][]): LayerOutput[] {
  if (parts.length === 1) return parts[0]!;
  const join = (arrays: Float32Array[]) => {
    const out = new Float32Array(arrays.reduce((a, x) => a + x.length, 0));
    let at = 0;
    for (const a of arrays) {
      out.set(a, at);
      at += a.length;
    }
    return out;
  };
  return kept.map((l, li) => ({
    heads: l.heads,
    probs: join(parts.map((p) => p[li]!.probs)),
    logits: l.logits ? join(parts.map((p) => p[li]!.logits!)) : null,
  }));
}

async function open(o: OpenOptions): Promise<AttentionModel> {
  const { file } = o;
  const { summary, ids, vocab, layers, fetches, weights, edited } = surgery(o);
  const engine = await loadOnnx();
  const session = await openSession(engine, file, edited);
  const call = caller(engine.ort, session, summary, o.idsInput);
  const fixedT = typeof ids.dims[1] === 'number' && ids.dims[1] > 0 ? ids.dims[1] : null;
  const kept = await probeLayers(o, call, layers, fetches, fixedT ?? DISCOVERY_T, vocab);
  const maxBatch = ids.dims[0] === 1 ? 1 : Number.MAX_SAFE_INTEGER;
  recordModelSize(file, { forwardWeights: weights, heads: kept.reduce((a, l) => a + l.heads, 0) });
  const names = [...new Set(kept.flatMap((l) => (l.logits ? [l.probs, l.logits] : [l.probs])))];
  const each = batchedEach(call, kept, names, maxBatch);
  return {
    file,
    summary,
    vocab,
    layers: kept,
    maxBatch,
    fixedT,
    each,
    async run(seqs) {
      const parts: LayerOutput[][] = [];
      await each(seqs, (out) => parts.push(out));
      return joinCalls(kept, parts);
    },
    async tryLength(T) {
      if (fixedT !== null) return T === fixedT ? null : msg.fixedLength(fixedT);
      try {
        await call([Array.from({ length: T }, (_, j) => j % vocab)], [names[0]!]);
        return null;
      } catch (e) {
        return first(e);
      }
    },
  };
}

/**
 * ONNX Runtime's message, whole where it names an input's axis and the size it expected (its first line alone says
 * only "Got invalid dimensions for input: input_ids for the following indices"), followed by what that means here.
 */
export function explainOrt(e: unknown, t: number): string {
  const text = (e instanceof Error ? e.message : String(e)).trim();
  const input = /invalid dimensions for input: (\S+)/.exec(text)?.[1];
  const fixed = [...text.matchAll(/index: (\d+) Got: (\d+) Expected: (\d+)/g)];
  if (input === undefined || !fixed.length) return text.split('\n')[0]!;
  const whole = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join('; ');
  const meaning = fixed.map(([, axis, , expected]) =>
    msg.fixedAxis(input, Number(axis), Number(expected), Number(axis) === 0 ? 'one sequence per call' : `${t} tokens`),
  );
  return `${whole} — ${meaning.join('; ')}`;
}

/** The largest length up to `T` at which the model runs (binary search; the model ran at `low`). */
export async function largestLength(m: AttentionModel, low: number, T: number): Promise<number> {
  let [ok, bad] = [low, T];
  while (bad - ok > 1) {
    const mid = Math.floor((ok + bad) / 2);
    if ((await m.tryLength(mid)) === null) ok = mid;
    else bad = mid;
  }
  return ok;
}
