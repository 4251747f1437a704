/**
 * Feature maps φ for linear (kernelized) attention, built in plain loops over rows: no gather,
 * which runs at under 2 GFLOP/s on wasm. Inputs are row-major n×d Float32Arrays.
 */

/** (q·k/√D + 1)² = φ(q)·φ(k) with φ(x) = [1, √2·x_a, x_a², √2·x_a·x_b (a < b)] of x·D^(−1/4). */
export interface QuadraticMap {
  kind: 'quadratic';
}
/**
 * Random Fourier features of the Gaussian kernel, times exp(‖x‖²/2σ²) so that
 * φ(q)·φ(k) estimates exp(q·k/σ²), σ² = √D: [sin(w_i·x), cos(w_i·x)]·exp(‖x‖²/2σ²)/√R.
 * `w` is R×D; unbiased only when w_i ~ N(0, σ⁻²·I).
 */
export interface FourierMap {
  kind: 'fourier';
  w: Float32Array;
  count: number;
}
/** Performer's positive features (FAVOR+): exp(w_i·x' − ‖x'‖²/2)/√R with x' = x·D^(−1/4), w_i ~ N(0, I). */
export interface PositiveMap {
  kind: 'positive';
  w: Float32Array;
  count: number;
}
export type FeatureMap = QuadraticMap | FourierMap | PositiveMap;

/** C = 1 + D + D(D+1)/2 for the quadratic map; 2R and R for the random maps. */
export function featureCount(map: FeatureMap, d: number): number {
  if (map.kind === 'quadratic') return 1 + d + (d * (d + 1)) / 2;
  return map.kind === 'fourier' ? 2 * map.count : map.count;
}

/**
 * Write φ of rows [lo, hi) of x into `out`, row-major (rows × F) or, with
 * `transposed`, F × rows (so φ(K)ᵀV needs no transpose on the backend).
 * Plain sequential loops: this runs once per row chunk on the hot path.
 */
export function featurize(map: FeatureMap, x: Float32Array, d: number, lo: number, hi: number, out: Float32Array, transposed: boolean): void {
  if (map.kind === 'quadratic') {
    if (transposed) quadraticT(x, d, lo, hi, out);
    else quadraticRows(x, d, lo, hi, out);
    return;
  }
  const rows = hi - lo;
  const f = featureCount(map, d);
  const positive = map.kind === 'positive';
  const r = map.count;
  const s = positive ? d ** -0.25 : 1;
  const xs = new Float64Array(d);
  for (let i = 0; i < rows; i++) {
    const o = (lo + i) * d;
    let sq = 0;
    for (let a = 0; a < d; a++) {
      xs[a] = x[o + a]! * s;
      sq += xs[a]! * xs[a]!;
    }
    // exp(‖x‖²/2σ²) with σ² = √D for Fourier features; exp(−‖x'‖²/2) for positive ones.
    const scale = (positive ? Math.exp(-sq / 2) : Math.exp(sq / (2 * Math.sqrt(d)))) / Math.sqrt(r);
    for (let k = 0; k < r; k++) {
      let p = 0;
      const wo = k * d;
      for (let a = 0; a < d; a++) p += map.w[wo + a]! * xs[a]!;
      const v0 = positive ? Math.exp(p) * scale : Math.sin(p) * scale;
      if (transposed) out[k * rows + i] = v0;
      else out[i * f + k] = v0;
      if (!positive) {
        const v1 = Math.cos(p) * scale;
        if (transposed) out[(r + k) * rows + i] = v1;
        else out[i * f + r + k] = v1;
      }
    }
  }
}

/** Quadratic φ, row-major: [1, √2·x_a, x_a², √2·x_a·x_b (a < b)] for each row. */
function quadraticRows(x: Float32Array, d: number, lo: number, hi: number, out: Float32Array): void {
  const s = d ** -0.25;
  const xs = new Float32Array(d);
  let j = 0;
  for (let i = lo; i < hi; i++) {
    for (let a = 0; a < d; a++) xs[a] = x[i * d + a]! * s;
    out[j++] = 1;
    for (let a = 0; a < d; a++) out[j++] = Math.SQRT2 * xs[a]!;
    for (let a = 0; a < d; a++) out[j++] = xs[a]! * xs[a]!;
    for (let a = 0; a < d; a++) {
      const xa = Math.SQRT2 * xs[a]!;
      for (let b = a + 1; b < d; b++) out[j++] = xa * xs[b]!;
    }
  }
}

/** Quadratic φ, transposed (F × rows): features outer, rows inner, so every write is sequential. */
function quadraticT(x: Float32Array, d: number, lo: number, hi: number, out: Float32Array): void {
  const rows = hi - lo;
  const s = d ** -0.25;
  const xt = new Float32Array(d * rows);
  for (let i = 0; i < rows; i++) for (let a = 0; a < d; a++) xt[a * rows + i] = x[(lo + i) * d + a]! * s;
  out.fill(1, 0, rows);
  let o = rows;
  for (let a = 0; a < d; a++, o += rows) for (let i = 0; i < rows; i++) out[o + i] = Math.SQRT2 * xt[a * rows + i]!;
  for (let a = 0; a < d; a++, o += rows) for (let i = 0; i < rows; i++) out[o + i] = xt[a * rows + i]! * xt[a * rows + i]!;
  for (let a = 0; a < d; a++) {
    const ao = a * rows;
    for (let b = a + 1; b < d; b++, o += rows) {
      const bo = b * rows;
      for (let i = 0; i < rows; i++) out[o + i] = Math.SQRT2 * xt[ao + i]! * xt[bo + i]!;
    }
  }
}
