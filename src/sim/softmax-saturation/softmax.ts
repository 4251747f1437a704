/**
 * Softmax and the quantities that show its saturation, in float64 on plain arrays:
 * entropy, the top weights, and norms of the Jacobian J = diag(p) − ppᵀ.
 */

/**
 * p = softmax(z) into `out`, computed stably (max subtracted), returning the entropy H(p) in
 * nats by the identity H = ln S − Σ pᵢ(zᵢ − max), S = Σ e^(zᵢ − max): one log per call, not n.
 */
export function softmaxInto(z: ArrayLike<number>, out: Float64Array): number {
  let max = -Infinity;
  for (let i = 0; i < z.length; i++) if (z[i]! > max) max = z[i]!;
  let sum = 0;
  for (let i = 0; i < z.length; i++) {
    out[i] = Math.exp(z[i]! - max);
    sum += out[i]!;
  }
  let pz = 0;
  for (let i = 0; i < z.length; i++) {
    out[i] = out[i]! / sum;
    pz += out[i]! * (z[i]! - max);
  }
  return Math.max(0, Math.log(sum) - pz);
}

/** H(p) = −Σ p ln p in nats (0 ln 0 = 0). */
export function entropy(p: ArrayLike<number>): number {
  let h = 0;
  for (let i = 0; i < p.length; i++) if (p[i]! > 0) h -= p[i]! * Math.log(p[i]!);
  return h;
}

/** ‖J‖_F for J = diag(p) − ppᵀ: ‖J‖_F² = Σp² − 2Σp³ + (Σp²)². */
export function jacobianFrobenius(p: ArrayLike<number>): number {
  let s2 = 0;
  let s3 = 0;
  for (let i = 0; i < p.length; i++) {
    const v = p[i]!;
    s2 += v * v;
    s3 += v * v * v;
  }
  return Math.sqrt(Math.max(0, s2 - 2 * s3 + s2 * s2));
}

/**
 * ‖J‖₂, the largest eigenvalue of the positive semi-definite J = diag(p) − ppᵀ. It lies in
 * [p₂, p₁] (the two largest weights) and solves the secular equation Σ pᵢ²/(pᵢ − λ) = 1,
 * found here by bisection. It never exceeds 1/2: ‖J‖₂ ≤ the largest absolute row sum of J,
 * maxᵢ [pᵢ(1 − pᵢ) + pᵢ·Σ_{j≠i} pⱼ] = maxᵢ 2pᵢ(1 − pᵢ) ≤ 1/2.
 */
export function jacobianSpectral(p: ArrayLike<number>): number {
  let p1 = -Infinity;
  let p2 = -Infinity;
  for (let i = 0; i < p.length; i++) {
    const v = p[i]!;
    if (v > p1) {
      p2 = p1;
      p1 = v;
    } else if (v > p2) p2 = v;
  }
  if (!(p2 > 0) || p1 - p2 <= 1e-15 * p1) return Math.max(p2, 0);
  const f = (lam: number) => {
    let s = -1;
    for (let i = 0; i < p.length; i++) s += (p[i]! * p[i]!) / (p[i]! - lam);
    return s;
  };
  // f rises from −∞ just above p₂ to +∞ just below p₁.
  let lo = p2;
  let hi = p1;
  for (let it = 0; it < 60 && hi - lo > 1e-15 * p1; it++) {
    const mid = (lo + hi) / 2;
    if (f(mid) < 0) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** The k largest values of x, descending (k small: a sorted insertion buffer). */
export function topK(x: ArrayLike<number>, k: number): number[] {
  const top: number[] = [];
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (top.length === k && v <= top[k - 1]!) continue;
    let j = Math.min(top.length, k - 1);
    if (top.length < k) top.push(v);
    while (j > 0 && top[j - 1]! < v) {
      top[j] = top[j - 1]!;
      j--;
    }
    top[j] = v;
  }
  return top;
}
