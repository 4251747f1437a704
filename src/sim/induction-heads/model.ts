/**
 * The model of induction-heads: an attention-only transformer (Elhage et al. 2021) with hand-written forward and
 * backward passes over Float64Arrays,
 *
 *   x⁰_i = E[t_i] + P[i]                        (P learned, or fixed sinusoids)
 *   per layer l, head h:  q = x W_q,  k = x W_k,  v = x W_v  (width d_head = d_model / heads)
 *     a_ij = softmax_{j ≤ i}(q_i·k_j / √d_head),  z_i = Σ_j a_ij v_j
 *   x^{l+1} = x^l + concat_h(z) W_o              (residual stream; no MLPs, no layer norm)
 *   logits_i = x^L U,  L = mean over positions i < T − 1 of −log p(t_{i+1})
 *
 * Why by hand: at this size (d_model 32, T 32, batch 32) a step is ~30 M multiply-adds spread over small matrices,
 * where tfjs pays per-op dispatch; plain loops were several times faster here (docs/experiments/induction-heads.md
 * has the measurement). The gradients are checked against finite differences in test/sim/induction-heads.test.ts.
 */
import type { NormalRng } from '../../random/normal.js';

export interface Shape {
  vocab: number;
  /** Sequence length T. */
  n: number;
  d: number;
  layers: number;
  heads: number;
  positions: 'learned' | 'sinusoidal';
}

/** Every weight, row-major. Per layer: W_q, W_k, W_v [d, d] (heads side by side in the columns), W_o [d, d]. */
export interface Weights {
  E: Float64Array;
  P: Float64Array;
  Wq: Float64Array[];
  Wk: Float64Array[];
  Wv: Float64Array[];
  Wo: Float64Array[];
  U: Float64Array;
}

/** The weights as one list, in a fixed order (Adam's state follows it). */
export function weightList(w: Weights): Float64Array[] {
  return [w.E, w.P, ...w.Wq, ...w.Wk, ...w.Wv, ...w.Wo, w.U];
}

/** Fixed sinusoidal positions (Vaswani et al. 2017): P[i, 2k] = sin(i / 10000^(2k/d)), P[i, 2k+1] = cos(…). */
export function sinusoids(n: number, d: number): Float64Array {
  const P = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < d; c++) {
      const f = i / Math.pow(10000, (2 * Math.floor(c / 2)) / d);
      P[i * d + c] = c % 2 === 0 ? Math.sin(f) : Math.cos(f);
    }
  }
  return P;
}

/**
 * PyTorch's defaults: embeddings N(0, 1), linear maps with the variance of U(−1/√fan_in, 1/√fan_in) (drawn normal
 * here: std 1/√(3·fan_in)).
 */
export function randomWeights(s: Shape, rng: NormalRng): Weights {
  const { vocab: V, n, d, layers } = s;
  const draw = (size: number, std: number) => {
    const a = new Float64Array(size);
    rng.fill(a);
    for (let i = 0; i < size; i++) a[i] = a[i]! * std;
    return a;
  };
  const lin = 1 / Math.sqrt(3 * d);
  const per = () => Array.from({ length: layers }, () => draw(d * d, lin));
  const E = draw(V * d, 1);
  const P = s.positions === 'learned' ? draw(n * d, 1) : sinusoids(n, d);
  const [Wq, Wk, Wv, Wo] = [per(), per(), per(), per()];
  return { E, P, Wq, Wk, Wv, Wo, U: draw(d * V, lin) };
}

/**
 * C[m, n] = C[m, n]! + A[m, k]·B[k, n]: four rows of B per pass over C's row (a quarter of the loads and stores of C).
 */
function mm(A: Float64Array, B: Float64Array, C: Float64Array, m: number, k: number, n: number): void {
  const k4 = k - (k % 4);
  for (let i = 0; i < m; i++) {
    const ci = i * n;
    const ai = i * k;
    let p = 0;
    for (; p < k4; p += 4) {
      const a0 = A[ai + p]!;
      const a1 = A[ai + p + 1]!;
      const a2 = A[ai + p + 2]!;
      const a3 = A[ai + p + 3]!;
      const b0 = p * n;
      const b1 = b0 + n;
      const b2 = b1 + n;
      const b3 = b2 + n;
      for (let j = 0; j < n; j++)
        C[ci + j] = C[ci + j]! + a0 * B[b0 + j]! + a1 * B[b1 + j]! + a2 * B[b2 + j]! + a3 * B[b3 + j]!;
    }
    for (; p < k; p++) {
      const a = A[ai + p]!;
      const bp = p * n;
      for (let j = 0; j < n; j++) C[ci + j] = C[ci + j]! + a * B[bp + j]!;
    }
  }
}

/** C[m, k] = C[m, k]! + A[m, n]·B[k, n]ᵀ: four dot products per pass over A's row. */
function mmBt(A: Float64Array, B: Float64Array, C: Float64Array, m: number, n: number, k: number): void {
  const k4 = k - (k % 4);
  for (let i = 0; i < m; i++) {
    const ai = i * n;
    const ci = i * k;
    let p = 0;
    for (; p < k4; p += 4) {
      const b0 = p * n;
      const b1 = b0 + n;
      const b2 = b1 + n;
      const b3 = b2 + n;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let j = 0; j < n; j++) {
        const x = A[ai + j]!;
        s0 += x * B[b0 + j]!;
        s1 += x * B[b1 + j]!;
        s2 += x * B[b2 + j]!;
        s3 += x * B[b3 + j]!;
      }
      C[ci + p] = C[ci + p]! + s0;
      C[ci + p + 1] = C[ci + p + 1]! + s1;
      C[ci + p + 2] = C[ci + p + 2]! + s2;
      C[ci + p + 3] = C[ci + p + 3]! + s3;
    }
    for (; p < k; p++) {
      const bp = p * n;
      let s0 = 0;
      for (let j = 0; j < n; j++) s0 += A[ai + j]! * B[bp + j]!;
      C[ci + p] = C[ci + p]! + s0;
    }
  }
}

/** C[k, n] = C[k, n]! + A[m, k]ᵀ·B[m, n]: four rows of A and B per pass over C. */
function mmAt(A: Float64Array, B: Float64Array, C: Float64Array, m: number, k: number, n: number): void {
  const m4 = m - (m % 4);
  let i = 0;
  for (; i < m4; i += 4) {
    const r0 = i * n;
    const r1 = r0 + n;
    const r2 = r1 + n;
    const r3 = r2 + n;
    for (let p = 0; p < k; p++) {
      const a0 = A[i * k + p]!;
      const a1 = A[(i + 1) * k + p]!;
      const a2 = A[(i + 2) * k + p]!;
      const a3 = A[(i + 3) * k + p]!;
      const cp = p * n;
      for (let j = 0; j < n; j++)
        C[cp + j] = C[cp + j]! + a0 * B[r0 + j]! + a1 * B[r1 + j]! + a2 * B[r2 + j]! + a3 * B[r3 + j]!;
    }
  }
  for (; i < m; i++) {
    const bi = i * n;
    for (let p = 0; p < k; p++) {
      const a = A[i * k + p]!;
      const cp = p * n;
      for (let j = 0; j < n; j++) C[cp + j] = C[cp + j]! + a * B[bi + j]!;
    }
  }
}

/** What the forward pass keeps for the backward pass and for the scores. */
export interface Forward {
  /** Residual stream before each layer and after the last: layers + 1 arrays of [B·T, d]. */
  xs: Float64Array[];
  /** Per layer q, k, v, z: [B·T, d]. */
  q: Float64Array[];
  k: Float64Array[];
  v: Float64Array[];
  z: Float64Array[];
  /** Per layer attention weights [B, heads, T, T] (zero above the diagonal). */
  attn: Float64Array[];
  /** Per layer attention logits, scaled and unmasked: [B, heads, T, T] (only j ≤ i are meaningful). */
  logits?: Float64Array[];
  /** Output logits [B·T, V]. */
  out: Float64Array;
}

/** The forward pass over `batch` sequences of token ids (row-major [batch, T]). */
export function forward(s: Shape, w: Weights, tokens: Int32Array, batch: number, keepLogits = false): Forward {
  const { vocab: V, n: T, d, layers, heads: H } = s;
  const dh = (d / H) | 0; // an integer: V8 indexes typed arrays slowly with keys it holds as doubles
  const scale = 1 / Math.sqrt(dh);
  const rows = batch * T;
  const x0 = new Float64Array(rows * d);
  for (let r = 0; r < rows; r++) {
    const t = tokens[r]!;
    const i = r % T;
    for (let c = 0; c < d; c++) x0[r * d + c] = w.E[t * d + c]! + w.P[i * d + c]!;
  }
  const f: Forward = { xs: [x0], q: [], k: [], v: [], z: [], attn: [], out: new Float64Array(rows * V) };
  if (keepLogits) f.logits = [];
  let x = x0;
  for (let l = 0; l < layers; l++) {
    const q = new Float64Array(rows * d);
    const k = new Float64Array(rows * d);
    const v = new Float64Array(rows * d);
    mm(x, w.Wq[l]!, q, rows, d, d);
    mm(x, w.Wk[l]!, k, rows, d, d);
    mm(x, w.Wv[l]!, v, rows, d, d);
    const a = new Float64Array(batch * H * T * T);
    const lg = keepLogits ? new Float64Array(batch * H * T * T) : undefined;
    const z = new Float64Array(rows * d);
    for (let b = 0; b < batch; b++) {
      for (let h = 0; h < H; h++) {
        const off = h * dh;
        for (let i = 0; i < T; i++) {
          const qi = (b * T + i) * d + off;
          const ai = ((b * H + h) * T + i) * T;
          let max = -Infinity;
          for (let j = 0; j <= i; j++) {
            const kj = (b * T + j) * d + off;
            let sc = 0;
            for (let c = 0; c < dh; c++) sc += q[qi + c]! * k[kj + c]!;
            sc *= scale;
            a[ai + j] = sc;
            if (lg) lg[ai + j] = sc;
            if (sc > max) max = sc;
          }
          let sum = 0;
          for (let j = 0; j <= i; j++) sum += a[ai + j] = Math.exp(a[ai + j]! - max);
          const zi = (b * T + i) * d + off;
          // Two keys per pass over z's row (half its loads and stores).
          let j = 0;
          for (; j < i; j += 2) {
            const p0 = (a[ai + j] = a[ai + j]! / sum);
            const p1 = (a[ai + j + 1] = a[ai + j + 1]! / sum);
            const v0 = (b * T + j) * d + off;
            const v1 = v0 + d;
            for (let c = 0; c < dh; c++) z[zi + c] = z[zi + c]! + p0 * v[v0 + c]! + p1 * v[v1 + c]!;
          }
          if (j === i) {
            const p = (a[ai + j] = a[ai + j]! / sum);
            const vj = (b * T + j) * d + off;
            for (let c = 0; c < dh; c++) z[zi + c] = z[zi + c]! + p * v[vj + c]!;
          }
        }
      }
    }
    const next = Float64Array.from(x);
    mm(z, w.Wo[l]!, next, rows, d, d);
    f.q.push(q);
    f.k.push(k);
    f.v.push(v);
    f.z.push(z);
    f.attn.push(a);
    if (lg) f.logits!.push(lg);
    f.xs.push(next);
    x = next;
  }
  mm(x, w.U, f.out, rows, d, V);
  return f;
}

/**
 * Per-position cross-entropy of the next token (NaN at the last position, which has none) and whether the argmax was
 * right.
 */
export function tokenLosses(
  s: Shape,
  out: Float64Array,
  tokens: Int32Array,
  batch: number,
): { loss: Float64Array; correct: Uint8Array; probs: Float64Array } {
  const { vocab: V, n: T } = s;
  const rows = batch * T;
  const loss = new Float64Array(rows).fill(NaN);
  const correct = new Uint8Array(rows);
  const probs = new Float64Array(rows * V);
  for (let r = 0; r < rows; r++) {
    let max = -Infinity;
    let arg = 0;
    for (let c = 0; c < V; c++) {
      const o = out[r * V + c]!;
      if (o > max) [max, arg] = [o, c];
    }
    let sum = 0;
    for (let c = 0; c < V; c++) sum += probs[r * V + c] = Math.exp(out[r * V + c]! - max);
    for (let c = 0; c < V; c++) probs[r * V + c] = probs[r * V + c]! / sum;
    if (r % T === T - 1) continue;
    const target = tokens[r + 1]!;
    loss[r] = -(out[r * V + target]! - max - Math.log(sum));
    correct[r] = arg === target ? 1 : 0;
  }
  return { loss, correct, probs };
}

/**
 * The mean loss over every position with a next token, and the gradient of every weight (same layout as the weights).
 */
export function lossAndGrads(
  s: Shape,
  w: Weights,
  tokens: Int32Array,
  batch: number,
): { loss: number; grads: Weights } {
  const { vocab: V, n: T, d, layers } = s;
  const rows = batch * T;
  const f = forward(s, w, tokens, batch);
  const { loss, dout, count } = logitGrads(s, f, tokens, batch);
  const zeros = (a: Float64Array) => new Float64Array(a.length);
  const g: Weights = {
    E: zeros(w.E),
    P: zeros(w.P),
    Wq: w.Wq.map(zeros),
    Wk: w.Wk.map(zeros),
    Wv: w.Wv.map(zeros),
    Wo: w.Wo.map(zeros),
    U: zeros(w.U),
  };
  mmAt(f.xs[layers]!, dout, g.U, rows, d, V);
  const dx = new Float64Array(rows * d);
  mmBt(dout, w.U, dx, rows, V, d);
  for (let l = layers - 1; l >= 0; l--) {
    const x = f.xs[l]!;
    const [q, k, v, z, a] = [f.q[l]!, f.k[l]!, f.v[l]!, f.z[l]!, f.attn[l]!];
    mmAt(z, dx, g.Wo[l]!, rows, d, d);
    const dz = new Float64Array(rows * d);
    mmBt(dx, w.Wo[l]!, dz, rows, d, d);
    const dq = new Float64Array(rows * d);
    const dk = new Float64Array(rows * d);
    const dv = new Float64Array(rows * d);
    attentionBackward(s, batch, { q, k, v, a }, dz, { dq, dk, dv });
    mmAt(x, dq, g.Wq[l]!, rows, d, d);
    mmAt(x, dk, g.Wk[l]!, rows, d, d);
    mmAt(x, dv, g.Wv[l]!, rows, d, d);
    // The residual passes dx through; the layer adds its inputs' share.
    mmBt(dq, w.Wq[l]!, dx, rows, d, d);
    mmBt(dk, w.Wk[l]!, dx, rows, d, d);
    mmBt(dv, w.Wv[l]!, dx, rows, d, d);
  }
  embeddingGrads(s, tokens, rows, dx, g);
  return { loss: loss / count, grads: g };
}

/** The summed loss and dL/dlogits = (p − onehot)/count at positions with a next token (0 at the last). */
function logitGrads(s: Shape, f: Forward, tokens: Int32Array, batch: number) {
  const { vocab: V, n: T } = s;
  const rows = batch * T;
  const { loss: per, probs } = tokenLosses(s, f.out, tokens, batch);
  const count = batch * (T - 1);
  let loss = 0;
  const dout = probs;
  for (let r = 0; r < rows; r++) {
    if (r % T === T - 1) {
      dout.fill(0, r * V, (r + 1) * V);
      continue;
    }
    loss += per[r]!;
    dout[r * V + tokens[r + 1]!] = dout[r * V + tokens[r + 1]!]! - 1;
    for (let c = 0; c < V; c++) dout[r * V + c] = dout[r * V + c]! / count;
  }
  return { loss, dout, count };
}

/**
 * One layer's causal attention backward: from dz (the heads' outputs' gradient) to dq, dk and dv, through the
 * softmax's Jacobian (dsⱼ − Σ pⱼ dsⱼ) and the 1/√dh scale.
 */
function attentionBackward(
  s: Shape,
  batch: number,
  f: { q: Float64Array; k: Float64Array; v: Float64Array; a: Float64Array },
  dz: Float64Array,
  out: { dq: Float64Array; dk: Float64Array; dv: Float64Array },
): void {
  const { n: T, d, heads: H } = s;
  const dh = (d / H) | 0; // an integer: V8 indexes typed arrays slowly with keys it holds as doubles
  const scale = 1 / Math.sqrt(dh);
  const { q, k, v, a } = f;
  const { dq, dk, dv } = out;
  const ds = new Float64Array(T);
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < H; h++) {
      const off = h * dh;
      for (let i = 0; i < T; i++) {
        const zi = (b * T + i) * d + off;
        const ai = ((b * H + h) * T + i) * T;
        let dot = 0;
        for (let j = 0; j <= i; j++) {
          const vj = (b * T + j) * d + off;
          const p = a[ai + j]!;
          let da = 0;
          for (let c = 0; c < dh; c++) {
            da += dz[zi + c]! * v[vj + c]!;
            dv[vj + c] = dv[vj + c]! + p * dz[zi + c]!;
          }
          ds[j] = da;
          dot += p * da;
        }
        const qi = (b * T + i) * d + off;
        // Two keys per pass over dq's row.
        let j = 0;
        for (; j < i; j += 2) {
          const g0 = a[ai + j]! * (ds[j]! - dot) * scale;
          const g1 = a[ai + j + 1]! * (ds[j + 1]! - dot) * scale;
          const k0 = (b * T + j) * d + off;
          const k1 = k0 + d;
          for (let c = 0; c < dh; c++) {
            const qc = q[qi + c]!;
            dq[qi + c] = dq[qi + c]! + g0 * k[k0 + c]! + g1 * k[k1 + c]!;
            dk[k0 + c] = dk[k0 + c]! + g0 * qc;
            dk[k1 + c] = dk[k1 + c]! + g1 * qc;
          }
        }
        if (j === i) {
          const gs = a[ai + j]! * (ds[j]! - dot) * scale;
          const kj = (b * T + j) * d + off;
          for (let c = 0; c < dh; c++) {
            dq[qi + c] = dq[qi + c]! + gs * k[kj + c]!;
            dk[kj + c] = dk[kj + c]! + gs * q[qi + c]!;
          }
        }
      }
    }
  }
}

/** Embeddings' gradients: each token's row and each position's take the residual stream's; fixed positions none. */
function embeddingGrads(s: Shape, tokens: Int32Array, rows: number, dx: Float64Array, g: Weights): void {
  const { n: T, d } = s;
  for (let r = 0; r < rows; r++) {
    const t = tokens[r]!;
    const i = r % T;
    for (let c = 0; c < d; c++) {
      g.E[t * d + c] = g.E[t * d + c]! + dx[r * d + c]!;
      g.P[i * d + c] = g.P[i * d + c]! + dx[r * d + c]!;
    }
  }
  if (s.positions === 'sinusoidal') g.P.fill(0);
}

export interface AdamOptions {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** Decoupled weight decay per step, times lr. */
  weightDecay: number;
  /** Which parameters (in weightList order) decay. */
  decay: boolean[];
}

/** Adam(W) (Loshchilov & Hutter 2019): decoupled weight decay on the matrices, none on the embeddings. */
export class Adam {
  private readonly m: Float64Array[];
  private readonly v: Float64Array[];
  private t = 0;
  private readonly params: Float64Array[];
  private readonly o: AdamOptions;
  constructor(params: Float64Array[], o: AdamOptions) {
    this.params = params;
    this.o = o;
    this.m = params.map((p) => new Float64Array(p.length));
    this.v = params.map((p) => new Float64Array(p.length));
  }

  step(grads: Float64Array[]): void {
    const { lr, beta1, beta2, eps, weightDecay } = this.o;
    this.t++;
    const c1 = 1 - Math.pow(beta1, this.t);
    const c2 = 1 - Math.pow(beta2, this.t);
    this.params.forEach((p, k) => {
      const [g, m, v] = [grads[k]!, this.m[k]!, this.v[k]!];
      const wd = this.o.decay[k] ? lr * weightDecay : 0;
      for (let i = 0; i < p.length; i++) {
        m[i] = beta1 * m[i]! + (1 - beta1) * g[i]!;
        v[i] = beta2 * v[i]! + (1 - beta2) * g[i]! * g[i]!;
        p[i] = p[i]! - wd * p[i]! - (lr * m[i]!) / c1 / (Math.sqrt(v[i]! / c2) + eps);
      }
    });
  }
}
