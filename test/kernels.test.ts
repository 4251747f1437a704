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
import { linearApply, linearKernelBytes, linearState } from '../src/tensor/linear-kernel.js';

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

  it('rowSums adds each row\'s sum to the vector: 3 rows of 48 (row step 64 floats) against float64', () => {
    const memory = new WebAssembly.Memory({ initial: 1 });
    const k = new WebAssembly.Instance(kernelModule(true), { env: { memory } }).exports as unknown as Kernels;
    const heap = new Float32Array(memory.buffer);
    const src = filled(3 * 64, rng());
    heap.set(src, 0);
    heap.set([1, 2, 3], 1024);
    k.rowSums(0, 3, 48, 4 * 64, 4 * 1024);
    for (let r = 0; r < 3; r++) {
      let want = r + 1;
      for (let c = 0; c < 48; c++) want += src[r * 64 + c]!;
      expect(Math.abs(heap[1024 + r]! - want)).toBeLessThan(1e-5);
    }
  });
});

describe('fused linear attention (linear-kernel.ts)', () => {
  // N not a multiple of 16 (padded chunks), D = 5 (C = 21, padded to 24), chunks of 300 rows (blocks of 256 and 44)
  it.each([[64, 8, 8, 64], [1000, 5, 24, 300], [700, 32, 32, 512]])('N=%i, D=%i, M=%i, chunks of %i rows: every checked row within 2e-6 of float64', (n, d, m, chunk) => {
    const x = randomInputs(rng(), n, d, m);
    const state = linearState(x, 0, n, chunk);
    const { data: out, bytes } = linearApply(x, 0, n, chunk, state.data);
    for (const i of [0, 1, n >> 1, n - 1]) {
      expect(relErrors(out, m, [i], referenceRows(x, 'quadratic', false, [i])).fro).toBeLessThan(2e-6);
    }
    // φ for one chunk and the state, or applying it: [Sᵀ; zᵀ], a block's products and the output
    expect(Math.max(state.bytes, bytes)).toBe(linearKernelBytes(n, d, m, chunk));
  });

  it('the state of two halves sums to the whole one\'s, and applied rows do not depend on their range', () => {
    const x = randomInputs(rng(), 512, 16, 16);
    const whole = linearState(x, 0, 512, 128).data;
    const a = linearState(x, 0, 256, 128).data;
    const b = linearState(x, 256, 512, 128).data;
    // chunks of 128 rows: the halves' sums are the whole one's first and last two chunks, so the sum differs by rounding only
    expect(Math.max(...whole.map((w, i) => Math.abs(w - (a[i]! + b[i]!)) / (1 + Math.abs(w))))).toBeLessThan(1e-5);
    const rows = linearApply(x, 0, 512, 128, whole).data;
    const second = linearApply(x, 200, 512, 128, whole).data;
    expect(Buffer.from(second.buffer).equals(Buffer.from(rows.subarray(200 * 16).slice().buffer))).toBe(true);
  });

  it('runOp reports the kernel memory as the peak bytes of the state op', async () => {
    await activate('wasm');
    const x = randomInputs(rng(), 256, 8, 8);
    const r = await runOp(tf, x, { op: 'state', lo: 0, hi: 256, map: { kind: 'quadratic' }, chunk: 128 }, true);
    // φ: 48 × 128 floats, the table 17 × 256, S and z 48 × 8 + 48
    expect(r.peakBytes).toBe(4 * (48 * 128 + 17 * 256 + 48 * 9));
  });
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
