/** The feeds of ablation calls (ablator.ts), and the types the ablation code shares. */
import type * as Ort from 'onnxruntime-node';
import { fillInput, keepInput, uniformInput, type SiteLayer } from './ablation-graphs.js';
import type { HeadScores } from './scores.js';

export const ABLATIONS = ['zero', 'mean', 'uniform'] as const;
export type Ablation = (typeof ABLATIONS)[number];

export interface HeadRef {
  layer: number;
  head: number;
}
/** One copy of the point's sequences in a call: clean (no mode), one head, or a named set of heads ablated. */
export interface Replica {
  mode: Ablation | null;
  label: string;
  set: boolean;
  heads: HeadRef[];
}
/** A replica's outcome: each sequence's per-position loss, and the scores of every head above the split. */
export interface ReplicaResult {
  replica: Replica;
  /** The layer the graph was split at (the lowest ablated layer); the clean replica of that split is the reference. */
  split: number;
  /** nll[sequence][position]: −log p(token at position + 1); the last position predicts nothing and is NaN. */
  nll: Float64Array[];
  /** scores[layer][head][sequence], for layers above the split (composition); empty below it. */
  scores: HeadScores[][][];
}
export interface AblationLayer extends SiteLayer {
  dHead: number;
}
export type Feeds = Record<string, Ort.Tensor>;
const FILLED = [
  { pattern: /mask/i, fill: () => 1 },
  { pattern: /position/i, fill: (t: number) => t },
  { pattern: /token_type|segment/i, fill: () => 0 },
] as const;
/** Bytes of outputs held by one call of the part above a split (replicas per call follow from it). */
export const CALL_BYTES = 256 * 2 ** 20;
/**
 * Above-split sessions are kept between points (probes, ablation modes) while their weights together stay below this
 * (a session per layer holds the layers above its split, about (layers + 1)/2 copies of the model, and an arena for
 * its activations); else each is released after its layer. GPT-2 small (124 M weights: 3.2 GB of weights, more than
 * 10 GB resident with the arenas) is released; the 2-layer example is kept.
 */
export const KEEP_SESSION_BYTES = 2 ** 30;

/** Feeds of the model's own inputs: the ids, and the filled ones by rule. */
export function inputFeeds(
  ort: typeof Ort,
  inputs: { name: string; elem: string }[],
  ids: string,
  seqs: readonly (readonly number[])[],
) {
  const [b, t] = [seqs.length, seqs[0]!.length];
  const out: Feeds = {};
  for (const input of inputs) {
    const fill = FILLED.find((f) => f.pattern.test(input.name))?.fill ?? (() => 0);
    const at = (k: number) => (input.name === ids ? seqs[Math.floor(k / t)]![k % t]! : fill(k % t));
    const n = b * t;
    const dims = [b, t];
    if (input.elem === 'int64')
      out[input.name] = new ort.Tensor(
        'int64',
        BigInt64Array.from({ length: n }, (_, k) => BigInt(at(k))),
        dims,
      );
    else if (input.elem === 'int32')
      out[input.name] = new ort.Tensor(
        'int32',
        Int32Array.from({ length: n }, (_, k) => at(k)),
        dims,
      );
    else if (input.elem === 'bool')
      out[input.name] = new ort.Tensor(
        'bool',
        Uint8Array.from({ length: n }, (_, k) => at(k)),
        dims,
      );
    else
      out[input.name] = new ort.Tensor(
        'float32',
        Float32Array.from({ length: n }, (_, k) => at(k)),
        dims,
      );
  }
  return out;
}

/** Targets [batch, T, 1]: each position's next token (the last position's is a placeholder, 0). */
export function targetFeed(ort: typeof Ort, seqs: readonly (readonly number[])[]): Ort.Tensor {
  const t = seqs[0]!.length;
  const data = new BigInt64Array(seqs.length * t);
  seqs.forEach((s, b) => s.forEach((_, j) => (data[b * t + j] = BigInt(j + 1 < t ? s[j + 1]! : 0))));
  return new ort.Tensor('int64', data, [seqs.length, t, 1]);
}

/** The ablation inputs of layers `from`… for replicas × sequences: keep, uniform and fill per row and head. */
export function maskFeeds(
  ort: typeof Ort,
  layers: AblationLayer[],
  from: number,
  reps: Replica[],
  b: number,
  means: Float32Array[],
) {
  const out: Feeds = {};
  for (let li = from; li < layers.length; li++) {
    const { heads, dHead } = layers[li]!;
    const n = reps.length * b;
    const keep = new Float32Array(n * heads).fill(1);
    const uni = new Float32Array(n * heads);
    const fill = new Float32Array(n * heads * dHead);
    reps.forEach((r, ri) => {
      for (const h of r.heads.filter((x) => x.layer === li)) {
        for (let s = ri * b; s < (ri + 1) * b; s++) {
          if (r.mode === 'uniform') uni[s * heads + h.head] = 1;
          else keep[s * heads + h.head] = 0;
          if (r.mode === 'mean')
            fill.set(means[li]!.subarray(h.head * dHead, (h.head + 1) * dHead), (s * heads + h.head) * dHead);
        }
      }
    });
    out[keepInput(li)] = new ort.Tensor('float32', keep, [n, heads]);
    out[uniformInput(li)] = new ort.Tensor('float32', uni, [n, heads]);
    out[fillInput(li)] = new ort.Tensor('float32', fill, [n, heads, dHead]);
  }
  return out;
}

/** A tensor repeated `times` along its first axis (the whole batch over again: replica r holds rows r·B … r·B + B − 1). */
export function tile(ort: typeof Ort, x: Ort.Tensor, times: number): Ort.Tensor {
  if (times === 1) return x;
  const src = x.data as Float32Array | BigInt64Array;
  const data = new (src.constructor as Float32ArrayConstructor)(src.length * times) as unknown as typeof src;
  for (let r = 0; r < times; r++) (data as Float32Array).set(src as Float32Array, r * src.length);
  return new ort.Tensor(x.type as 'float32', data as Float32Array, [x.dims[0]! * times, ...x.dims.slice(1)]);
}

/** The heads' mean output over sequences and positions: [heads · d_head] per layer (the `mean` ablation's fill). */
export function headMeans(l: AblationLayer, out: Float32Array, b: number, t: number): Float32Array {
  const m = new Float64Array(l.heads * l.dHead);
  for (let s = 0; s < b; s++)
    for (let h = 0; h < l.heads; h++)
      for (let p = 0; p < t; p++) {
        // [batch, heads, T, d] and [batch·heads, T, d] hold the same numbers in the same order.
        const at = ((s * l.heads + h) * t + p) * l.dHead;
        for (let k = 0; k < l.dHead; k++) m[h * l.dHead + k]! += out[at + k]!;
      }
  return Float32Array.from(m, (x) => x / (b * t));
}
