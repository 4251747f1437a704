/**
 * Ablations checked against a float64 forward pass written out here: a 2-layer attention-only model of 2 heads
 * (d_model 4, d_head 2, 5 tokens, additive −10⁴ causal mask sliced to T by a Shape → Gather chain), built with the
 * graph builder, then every ablation's loss change and one composition effect recomputed by hand.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Graph } from '../../../src/engine/onnx/graph.js';
import { ablationRows, replicasAt, resolveSets } from '../../../src/sim/attention-maps/ablate-point.js';
import type { Ablation } from '../../../src/sim/attention-maps/ablation-feeds.js';
import { openAblator } from '../../../src/sim/attention-maps/ablator.js';
import { sequenceLosses } from '../../../src/sim/attention-maps/effects.js';
import { openModel } from '../../../src/sim/attention-maps/engines.js';
import type { MapsRow } from '../../../src/sim/attention-maps/rows.js';
import { headScores } from '../../../src/sim/attention-maps/scores.js';
import { moments } from '../../../src/stats/moments.js';
import { tmp } from '../../helpers.js';

const [V, D, H, DH, TMAX, LAYERS] = [5, 4, 2, 2, 8, 2];
const w = (n: number, seed: number, scale = 0.9) =>
  Array.from({ length: n }, (_, i) => Math.sin(seed * 3.7 + i * 1.91) * scale);
const E = w(V * D, 1);
const P = w(TMAX * D, 2, 0.5);
const Wq = [w(D * H * DH, 3, 2), w(D * H * DH, 4, 2)];
const Wk = [w(D * H * DH, 5, 2), w(D * H * DH, 6, 2)];
const Wv = [w(D * H * DH, 7), w(D * H * DH, 8)];
const Wo = [w(H * DH * D, 9), w(H * DH * D, 10)];
const Wu = w(D * V, 11, 1.5);

function build(): Uint8Array {
  const g = new Graph('tiny');
  const ids = g.input('input_ids', ['B', 'T'], 'int64');
  const pos = g.input('position_ids', ['B', 'T'], 'int64');
  let x = g.op('Add', [g.op('Gather', [g.floats(E, [V, D]), ids]), g.op('Gather', [g.floats(P, [TMAX, D]), pos])]);
  const t = g.op('Unsqueeze', [g.op('Gather', [g.op('Shape', [ids]), g.ints([1], [])]), g.ints([0])]);
  const maskFull = Array.from({ length: TMAX * TMAX }, (_, k) => (k % TMAX <= Math.floor(k / TMAX) ? 0 : -1e4));
  const mask = g.op('Slice', [g.floats(maskFull, [TMAX, TMAX]), g.ints([0, 0]), g.op('Concat', [t, t], { axis: 0 })]);
  const heads = (y: string) => g.op('Transpose', [g.op('Reshape', [y, g.ints([0, 0, H, DH])])], { perm: [0, 2, 1, 3] });
  for (let l = 0; l < LAYERS; l++) {
    const [q, k, v] = [Wq[l]!, Wk[l]!, Wv[l]!].map((m) => heads(g.op('MatMul', [x, g.floats(m, [D, H * DH])])));
    const kt = g.op('Transpose', [k!], { perm: [0, 1, 3, 2] });
    const logits = g.op('Add', [g.op('Div', [g.op('MatMul', [q!, kt]), g.floats([Math.sqrt(DH)])]), mask]);
    const o = g.op('MatMul', [g.op('Softmax', [logits], { axis: -1 }), v!]);
    const merged = g.op('Reshape', [g.op('Transpose', [o], { perm: [0, 2, 1, 3] }), g.ints([0, 0, H * DH])]);
    x = g.op('Add', [x, g.op('MatMul', [merged, g.floats(Wo[l]!, [H * DH, D])])]);
  }
  g.output(g.op('MatMul', [x, g.floats(Wu, [D, V])]), 'logits', ['B', 'T', V]);
  return g.encode();
}

type Abl = { layer: number; heads: number[]; mode: Ablation };
/** The forward pass in float64: per-position next-token loss and every layer's maps, with heads ablated. */
function forward(seq: number[], abl: Abl | null, means: number[][][]) {
  const T = seq.length;
  let x = seq.map((id, p) => Array.from({ length: D }, (_, d) => E[id * D + d]! + P[p * D + d]!));
  const maps: number[][][][] = [];
  const outs: number[][][][] = [];
  const mm = (a: number[], m: number[], cols: number) =>
    Array.from({ length: cols }, (_, c) => a.reduce((s, v, r) => s + v * m[r * cols + c]!, 0));
  for (let l = 0; l < LAYERS; l++) {
    const [q, k, v] = [Wq[l]!, Wk[l]!, Wv[l]!].map((m) => x.map((row) => mm(row, m, H * DH)));
    const layerMaps: number[][][] = [];
    const layerOuts: number[][][] = [];
    const merged = x.map(() => new Array<number>(H * DH).fill(0));
    for (let h = 0; h < H; h++) {
      const off = h * DH;
      const hit = abl && abl.layer === l && abl.heads.includes(h) ? abl.mode : null;
      const A = Array.from({ length: T }, (_, i) => {
        const z = Array.from({ length: T }, (_, j) =>
          j <= i
            ? q![i]!.slice(off, off + DH).reduce((s, qv, d) => s + qv * k![j]![off + d]!, 0) / Math.sqrt(DH)
            : -Infinity,
        );
        const m = Math.max(...z);
        const e = z.map((u) => Math.exp(u - m));
        const sum = e.reduce((a, b) => a + b, 0);
        return hit === 'uniform' ? z.map((_, j) => (j <= i ? 1 / (i + 1) : 0)) : e.map((u) => u / sum);
      });
      layerMaps.push(A);
      const o = A.map((row) =>
        Array.from({ length: DH }, (_, d) => row.reduce((s, a, j) => s + a * v![j]![off + d]!, 0)),
      );
      layerOuts.push(o);
      for (let i = 0; i < T; i++)
        for (let d = 0; d < DH; d++)
          merged[i]![off + d] = hit === 'zero' ? 0 : hit === 'mean' ? means[l]![h]![d]! : o[i]![d]!;
    }
    maps.push(layerMaps);
    outs.push(layerOuts);
    x = x.map((row, i) => mm(merged[i]!, Wo[l]!, D).map((u, d) => u + row[d]!));
  }
  const nll = Float64Array.from({ length: T }, (_, p) => {
    if (p + 1 >= T) return NaN;
    const z = mm(x[p]!, Wu, V);
    const m = Math.max(...z);
    return -(z[seq[p + 1]!]! - m - Math.log(z.reduce((s, u) => s + Math.exp(u - m), 0)));
  });
  return { nll, maps, outs };
}

const SEQS = [
  [1, 4, 2, 0, 1, 4, 2, 0],
  [3, 3, 0, 2, 3, 3, 0, 2],
  [2, 0, 4, 1, 2, 0, 4, 1],
  [4, 1, 1, 3, 4, 1, 1, 3],
];
const REPEAT = { start: 0, length: 4 };

describe('attention-maps head sets', () => {
  it('a score rule takes every head of its layers above the value; a listed set its heads; replicas split at the lowest layer', () => {
    const scores: Record<string, number | null> = { '0,0': 0.9, '0,1': 0.2, '1,0': 0.6, '1,1': null };
    const sets = resolveSets(
      [
        { name: 'rule', score: 'induction_score', above: 0.5, layers: [1] },
        { name: 'all-above', score: 'induction_score', above: 0.5 },
        { name: 'listed', heads: ['L1H1', 'L0H1'] },
      ],
      (_, l, h) => scores[`${l},${h}`] ?? null,
      [2, 2],
    );
    expect(sets.map((s) => s.heads.map((h) => `L${h.layer}H${h.head}`))).toEqual([
      ['L1H0'],
      ['L0H0', 'L1H0'],
      ['L1H1', 'L0H1'],
    ]);
    const at0 = replicasAt(0, 2, ['zero'], sets).map((r) => r.label);
    const at1 = replicasAt(1, 2, ['zero'], sets).map((r) => r.label);
    expect(at0).toEqual(['L0H0', 'L0H1', 'all-above', 'listed']);
    expect(at1).toEqual(['L1H0', 'L1H1', 'rule']);
  });
});

describe('attention-maps ablations against a float64 forward pass computed here', () => {
  let rows: MapsRow[];
  let again: MapsRow[];
  const clean = SEQS.map((s) => forward(s, null, []));
  // The mean ablation's fill: each head's output averaged over the sequences and positions.
  const means = [0, 1].map((l) =>
    [0, 1].map((h) =>
      [0, 1].map((d) => {
        const all = clean.flatMap((c) => c.outs[l]![h]!.map((row) => row[d]!));
        return all.reduce((a, b) => a + b, 0) / all.length;
      }),
    ),
  );
  beforeAll(async () => {
    const file = join(tmp(), 'tiny.onnx');
    writeFileSync(file, build());
    const o = { file, idsInput: 'input_ids' };
    const model = await openModel(o);
    const ablator = await openAblator(o, model);
    expect(ablator.layers.map((l) => [l.heads, l.dHead, l.rank])).toEqual([
      [2, 2, 4],
      [2, 2, 4],
    ]);
    const sets = [{ name: 'both-L0', heads: [0, 1].map((head) => ({ layer: 0, head })) }];
    const base = (record: MapsRow['record']) => ({ model: 'trained', record, probe: 'repeated', T: 8 }) as MapsRow;
    const modes: Ablation[] = ['zero', 'mean', 'uniform'];
    rows = (await ablationRows(ablator, SEQS, REPEAT, modes, sets, true, base)).rows;
    again = (await ablationRows(ablator, SEQS, REPEAT, modes, sets, true, base)).rows;
  }, 60_000);

  it('the same sequences give the same rows, to the last digit (results.csv is byte-identical on a rerun)', () => {
    expect(again).toEqual(rows);
    expect(rows.length).toBeGreaterThan(100);
  });

  const expected = (abl: Abl, measure: 'all' | 'second_copy' | 'first_copy') => {
    const d = SEQS.map((s, i) => {
      const a = sequenceLosses(forward(s, abl, means).nll, REPEAT)[measure]!;
      return a - sequenceLosses(clean[i]!.nll, REPEAT)[measure]!;
    });
    const m = moments(d);
    return { delta: m.mean, half: 1.959963984540054 * m.meanSe };
  };
  const find = (record: string, ablated: string, mode: string, measure: string, layer?: number, head?: number) =>
    rows.find(
      (r) =>
        r.record === record &&
        r.ablated === ablated &&
        r.ablation === mode &&
        r.measure === measure &&
        (layer === undefined || (r.layer === layer && r.head === head)),
    )!;

  it('every head, every mode: the change in second-copy, first-copy and all-token loss, and its interval, to 1e-4 nats', () => {
    for (const mode of ['zero', 'mean', 'uniform'] as const)
      for (const [layer, head] of [
        [0, 0],
        [0, 1],
        [1, 0],
        [1, 1],
      ] as const)
        for (const measure of ['all', 'second_copy', 'first_copy'] as const) {
          const want = expected({ layer, heads: [head], mode }, measure);
          const row = find('loss', `L${layer}H${head}`, mode, measure);
          const what = `${mode} L${layer}H${head} ${measure}`;
          expect(row.delta!, what).toBeCloseTo(want.delta, 4);
          expect(row.delta_ci_high! - row.delta!, `${what} interval`).toBeCloseTo(want.half, 4);
        }
  });

  it('a named set ablates its heads together (both layer-0 heads, zero): not the sum of the single effects', () => {
    const want = expected({ layer: 0, heads: [0, 1], mode: 'zero' }, 'second_copy');
    const row = find('loss', 'both-L0', 'zero', 'second_copy');
    expect(row.layer, 'a set has no single head').toBeNull();
    expect(row.delta!).toBeCloseTo(want.delta, 4);
  });

  it('composition: ablating L0H0 (zero) changes each layer-1 head’s previous-token score as the hand forward pass says', () => {
    for (const head of [0, 1]) {
      const score = (abl: Abl | null) =>
        SEQS.map((s, i) => {
          const A = (abl ? forward(s, abl, means) : clean[i]!).maps[1]![head]!;
          // Keys the causal mask shows are seen, whatever their weight (the runtime reads the logits for that).
          const seen = Float32Array.from(A.flat(), (_, k) =>
            k % s.length <= Math.floor(k / s.length) ? 0 : -Infinity,
          );
          return headScores(Float32Array.from(A.flat()), seen, 0, s.length, s, REPEAT).previous_token_score!;
        });
      const [c, a] = [score(null), score({ layer: 0, heads: [0], mode: 'zero' })];
      const row = find('composition', 'L0H0', 'zero', 'previous_token_score', 1, head);
      expect(row.clean!, `L1H${head} clean`).toBeCloseTo(c.reduce((x, y) => x + y) / c.length, 4);
      expect(row.ablated_value!, `L1H${head} ablated`).toBeCloseTo(a.reduce((x, y) => x + y) / a.length, 4);
    }
    expect(
      rows.some((r) => r.record === 'composition' && r.layer === 0),
      'no composition onto the same layer',
    ).toBe(false);
  });
});
