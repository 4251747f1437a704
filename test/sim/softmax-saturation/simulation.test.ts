import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { softmaxSaturation } from '../../../src/sim/softmax-saturation/simulation.js';
import { attend, attentionGrads, loadGradients } from '../../../src/engine/tfjs/autodiff.js';
import { activate } from '../../../src/engine/backend.js';
import {
  entropy,
  jacobianFrobenius,
  jacobianSpectral,
  softmaxInto,
  topK,
} from '../../../src/sim/softmax-saturation/softmax.js';
import { cli, latestRun, stripColumns, tmp } from '../../helpers.js';
import { expectGolden } from '../../golden.js';

beforeAll(async () => {
  await activate('cpu');
  await loadGradients();
});

describe("the homework's worked example: argmax attention", () => {
  const K = () =>
    tf.tensor2d([
      [1, 2, 0],
      [0, 3, 4],
      [5, 0, 0],
      [0, 0, 1],
    ]);
  const V = () =>
    tf.tensor2d([
      [2, 0, 1],
      [1, 4, 3],
      [0, -1, 4],
      [1, 0, -1],
    ]);
  const q = () => tf.tensor1d([1, 1, 2]);

  it('query (1,1,2) scores (3, 11, 5, 2) and returns the second value, (1, 4, 3)', () => {
    expect([...tf.matMul(K(), tf.reshape(q(), [3, 1])).dataSync()]).toEqual([3, 11, 5, 2]);
    expect([...attend(tf, 'argmax', q(), K(), V()).dataSync()]).toEqual([1, 4, 3]);
  });

  it('its gradient with respect to q and the keys is exactly 0; only the selected value row gets any', () => {
    const g = attentionGrads(tf, 'argmax', q(), K(), V());
    expect(g.q).toBe(0);
    expect(g.k).toBe(0);
    expect(g.vRows).toBe(1);
    // L = Σ out, so ∂L/∂V is 1 in each entry of the selected row: norm √3
    expect(g.v).toBeCloseTo(Math.sqrt(3), 6);
  });

  it('softmax attention on the same inputs has a nonzero gradient with respect to q', () => {
    expect(attentionGrads(tf, 'softmax', q(), K(), V(), 1 / Math.sqrt(3)).q).toBeGreaterThan(0);
  });
});

describe('softmax and its Jacobian', () => {
  it('the entropy of a uniform p is ln n', () => {
    for (const n of [2, 16, 4096]) {
      const p = new Float64Array(n);
      expect(softmaxInto(new Float64Array(n), p), `n=${n}`).toBeCloseTo(Math.log(n), 10);
      expect(entropy(p)).toBeCloseTo(Math.log(n), 10);
    }
  });

  it('the one-log entropy equals −Σ p ln p', () => {
    const z = Float64Array.of(0.3, -2, 5, 1.25, 0, 4.9);
    const p = new Float64Array(6);
    expect(softmaxInto(z, p)).toBeCloseTo(entropy(p), 12);
  });

  it('‖J‖ closed forms agree with the Jacobian from autodiff (n = 4)', () => {
    for (const zs of [
      [0.1, 0.5, -0.3, 2],
      [3, 3, -1, 0],
      [10, 0, 0, 0],
    ]) {
      const z = tf.tensor1d(zs);
      // J[i][j] = ∂p_i/∂z_j, one autodiff pass per row
      const J = zs.map((_, i) => [
        ...tf
          .grad((x: tf.Tensor) => tf.gather(tf.softmax(x), i))(z)
          .dataSync(),
      ]);
      const p = new Float64Array(4);
      softmaxInto(zs, p);
      const fro = Math.sqrt(J.flat().reduce((s, v) => s + v * v, 0));
      expect(jacobianFrobenius(p), `Frobenius ${zs}`).toBeCloseTo(fro, 6);
      // power iteration on the symmetric PSD J for its largest eigenvalue
      let v = [1, 0.5, 0.25, 0.125];
      let lam = 0;
      for (let it = 0; it < 500; it++) {
        const w = J.map((row) => row.reduce((s, x, j) => s + x * v[j]!, 0));
        lam = Math.hypot(...w);
        v = w.map((x) => x / lam);
      }
      expect(jacobianSpectral(p), `spectral ${zs}`).toBeCloseTo(lam, 5);
    }
  });

  it('‖J‖₂ is exactly 1/2 for p = (1/2, 1/2) and below it otherwise', () => {
    expect(jacobianSpectral([0.5, 0.5])).toBe(0.5);
    expect(jacobianSpectral([0.6, 0.3, 0.1])).toBeLessThan(0.5);
    expect(jacobianFrobenius([1, 0, 0])).toBe(0);
  });

  it('topK keeps the k largest in descending order', () => {
    expect(topK([3, 9, 1, 9, 4, 7], 3)).toEqual([9, 9, 7]);
    expect(topK([2, 1], 4)).toEqual([2, 1]);
  });
});

describe('softmax-saturation --quick end to end', () => {
  const ARGS = ['softmax-saturation', '--quick', '--set', 'draws=200', '--set', 'd=[1,16,1024]'];
  it('writes its outputs; the same seed gives the same results.csv', async () => {
    const a = join(tmp(), 'results');
    const b = join(tmp(), 'results');
    const ra = await cli([...ARGS, '--out', a]);
    expect(ra.code, ra.stderr).toBe(0);
    expect(ra.stdout).toMatch(/softmax-saturation: 12 rows, claims: 8\/8 passed/);
    expect((await cli([...ARGS, '--out', b])).code).toBe(0);
    const csv = (root: string) => readFileSync(join(latestRun(root, 'softmax-saturation'), 'results.csv'), 'utf8');
    expect(stripColumns(csv(b), softmaxSaturation.measuredColumns)).toBe(
      stripColumns(csv(a), softmaxSaturation.measuredColumns),
    );
    expectGolden('softmax-saturation.header.csv', `${csv(a).split('\n')[0]}\n`);
  });
});
