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
  const w = new Float64Array(n);
  const inv = 1 / Math.sqrt(d);
  rows.forEach((i, r) => {
    const last = causal ? i : n - 1;
    let max = -Infinity;
    for (let j = 0; j <= last; j++) {
      let s = 0;
      for (let a = 0; a < d; a++) s += q[i * d + a]! * k[j * d + a]!;
      w[j] = s * inv;
      if (w[j]! > max) max = w[j]!;
    }
    let z = 0;
    for (let j = 0; j <= last; j++) {
      w[j] = sim === 'softmax' ? Math.exp(w[j]! - max) : (w[j]! + 1) ** 2;
      z += w[j]!;
    }
    for (let j = 0; j <= last; j++) {
      const p = w[j]! / z;
      for (let c = 0; c < m; c++) out[r * m + c] = out[r * m + c]! + p * v[j * m + c]!;
    }
  });
  return out;
}

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
