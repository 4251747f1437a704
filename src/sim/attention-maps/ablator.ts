/**
 * Ablations on ONNX Runtime (the surgery is ablation-graphs.ts, the feeds ablation-feeds.ts):
 *
 *   model ─ discovery calls at T = 6 with 1 and 2 sequences (every inner value an output: its type, whether its first
 *   axis is the batch, each layer's layout and head width, the logits output) ─► ablatable model
 *   ─► below: one call per point over its sequences gives every layer's cut and the heads' outputs (for `mean`)
 *   ─► above layer ℓ: one session per layer; each call runs some replicas of the point's sequences, each replica with
 *      its own head (or set) ablated, beside one clean replica, so that every difference is taken within one session.
 */
import type * as Ort from 'onnxruntime-node';
import { loadOnnx, type OnnxEngine } from '../../engine/onnx/engine.js';
import { readModelFile } from '../../engine/onnx/model-file.js';
import { NormalRng } from '../../random/normal.js';
import {
  ablatable,
  above,
  elemTypes,
  encodeWithOutputs,
  findSites,
  innerValues,
  NLL,
  TARGETS,
} from './ablation-graphs.js';
import type { SiteLayer, ValueKinds } from './ablation-graphs.js';
import * as feeds from './ablation-feeds.js';
import type { AblationLayer, Feeds, Replica, ReplicaResult } from './ablation-feeds.js';
import type { AttentionModel, OpenOptions } from './engines.js';
import { decodeModel, untrainedWeights } from './graphs.js';
import { headScores, type Repeat } from './scores.js';

type Model = ReturnType<typeof decodeModel>;
/** What a composition score reads of a layer: its probabilities, and its logits where it has them (which keys are seen). */
const scored = (l: AblationLayer) => (l.logits ? [l.probs, l.logits] : [l.probs]);
const FLOAT = 1;
type Seqs = readonly (readonly number[])[];

export interface Ablator {
  layers: AblationLayer[];
  logits: string;
  /** Run the replicas of each split layer: `replicas(layer)` lists those whose lowest ablated layer it is. */
  run(
    seqs: Seqs,
    repeat: Repeat | null,
    replicas: (layer: number) => Replica[],
    composition: boolean,
  ): Promise<{ results: ReplicaResult[]; belowMs: number; aboveMs: number }>;
}

/** A problem with the model for ablations (no logits output, an old opset), said in a sentence. */
export class AblationProblem extends Error {}

const cache = new Map<string, Promise<Ablator>>();

/** The ablator of a model (its untrained baseline, with `permuteSeed`), once per process for each option set. */
export function openAblator(o: OpenOptions, m: AttentionModel, logits?: string): Promise<Ablator> {
  const key = JSON.stringify([
    o.file,
    o.idsInput,
    o.attention ?? null,
    o.permuteSeed ?? null,
    o.untrainedStd ?? null,
    logits,
  ]);
  let a = cache.get(key);
  if (!a) {
    a = build(o, m, logits);
    cache.set(key, a);
    a.catch(() => cache.delete(key));
  }
  return a;
}

/** Types and batch axes of every inner value, each layer's layout and head width, and the logits output. */
async function discover(engine: OnnxEngine, model: Model, m: AttentionModel, o: OpenOptions, logits?: string) {
  const outputs = (model.graph?.output ?? []).map((v) => v.name ?? '');
  const types = elemTypes(model);
  // Float values only: their batch axis is what the cut needs (some integer outputs, Range's, crash the runtime).
  const names = [...new Set([...innerValues(model), ...outputs])].filter((n) => types.get(n) === FLOAT);
  const session = await engine.session(encodeWithOutputs(model, names));
  const seq = Array.from({ length: 6 }, (_, j) => j % m.vocab);
  const call = (seqs: Seqs) => session.run(feeds.inputFeeds(engine.ort, m.summary.inputs, o.idsInput, seqs), names);
  const [one, two] = [await call([seq]), await call([seq, seq])];
  await session.release();
  const kinds: ValueKinds = { float: new Set(), batched: new Set() };
  for (const n of names) {
    if (one[n]?.type === 'float32') kinds.float.add(n);
    if (one[n]?.dims.length && two[n]!.dims[0] === 2 * one[n]!.dims[0]!) kinds.batched.add(n);
  }
  const found = logits ?? outputs.find((n) => two[n]?.dims.join() === [2, 6, m.vocab].join());
  if (!found || !two[found])
    throw new AblationProblem(
      logits
        ? `${JSON.stringify(logits)} is not a float value of the model`
        : `no output of shape [batch, T, ${m.vocab}] (its outputs: ${outputs.join(', ')})`,
    );
  const sites = findSites(
    model,
    m.layers.map((l) => ({ ...l, rank: 4 })),
  );
  const layers: AblationLayer[] = m.layers.map((l, i) => ({
    probs: l.probs,
    logits: l.logits,
    heads: l.heads,
    rank: one[l.probs]!.dims.length === 4 ? 4 : 3,
    dHead: one[sites[i]!.output]!.dims.at(-1)!,
  }));
  return { kinds, layers, logits: found };
}

async function build(o: OpenOptions, m: AttentionModel, logitsName?: string): Promise<Ablator> {
  const engine = await loadOnnx();
  let model = decodeModel(readModelFile(o.file));
  if (o.permuteSeed !== undefined)
    model = untrainedWeights(model, new NormalRng(Uint32Array.of(0x5eed, o.permuteSeed, 1, 2)), o.untrainedStd);
  const { kinds, layers, logits } = await discover(engine, model, m, o, logitsName);
  const { model: ablated, added, sites } = ablatable(model, layers as SiteLayer[], logits, []);
  for (const n of added) {
    if (n.opType === 'Greater') continue;
    for (const v of n.output ?? []) [kinds.float, kinds.batched].forEach((s) => s.add(v));
  }
  const parts = (layer: number, composition: boolean) =>
    above(ablated, layer, layers.length, kinds, composition ? layers.slice(layer + 1).flatMap(scored) : []);
  const cuts = [...new Set(layers.flatMap((_, i) => parts(i, false).cut))];
  const below = await engine.session(encodeWithOutputs(ablated, [...new Set([...sites, ...cuts])]));
  const sessions = new Map<string, Promise<Ort.InferenceSession>>();
  const keep = (m.summary.weights * 4 * (layers.length + 1)) / 2 <= feeds.KEEP_SESSION_BYTES;
  const aboveSession = (layer: number, composition: boolean) => {
    const key = `${layer}|${composition}`;
    let s = sessions.get(key);
    if (!s) {
      const p = parts(layer, composition);
      s = engine.session(p.bytes);
      if (keep) sessions.set(key, s);
    }
    return s;
  };
  const ctx = { engine, m, o, layers, kinds, sites, below, parts, aboveSession, keep };
  return {
    layers,
    logits,
    run: (seqs, repeat, replicas, composition) => runAll(ctx, seqs, repeat, replicas, composition),
  };
}

type Ctx = {
  engine: OnnxEngine;
  m: AttentionModel;
  o: OpenOptions;
  layers: AblationLayer[];
  kinds: ValueKinds;
  sites: string[];
  below: Ort.InferenceSession;
  parts: (layer: number, composition: boolean) => ReturnType<typeof above>;
  aboveSession: (layer: number, composition: boolean) => Promise<Ort.InferenceSession>;
  keep: boolean;
};

/** The below call, then each split layer's replicas above it. */
async function runAll(c: Ctx, seqs: Seqs, repeat: Repeat | null, replicas: (l: number) => Replica[], comp: boolean) {
  const { ort } = c.engine;
  const t = seqs[0]!.length;
  const t0 = performance.now();
  const base: Feeds = {
    ...feeds.inputFeeds(ort, c.m.summary.inputs, c.o.idsInput, seqs),
    [TARGETS]: feeds.targetFeed(ort, seqs),
  };
  const clean: Replica = { mode: null, label: 'clean', set: false, heads: [] };
  const belowFeeds = { ...base, ...feeds.maskFeeds(ort, c.layers, 0, [clean], seqs.length, []) };
  const cut = await c.below.run(belowFeeds);
  const means = c.layers.map((l, i) => feeds.headMeans(l, cut[c.sites[i]!]!.data as Float32Array, seqs.length, t));
  const belowMs = performance.now() - t0;
  const results: ReplicaResult[] = [];
  for (let layer = 0; layer < c.layers.length; layer++) {
    const reps = replicas(layer);
    if (!reps.length) continue;
    const all = [clean, ...reps];
    const session = await c.aboveSession(layer, comp);
    const inputs = c.parts(layer, comp).inputs;
    const later = comp ? c.layers.slice(layer + 1) : [];
    const perReplica =
      seqs.length * t * 4 * (c.m.vocab + later.reduce((a, l) => a + scored(l).length * l.heads * t, 0));
    const per = Math.max(1, Math.floor(feeds.CALL_BYTES / perReplica));
    for (let i = 0; i < all.length; i += per) {
      const chunk = all.slice(i, i + per);
      const masks = feeds.maskFeeds(ort, c.layers, layer, chunk, seqs.length, means);
      const f: Feeds = {};
      for (const name of inputs) {
        const x = masks[name] ?? base[name] ?? cut[name]!;
        f[name] = masks[name] || (!base[name] && !c.kinds.batched.has(name)) ? x : feeds.tile(ort, x, chunk.length);
      }
      const out = await session.run(f);
      chunk.forEach((r, ri) => results.push({ ...readReplica(r, ri, out, seqs, repeat, later, layer), split: layer }));
    }
    if (!c.keep) await session.release();
  }
  return { results, belowMs, aboveMs: performance.now() - t0 - belowMs };
}

/** One replica's losses and, above the split, its heads' scores. */
function readReplica(
  replica: Replica,
  ri: number,
  out: Ort.InferenceSession.ReturnType,
  seqs: Seqs,
  repeat: Repeat | null,
  later: AblationLayer[],
  layer: number,
): Omit<ReplicaResult, 'split'> {
  const b = seqs.length;
  const t = seqs[0]!.length;
  const nllData = out[NLL]!.data as Float32Array;
  const nll = seqs.map((_, s) => {
    const row = Float64Array.from(nllData.subarray((ri * b + s) * t, (ri * b + s + 1) * t));
    row[t - 1] = NaN;
    return row;
  });
  const scores = Array.from({ length: layer + 1 }, () => []) as ReplicaResult['scores'];
  for (const l of later) {
    const data = out[l.probs]!.data as Float32Array;
    const logits = l.logits ? (out[l.logits]!.data as Float32Array) : null;
    scores.push(
      Array.from({ length: l.heads }, (_, h) =>
        seqs.map((seq, s) => headScores(data, logits, ((ri * b + s) * l.heads + h) * t * t, t, seq, repeat)),
      ),
    );
  }
  return { replica, nll, scores };
}
