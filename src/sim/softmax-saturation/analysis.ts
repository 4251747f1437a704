/** softmax-saturation's findings: how unscaled logits collapse softmax, what √d keeps, argmax's zeros. */
import type { SatRow } from './rows.js';

const g3 = (v: number) => Number(v.toPrecision(3)).toString();

/** The report's key results: how unscaled logits collapse softmax, what √d keeps, argmax's zeros. */
function findings(rows: readonly SatRow[]): string[] {
  const out: string[] = [];
  const n = Math.max(...rows.map((r) => r.n));
  const at = (scaling: string) =>
    rows.filter((r) => r.n === n && r.scaling === scaling && r.temperature === 1).sort((a, b) => a.d - b.d);
  const [raw, scaled] = [at('none'), at('sqrt_d')];
  if (raw.length >= 2) {
    const [lo, hi] = [raw[0]!, raw[raw.length - 1]!];
    out.push(
      `Unscaled logits (variance d) collapse softmax over n = ${n} keys: entropy falls from ${g3(lo.entropy_norm)} of ln n at d = ${lo.d} to ${g3(hi.entropy_norm)} at d = ${hi.d}, where the largest weight averages ${g3(hi.max_weight)} [${g3(hi.max_weight_ci_low)}, ${g3(hi.max_weight_ci_high)}].`,
    );
    out.push(
      `Its Jacobian vanishes with it: ‖J‖_F ${g3(lo.jacobian_fro)} at d = ${lo.d}, ${g3(hi.jacobian_fro)} at d = ${hi.d}; the gradient to q ${g3(lo.grad_q_norm)} → ${g3(hi.grad_q_norm)}.`,
    );
  }
  if (scaled.length >= 2)
    out.push(
      `Divided by √d the logits keep variance 1 and the entropy stays at ${g3(Math.min(...scaled.map((r) => r.entropy_norm)))} – ${g3(Math.max(...scaled.map((r) => r.entropy_norm)))} of ln n for every d.`,
    );
  const zero = rows.every((r) => r.argmax_grad_q_norm === 0 && r.argmax_grad_k_norm === 0);
  out.push(
    `Argmax attention's gradients to q and K are ${zero ? 'exactly 0 at every point' : 'not all 0'}; only the selected value row gets a gradient (${Math.max(...rows.map((r) => r.argmax_grad_v_rows))} row).`,
  );
  const spec = Math.max(...rows.map((r) => r.jacobian_spec_max));
  out.push(`‖J‖₂ never exceeds 1/2: the largest spectral norm over all draws is ${spec.toFixed(4)}.`);
  return out;
}

/** The analysis of a run: findings only (no tables, no summary). */
export function analyseSaturation(rows: readonly SatRow[]) {
  return { tables: {}, summary: [], findings: findings(rows) };
}
