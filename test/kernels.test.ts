import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import type { NormalRng } from '../src/random/normal.js';
import { rngFor } from '../src/random/seed.js';
import { runOp } from '../src/tensor/attention.js';
import { activate } from '../src/tensor/backend.js';
import { randomInputs } from '../src/tensor/executor.js';
import { referenceRows, relErrors } from '../src/tensor/reference.js';
import { fusedMultiplyAdd, kernelModule, type Kernels } from '../src/tensor/simd-kernels.js';
import { softmaxAttention } from '../src/tensor/softmax-kernel.js';

const rng = () => rngFor(7, 'kernels', 0);
const filled = (n: number, r: NormalRng) => {
  const a = new Float32Array(n);
  r.fill(a);
  return a;
};

/** A·B in float64 (A r×k, B k×c, row-major). */
function product(a: Float32Array, b: Float32Array, r: number, k: number, c: number): Float64Array {
  const out = new Float64Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) for (let t = 0; t < k; t++) out[i * c + j]! += a[i * k + t]! * b[t * c + j]!;
  return out;
}

describe('the SIMD kernels (simd-kernels.ts)', () => {
  it('compile with fused multiply-adds on this machine (Node 20 with relaxed SIMD switched on)', () => {
    expect(fusedMultiplyAdd()).toBe(true);
  });

  for (const fused of [true, false]) {
    it(`gemm and gemmAcc (${fused ? 'fused' : 'multiply, add'}) match a float64 product: 8×37 · 37×16, row-major B, then packed panels`, () => {
      const memory = new WebAssembly.Memory({ initial: 2 });
      const k = new WebAssembly.Instance(kernelModule(fused), { env: { memory } }).exports as unknown as Kernels;
      const heap = new Float32Array(memory.buffer);
      const [r, kk, c] = [8, 37, 16];
      const r0 = rng();
      const a = filled(r * kk, r0);
      const b = filled(kk * c, r0);
      const [A, B, C, P] = [0, 1024, 2048, 4096]; // float offsets
      heap.set(a, A);
      heap.set(b, B);
      k.gemm(4 * A, 4 * kk, 4 * B, 4 * c, 32, kk, 4 * C, 4 * c, r / 4, c / 8);
      const want = product(a, b, r, kk, c);
      const err = (got: Float32Array, scale = 1) => Math.max(...Array.from(want, (w, i) => Math.abs(got[i]! - scale * w)));
      expect(err(heap.subarray(C, C + r * c))).toBeLessThan(1e-5 * Math.sqrt(kk));
      // C += A·B doubles it
      k.gemmAcc(4 * A, 4 * kk, 4 * B, 4 * c, 32, kk, 4 * C, 4 * c, r / 4, c / 8);
      expect(err(heap.subarray(C, C + r * c), 2)).toBeLessThan(2e-5 * Math.sqrt(kk));
      // B packed into k × 8 panels: panel stride 32·k, row step 32
      for (let p = 0; p < c / 8; p++) for (let t = 0; t < kk; t++) for (let j = 0; j < 8; j++) heap[P + (p * kk + t) * 8 + j] = b[t * c + p * 8 + j]!;
      const before = heap.slice(C, C + r * c).fill(0);
      heap.set(before, C);
      k.gemm(4 * A, 4 * kk, 4 * P, 32, 32 * kk, kk, 4 * C, 4 * c, r / 4, c / 8);
      expect(err(heap.subarray(C, C + r * c))).toBeLessThan(1e-5 * Math.sqrt(kk));
    });
  }
});

describe('fused softmax attention (softmax-kernel.ts)', () => {
  beforeAll(async () => {
    await activate('wasm');
  });

  it.each([[64, 8, 8], [256, 64, 64], [1000, 16, 24]])('N=%i, D=%i, M=%i: every checked row within 2e-6 of float64 (normwise)', (n, d, m) => {
    const x = randomInputs(rng(), n, d, m);
    const { out, bytes } = softmaxAttention(x, 0, n);
    for (const i of [0, 1, n >> 1, n - 1]) {
      expect(relErrors(out, m, [i], referenceRows(x, 'softmax', false, [i])).fro).toBeLessThan(2e-6);
    }
    // the call holds the scores (N×N), the output and the row sums, not its resident inputs
    expect(bytes).toBe(4 * n * (n + m + 1));
  });

  it('rows do not depend on the range they were computed in (one worker or two give the same bits)', () => {
    const x = randomInputs(rng(), 512, 32, 32);
    const whole = softmaxAttention(x, 0, 512).out;
    const second = softmaxAttention(x, 256, 512).out;
    expect(Buffer.from(second.buffer).equals(Buffer.from(whole.subarray(256 * 32).slice().buffer))).toBe(true);
  });

  it('runOp reports the kernel memory as the peak bytes (tf.profile sees no tensor)', async () => {
    const x = randomInputs(rng(), 256, 16, 16);
    const r = await runOp(tf, x, { op: 'softmax', lo: 0, hi: 128, causal: false }, true);
    expect(r.peakBytes).toBe(4 * 128 * (256 + 16 + 1));
  });
});
