import { z } from 'zod';
import { moments, normalInterval } from '../../stats/moments.js';
import { attentionGrads, loadGradients } from '../../engine/tfjs/autodiff.js';
import { jacobianFrobenius, jacobianSpectral, softmaxInto, topK } from './softmax.js';
import { defineSimulation, type SimContext } from '../types.js';
import type { NormalRng } from '../../random/normal.js';
import { RANKS, SatRow } from './rows.js';
import { analyseSaturation } from './analysis.js';

/**
 * softmax-saturation: q and keys k_1..k_n iid N(0, I_d); logits z_j = q·k_j (unscaled) or
 * q·k_j/√d (scaled), divided by a temperature. Unscaled logits have variance d, so softmax
 * collapses to one-hot as d grows, and its Jacobian diag(p) − ppᵀ (and every gradient through
 * it) vanishes. Argmax attention is the limit: its gradients to q and K are exactly zero.
 *
 * Given q, the logits q·k_j are exactly iid N(0, ‖q‖²), so the softmax statistics draw ‖q‖ from
 * d normals and the n logits from n more: O(d + n) per draw. Gradients need real K and V and
 * go through the backend's autodiff, on fewer draws.
 */

const Params = z
  .object({
    d: z
      .number()
      .int()
      .min(1)
      .max(1 << 16)
      .describe('dimension of q and k'),
    n: z
      .number()
      .int()
      .min(2)
      .max(1 << 20)
      .describe('number of keys'),
    scaling: z.enum(['none', 'sqrt_d']).default('none').describe('divide q·k by √d; @default none'),
    temperature: z.number().positive().default(1).describe('logits are divided by it; @default 1'),
  })
  .strict();

const Settings = z
  .object({
    draws: z
      .number()
      .int()
      .min(10)
      .default(10000)
      .describe('query draws per point for entropy, weights, Jacobian Frobenius; @default 10000'),
    spectral_draws: z
      .number()
      .int()
      .min(1)
      .default(256)
      .describe('draws whose Jacobian spectral norm is solved (O(n) bisection each); @default 256'),
    grad_draws: z
      .number()
      .int()
      .min(1)
      .default(8)
      .describe('draws with real K and V for autodiff gradients; @default 8'),
    value_dim: z.number().int().min(1).default(16).describe('width of the random values V; @default 16'),
  })
  .strict();

type Params = z.output<typeof Params>;
type Settings = z.output<typeof Settings>;

/**
 * The softmax statistics over `draws` draws of q and the logits: entropy, largest weight, top-two logit gap,
 * saturation, the Jacobian's norms, and the mean weight of each rank.
 */
function weightDraws(rng: NormalRng, d: number, n: number, scale: number, settings: Settings) {
  const q = new Float64Array(d);
  const z = new Float64Array(n);
  const p = new Float64Array(n);
  const H = new Float64Array(settings.draws);
  const maxW = new Float64Array(settings.draws);
  let gap = 0;
  let saturated = 0;
  const fro = new Float64Array(settings.draws);
  let spec = 0;
  let specMax = 0;
  const rankSums = RANKS.map(() => 0);
  for (let i = 0; i < settings.draws; i++) {
    rng.fill(q);
    const norm = Math.hypot(...q);
    rng.fill(z);
    for (let j = 0; j < n; j++) z[j] = z[j]! * norm * scale;
    H[i] = softmaxInto(z, p);
    const top = topK(p, RANKS[RANKS.length - 1]!);
    maxW[i] = top[0]!;
    const zTop = topK(z, 2);
    gap += zTop[0]! - zTop[1]!;
    if (top[0]! > 0.99) saturated++;
    RANKS.forEach((r, k) => (rankSums[k]! += top[r - 1] ?? 0));
    fro[i] = jacobianFrobenius(p);
    if (i < settings.spectral_draws) {
      const s = jacobianSpectral(p);
      spec += s;
      specMax = Math.max(specMax, s);
    }
  }
  return { H, maxW, gap, saturated, fro, spec, specMax, rankSums };
}

/** Gradients through autodiff, softmax and argmax, on the same K, V and q, over `grad_draws` draws. */
function gradientDraws(ctx: Pick<SimContext, 'tf' | 'rng'>, d: number, n: number, scale: number, settings: Settings) {
  const { tf } = ctx;
  const grads = { k: 0, aq: 0, ak: 0, avRows: 0 };
  const gradQ: number[] = [];
  for (let i = 0; i < settings.grad_draws; i++) {
    const kd = new Float32Array(n * d);
    const vd = new Float32Array(n * settings.value_dim);
    const qd = new Float32Array(d);
    ctx.rng.fill(kd);
    ctx.rng.fill(vd);
    ctx.rng.fill(qd);
    const [qt, kt, vt] = [tf.tensor1d(qd), tf.tensor2d(kd, [n, d]), tf.tensor2d(vd, [n, settings.value_dim])];
    const soft = attentionGrads(tf, 'softmax', qt, kt, vt, scale);
    const hard = attentionGrads(tf, 'argmax', qt, kt, vt, scale);
    tf.dispose([qt, kt, vt]);
    gradQ.push(soft.q);
    grads.k += soft.k / settings.grad_draws;
    grads.aq = Math.max(grads.aq, hard.q);
    grads.ak = Math.max(grads.ak, hard.k);
    grads.avRows = Math.max(grads.avRows, hard.vRows);
  }
  return { grads, gradQ };
}

/** The point's row: means with normal intervals, the entropy's theory, the gradients. */
function summaryRow(
  params: Params,
  settings: Settings,
  scale: number,
  w: ReturnType<typeof weightDraws>,
  g: ReturnType<typeof gradientDraws>,
): Omit<SatRow, 'time_ms'> {
  const { d, n, scaling, temperature } = params;
  const { grads, gradQ } = g;
  const draws = settings.draws;
  const mH = moments(w.H);
  const mW = moments(w.maxW);
  const mF = moments(w.fro);
  const hCi = normalInterval(mH.mean, mH.meanSe);
  const wCi = normalInterval(mW.mean, mW.meanSe);
  const fCi = normalInterval(mF.mean, mF.meanSe);
  // Few gradient draws: a normal interval from their spread (none from a single draw).
  const mG = gradQ.length > 1 ? moments(gradQ) : { mean: gradQ[0]!, meanSe: NaN };
  const gCi = normalInterval(mG.mean, mG.meanSe);
  const logitVar = d * scale * scale;
  const theory = Math.log(n) - logitVar / 2;
  return {
    d,
    n,
    scaling,
    temperature,
    draws,
    logit_var: logitVar,
    entropy: mH.mean,
    entropy_ci_low: hCi.low,
    entropy_ci_high: hCi.high,
    entropy_norm: mH.mean / Math.log(n),
    theory_entropy: theory,
    entropy_theory_rel: mH.mean / theory - 1,
    max_weight: mW.mean,
    max_weight_ci_low: wCi.low,
    max_weight_ci_high: wCi.high,
    top2_gap: w.gap / draws,
    saturated_frac: w.saturated / draws,
    jacobian_fro: mF.mean,
    jacobian_fro_ci_low: fCi.low,
    jacobian_fro_ci_high: fCi.high,
    jacobian_spec: w.spec / Math.min(draws, settings.spectral_draws),
    jacobian_spec_max: w.specMax,
    grad_q_norm: mG.mean,
    grad_q_ci_low: gradQ.length > 1 ? gCi.low : null,
    grad_q_ci_high: gradQ.length > 1 ? gCi.high : null,
    grad_k_norm: grads.k,
    argmax_grad_q_norm: grads.aq,
    argmax_grad_k_norm: grads.ak,
    argmax_grad_v_rows: grads.avRows,
    ...(Object.fromEntries(RANKS.map((r, k) => [`w${r}`, r <= n ? w.rankSums[k]! / draws : null])) as Record<
      `w${(typeof RANKS)[number]}`,
      number | null
    >),
  };
}

export const softmaxSaturation = defineSimulation({
  kind: 'softmax-saturation',
  summary: 'entropy, max weight and gradients of softmax attention versus d; argmax attention',
  params: Params,
  settings: Settings,
  timing: false,
  row: SatRow,
  analyse: (rows) => analyseSaturation(rows),
  measuredColumns: ['time_ms'],
  async setup() {
    await loadGradients();
    return { values: {}, tables: {} };
  },
  // Fitted on the reference machine: per draw O(n + d) for the weights, per gradient draw O(n·d) through autodiff.
  estimateMs: ({ d, n }, { draws, grad_draws }) => 30 + draws * (3.7e-5 * n + 4.4e-5 * d) + 3e-5 * grad_draws * n * d,
  run({ params, settings }, ctx) {
    const t0 = ctx.now();
    const { d, n, scaling, temperature } = params;
    const scale = (scaling === 'sqrt_d' ? 1 / Math.sqrt(d) : 1) / temperature;
    const w = weightDraws(ctx.rng, d, n, scale, settings);
    const g = gradientDraws(ctx, d, n, scale, settings);
    return [{ ...summaryRow(params, settings, scale, w, g), time_ms: ctx.now() - t0 }];
  },
});
