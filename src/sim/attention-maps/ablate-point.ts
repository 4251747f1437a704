/**
 * One point's ablations: the replicas of each split layer (every head alone, then each named set whose lowest layer
 * it is, for each ablation mode), run by the ablator, turned into the loss and composition records of results.csv.
 */
import { z } from 'zod';
import { ABLATIONS, type Ablation, type HeadRef, type Replica } from './ablation-feeds.js';
import type { Ablator } from './ablator.js';
import { modelCostMs, modelSize } from './cost.js';
import { compositionEffects, lossEffects, type Effect } from './effects.js';
import type { MapsRow } from './rows.js';
import { SCORES, type Repeat } from './scores.js';

export const HEAD_LABEL = /^L(\d+)H(\d+)$/;

/** A named set of heads: listed (L1H0), or every head whose score (on the point's own sequences) is above a value. */
export const HeadSet = z
  .object({
    name: z.string().min(1).describe('the name the rows give the set (column ablated)'),
    heads: z.array(z.string().regex(HEAD_LABEL)).optional().describe('heads by label, L<layer>H<head>, 0-based'),
    score: z.enum(SCORES).optional().describe('or: every head whose score at the point is above `above`'),
    above: z.number().optional().describe('the threshold of `score`'),
    layers: z.array(z.number().int().min(0)).optional().describe('with `score`: only heads of these layers'),
  })
  .strict()
  .refine((s) => (s.heads !== undefined) !== (s.score !== undefined && s.above !== undefined), {
    message: 'a head set has either heads, or score and above',
  });
export type HeadSet = z.output<typeof HeadSet>;

/** The settings' `ablation`: none, one mode, or a list. */
export const AblationSetting = z
  .union([z.enum(['none', ...ABLATIONS]), z.array(z.enum(ABLATIONS))])
  .default('none')
  .describe(
    'zero: a head’s output × 0 before the output projection; mean: replaced by its mean over the point’s sequences and positions; uniform: its weights uniform over the keys it sees; a list runs each; @default none',
  );
export const ablationModes = (a: z.output<typeof AblationSetting>): Ablation[] =>
  a === 'none' ? [] : Array.isArray(a) ? [...new Set(a)] : [a];

export const parseLabel = (label: string): HeadRef => {
  const m = HEAD_LABEL.exec(label)!;
  return { layer: Number(m[1]), head: Number(m[2]) };
};

/** Each set's heads at this point (a score rule reads the point's clean scores: `score(layer, head)`). */
export function resolveSets(
  sets: readonly HeadSet[],
  score: (s: string, l: number, h: number) => number | null,
  shape: number[],
) {
  return sets.map((set) => {
    if (set.heads) return { name: set.name, heads: set.heads.map(parseLabel) };
    const heads: HeadRef[] = [];
    shape.forEach((n, layer) => {
      if (set.layers && !set.layers.includes(layer)) return;
      for (let head = 0; head < n; head++) {
        const v = score(set.score!, layer, head);
        if (v !== null && v > set.above!) heads.push({ layer, head });
      }
    });
    return { name: set.name, heads };
  });
}

/** The replicas whose lowest ablated layer is `layer`. */
export function replicasAt(
  layer: number,
  heads: number,
  modes: readonly Ablation[],
  sets: { name: string; heads: HeadRef[] }[],
) {
  const out: Replica[] = [];
  for (const mode of modes) {
    for (let h = 0; h < heads; h++)
      out.push({ mode, label: `L${layer}H${h}`, set: false, heads: [{ layer, head: h }] });
    for (const s of sets)
      if (s.heads.length && Math.min(...s.heads.map((x) => x.layer)) === layer)
        out.push({ mode, label: s.name, set: true, heads: s.heads });
  }
  return out;
}

const effectColumns = (e: Effect) => ({
  clean: e.clean,
  ablated_value: e.ablated,
  delta: e.delta,
  delta_ci_low: e.delta_ci_low,
  delta_ci_high: e.delta_ci_high,
  ratio: e.ratio,
  ratio_ci_low: e.ratio_ci_low,
  ratio_ci_high: e.ratio_ci_high,
});

/** The loss and composition records of one model at one point. */
export async function ablationRows(
  ablator: Ablator,
  seqs: number[][],
  repeat: Repeat | null,
  modes: readonly Ablation[],
  sets: { name: string; heads: HeadRef[] }[],
  composition: boolean,
  base: (record: MapsRow['record']) => MapsRow,
): Promise<{ rows: MapsRow[]; belowMs: number; aboveMs: number }> {
  const { layers } = ablator;
  const at = (l: number) => replicasAt(l, layers[l]!.heads, modes, sets);
  const { results, belowMs, aboveMs } = await ablator.run(seqs, repeat, at, composition);
  const rows: MapsRow[] = [];
  for (const e of lossEffects(results, repeat)) {
    const r = e.result.replica;
    const one = r.set ? null : r.heads[0]!;
    rows.push({
      ...base('loss'),
      layer: one?.layer ?? null,
      head: one?.head ?? null,
      ablation: r.mode,
      ablated: r.label,
      measure: e.measure,
      ...effectColumns(e.effect),
    });
  }
  for (const e of composition ? compositionEffects(results) : []) {
    const r = e.result.replica;
    rows.push({
      ...base('composition'),
      layer: e.layer,
      head: e.head,
      ablation: r.mode,
      ablated: r.label,
      measure: e.score,
      ...effectColumns(e.effect),
    });
  }
  return { rows, belowMs, aboveMs };
}

/**
 * The ablations' share of a point's cost: every head's ablated pass (and one clean pass per layer) through the part
 * above its layer, on average about 0.6 of the model with its unembedding, priced as that many forward passes by the
 * attention-maps cost model.
 */
export function ablationCostMs(file: string, T: number, sequences: number, modes: number, baseline: boolean): number {
  if (!modes) return 0;
  const heads = modelSize(file)?.heads ?? 8;
  return modes * modelCostMs(file, T, Math.ceil(0.6 * heads * sequences), baseline);
}
