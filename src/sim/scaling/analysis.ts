/**
 * The fits table of the scaling experiment: log-log slopes and growth classes of time and
 * memory per method, the measured crossovers against softmax (the quadratic kernel's, and each method from a file's)
 * beside the FLOP theory, and the error slope of the random-feature methods.
 */
import { crossoverInterval, rankClasses } from '../../stats/complexity.js';
import { logLogSlope } from '../../stats/fit.js';
import { groupBy } from '../../stats/group.js';
import { METHODS } from './methods.js';
import type { ScalingRow } from './rows.js';
import type { Analysis, Row } from '../types.js';

export const FITS_COLUMNS = [
  'kind', 'method', 'causal', 'D', 'metric', 'slope', 'slope_se', 'points', 'N_from', 'N_to', 'class', 'class_aic_gap',
  'crossover_N', 'crossover_low', 'crossover_high', 'theory_N', 'crossover_ratio',
] as const;

const blank = Object.fromEntries(FITS_COLUMNS.map((c) => [c, null])) as Record<(typeof FITS_COLUMNS)[number], null>;
/** A row that was timed (not skipped) with its interval. */
type Timed = ScalingRow & { time_ms: number; time_ci_low: number; time_ci_high: number };
const f3 = (v: number) => Number(v.toPrecision(3));
/**
 * Slopes and classes fit each method's four largest sizes with N ≥ fit_min_N: an 8× range for every method
 * (softmax and the direct kernel stop at the memory budget, 1024 … 8192; the linear form goes to 32768, so
 * 4096 … 32768). Below that, the linear form's work at small D is under a call's fixed cost (D = 8, N = 1024:
 * 1.6 MFLOP against about 0.3 ms of worker messages and state exchange), which is not yet its asymptotics.
 */
export const FIT_POINTS = 4;

/** Random-feature errors follow D_random^(−1/2) only once the estimates stop being dominated by rare draws. */
export const RFF_FIT_MIN = 256;

const BUILT_IN = new Set<string>(METHODS);

/**
 * The FLOP theory of a crossover: N where softmax's FLOP count equals the other method's, from the counts the rows
 * carry (so it follows the engine and the variant: causal blocks, closed-form denominators or a 65th column).
 * Log-log interpolation between the two sizes that bracket it; where the grid does not, extrapolation along its
 * nearest two sizes, which is exact for power laws (2N²(D+M) against 4N(C·M + D²) cross at 2(C·M + D²)/(D+M),
 * 2209 at D = M = 64, wherever that lies). Null without two counts of each.
 */
function flopsCrossover(n: number[], soft: readonly (number | null)[], other: readonly (number | null)[]): number | null {
  const at = n.flatMap((v, i) => {
    const [a, b] = [soft[i], other[i]];
    return typeof a === 'number' && typeof b === 'number' && a > 0 && b > 0 ? [{ x: Math.log(v), r: Math.log(a / b) }] : [];
  });
  if (at.length < 2) return null;
  let i = at.findIndex((p, k) => k > 0 && at[k - 1]!.r <= 0 && p.r >= 0);
  // No bracket: softmax is dearer everywhere (the crossing lies below the grid) or cheaper everywhere (above it).
  if (i < 0) i = at[0]!.r > 0 ? 1 : at.length - 1;
  const [a, b] = [at[i - 1]!, at[i]!];
  return a.r === b.r ? null : Math.exp(a.x + ((0 - a.r) / (b.r - a.r)) * (b.x - a.x));
}

export function analyseScaling(rows: readonly ScalingRow[], fitMinN: number, sameAsSoftmax: ReadonlySet<string> = new Set()): Analysis {
  const timed = rows.filter((r): r is Timed => r.time_ms !== null && r.time_ci_low !== null && r.time_ci_high !== null && r.D_random === null);
  const out: Row[] = [];
  const summary: string[] = [];
  const slopes: { method: string; causal: boolean; D: number; metric: string; slope: number; slopeSe: number; from: number; to: number; cls: string }[] = [];

  for (const [, g] of groupBy(timed, (r) => `${r.method}|${r.causal}|${r.D}`)) {
    const upper = g.filter((r) => r.N >= fitMinN).sort((a, b) => a.N - b.N).slice(-FIT_POINTS);
    if (upper.length < 3) continue;
    const first = upper[0]!;
    for (const [metric, col] of [['time', 'time_ms'], ['memory', 'peak_bytes']] as const) {
      // A reading that is missing or not positive has no logarithm: fit the rest, or skip the fit.
      const usable = upper.flatMap((r) => ((r[col] ?? 0) > 0 ? [{ n: r.N, y: r[col]! }] : []));
      if (usable.length < 3) continue;
      const n = usable.map((u) => u.n);
      const y = usable.map((u) => u.y);
      const s = logLogSlope(n, y);
      const ranked = rankClasses(n, y);
      slopes.push({ method: first.method, causal: first.causal, D: first.D, metric, slope: s.slope, slopeSe: s.slopeSe, from: n[0]!, to: n[n.length - 1]!, cls: ranked[0]!.cls });
      out.push({
        ...blank, kind: 'slope', method: first.method, causal: first.causal, D: first.D, metric,
        slope: s.slope, slope_se: s.slopeSe, points: n.length, N_from: n[0]!, N_to: n[n.length - 1]!,
        class: ranked[0]!.cls, class_aic_gap: ranked[1]!.aic - ranked[0]!.aic,
      });
    }
  }

  // Crossovers against softmax: the quadratic kernel's linear form, and every method from a file that is not softmax itself.
  const against = [...new Set(timed.map((r) => r.method))].filter((m) => m === 'quadratic-kernel' || (!BUILT_IN.has(m) && !sameAsSoftmax.has(m)));
  const shapes = [...groupBy(timed, (r) => `${r.causal}|${r.D}|${r.M}`).values()];
  for (const method of against) {
    for (const g of shapes) {
      const soft = new Map(g.filter((r) => r.method === 'softmax').map((r) => [r.N, r]));
      const lin = g.filter((r) => r.method === method && soft.has(r.N)).sort((a, b) => a.N - b.N);
      if (lin.length < 2) continue;
      const n = lin.map((r) => r.N);
      const softAt = n.map((v) => soft.get(v)!);
      const side = (rs: Timed[]) => ({ mid: rs.map((r) => r.time_ms), low: rs.map((r) => r.time_ci_low), high: rs.map((r) => r.time_ci_high) });
      const x = crossoverInterval(n, side(softAt), side(lin));
      const { D: d, causal } = lin[0]!;
      const theory = flopsCrossover(n, softAt.map((r) => r.flops), lin.map((r) => r.flops));
      const label = `D=${d}${causal ? ' causal' : ''}${method === 'quadratic-kernel' ? '' : ` ${method}`}`;
      out.push({
        ...blank, kind: 'crossover', method: `softmax vs ${method}`, causal, D: d,
        points: n.length, N_from: n[0]!, N_to: n[n.length - 1]!,
        crossover_N: x.n, crossover_low: x.low ?? null, crossover_high: x.high ?? null, theory_N: theory,
        crossover_ratio: x.n === null || theory === null ? null : x.n / theory,
      });
      const versus = theory === null ? '' : `, FLOP theory ${f3(theory)}${x.n === null ? '' : ` (×${f3(x.n / theory)})`}`;
      summary.push(
        x.n === null
          ? `crossover ${label}: none in N ${n[0]}..${n[n.length - 1]}${versus}`
          : `crossover ${label}: N* = ${f3(x.n)}${x.low !== undefined ? ` [${f3(x.low)}, ${f3(x.high!)}]` : ''}${versus}`,
      );
    }
  }

  // Random features: the error's decay with D_random over the asymptotic range (D_random ≥ 256).
  const random = rows.flatMap((r) => (r.D_random !== null && r.rel_error !== null && r.D_random >= RFF_FIT_MIN ? [{ ...r, D_random: r.D_random, rel_error: r.rel_error }] : []));
  for (const [, g] of groupBy(random, (r) => `${r.method}|${r.D}|${r.N}`)) {
    if (g.length < 2) continue;
    const s = logLogSlope(g.map((r) => r.D_random), g.map((r) => r.rel_error));
    const { method, D, N } = g[0]!;
    out.push({
      ...blank, kind: 'error-slope', method, causal: false, D, metric: 'rel_error vs D_random',
      slope: s.slope, slope_se: s.slopeSe, points: g.length, N_from: N, N_to: N,
    });
    summary.push(`${method} error vs D_random (≥ ${RFF_FIT_MIN}): slope ${f3(s.slope)}${g.length > 2 ? ` ± ${f3(s.slopeSe)}` : ''}`);
  }

  // Findings, as sentences: the slopes at the largest D (each over its own N), the crossovers (the largest D in full,
  // the others in one sentence), the random-feature error slopes (one sentence).
  const findings: string[] = [];
  const name = (m: string) => (m === 'quadratic-kernel' ? 'the linear form' : m === 'quadratic-kernel-direct' ? 'the degree-2 kernel in N² form' : m === 'softmax' ? 'softmax' : m);
  const capital = (t: string) => t.charAt(0).toUpperCase() + t.slice(1);
  // A slope with its standard error to one significant digit: N^2.16 ± 0.04 (an exact fit: ± < 0.001).
  const power = (slope: number, se: number) => `${slope.toFixed(2)}${!Number.isFinite(se) ? '' : se < 0.001 ? ' ± < 0.001' : ` ± ${Number(se.toPrecision(1))}`}`;
  const widestD = Math.max(0, ...slopes.map((x) => x.D));
  for (const metric of ['time', 'memory'] as const) {
    const at = slopes.filter((x) => !x.causal && x.D === widestD && x.metric === metric);
    if (!at.length) continue;
    const parts = at.map((x, i) => `${i === 0 ? '' : `${name(x.method)} `}like N^${power(x.slope, x.slopeSe)} (N ${x.from} – ${x.to})`);
    findings.push(`${capital(name(at[0]!.method))} ${metric} grows ${parts.join('; ')}, at D = ${widestD}.`);
  }
  const crossovers = out.filter((o) => o['kind'] === 'crossover' && o['causal'] === false);
  for (const [method, rs] of groupBy(crossovers, (r) => String(r['method']))) {
    const pair = capital(method.replace('softmax vs ', 'softmax and ').replace('and quadratic-kernel', 'and the linear form'));
    const value = (r: Row, c: string) => (typeof r[c] === 'number' ? (r[c] as number) : null);
    const sorted = [...rs].sort((a, b) => Number(b['D']) - Number(a['D']));
    const [first, ...others] = sorted;
    const [n, lo, hi, theory] = ['crossover_N', 'crossover_low', 'crossover_high', 'theory_N'].map((c) => value(first!, c));
    findings.push(
      n === null || n === undefined
        ? `${pair} do not cross within N ${first!['N_from']} – ${first!['N_to']} at D = ${first!['D']}.`
        : `${pair} cross at N* = ${f3(n)}${lo != null && hi != null ? ` [${f3(lo)}, ${f3(hi)}]` : ''} for D = ${first!['D']}${theory == null ? '' : `, ${f3(n / theory)}× the FLOP theory (${f3(theory)})`}.`,
    );
    const rest = others.map((r) => {
      const [x, t] = [value(r, 'crossover_N'), value(r, 'theory_N')];
      return { text: x === null ? `no crossing within N ${r['N_from']} – ${r['N_to']} at D = ${r['D']}` : `N* = ${f3(x)} at D = ${r['D']}${t === null ? '' : ` (${f3(x / t)}×)`}`, ratio: x === null || t === null ? null : x / t };
    });
    if (rest.length) {
      // Said only where every smaller D lies further from the theory than the largest does (and why, for the linear form).
      const further = theory != null && n != null && rest.every((r) => r.ratio !== null && r.ratio > n / theory);
      const why = method === 'softmax vs quadratic-kernel' ? ', as building φ weighs more against smaller products' : '';
      findings.push(`At smaller D: ${rest.map((r) => r.text).join(', ')}${further ? `, further from the FLOP theory${why}` : ''}.`);
    }
  }
  const errorSlopes = out.filter((o) => o['kind'] === 'error-slope');
  if (errorSlopes.length) {
    // Named by method, and by N where a method has several.
    const several = new Set(errorSlopes.map((r) => r['method']).filter((m, i, all) => all.indexOf(m) !== i));
    const label = (r: Row) => `${r['method']}${several.has(r['method']) ? `, N = ${r['N_from']}` : ''}`;
    findings.push(`Random-feature errors fall like ${errorSlopes.map((r) => `D_random^${power(Number(r['slope']), Number(r['slope_se'])).replace(/^-/, '−')} (${label(r)})`).join(', ')}; −0.5 is Monte Carlo's rate.`);
  }

  // First in the summary: the slopes at the largest D (without a mask), in fit order.
  const widest = Math.max(0, ...out.map((x) => (typeof x['D'] === 'number' ? x['D'] : 0)));
  for (const r of slopes.filter((x) => !x.causal && x.D === widest)) {
    summary.unshift(`${r.method} ${r.metric} slope (D=${r.D}, N ${r.from}–${r.to}): ${f3(r.slope)} ± ${f3(r.slopeSe)}, class ${r.cls}`);
  }
  return { tables: { fits: { columns: FITS_COLUMNS, rows: out } }, summary, findings: findings.slice(0, 6) };
}
