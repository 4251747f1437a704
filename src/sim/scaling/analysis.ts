/**
 * The fits table of the scaling experiment: time per FLOP at the largest N against the smallest (the law of the
 * computation a timing claim states: flat where the FLOP count is right, whatever the CPU), growth of time and memory
 * per method as a + b·N^p (with an interval on p, and the log-log slope and AIC class beside it), bytes per row of the
 * O(N) methods against their formula, the fused kernel's memory against the materialized scores', the measured
 * crossovers of the linear form (and each method from a file) against exact attention in both forms beside the FLOP
 * theory, and the error slope of the random features.
 */
import { ratioOf } from '../../stats/verdict.js';
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
  'crossover_ratio_ci_low',
  'crossover_ratio_ci_high',
  'ratio',
  'ratio_ci_low',
  'ratio_ci_high',
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

/** The timed rows of each method × causal × D from fitMinN up, ascending in N. */
function upperGroups(timed: readonly Timed[], fitMinN: number): Timed[][] {
  return [...groupBy(timed, (r) => `${r.method}|${r.causal}|${r.D}`).values()]
    .map((g) => g.filter((r) => r.N >= fitMinN).sort((a, b) => a.N - b.N))
    .filter((g) => g.length > 0);
}

/**
 * Time per FLOP at the largest N over that at the smallest (N ≥ fitMinN): 1 where time grows as the FLOP count does
 * (N² for exact attention, N for the linear form), whatever the machine's speed; N^1.5 where N² is due gives
 * 16^−0.5 = 0.25 over 1024 … 16384. Its interval from the two times' intervals (the rounds' bootstrap), by ratioOf.
 */
export function timePerFlopRow(g: readonly Timed[]): Row | null {
  const [first, last] = [g[0]!, g[g.length - 1]!];
  if (g.length < 2 || !(first.flops! > 0) || !(last.flops! > 0)) return null;
  const perFlop = (r: Timed) => ({
    value: r.time_ms / r.flops!,
    low: r.time_ci_low / r.flops!,
    high: r.time_ci_high / r.flops!,
  });
  const ratio = ratioOf(perFlop(last), perFlop(first));
  return {
    ...blank,
    kind: 'time-per-flop',
    method: first.method,
    causal: first.causal,
    D: first.D,
    metric: 'time',
    model: 'time/FLOP at N_to ÷ at N_from',
    points: g.length,
    N_from: first.N,
    N_to: last.N,
    ratio: ratio.value,
    ratio_ci_low: ratio.low,
    ratio_ci_high: ratio.high,
  };
}

/** The growth fits of time and memory, and bytes per row against the formula for the O(N) methods. */
function growthFits(groups: readonly Timed[][]): Row[] {
  const out: Row[] = [];
  for (const upper of groups) {
    const first = upper[0]!;
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
      if (metric === 'memory' && PER_ROW.has(first.method) && usable.every((u) => (u.predicted ?? 0) > 0))
        out.push(
          perRowFit(
            first,
            n,
            y,
            usable.map((u) => u.predicted!),
          ),
        );
    }
  }
  return out;
}

/** b of a + b·N, the bytes each row adds, against the same fit of the formula. */
function perRowFit(first: ScalingRow, n: number[], y: number[], predicted: number[]): Row {
  const fit = fitAffine(n, y, 'absolute');
  const theory = fitAffine(n, predicted, 'absolute');
  return {
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
  };
}

/** The fused kernel's memory against the materialized scores', at the largest N both reach (per D, causal or not). */
function memoryRatios(timed: readonly Timed[]): Row[] {
  const out: Row[] = [];
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
  return out;
}

/** Timing rows as a crossover reads them: medians and interval ends. */
const side = (rs: Timed[]) => ({
  mid: rs.map((r) => r.time_ms),
  low: rs.map((r) => r.time_ci_low),
  high: rs.map((r) => r.time_ci_high),
});

/** One crossover of `method` against `exact` on one shape, with the FLOP theory beside it and its summary line. */
function crossoverRow(exact: string, method: string, g: readonly Timed[]): { row: Row; line: string } | null {
  const ref = new Map(g.filter((r) => r.method === exact).map((r) => [r.N, r]));
  const lin = g.filter((r) => r.method === method && ref.has(r.N)).sort((a, b) => a.N - b.N);
  if (lin.length < 2) return null;
  const n = lin.map((r) => r.N);
  const refAt = n.map((v) => ref.get(v)!);
  const x = crossoverInterval(n, side(refAt), side(lin));
  const { D: d, causal } = lin[0]!;
  const theory = flopsCrossover(
    n,
    refAt.map((r) => r.flops),
    lin.map((r) => r.flops),
  );
  const label = `${exact === 'softmax' ? '' : `${exact} `}D=${d}${causal ? ' causal' : ''}${method === 'quadratic-kernel' ? '' : ` ${method}`}`;
  const over = (v: number | null | undefined) => (v == null || theory === null ? null : v / theory);
  const row = {
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
    crossover_ratio: over(x.n),
    crossover_ratio_ci_low: over(x.low),
    crossover_ratio_ci_high: over(x.high),
  };
  const versus = theory === null ? '' : `, FLOP theory ${f3(theory)}${x.n === null ? '' : ` (×${f3(x.n / theory)})`}`;
  const line =
    x.n === null
      ? `crossover ${label}: none in N ${n[0]}..${n[n.length - 1]}${versus}`
      : `crossover ${label}: N* = ${f3(x.n)}${x.low !== undefined ? ` [${f3(x.low)}, ${f3(x.high!)}]` : ''}${versus}`;
  return { row, line };
}

/**
 * Crossovers of the linear form (and every method from a file that is not softmax itself) against exact attention
 * in both forms: the materialized scores (the textbook reference) and the fused kernel (what one would run today).
 */
function crossovers(timed: readonly Timed[], sameAsSoftmax: ReadonlySet<string>): { rows: Row[]; lines: string[] } {
  const against = [...new Set(timed.map((r) => r.method))].filter(
    (m) => m === 'quadratic-kernel' || (!BUILT_IN.has(m) && !sameAsSoftmax.has(m)),
  );
  const shapes = [...groupBy(timed, (r) => `${r.causal}|${r.D}|${r.M}`).values()];
  const got = ['softmax', 'flash'].flatMap((exact) =>
    against.flatMap((method) => shapes.map((g) => crossoverRow(exact, method, g)).filter((x) => x !== null)),
  );
  return { rows: got.map((x) => x.row), lines: got.map((x) => x.line) };
}

/** Random features: the error's decay with D_random over the asymptotic range (D_random ≥ 256). */
function errorSlopes(rows: readonly ScalingRow[]): { rows: Row[]; lines: string[] } {
  const random = rows.flatMap((r) =>
    r.D_random !== null && r.rel_error !== null && r.D_random >= RFF_FIT_MIN
      ? [{ ...r, D_random: r.D_random, rel_error: r.rel_error }]
      : [],
  );
  const out: Row[] = [];
  const lines: string[] = [];
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
    lines.push(
      `${method} error vs D_random (≥ ${RFF_FIT_MIN}): slope ${f3(s.slope)}${g.length > 2 ? ` ± ${f3(s.slopeSe)}` : ''}`,
    );
  }
  return { rows: out, lines };
}

export function analyseScaling(
  rows: readonly ScalingRow[],
  fitMinN: number,
  sameAsSoftmax: ReadonlySet<string> = new Set(),
): Analysis {
  const timed = rows.filter(
    (r): r is Timed => r.time_ms !== null && r.time_ci_low !== null && r.time_ci_high !== null && r.D_random === null,
  );
  const groups = upperGroups(timed, fitMinN);
  const cross = crossovers(timed, sameAsSoftmax);
  const errors = errorSlopes(rows);
  const out = [
    ...groups.map(timePerFlopRow).filter((r) => r !== null),
    ...growthFits(groups),
    ...memoryRatios(timed),
    ...cross.rows,
    ...errors.rows,
  ];
  const findings = scalingFindings(out);
  // First in the summary: time per FLOP and the growth fits at the largest D (without a mask).
  const top = topRows(out);
  const summary = [
    ...top.perFlop.map(
      (r) =>
        `${r['method']} time per FLOP (D=${r['D']}, ${range(r)}): ×${f3(num(r, 'ratio')!)} [${f3(num(r, 'ratio_ci_low')!)}, ${f3(num(r, 'ratio_ci_high')!)}] from N = ${r['N_from']} to ${r['N_to']}`,
    ),
    ...[...top.time, ...top.memory].map(
      (r) => `${r['method']} ${r['metric']} (D=${r['D']}, ${range(r)}): a + b·${power(r)}, class ${r['class']}`,
    ),
    ...cross.lines,
    ...errors.lines,
  ];
  return { tables: { fits: { columns: FITS_COLUMNS, rows: out } }, summary, findings };
}

const num = (r: Row, c: string) => (typeof r[c] === 'number' ? (r[c] as number) : null);
// p with its interval: N^2.01 [1.98, 2.04]; without one (three points), N^2.01.
const power = (r: Row) => {
  const [p, lo, hi] = [num(r, 'p')!, num(r, 'p_low'), num(r, 'p_high')];
  return `N^${p.toFixed(2)}${lo === null || hi === null ? '' : ` [${lo.toFixed(2)}, ${hi.toFixed(2)}]`}`;
};
const range = (r: Row) => `N ${r['N_from']} – ${r['N_to']}`;
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

/** The fits table's rows at the largest D without a mask: what the findings and the summary open with. */
function topRows(out: readonly Row[]): { widestD: number; perFlop: Row[]; time: Row[]; memory: Row[] } {
  const plain = out.filter((o) => o['causal'] === false);
  const widestD = Math.max(0, ...plain.filter((o) => o['kind'] === 'growth').map((x) => Number(x['D'])));
  const at = (kind: string, metric: string) =>
    plain.filter((x) => x['kind'] === kind && x['D'] === widestD && x['metric'] === metric);
  return { widestD, perFlop: at('time-per-flop', 'time'), time: at('growth', 'time'), memory: at('growth', 'memory') };
}

/**
 * Findings, as sentences, from the rows of fits.csv (so over the same ranges and with the same quantities as the
 * claims): time per FLOP and the fitted growth at the largest D, memory, the crossovers (the largest D in full, the
 * others in one sentence), the random-feature error slopes.
 */
function scalingFindings(out: readonly Row[]): string[] {
  const { widestD, perFlop, time, memory } = topRows(out);
  const findings: string[] = [];
  if (perFlop.length) {
    const fitted = new Map(time.map((r) => [r['method'], r]));
    findings.push(
      `Time per FLOP at D = ${widestD}, at the largest N over the smallest (1: time grows as the FLOP count): ${perFlop
        .map((r) => {
          const fit = fitted.get(r['method']);
          return `${name(String(r['method']))} ×${f3(num(r, 'ratio')!)} [${f3(num(r, 'ratio_ci_low')!)}, ${f3(num(r, 'ratio_ci_high')!)}] (${range(r)}${fit ? `; fitted a + b·${power(fit)}` : ''})`;
        })
        .join('; ')}.`,
    );
  }
  if (memory.length) findings.push(memoryFinding(out, memory, widestD));
  findings.push(...crossoverFindings(out));
  const slopes = out.filter((o) => o['kind'] === 'error-slope');
  if (slopes.length) findings.push(errorSlopeFinding(slopes));
  return findings;
}

function memoryFinding(out: readonly Row[], memory: readonly Row[], widestD: number): string {
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
  const vs = ratio ? `; at N = ${ratio['N_to']} flash holds ${f3(num(ratio, 'ratio')! * 100)}% of softmax's bytes` : '';
  return `Memory at D = ${widestD} (${range(memory[0]!)}): ${parts.join('; ')}${vs}.`;
}

function crossoverFindings(out: readonly Row[]): string[] {
  const crossovers = out.filter((o) => o['kind'] === 'crossover' && o['causal'] === false);
  return [...groupBy(crossovers, (r) => String(r['method']))].map(([method, rs]) => {
    const [exact, other] = method.split(' vs ') as [string, string];
    const pair = `${capital(name(other))} and ${exact === 'softmax' ? 'materialized softmax' : 'flash'}`;
    const [first, ...others] = [...rs].sort((a, b) => Number(b['D']) - Number(a['D']));
    const [n, lo, hi, theory] = ['crossover_N', 'crossover_low', 'crossover_high', 'theory_N'].map((c) =>
      num(first!, c),
    );
    if (n === null || n === undefined)
      return `${pair} do not cross within N ${first!['N_from']} – ${first!['N_to']} at D = ${first!['D']}.`;
    const rest = others
      .map((r) => {
        const [x, t] = [num(r, 'crossover_N'), num(r, 'theory_N')];
        return x === null
          ? `none within N ${r['N_from']} – ${r['N_to']} at D = ${r['D']}`
          : `${f3(x)} at D = ${r['D']}${t === null ? '' : ` (${f3(x / t)}×)`}`;
      })
      .join(', ');
    return `${pair} cross at N* = ${f3(n)}${lo != null && hi != null ? ` [${f3(lo)}, ${f3(hi)}]` : ''} for D = ${first!['D']}${theory == null ? '' : `, ${f3(n / theory)}× the FLOP theory (${f3(theory)})`}${rest ? `; ${rest}` : ''}.`;
  });
}

function errorSlopeFinding(errorSlopes: readonly Row[]): string {
  // Named by method, and by N where a method has several.
  const several = new Set(errorSlopes.map((r) => r['method']).filter((m, i, all) => all.indexOf(m) !== i));
  const label = (r: Row) => `${r['method']}${several.has(r['method']) ? `, N = ${r['N_from']}` : ''}`;
  const slope = (r: Row) => {
    const [v, se] = [Number(r['slope']), Number(r['slope_se'])];
    return `${v.toFixed(2)}${!Number.isFinite(se) ? '' : se < 0.001 ? ' ± < 0.001' : ` ± ${Number(se.toPrecision(1))}`}`;
  };
  return `Random-feature errors fall like ${errorSlopes.map((r) => `D_random^${slope(r).replace(/^-/, '−')} (${label(r)})`).join(', ')}; −0.5 is Monte Carlo's rate.`;
}
