/**
 * The fits table of the scaling experiment: growth of time and memory per method as a + b·N^p (with an interval on p,
 * and the log-log slope and AIC class beside it), bytes per row of the O(N) methods against their formula, the fused
 * kernel's memory against the materialized scores', the measured crossovers of the linear form (and each method from
 * a file) against exact attention in both forms beside the FLOP theory, and the error slope of the random features.
 */
import { crossoverInterval, rankClasses } from '../../stats/complexity.js';
import { logLogSlope } from '../../stats/fit.js';
import { fitAffine, fitPower } from './power-fit.js';
import { groupBy } from '../../stats/group.js';
import { METHODS } from './methods.js';
import type { ScalingRow } from './rows.js';
import type { Analysis, Row } from '../types.js';

export const FITS_COLUMNS = [
  'kind',
  'method',
  'causal',
  'D',
  'metric',
  'model',
  'p',
  'p_low',
  'p_high',
  'a',
  'b',
  'b_theory',
  'b_ratio',
  'slope',
  'slope_se',
  'points',
  'N_from',
  'N_to',
  'class',
  'class_aic_gap',
  'crossover_N',
  'crossover_low',
  'crossover_high',
  'theory_N',
  'crossover_ratio',
  'ratio',
] as const;

const blank = Object.fromEntries(FITS_COLUMNS.map((c) => [c, null])) as Record<(typeof FITS_COLUMNS)[number], null>;
/** A row that was timed (not skipped) with its interval. */
type Timed = ScalingRow & { time_ms: number; time_ci_low: number; time_ci_high: number };
const f3 = (v: number) => Number(v.toPrecision(3));

/**
 * Growth fits (a + b·N^p) use every size from fit_min_N up: softmax 1024 … 16384 (the memory budget), flash and the
 * linear form further. The fixed part a takes what a call pays whatever N (the linear form's chunk graph, about
 * 0.6 ms at D = 64), so p is the growth alone; findings and claims read the same rows of fits.csv, so they use the
 * same range. Per-row fits (a + b·N, memory of the O(N) methods) compare b, the bytes each row adds, with the formula.
 * Three sizes fit a + b·N^p exactly (no interval on p); the default grid gives every fit four or more.
 */
export const FIT_MIN_POINTS = 3;

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
function flopsCrossover(
  n: number[],
  soft: readonly (number | null)[],
  other: readonly (number | null)[],
): number | null {
  const at = n.flatMap((v, i) => {
    const [a, b] = [soft[i], other[i]];
    return typeof a === 'number' && typeof b === 'number' && a > 0 && b > 0
      ? [{ x: Math.log(v), r: Math.log(a / b) }]
      : [];
  });
  if (at.length < 2) return null;
  let i = at.findIndex((p, k) => k > 0 && at[k - 1]!.r <= 0 && p.r >= 0);
  // No bracket: softmax is dearer everywhere (the crossing lies below the grid) or cheaper everywhere (above it).
  if (i < 0) i = at[0]!.r > 0 ? 1 : at.length - 1;
  const [a, b] = [at[i - 1]!, at[i]!];
  return a.r === b.r ? null : Math.exp(a.x + ((0 - a.r) / (b.r - a.r)) * (b.x - a.x));
}

/** The fit of one metric of one method over N ≥ fitMinN: a + b·N^p, its interval, the log-log slope and the AIC class beside it. */
function growthRow(first: ScalingRow, metric: 'time' | 'memory', n: number[], y: number[]): Row {
  // Times on relative residuals; bytes on absolute ones (their noise is the allocator's, some 100 KiB at any size).
  const f = fitPower(n, y, metric === 'time' ? 'relative' : 'absolute');
  const s = logLogSlope(n, y);
  const ranked = rankClasses(n, y);
  return {
    ...blank,
    kind: 'growth',
    method: first.method,
    causal: first.causal,
    D: first.D,
    metric,
    model: 'a + b·N^p',
    p: f.p,
    p_low: f.pLow,
    p_high: f.pHigh,
    a: f.a,
    b: f.b,
    slope: s.slope,
    slope_se: s.slopeSe,
    points: n.length,
    N_from: n[0]!,
    N_to: n[n.length - 1]!,
    class: ranked[0]!.cls,
    class_aic_gap: ranked[1]!.aic - ranked[0]!.aic,
  };
}

/** Methods whose memory is a + b·N with b from a formula (predicted_bytes): the fused kernel and the linear form. */
const PER_ROW = new Set(['flash', 'quadratic-kernel']);

export function analyseScaling(
  rows: readonly ScalingRow[],
  fitMinN: number,
  sameAsSoftmax: ReadonlySet<string> = new Set(),
): Analysis {
  const timed = rows.filter(
    (r): r is Timed => r.time_ms !== null && r.time_ci_low !== null && r.time_ci_high !== null && r.D_random === null,
  );
  const out: Row[] = [];
  const summary: string[] = [];

  for (const [, g] of groupBy(timed, (r) => `${r.method}|${r.causal}|${r.D}`)) {
    const upper = g.filter((r) => r.N >= fitMinN).sort((a, b) => a.N - b.N);
    const first = upper[0];
    if (!first) continue;
    for (const [metric, col] of [
      ['time', 'time_ms'],
      ['memory', 'peak_bytes'],
    ] as const) {
      // A reading that is missing or not positive cannot be fitted on relative residuals: fit the rest, or skip the fit.
      const usable = upper.flatMap((r) =>
        (r[col] ?? 0) > 0 ? [{ n: r.N, y: r[col]!, predicted: r.predicted_bytes }] : [],
      );
      if (usable.length < FIT_MIN_POINTS) continue;
      const n = usable.map((u) => u.n);
      const y = usable.map((u) => u.y);
      out.push(growthRow(first, metric, n, y));
      if (metric === 'memory' && PER_ROW.has(first.method) && usable.every((u) => (u.predicted ?? 0) > 0)) {
        const fit = fitAffine(n, y, 'absolute');
        const theory = fitAffine(
          n,
          usable.map((u) => u.predicted!),
          'absolute',
        );
        out.push({
          ...blank,
          kind: 'per-row',
          method: first.method,
          causal: first.causal,
          D: first.D,
          metric: 'memory',
          model: 'a + b·N',
          a: fit.a,
          b: fit.b,
          b_theory: theory.b,
          b_ratio: theory.b > 0 ? fit.b / theory.b : null,
          points: n.length,
          N_from: n[0]!,
          N_to: n[n.length - 1]!,
        });
      }
    }
  }

  // The fused kernel's memory against the materialized scores', at the largest N both reach (per D, causal or not).
  for (const [, g] of groupBy(timed, (r) => `${r.causal}|${r.D}|${r.M}`)) {
    const soft = new Map(
      g.filter((r) => r.method === 'softmax' && (r.peak_bytes ?? 0) > 0).map((r) => [r.N, r.peak_bytes!]),
    );
    const both = g
      .filter((r) => r.method === 'flash' && (r.peak_bytes ?? 0) > 0 && soft.has(r.N))
      .sort((a, b) => b.N - a.N)[0];
    if (!both) continue;
    out.push({
      ...blank,
      kind: 'memory-ratio',
      method: 'flash / softmax',
      causal: both.causal,
      D: both.D,
      metric: 'memory',
      points: 1,
      N_from: both.N,
      N_to: both.N,
      ratio: both.peak_bytes! / soft.get(both.N)!,
    });
  }

  // Crossovers of the linear form (and every method from a file that is not softmax itself) against exact attention
  // in both forms: the materialized scores (the textbook reference) and the fused kernel (what one would run today).
  const against = [...new Set(timed.map((r) => r.method))].filter(
    (m) => m === 'quadratic-kernel' || (!BUILT_IN.has(m) && !sameAsSoftmax.has(m)),
  );
  const shapes = [...groupBy(timed, (r) => `${r.causal}|${r.D}|${r.M}`).values()];
  for (const exact of ['softmax', 'flash']) {
    for (const method of against) {
      for (const g of shapes) {
        const ref = new Map(g.filter((r) => r.method === exact).map((r) => [r.N, r]));
        const lin = g.filter((r) => r.method === method && ref.has(r.N)).sort((a, b) => a.N - b.N);
        if (lin.length < 2) continue;
        const n = lin.map((r) => r.N);
        const refAt = n.map((v) => ref.get(v)!);
        const side = (rs: Timed[]) => ({
          mid: rs.map((r) => r.time_ms),
          low: rs.map((r) => r.time_ci_low),
          high: rs.map((r) => r.time_ci_high),
        });
        const x = crossoverInterval(n, side(refAt), side(lin));
        const { D: d, causal } = lin[0]!;
        const theory = flopsCrossover(
          n,
          refAt.map((r) => r.flops),
          lin.map((r) => r.flops),
        );
        const label = `${exact === 'softmax' ? '' : `${exact} `}D=${d}${causal ? ' causal' : ''}${method === 'quadratic-kernel' ? '' : ` ${method}`}`;
        out.push({
          ...blank,
          kind: 'crossover',
          method: `${exact} vs ${method}`,
          causal,
          D: d,
          points: n.length,
          N_from: n[0]!,
          N_to: n[n.length - 1]!,
          crossover_N: x.n,
          crossover_low: x.low ?? null,
          crossover_high: x.high ?? null,
          theory_N: theory,
          crossover_ratio: x.n === null || theory === null ? null : x.n / theory,
        });
        const versus =
          theory === null ? '' : `, FLOP theory ${f3(theory)}${x.n === null ? '' : ` (×${f3(x.n / theory)})`}`;
        summary.push(
          x.n === null
            ? `crossover ${label}: none in N ${n[0]}..${n[n.length - 1]}${versus}`
            : `crossover ${label}: N* = ${f3(x.n)}${x.low !== undefined ? ` [${f3(x.low)}, ${f3(x.high!)}]` : ''}${versus}`,
        );
      }
    }
  }

  // Random features: the error's decay with D_random over the asymptotic range (D_random ≥ 256).
  const random = rows.flatMap((r) =>
    r.D_random !== null && r.rel_error !== null && r.D_random >= RFF_FIT_MIN
      ? [{ ...r, D_random: r.D_random, rel_error: r.rel_error }]
      : [],
  );
  for (const [, g] of groupBy(random, (r) => `${r.method}|${r.D}|${r.N}`)) {
    if (g.length < 2) continue;
    const s = logLogSlope(
      g.map((r) => r.D_random),
      g.map((r) => r.rel_error),
    );
    const { method, D, N } = g[0]!;
    out.push({
      ...blank,
      kind: 'error-slope',
      method,
      causal: false,
      D,
      metric: 'rel_error vs D_random',
      slope: s.slope,
      slope_se: s.slopeSe,
      points: g.length,
      N_from: N,
      N_to: N,
    });
    summary.push(
      `${method} error vs D_random (≥ ${RFF_FIT_MIN}): slope ${f3(s.slope)}${g.length > 2 ? ` ± ${f3(s.slopeSe)}` : ''}`,
    );
  }

  // Findings, as sentences, from the rows of fits.csv (so over the same ranges as the claims): time and memory at the
  // largest D, the crossovers (the largest D in full, the others in one sentence), the random-feature error slopes.
  const findings: string[] = [];
  const name = (m: string) =>
    m === 'quadratic-kernel'
      ? 'the linear form'
      : m === 'quadratic-kernel-direct'
        ? 'the degree-2 kernel in N² form'
        : m === 'softmax'
          ? 'softmax (scores materialized)'
          : m === 'flash'
            ? 'flash (fused, no N×N scores)'
            : m;
  const capital = (t: string) => t.charAt(0).toUpperCase() + t.slice(1);
  const num = (r: Row, c: string) => (typeof r[c] === 'number' ? (r[c] as number) : null);
  // p with its interval: N^2.01 [1.98, 2.04]; without one (three points), N^2.01.
  const power = (r: Row) => {
    const [p, lo, hi] = [num(r, 'p')!, num(r, 'p_low'), num(r, 'p_high')];
    return `N^${p.toFixed(2)}${lo === null || hi === null ? '' : ` [${lo.toFixed(2)}, ${hi.toFixed(2)}]`}`;
  };
  const range = (r: Row) => `N ${r['N_from']} – ${r['N_to']}`;
  const growth = out.filter((o) => o['kind'] === 'growth' && o['causal'] === false);
  const widestD = Math.max(0, ...growth.map((x) => Number(x['D'])));
  const at = (metric: string) => growth.filter((x) => x['D'] === widestD && x['metric'] === metric);
  const time = at('time');
  if (time.length) {
    findings.push(
      `Time at D = ${widestD}, fitted as a + b·N^p: ${time.map((r) => `${name(String(r['method']))} ${power(r)} (${range(r)})`).join('; ')}.`,
    );
  }
  const memory = at('memory');
  if (memory.length) {
    const perRow = new Map(
      out
        .filter((o) => o['kind'] === 'per-row' && o['causal'] === false && o['D'] === widestD)
        .map((o) => [o['method'], o]),
    );
    const parts = memory.map((r) => {
      const b = perRow.get(r['method']);
      const bytes =
        b && num(b, 'b') !== null
          ? `, ${Math.round(num(b, 'b')!)} bytes per row${num(b, 'b_theory') !== null ? ` (formula ${Math.round(num(b, 'b_theory')!)})` : ''}`
          : '';
      return `${name(String(r['method']))} ${power(r)}${bytes}`;
    });
    const ratio = out.find((o) => o['kind'] === 'memory-ratio' && o['causal'] === false && o['D'] === widestD);
    const vs = ratio
      ? `; at N = ${ratio['N_to']} flash holds ${f3(num(ratio, 'ratio')! * 100)}% of softmax's bytes`
      : '';
    findings.push(`Memory at D = ${widestD} (${range(memory[0]!)}): ${parts.join('; ')}${vs}.`);
  }
  const crossovers = out.filter((o) => o['kind'] === 'crossover' && o['causal'] === false);
  for (const [method, rs] of groupBy(crossovers, (r) => String(r['method']))) {
    const [exact, other] = method.split(' vs ') as [string, string];
    const pair = `${capital(name(other))} and ${exact === 'softmax' ? 'materialized softmax' : 'flash'}`;
    const sorted = [...rs].sort((a, b) => Number(b['D']) - Number(a['D']));
    const [first, ...others] = sorted;
    const [n, lo, hi, theory] = ['crossover_N', 'crossover_low', 'crossover_high', 'theory_N'].map((c) =>
      num(first!, c),
    );
    findings.push(
      n === null || n === undefined
        ? `${pair} do not cross within N ${first!['N_from']} – ${first!['N_to']} at D = ${first!['D']}.`
        : `${pair} cross at N* = ${f3(n)}${lo != null && hi != null ? ` [${f3(lo)}, ${f3(hi)}]` : ''} for D = ${first!['D']}${theory == null ? '' : `, ${f3(n / theory)}× the FLOP theory (${f3(theory)})`}${
            others.length
              ? `; ${others
                  .map((r) => {
                    const [x, t] = [num(r, 'crossover_N'), num(r, 'theory_N')];
                    return x === null
                      ? `none within N ${r['N_from']} – ${r['N_to']} at D = ${r['D']}`
                      : `${f3(x)} at D = ${r['D']}${t === null ? '' : ` (${f3(x / t)}×)`}`;
                  })
                  .join(', ')}`
              : ''
          }.`,
    );
  }
  const errorSlopes = out.filter((o) => o['kind'] === 'error-slope');
  if (errorSlopes.length) {
    // Named by method, and by N where a method has several.
    const several = new Set(errorSlopes.map((r) => r['method']).filter((m, i, all) => all.indexOf(m) !== i));
    const label = (r: Row) => `${r['method']}${several.has(r['method']) ? `, N = ${r['N_from']}` : ''}`;
    const slope = (r: Row) => {
      const [v, se] = [Number(r['slope']), Number(r['slope_se'])];
      return `${v.toFixed(2)}${!Number.isFinite(se) ? '' : se < 0.001 ? ' ± < 0.001' : ` ± ${Number(se.toPrecision(1))}`}`;
    };
    findings.push(
      `Random-feature errors fall like ${errorSlopes.map((r) => `D_random^${slope(r).replace(/^-/, '−')} (${label(r)})`).join(', ')}; −0.5 is Monte Carlo's rate.`,
    );
  }

  // First in the summary: the growth fits at the largest D (without a mask).
  for (const r of [...time, ...memory].reverse()) {
    summary.unshift(`${r['method']} ${r['metric']} (D=${r['D']}, ${range(r)}): a + b·${power(r)}, class ${r['class']}`);
  }
  return { tables: { fits: { columns: FITS_COLUMNS, rows: out } }, summary, findings };
}
