/** qk-variance's findings: how Var(q·k) grows with d, what √d fixes, what it does not. */
import { logLogSlope } from '../../stats/fit.js';
import type { QkRow } from './rows.js';

const g3 = (v: number) => Number(v.toPrecision(3)).toString();
const span = (xs: readonly number[]) => `${g3(Math.min(...xs))} – ${g3(Math.max(...xs))}`;

/** The report's key results: the growth of Var(q·k) with d, what √d fixes, and what it does not. */
function findings(rows: readonly QkRow[]): string[] {
  const out: string[] = [];
  const sigma = rows.some((r) => r.sigma === 1) ? 1 : rows[0]?.sigma;
  const zero = rows.filter((r) => r.mu_kind === 'zero' && r.sigma === sigma);
  const raw = zero.filter((r) => r.scaling === 'none');
  if (raw.length >= 3) {
    const f = logLogSlope(
      raw.map((r) => r.d),
      raw.map((r) => r.var),
    );
    out.push(
      `Unscaled, Var(q·k) grows like d^${g3(f.slope)} ± ${g3(f.slopeSe)} (mu = 0, σ = ${sigma}, d = ${Math.min(...raw.map((r) => r.d))} … ${Math.max(...raw.map((r) => r.d))}); the theory is d·σ⁴.`,
    );
  }
  const scaled = zero.filter((r) => r.scaling === 'sqrt_d');
  if (scaled.length)
    out.push(
      `Divided by √d it stays at σ⁴ = ${g3(sigma! ** 4)}: ${span(scaled.map((r) => r.var))} at every d (each estimate's 95% interval within ±${g3(100 * Math.max(...scaled.map((r) => (r.var_ci_high - r.var_ci_low) / 2 / r.var)))}%).`,
    );
  const shifted = rows.filter(
    (r) =>
      r.mu_kind === 'constant' &&
      r.scaling === 'sqrt_d' &&
      r.sigma === sigma &&
      r.mu_m === Math.max(...rows.filter((x) => x.mu_kind === 'constant').map((x) => x.mu_m ?? 0)),
  );
  if (shifted.length >= 3) {
    const f = logLogSlope(
      shifted.map((r) => r.d),
      shifted.map((r) => r.mean),
    );
    out.push(
      `√d fixes only the zero-mean case: with mu = ${shifted[0]!.mu_m}·1 the scaled mean still grows like d^${g3(f.slope)} ± ${g3(f.slopeSe)} (theory m²·√d).`,
    );
  }
  const random = rows.filter((r) => r.mu_kind === 'random' && r.scaling === 'none');
  if (random.length)
    out.push(
      `A random mu of norm ${g3(random[0]!.mu_norm)} keeps E[q·k] at ‖mu‖² = ${g3(random[0]!.mu_norm ** 2)}: ${span(random.map((r) => r.mean))} at every d (not d·mu²).`,
    );
  const z = rows.map((r) => Math.abs(r.z_var));
  if (z.length)
    out.push(
      `Every estimate is within ${g3(Math.max(...z))} standard errors of the closed form (${rows.length} points).`,
    );
  return out;
}

/** The analysis of a run: findings only (no tables, no summary). */
export function analyseQkVariance(rows: readonly QkRow[]) {
  return { tables: {}, summary: [], findings: findings(rows) };
}
