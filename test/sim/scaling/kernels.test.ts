import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { NormalRng } from '../../../src/random/normal.js';
import { activate } from '../../../src/engine/backend.js';
import { inlineExecutor, workerExecutor, type Executor } from '../../../src/engine/tfjs/executor.js';
import {
  kernels,
  randomInputs,
  sharedFloats,
  type OpArgs,
  type SharedInputs,
} from '../../../src/sim/scaling/kernels.js';
import { featureCount, featurize, type FeatureMap } from '../../../src/sim/scaling/features.js';
import { runMethod, type Method } from '../../../src/sim/scaling/methods.js';
import { referenceRows, relErrors, sampleRows } from '../../../src/sim/scaling/reference.js';

const maxRelError = (out: Float32Array, m: number, rows: number[], ref: Float64Array) =>
  relErrors(out, m, rows, ref).max;

const quad: FeatureMap = { kind: 'quadratic' };

const inputs = (n: number, d: number, m: number, seed: number) =>
  randomInputs(new NormalRng(Uint32Array.of(seed, 2, 3, 4)), n, d, m);

describe('quadratic feature map', () => {
  it('φ(q)·φ(k) = (q·k/√D + 1)² and C = 1 + D + D(D+1)/2', () => {
    const d = 5;
    const x = Float32Array.of(0.3, -1.2, 0.5, 2, -0.7, 1.1, 0.4, -0.9, 0.25, 1.5);
    const f = featureCount(quad, d);
    expect(f).toBe(21);
    const phi = new Float32Array(2 * f);
    featurize(quad, x, d, 0, 2, phi, false);
    let dot = 0;
    for (let i = 0; i < f; i++) dot += phi[i]! * phi[f + i]!;
    let qk = 0;
    for (let a = 0; a < d; a++) qk += x[a]! * x[d + a]!;
    expect(dot).toBeCloseTo((qk / Math.sqrt(d) + 1) ** 2, 5);
  });

  it('the transposed layout holds the same numbers', () => {
    const d = 3;
    const x = Float32Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9);
    const f = featureCount(quad, d);
    const rows = new Float32Array(3 * f);
    const cols = new Float32Array(3 * f);
    featurize(quad, x, d, 0, 3, rows, false);
    featurize(quad, x, d, 0, 3, cols, true);
    for (let i = 0; i < 3; i++) for (let j = 0; j < f; j++) expect(cols[j * 3 + i]).toBe(rows[i * f + j]);
  });

  it('random features estimate exp(q·k/√D): Fourier with w ~ N(0, σ⁻²I) and positive (FAVOR+)', () => {
    const d = 4;
    const g = new NormalRng(Uint32Array.of(7, 7, 7, 7));
    const x = Float32Array.of(0.5, -0.3, 0.2, 0.1, 0.4, 0.2, -0.1, 0.3);
    const exact = Math.exp((0.5 * 0.4 - 0.3 * 0.2 - 0.2 * 0.1 + 0.1 * 0.3) / 2);
    for (const kind of ['fourier', 'positive'] as const) {
      const count = 1 << 16;
      const w = new Float32Array(count * d);
      g.fill(w);
      if (kind === 'fourier') for (let i = 0; i < w.length; i++) w[i] = w[i]! * d ** -0.25;
      const map: FeatureMap = { kind, w, count };
      const f = featureCount(map, d);
      const phi = new Float32Array(2 * f);
      featurize(map, x, d, 0, 2, phi, false);
      let est = 0;
      for (let i = 0; i < f; i++) est += phi[i]! * phi[f + i]!;
      expect(Math.abs(est / exact - 1), kind).toBeLessThan(0.02);
    }
  });
});

describe('relative errors', () => {
  it('outputs (1, 2) against (1, 1): max |e| / max |ref| = 1, ‖e‖/‖ref‖ = √(1/2)', () => {
    const e = relErrors(Float32Array.of(1, 2), 1, [0, 1], Float64Array.of(1, 1));
    expect(e.max).toBe(1);
    expect(e.fro).toBeCloseTo(Math.SQRT1_2, 15);
  });
});

describe('the float64 reference', () => {
  // N = 3, D = M = 1, values 4, 8, 12. Query 0 sees equal scores (the mean); query 1 in causal form the first two
  // keys. Softmax, keys (0, 0, ln 2): query 1 weighs the keys 1 : 1 : 2, (4 + 8 + 24) / 4 = 9. The kernel
  // (s + 1)², keys (0, 0, 1): query 1 weighs them 1 : 1 : 4, (4 + 8 + 48) / 6 = 10.
  const at = (k3: number) => ({
    q: Float32Array.of(0, 1, 1),
    k: Float32Array.of(0, 0, k3),
    v: Float32Array.of(4, 8, 12),
    n: 3,
    d: 1,
    m: 1,
  });
  // Five rows, out of order and repeated: a block of four query rows and a short one. Within 1e-6: ln 2 is stored as a
  // float32.
  const rows = [0, 2, 1, 2, 0];
  it.each([
    ['softmax', Math.LN2, false, [8, 9, 9, 9, 8]],
    ['softmax', Math.LN2, true, [4, 9, 6, 9, 4]],
    ['quadratic', 1, false, [8, 10, 10, 10, 8]],
    ['quadratic', 1, true, [4, 10, 6, 10, 4]],
  ] as const)('%s, key 3 = %d, causal %s: the weighted means by hand', (sim, k3, causal, want) => {
    const got = Array.from(referenceRows(at(k3), sim, causal, rows));
    got.forEach((g, i) => expect(g).toBeCloseTo(want[i]!, 6));
  });

  it('computes four rows at a time with the same bits as one row at a time', () => {
    const x = inputs(300, 8, 4, 11);
    const rows = sampleRows(300, 7);
    for (const sim of ['softmax', 'quadratic'] as const)
      for (const causal of [false, true]) {
        const together = referenceRows(x, sim, causal, rows);
        const alone = rows.flatMap((i) => Array.from(referenceRows(x, sim, causal, [i])));
        expect(Array.from(together)).toEqual(alone);
      }
  });
});

describe('attention kernels on the cpu backend', () => {
  let exec: Executor<SharedInputs, OpArgs>;
  beforeAll(async () => {
    await activate('cpu');
    exec = inlineExecutor(kernels);
  });

  it('identical keys give the mean of the values; a causal first row sees only v_0', async () => {
    const n = 4,
      d = 2,
      m = 1;
    const q = sharedFloats(n * d).fill(1),
      k = sharedFloats(n * d).fill(0.5),
      kT = sharedFloats(n * d).fill(0.5);
    const v = sharedFloats(n * m);
    v.set([1, 2, 3, 6]);
    await exec.setInputs({ q, k, v, kT, n, d, m });
    const call = { map: quad, n, d, m, chunk: 2, causalChunk: 2 };
    for (const method of ['softmax', 'quadratic-kernel', 'quadratic-kernel-direct'] as Method[]) {
      const all = await runMethod(exec, { ...call, method, causal: false }, false);
      expect(
        [...all.out].map((x) => Number(x.toFixed(5))),
        method,
      ).toEqual([3, 3, 3, 3]);
      const causal = await runMethod(exec, { ...call, method, causal: true }, false);
      // row i averages v_0..v_i: 1, 1.5, 2, 3
      expect(
        [...causal.out].map((x) => Number(x.toFixed(5))),
        `${method} causal`,
      ).toEqual([1, 1.5, 2, 3]);
    }
  });

  it('every method agrees with the float64 reference; the linear form with the direct form', async () => {
    const x = inputs(96, 6, 5, 1);
    await exec.setInputs(x);
    const rows = sampleRows(96, 96);
    for (const causal of [false, true]) {
      const call = { map: quad, n: 96, d: 6, m: 5, chunk: 48, causalChunk: 16, causal };
      const soft = await runMethod(exec, { ...call, method: 'softmax' }, false);
      const lin = await runMethod(exec, { ...call, method: 'quadratic-kernel' }, false);
      const dir = await runMethod(exec, { ...call, method: 'quadratic-kernel-direct' }, false);
      expect(maxRelError(soft.out, 5, rows, referenceRows(x, 'softmax', causal, rows))).toBeLessThan(1e-5);
      const quadRef = referenceRows(x, 'quadratic', causal, rows);
      expect(maxRelError(lin.out, 5, rows, quadRef)).toBeLessThan(1e-5);
      expect(maxRelError(dir.out, 5, rows, quadRef)).toBeLessThan(1e-5);
    }
  });

  it('reports the backend peak bytes: softmax holds two N×N float32 buffers per half', async () => {
    const x = inputs(256, 8, 8, 2);
    await exec.setInputs(x);
    const r = await runMethod(
      exec,
      { method: 'softmax', causal: false, map: quad, n: 256, d: 8, m: 8, chunk: 128, causalChunk: 64 },
      true,
    );
    // scores and probabilities, 128×256 each, for both halves: 2·2·128·256·4 bytes, plus inputs
    expect(r.peakBytes).toBeGreaterThanOrEqual(2 * 2 * 128 * 256 * 4);
    expect(r.peakBytes).toBeLessThan(2 * 2 * 128 * 256 * 4 * 1.2);
  });

  afterAll(async () => {
    await exec.close();
  });
});

describe('workers on wasm', () => {
  it('give bit-identical outputs to the inline executor (the row split does not depend on lanes)', async () => {
    await activate('wasm');
    const x = inputs(512, 16, 16, 3);
    const inline = inlineExecutor(kernels);
    const pool = await workerExecutor(kernels, 'wasm', 2);
    try {
      expect(pool.lanes).toBe(2);
      await inline.setInputs(x);
      await pool.setInputs(x);
      for (const [method, causal] of [
        ['softmax', false],
        ['softmax', true],
        ['quadratic-kernel', false],
        ['quadratic-kernel', true],
      ] as [Method, boolean][]) {
        const call = { method, causal, map: quad, n: 512, d: 16, m: 16, chunk: 256, causalChunk: 64 };
        const a = await runMethod(inline, call, false);
        const b = await runMethod(pool, call, false);
        expect(Buffer.from(b.out.buffer).equals(Buffer.from(a.out.buffer)), `${method} causal=${causal}`).toBe(true);
      }
    } finally {
      await pool.close();
    }
    expect(tf.getBackend()).toBe('wasm');
  });
});
