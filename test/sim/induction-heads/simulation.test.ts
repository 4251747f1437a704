import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  duplicateTokenScore,
  firstTokenMass,
  prefixMatchingScore,
  previousTokenScore,
  batchScores,
} from '../../../src/sim/induction-heads/head-scores.js';
import { repeatedRandom, repeatedSegments, Target } from '../../../src/sim/induction-heads/data.js';
import {
  forward,
  lossAndGrads,
  randomWeights,
  tokenLosses,
  weightList,
  type Shape,
} from '../../../src/sim/induction-heads/model.js';
import { modelGraph } from '../../../src/sim/induction-heads/graphs.js';
import { analyseInduction, composition, CRITERIA, steepestWindow } from '../../../src/sim/induction-heads/analysis.js';
import { inductionHeads, modelPath } from '../../../src/sim/induction-heads/simulation.js';
import type { InductionRow } from '../../../src/sim/induction-heads/rows.js';
import { loadOnnx } from '../../../src/engine/onnx/engine.js';
import { rngFor } from '../../../src/random/seed.js';
import { attachments } from '../../../src/run/store.js';
import { evaluateClaims } from '../../../src/spec/claims.js';
import { loadExperiment, resolveExperimentFile } from '../../../src/spec/load.js';
import { cli, latestRun, ROOT, stripColumns, tmp } from '../../helpers.js';

/** A T × T map from a rule giving each query's weights. */
const pattern = (n: number, row: (i: number) => number[]) =>
  Float64Array.from({ length: n * n }, (_, k) => row(Math.floor(k / n))[k % n] ?? 0);
const uniform = (n: number) => pattern(n, (i) => Array.from({ length: n }, (_, j) => (j <= i ? 1 / (i + 1) : 0)));

describe('head scores of hand-built patterns', () => {
  it('a perfect previous-token head scores 1 (query 0 attends to itself and is not counted)', () => {
    const prev = pattern(6, (i) => Array.from({ length: 6 }, (_, j) => (j === Math.max(0, i - 1) ? 1 : 0)));
    expect(previousTokenScore(prev, 6)).toBe(1);
    expect(prefixMatchingScore(prev, 6, 3)).toBe(0);
    expect(firstTokenMass(prev, 6)).toBe(1 / 5); // only query 1's previous token is key 0
  });
  it('a perfect duplicate-token head scores 1: query i ≥ period weighs key i − period', () => {
    const dup = pattern(8, (i) => Array.from({ length: 8 }, (_, j) => (j === (i >= 4 ? i - 4 : i) ? 1 : 0)));
    expect(duplicateTokenScore(dup, 8, 4)).toBe(1);
    expect(prefixMatchingScore(dup, 8, 4)).toBe(0);
    expect(duplicateTokenScore(uniform(4), 4, 2)).toBeCloseTo(7 / 24, 15);
  });
  it('uniform causal attention over i + 1 keys scores 1/(i + 1), averaged over the queries a score covers', () => {
    // T = 4: previous-token and first-token over queries 1, 2, 3: (1/2 + 1/3 + 1/4)/3 = 13/36.
    expect(previousTokenScore(uniform(4), 4)).toBeCloseTo(13 / 36, 15);
    expect(firstTokenMass(uniform(4), 4)).toBeCloseTo(13 / 36, 15);
    // Prefix matching with period 2 covers queries 2, 3: (1/3 + 1/4)/2 = 7/24.
    expect(prefixMatchingScore(uniform(4), 4, 2)).toBeCloseTo(7 / 24, 15);
  });
  it('a perfect induction head scores 1: query i ≥ period weighs key i − period + 1', () => {
    const n = 8;
    const ind = pattern(n, (i) =>
      Array.from({ length: n }, (_, j) => (i >= 4 ? (j === i - 3 ? 1 : 0) : j === 0 ? 1 : 0)),
    );
    expect(prefixMatchingScore(ind, n, 4)).toBe(1);
    expect(previousTokenScore(ind, n)).toBe(1 / 7); // query 1 → key 0 only
  });
  it('batchScores averages each head over the batch ([batch, heads, T, T])', () => {
    const n = 4;
    const prev = pattern(n, (i) => Array.from({ length: n }, (_, j) => (j === Math.max(0, i - 1) ? 1 : 0)));
    const maps = new Float64Array(2 * 2 * n * n);
    // sequence 0: head 0 previous-token, head 1 uniform; sequence 1: both uniform.
    maps.set(prev, 0);
    maps.set(uniform(n), n * n);
    maps.set(uniform(n), 2 * n * n);
    maps.set(uniform(n), 3 * n * n);
    const s = batchScores(maps, 2, 2, n, previousTokenScore);
    expect(s[0]).toBeCloseTo((1 + 13 / 36) / 2, 15);
    expect(s[1]).toBeCloseTo(13 / 36, 15);
  });
});

describe('the data', () => {
  it('repeats a segment at a random offset: the second copy equals the first, segment − 1 repeated targets per sequence', () => {
    const rng = rngFor(1, 'data', 0);
    const b = repeatedSegments(200, 24, 16, 8, rng);
    const offsets = new Set<number>();
    for (let s = 0; s < b.size; s++) {
      const kind = b.kind.subarray(s * 24, (s + 1) * 24);
      const rep = [...kind.keys()].filter((i) => kind[i] === Target.repeated);
      expect(rep.length).toBe(7);
      // Targets t_{b+1} … t_{b+7} sit at rows b … b+6; the copy starts at b = rep[0].
      const start = rep[0]!;
      expect(rep.at(-1)).toBe(start + 6);
      const tok = b.tokens.subarray(s * 24, (s + 1) * 24);
      // Some earlier segment of 8 equals the copy, ending at least 8 before it.
      const a = [...Array(start - 7).keys()].find((a) =>
        [...Array(8).keys()].every((i) => tok[a + i] === tok[start + i]),
      );
      expect(a).toBeDefined();
      offsets.add(start - a!);
      expect(kind[23]).toBe(Target.none);
    }
    expect(offsets.size).toBeGreaterThan(4); // no fixed positional shift solves it
  });
  it('the probe batch is T/2 distinct tokens followed by themselves', () => {
    const b = repeatedRandom(5, 24, 16, rngFor(1, 'probe', 0));
    for (let s = 0; s < 5; s++) {
      const t = Array.from(b.tokens.subarray(s * 24, (s + 1) * 24));
      expect(new Set(t.slice(0, 12)).size).toBe(12);
      expect(t.slice(12)).toEqual(t.slice(0, 12));
    }
  });
});

const small: Shape = { vocab: 5, n: 6, d: 4, layers: 2, heads: 2, positions: 'learned' };

describe('the hand-written model', () => {
  it('gradients match central finite differences for every weight (2 layers, 2 heads)', () => {
    const rng = rngFor(3, 'grad', 0);
    const w = randomWeights(small, rng);
    const b = repeatedSegments(3, 6, 5, 2, rng);
    const meanLoss = () => {
      const { loss } = tokenLosses(small, forward(small, w, b.tokens, 3).out, b.tokens, 3);
      return loss.reduce((s, x) => (Number.isNaN(x) ? s : s + x), 0) / (3 * 5);
    };
    const { loss, grads } = lossAndGrads(small, w, b.tokens, 3);
    expect(loss).toBeCloseTo(meanLoss(), 12);
    const g = weightList(grads);
    weightList(w).forEach((p, k) => {
      for (let i = 0; i < p.length; i++) {
        const o = p[i]!;
        p[i] = o + 1e-6;
        const up = meanLoss();
        p[i] = o - 1e-6;
        const down = meanLoss();
        p[i] = o;
        expect(Math.abs((up - down) / 2e-6 - g[k]![i]!)).toBeLessThan(1e-7);
      }
    });
  });
  it('attention is causal and each row sums to 1', () => {
    const w = randomWeights(small, rngFor(3, 'causal', 0));
    const f = forward(small, w, Int32Array.of(0, 1, 2, 3, 4, 0), 1);
    for (const a of f.attn) {
      for (let h = 0; h < 2; h++) {
        for (let i = 0; i < 6; i++) {
          const row = a.subarray((h * 6 + i) * 6, (h * 6 + i + 1) * 6);
          expect(row.reduce((s, x) => s + x, 0)).toBeCloseTo(1, 12);
          for (let j = i + 1; j < 6; j++) expect(row[j]).toBe(0);
        }
      }
    }
  });
});

describe('ONNX export', () => {
  it('ONNX Runtime gives the logits of the hand-written forward pass within 1e-4, at the trained length and shorter', async () => {
    const s: Shape = { vocab: 16, n: 24, d: 32, layers: 2, heads: 2, positions: 'learned' };
    const rng = rngFor(5, 'onnx', 0);
    const w = randomWeights(s, rng);
    const ort = await loadOnnx();
    const session = await ort.session(modelGraph(s, w));
    expect(session.inputNames).toEqual(['input_ids']);
    for (const [batch, len] of [
      [3, 24],
      [2, 10],
    ] as const) {
      const tokens = repeatedSegments(batch, 24, 16, 8, rng).tokens;
      const ids = new BigInt64Array(batch * len);
      for (let b = 0; b < batch; b++) for (let i = 0; i < len; i++) ids[b * len + i] = BigInt(tokens[b * 24 + i]!);
      const out = await session.run({ input_ids: new ort.ort.Tensor('int64', ids, [batch, len]) });
      const got = out.logits!.data as Float32Array;
      expect(out.logits!.dims).toEqual([batch, len, 16]);
      const mine = forward(
        { ...s, n: len },
        { ...w, P: w.P.subarray(0, len * 32) },
        Int32Array.from(ids, Number),
        batch,
      ).out;
      let worst = 0;
      for (let i = 0; i < mine.length; i++) worst = Math.max(worst, Math.abs(got[i]! - mine[i]!));
      expect(worst).toBeLessThan(1e-4);
    }
    await session.release();
  });
  it('the committed example model loads and has one Softmax per layer over [batch, heads, T, T]', async () => {
    const file = join(ROOT, 'examples/induction-heads/model-2L.onnx');
    expect(existsSync(file)).toBe(true);
    const ort = await loadOnnx();
    const session = await ort.session(file);
    const ids = new BigInt64Array(24).map((_, i) => BigInt(i % 12));
    const out = await session.run({ input_ids: new ort.ort.Tensor('int64', ids, [1, 24]) });
    expect(out.logits!.dims).toEqual([1, 24, 16]);
    await session.release();
  });
});

describe('attached files', () => {
  it('a path must lie in a folder of the run directory, outside its own output folders', () => {
    const { attach, files } = attachments('induction-heads');
    attach('models/2L-seed0.onnx', Uint8Array.of(1, 2, 3));
    expect(files).toEqual({ 'models/2L-seed0.onnx': 'AQID' });
    for (const bad of [
      'model.onnx',
      '../x/a.onnx',
      'models/../a.onnx',
      'figures/a.svg',
      '/abs/a.onnx',
      'models/a b.onnx',
    ])
      expect(() => attach(bad, Uint8Array.of(0))).toThrow(/must lie in a folder/);
  });
  it('names models by layer count and seed, with any non-default shape', () => {
    expect(modelPath({ layers: 2, heads: 2, d_model: 32, positions: 'learned' }, 0)).toBe('models/2L-seed0.onnx');
    expect(modelPath({ layers: 1, heads: 4, d_model: 32, positions: 'sinusoidal' }, 3)).toBe(
      'models/1L-4h-sinusoidal-seed3.onnx',
    );
  });
});

/** One seed's rows as the simulation writes them: per step a loss row and one head row per head (only what the analysis reads). */
function seedRows(
  layers: number,
  seed: number,
  steps: number[],
  lossRep: (s: number) => number,
  prefix: (s: number) => number,
  lossFirst: (s: number) => number = () => 2.8,
): InductionRow[] {
  const base = {
    layers,
    heads: 1,
    d_model: 32,
    positions: 'learned',
    seed,
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
  };
  return steps.flatMap((step) => [
    {
      ...base,
      row_kind: 'step' as const,
      step,
      loss: 2.5,
      loss_first: lossFirst(step),
      loss_repeated: lossRep(step),
      accuracy_first: 0.1,
      accuracy_repeated: 0.5,
    },
    ...Array.from({ length: layers }, (_, l) => ({
      ...base,
      row_kind: 'head' as const,
      step,
      layer: l + 1,
      head: 0,
      previous_token_score: l === 0 ? 0.9 : 0.1,
      prefix_matching_score: l === layers - 1 ? prefix(step) : 0.05,
      duplicate_token_score: 0.05,
      first_token_mass: 0.1,
    })),
  ]);
}

const STEPS = Array.from({ length: 9 }, (_, i) => i * 100);
const { claims } = (await loadExperiment(resolveExperimentFile('induction-heads'))).experiment;

describe('the phase analysis', () => {
  it('finds the window of steepest fall: a loss that drops from 2.8 to 1.0 between steps 400 and 500', () => {
    const loss = STEPS.map((s) => (s <= 400 ? 2.8 : 1.0));
    expect(steepestWindow(STEPS, loss, 100, -1)).toEqual({ start: 4, end: 5 });
    expect(steepestWindow(STEPS, loss, 200, -1)).toEqual({ start: 3, end: 5 }); // the first of the tied windows
    expect(steepestWindow(STEPS, loss, 1000, -1)).toBeNull();
  });
  const step = (at: number, before: number, after: number) => (s: number) => (s <= at ? before : after);
  it('the phase row: step 450, 2.8 → 1.0, the induction score rising in the same window', () => {
    const t = analyseInduction(seedRows(2, 0, STEPS, step(400, 2.8, 1.0), step(400, 0.05, 0.8)), 100).tables;
    // Both losses falling 3.4 → 2.8 over the first 100 steps (token frequencies) is not the phase change: it is still at 450.
    const early = (s: number) => (s === 0 ? 3.4 : 2.8);
    const both = analyseInduction(
      seedRows(2, 0, STEPS, (s) => Math.min(early(s), step(400, 2.8, 1.0)(s)), step(400, 0.05, 0.8), early),
      100,
    ).tables;
    expect(both.phase!.rows[0]).toMatchObject({ phase_step: 450, loss_before: 2.8, loss_after: 1.0 });
    const p = t.phase!.rows[0]!;
    expect(p).toMatchObject({
      phase_step: 450,
      loss_before: 2.8,
      loss_after: 1.0,
      induction_step: 450,
      window_gap: 0,
      repeated_over_first: 1.0 / 2.8,
      best_prefix_matching: 0.8,
      best_previous_token: 0.9,
      best_duplicate_token: 0.05,
      best_layer1: 0.9,
    });
    expect(t.heads!.rows).toHaveLength(2);
  });
  it('the YAML claims pass on induction-like seeds and fail on deliberately wrong variants', () => {
    const good = [0, 1, 2, 3].flatMap((seed) => [
      ...seedRows(2, seed, STEPS, step(300 + 100 * (seed % 2), 2.8, 1.0), step(300 + 100 * (seed % 2), 0.05, 0.8)),
      ...seedRows(
        1,
        seed,
        STEPS,
        (s) => 2.7 - s * 1e-4,
        () => 0.1,
      ),
    ]);
    const verdict = (rows: InductionRow[]) => {
      const a = analyseInduction(rows, 100);
      return Object.fromEntries(
        evaluateClaims(claims, {
          results: rows,
          ...Object.fromEntries(Object.entries(a.tables).map(([k, v]) => [k, v.rows])),
        }).map((c) => [c.id, c.status]),
      );
    };
    const ok = verdict(good);
    expect(
      Object.values(ok).every((s) => s === 'pass'),
      JSON.stringify(ok),
    ).toBe(true);
    // Wrong variant 1: two layers that never form a head (the loss and the score stay flat).
    const flat = verdict(
      good.map((r) =>
        r.layers === 2
          ? {
              ...r,
              loss_repeated: r.loss_repeated === null ? null : 2.7,
              prefix_matching_score: r.prefix_matching_score === null ? null : 0.1,
            }
          : r,
      ),
    );
    expect(flat['two-layers-copy']).toBe('fail');
    expect(flat['two-layers-induction-head']).toBe('fail');
    // Wrong variant 2: one layer that copies (its head prefix-matches, its repeated loss falls).
    const cheat = verdict(
      good.map((r) =>
        r.layers === 1
          ? {
              ...r,
              loss_repeated: r.loss_repeated === null ? null : 1.0,
              prefix_matching_score: r.prefix_matching_score === null ? null : 0.8,
            }
          : r,
      ),
    );
    expect(cheat['one-layer-no-induction']).toBe('fail');
    expect(cheat['one-layer-no-copy']).toBe('fail');
    // Wrong variant 4: an induction score with no layer-1 head to compose with (neither previous-token nor duplicate-token).
    const alone = verdict(
      good.map((r) =>
        r.layers === 2 && r.row_kind === 'head' && r.layer === 1 ? { ...r, previous_token_score: 0.1 } : r,
      ),
    );
    expect(alone['two-layers-composed-head']).toBe('fail');
    // Wrong variant 3: the induction score rises 500 steps after the loss falls.
    const apart = verdict(
      good.map((r) =>
        r.layers === 2 && r.row_kind === 'head' && r.layer === 2
          ? { ...r, prefix_matching_score: r.step <= 800 ? 0.05 : 0.8 }
          : r,
      ),
    );
    expect(apart['same-window']).toBe('fail');
  });
});

describe('findings count as the claims beside them count', () => {
  const step = (at: number, before: number, after: number) => (s: number) => (s <= at ? before : after);
  // Four two-layer seeds: 0 and 1 compose with a previous-token head (0.9); 2 with a duplicate-token head (0.35, its
  // previous-token head at 0.1); 3 forms no induction head (prefix-matching 0.3) and copies less (loss 2.8 → 1.6).
  const rows = [0, 1, 2, 3].flatMap((seed) =>
    seedRows(2, seed, STEPS, step(400, 2.8, seed === 3 ? 1.6 : 1.0), step(400, 0.05, seed === 3 ? 0.3 : 0.8)).map(
      (r) =>
        seed === 2 && r.row_kind === 'head' && r.layer === 1
          ? { ...r, previous_token_score: 0.1, duplicate_token_score: 0.35 }
          : r,
    ),
  );
  const a = analyseInduction(rows, 100);
  const tables = { results: rows, ...Object.fromEntries(Object.entries(a.tables).map(([k, v]) => [k, v.rows])) };
  const passing = (id: string) => {
    const r = evaluateClaims(
      claims.filter((c) => c.id === id),
      tables,
    )[0]!;
    if (r.status === 'error') throw new Error(r.reason);
    return Number(/^(\d+)\/\d+ rows/.exec(r.measured)![1]);
  };

  it("the criteria the findings count by are the claims' ranges", () => {
    const range = (id: string) => {
      const c = claims.find((x) => x.id === id)!;
      if (c.kind !== 'fraction' || !('between' in c.test)) throw new Error(id);
      return c.test.between;
    };
    expect(range('two-layers-copy')[1]).toBe(CRITERIA.copy);
    expect(range('two-layers-induction-head')[0]).toBe(CRITERIA.induction);
    expect(range('two-layers-composed-head')[0]).toBe(CRITERIA.composed);
    expect(range('same-window')[1]).toBe(CRITERIA.sameWindow);
  });

  it('each seed says which composition formed, and the counts are the claims’ passing rows', () => {
    const two = a.findings![0]!;
    // 3 of 4 seeds pass two-layers-induction-head (0.8, 0.8, 0.8 ≥ 0.5; 0.3 not), as the claim counts
    expect(passing('two-layers-induction-head')).toBe(3);
    expect(two).toContain(`form an induction head (a layer-2 head's prefix-matching score ≥ 0.5) in 3 of 4 seeds`);
    // composition: previous-token in seeds 0, 1, 3 (0.9), duplicate-token in seed 2 (0.35); all four ≥ 0.2
    expect(passing('two-layers-composed-head')).toBe(4);
    expect(two).toContain('a previous-token head in 3 and a duplicate-token head in 1');
    expect(two).toContain('seed 2: duplicate-token 0.35');
    expect(two).toContain('seed 0: previous-token 0.90');
    // copying: 1.0/2.8 = 0.36 ≤ 0.5 in seeds 0 – 2; 1.6/2.8 = 0.57 in seed 3
    expect(passing('two-layers-copy')).toBe(3);
    expect(two).toContain('below 0.5 of the first-occurrence loss in 3 of 4');
    expect(passing('same-window')).toBe(4);
    expect(a.findings![2]).toContain('in 4 of 4 seeds');
    expect(rows.length).toBeGreaterThan(0);
    expect(composition({ best_previous_token: 0.1, best_duplicate_token: 0.1 })).toBe('none');
  });
});

const TINY = `
name: tiny-induction
title: Tiny induction
description: A tiny grid for the determinism test.
simulation: induction-heads
seed: 5
replicates: 2
grid:
  layers: [1, 2]
  d_model: [8]
settings: { n: 12, segment: 4, steps: 20, batch: 4, record_every: 10, eval_size: 8, phase_window: 10 }
charts:
  - { id: c, title: C, spec: { mark: point, encoding: { x: { field: step, type: quantitative }, y: { field: loss_repeated, type: quantitative } } } }
`;

describe('induction-heads end to end', () => {
  it('--jobs 1 and --jobs 2 give the same results.csv and the same model files', async () => {
    const dir = tmp();
    const file = join(dir, 'tiny.yaml');
    writeFileSync(file, TINY);
    const csvs: string[] = [];
    const models: string[] = [];
    for (const jobs of ['1', '2']) {
      const out = join(dir, `out${jobs}`);
      const r = await cli([file, '--jobs', jobs, '--out', out]);
      expect(r.code, r.stderr).toBe(0);
      const run = latestRun(out, 'tiny-induction');
      csvs.push(stripColumns(readFileSync(join(run, 'results.csv'), 'utf8'), inductionHeads.measuredColumns));
      models.push(readFileSync(join(run, 'models/2L-d8-seed1.onnx')).toString('base64'));
    }
    expect(csvs[1]).toBe(csvs[0]);
    expect(models[1]).toBe(models[0]);
    // Per seed: steps 0, 10, 20 each one step row and layers × 2 head rows; then layers × 2 map rows.
    expect(csvs[0]!.split('\n').length - 1).toBe(2 * (3 * (1 + 2) + 2) + 2 * (3 * (1 + 4) + 4));
  });
});
