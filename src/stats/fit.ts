/** Ordinary least squares y = a + b·x, with the standard error of the slope. */
export interface LineFit {
  slope: number;
  intercept: number;
  slopeSe: number;
  n: number;
}

export function fitLine(x: readonly number[], y: readonly number[]): LineFit {
  const n = x.length;
  if (n !== y.length) throw new RangeError('x and y differ in length');
  if (n < 2) throw new RangeError('a line needs at least 2 points');
  const mx = x.reduce((s, v) => s + v, 0) / n;
  const my = y.reduce((s, v) => s + v, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    sxx += (x[i]! - mx) ** 2;
    sxy += (x[i]! - mx) * (y[i]! - my);
  }
  if (sxx === 0) throw new RangeError('x has no spread');
  const slope = sxy / sxx;
  const intercept = my - slope * mx;
  let sse = 0;
  for (let i = 0; i < n; i++) sse += (y[i]! - intercept - slope * x[i]!) ** 2;
  const slopeSe = n > 2 ? Math.sqrt(sse / (n - 2) / sxx) : NaN;
  return { slope, intercept, slopeSe, n };
}

/** Slope of log y against log x: the exponent k in y ∝ x^k. Non-positive values are an error. */
export function logLogSlope(x: readonly number[], y: readonly number[]): LineFit {
  if ([...x, ...y].some((v) => !(v > 0))) throw new RangeError('log-log fit needs positive x and y');
  return fitLine(x.map(Math.log), y.map(Math.log));
}

/** The weighted sums of a least-squares line (for fits that constrain it: through the origin, flat). */
export interface WeightedSums {
  sw: number;
  sx: number;
  sy: number;
  sxx: number;
  sxy: number;
}

/**
 * Weighted least squares y ≈ intercept + slope·x with weight w(i) on point i; a degenerate x (no spread) gives the
 * weighted mean and slope 0. The sums come back for callers that try constrained fits beside it.
 */
export function weightedLine(
  x: readonly number[],
  y: readonly number[],
  w: (i: number) => number,
): { intercept: number; slope: number; sums: WeightedSums } {
  let sw = 0,
    sx = 0,
    sy = 0,
    sxx = 0,
    sxy = 0;
  y.forEach((yi, i) => {
    const [wi, xi] = [w(i), x[i]!];
    sw += wi;
    sx += wi * xi;
    sy += wi * yi;
    sxx += wi * xi * xi;
    sxy += wi * xi * yi;
  });
  const det = sw * sxx - sx * sx;
  const sums = { sw, sx, sy, sxx, sxy };
  return det > 0
    ? { intercept: (sxx * sy - sx * sxy) / det, slope: (sw * sxy - sx * sy) / det, sums }
    : { intercept: sy / sw, slope: 0, sums };
}
