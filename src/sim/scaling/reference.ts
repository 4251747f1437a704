/**
 * Exact attention outputs in float64 for a few query rows: the reference that
 * max_rel_error is measured against. O(rows·N·(D+M)), so it is cheap at any N.
 */
export type Similarity = 'softmax' | 'quadratic';

export interface AttentionInputs {
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  n: number;
  d: number;
  m: number;
}

/** Rows spread evenly over the sequence (early rows matter for causal attention). */
export function sampleRows(n: number, count: number): number[] {
  const c = Math.min(n, count);
  return Array.from({ length: c }, (_, i) => Math.min(n - 1, Math.floor(((i + 0.5) * n) / c)));
}

/** Output rows (rows.length × M, row-major) of softmax(q·k/√D) or (q·k/√D + 1)² attention. */
export function referenceRows(
  x: AttentionInputs,
  sim: Similarity,
  causal: boolean,
  rows: readonly number[],
): Float64Array {
  const { q, k, v, n, d, m } = x;
  const out = new Float64Array(rows.length * m);
  // Four query rows at a time, each key and value row read once for the four: four independent sums where one row
  // had one chain of dependent additions (2.0 – 2.6× faster at N = 16384, D = 64, Zen 4). Each row's sums still run in the same
  // order, so the results are the same bit for bit as one row at a time; the four rows' queries and outputs sit in
  // float64 locals, (s + 1)² is a product (V8's ** calls pow).
  const w = new Float64Array(BLOCK * n);
  const qb = new Float64Array(BLOCK * d);
  const acc = new Float64Array(BLOCK * m);
  const inv = 1 / Math.sqrt(d);
  const [d1, d2, d3] = [d, 2 * d, 3 * d];
  for (let r0 = 0; r0 < rows.length; r0 += BLOCK) {
    // A short last block repeats its last row (computed, not kept).
    const block = Array.from({ length: BLOCK }, (_, b) => rows[Math.min(r0 + b, rows.length - 1)]!);
    const lasts = block.map((i) => (causal ? i : n - 1));
    const end = Math.max(...lasts);
    block.forEach((i, b) => {
      for (let a = 0; a < d; a++) qb[b * d + a] = q[i * d + a]!;
    });
    for (let j = 0, kj = 0; j <= end; j++, kj += d) {
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let a = 0; a < d; a++) {
        const ka = k[kj + a]!;
        s0 += qb[a]! * ka;
        s1 += qb[d1 + a]! * ka;
        s2 += qb[d2 + a]! * ka;
        s3 += qb[d3 + a]! * ka;
      }
      w[j] = s0 * inv;
      w[n + j] = s1 * inv;
      w[2 * n + j] = s2 * inv;
      w[3 * n + j] = s3 * inv;
    }
    // Each row's weights over its own keys, 0 past its last one (a causal row's): p·v then adds zeros.
    const z = lasts.map((last, b) => {
      const o = b * n;
      let max = -Infinity;
      for (let j = 0; j <= last; j++) if (w[o + j]! > max) max = w[o + j]!;
      let sum = 0;
      for (let j = 0; j <= last; j++) {
        const wj = w[o + j]!;
        const e = sim === 'softmax' ? Math.exp(wj - max) : (wj + 1) * (wj + 1);
        w[o + j] = e;
        sum += e;
      }
      w.fill(0, o + last + 1, o + n);
      return sum;
    });
    const [z0, z1, z2, z3] = z as [number, number, number, number];
    const [m1, m2, m3] = [m, 2 * m, 3 * m];
    acc.fill(0);
    for (let j = 0, vj = 0; j <= end; j++, vj += m) {
      const p0 = w[j]! / z0;
      const p1 = w[n + j]! / z1;
      const p2 = w[2 * n + j]! / z2;
      const p3 = w[3 * n + j]! / z3;
      for (let c = 0; c < m; c++) {
        const vc = v[vj + c]!;
        acc[c] = acc[c]! + p0 * vc;
        acc[m1 + c] = acc[m1 + c]! + p1 * vc;
        acc[m2 + c] = acc[m2 + c]! + p2 * vc;
        acc[m3 + c] = acc[m3 + c]! + p3 * vc;
      }
    }
    for (let b = 0; b < BLOCK && r0 + b < rows.length; b++) out.set(acc.subarray(b * m, (b + 1) * m), (r0 + b) * m);
  }
  return out;
}

/** Query rows computed together by referenceRows (its loops are written out for four: s0 … s3, p0 … p3). */
const BLOCK = 4;

/**
 * Errors of an output against the reference over the sampled rows, both normwise (finite when
 * the reference has zeros): `max` = max |a − ref| / max |ref|, and `fro` = ‖a − ref‖_F / ‖ref‖_F,
 * less ruled by one bad row.
 */
export function relErrors(
  full: Float32Array,
  m: number,
  rows: readonly number[],
  ref: Float64Array,
): { max: number; fro: number } {
  let maxErr = 0;
  let maxRef = 0;
  let sqErr = 0;
  let sqRef = 0;
  rows.forEach((i, r) => {
    for (let c = 0; c < m; c++) {
      const want = ref[r * m + c]!;
      const e = full[i * m + c]! - want;
      maxErr = Math.max(maxErr, Math.abs(e));
      maxRef = Math.max(maxRef, Math.abs(want));
      sqErr += e * e;
      sqRef += want * want;
    }
  });
  return { max: maxErr / maxRef, fro: Math.sqrt(sqErr / sqRef) };
}
