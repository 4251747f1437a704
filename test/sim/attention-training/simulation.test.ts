import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { attentionTraining } from '../../../src/sim/attention-training/simulation.js';
import {
  forward,
  handArrays,
  handWeights,
  loss,
  makeBatch,
  randomWeights,
  type Batch,
  type Shape,
} from '../../../src/sim/attention-training/model.js';
import { NormalRng } from '../../../src/random/normal.js';
import { loadGradients } from '../../../src/engine/tfjs/autodiff.js';
import { activate } from '../../../src/engine/backend.js';
import { cli, latestRun, stripColumns, tmp } from '../../helpers.js';

beforeAll(async () => {
  await activate('cpu');
  await loadGradients();
});

/** One content sequence by hand: tokens [1, 0, 1], the mark at position 1, so every position's target is token 0. */
const hand: Batch = {
  tokens: Int32Array.of(1, 0, 1),
  marks: Float32Array.of(0, 1, 0),
  targets: Int32Array.of(0, 0, 0),
  targetPos: Int32Array.of(1),
  size: 1,
};
const shape: Shape = { task: 'content', vocab: 2, n: 3, d: 5, scale: 1 };

describe('the hand-designed head, by hand', () => {
  it('puts 1/(1 + 2e^(−β)) on the marked key, β = 4 ln 3 + 4, and reads out its token', () => {
    const beta = 4 * Math.log(3) + 4; // 8.3944
    const a = handArrays(shape);
    // W_q has one entry: β from the constant dimension (V + 1 = 3) to e_0; W_k one: 1 from the mark (V = 2).
    expect(Array.from(a.Wq.data).filter((x) => x !== 0)).toEqual([Math.fround(beta)]);
    expect(a.Wq.data[3 * 5 + 0]).toBeCloseTo(beta, 5);
    expect(a.Wk.data[2 * 5 + 0]).toBe(1);
    const w = handWeights(tf, shape);
    const out = forward(tf, shape, w, hand, 'softmax');
    const target = 1 / (1 + 2 * Math.exp(-beta)); // 0.999548
    const weights = Array.from(out.weights.dataSync());
    for (let q = 0; q < 3; q++) {
      expect(weights[q * 3 + 1]).toBeCloseTo(target, 6);
      expect(weights[q * 3 + 0]).toBeCloseTo((1 - target) / 2, 6);
    }
    // Output logits: token 0 gets the marked key's weight, token 1 the other two keys' (positions 0 and 2 hold token 1).
    const logits = Array.from(out.logits.dataSync());
    expect(logits[0]).toBeCloseTo(target, 6);
    expect(logits[1]).toBeCloseTo(1 - target, 6);
    expect(target).toBeCloseTo(0.999548, 6);
  });

  it('for the position task, the weight on key 0 from every query', () => {
    const s: Shape = { ...shape, task: 'position', scale: 1 / Math.sqrt(5) };
    const out = forward(
      tf,
      s,
      handWeights(tf, s),
      { ...hand, marks: new Float32Array(3), targets: Int32Array.of(1, 1, 1), targetPos: Int32Array.of(0) },
      'softmax',
    );
    const w = Array.from(out.weights.dataSync());
    // β·c = 4 ln 3 + 4 again (β is divided by the scale): the same 0.999548 on key 0.
    for (let q = 0; q < 3; q++) expect(w[q * 3]).toBeCloseTo(0.999548, 6);
  });
});

describe('argmax attention: zero gradient, shown two ways', () => {
  it('autodiff, with W_q and W_k among the variables asked: exactly 0 for them, not for W_v; softmax: not 0', () => {
    const s: Shape = { task: 'content', vocab: 4, n: 5, d: 8, scale: 1 / Math.sqrt(8) };
    const rng = new NormalRng(Uint32Array.of(1, 2, 3, 4));
    const w = randomWeights(tf, s, 0.5, false, rng);
    const batch = makeBatch(s, 16, rng);
    for (const variant of ['argmax', 'softmax'] as const) {
      const { grads } = tf.variableGrads(() => loss(tf, s, w, batch, variant), [w.Wq, w.Wk, w.Wv, w.Wo]);
      const norm = (v: tf.Variable) => tf.norm(grads[v.name]!).dataSync()[0]!;
      expect(Object.keys(grads).sort()).toEqual([w.Wq.name, w.Wk.name, w.Wv.name, w.Wo.name].sort());
      if (variant === 'argmax') {
        expect(norm(w.Wq)).toBe(0);
        expect(norm(w.Wk)).toBe(0);
      } else {
        expect(norm(w.Wq)).toBeGreaterThan(1e-6);
        expect(norm(w.Wk)).toBeGreaterThan(1e-6);
      }
      expect(norm(w.Wv)).toBeGreaterThan(1e-6);
    }
  });

  it('finite differences: moving W_q or W_k by 1e-4 of its norm leaves the argmax loss exactly unchanged; a large move changes it', () => {
    const s: Shape = { task: 'position', vocab: 4, n: 5, d: 8, scale: 1 };
    const rng = new NormalRng(Uint32Array.of(5, 6, 7, 8));
    const w = randomWeights(tf, s, 0.5, false, rng);
    const batch = makeBatch(s, 16, rng);
    const at = () => loss(tf, s, w, batch, 'argmax').dataSync()[0]!;
    const base = at();
    const original = tf.clone(w.Wq);
    let zero = 0;
    for (let p = 0; p < 20; p++) {
      const u = tf.randomNormal(w.Wq.shape, 0, 1, 'float32', p);
      w.Wq.assign(tf.add(original, tf.mul(u, (1e-4 * tf.norm(original).dataSync()[0]!) / tf.norm(u).dataSync()[0]!)));
      if (at() === base) zero++;
    }
    expect(zero).toBeGreaterThanOrEqual(18);
    // Control: a step as large as W_q itself reorders the scores and changes the loss.
    w.Wq.assign(tf.neg(original));
    expect(at()).not.toBe(base);
  });
});

const TINY = `name: tiny-training
title: T
description: D
simulation: attention-training
seed: 3
replicates: 2
grid:
  task: [content, position]
  attention: [softmax, argmax, hand]
  d_model: [12]
settings: { steps: 30, record_every: 10, eval_size: 32, fd_probes: 2 }
charts:
  - { id: c, title: C, spec: { mark: point, encoding: { x: { field: step, type: quantitative }, y: { field: accuracy, type: quantitative } } } }
`;

describe('attention-training end to end', () => {
  it('--jobs 1 and --jobs 2 give the same results.csv; rows per recorded step and one final row per seed', async () => {
    const dir = tmp();
    const file = join(dir, 'tiny.yaml');
    writeFileSync(file, TINY);
    const csvs: string[] = [];
    for (const jobs of ['1', '2']) {
      const out = join(dir, `out${jobs}`);
      const r = await cli([file, '--jobs', jobs, '--out', out]);
      expect(r.code, r.stderr).toBe(0);
      csvs.push(
        stripColumns(
          readFileSync(join(latestRun(out, 'tiny-training'), 'results.csv'), 'utf8'),
          attentionTraining.measuredColumns,
        ),
      );
    }
    expect(csvs[1]).toBe(csvs[0]);
    const lines = csvs[0]!.split('\n');
    expect(lines[0]).toBe(attentionTraining.columns.filter((c) => c !== 'time_ms').join(','));
    // 2 tasks × 2 seeds: softmax and argmax record steps 0, 10, 20, 30 and a final row; hand records step 0 and a final row.
    expect(lines.length - 1).toBe(2 * 2 * (5 + 5 + 2));
    const maps = readFileSync(join(latestRun(join(dir, 'out1'), 'tiny-training'), 'maps.csv'), 'utf8')
      .trimEnd()
      .split('\n');
    expect(maps.length - 1).toBe(2 * 3 * 64); // 2 tasks × (initialisation, trained, hand-designed) × n²
  });
});
