/**
 * Claims decide from intervals, as equivalence tests (two one-sided tests) do, and as compare's `inconclusive` does:
 * `pass` when the interval of what a claim measures lies inside its range, `fail` when it lies outside, and
 * `inconclusive` when it straddles an edge, with the reason and the cure. A value without an interval (an exact count,
 * an analytic ratio) is its own interval.
 */
import type { Claim, ClaimTest } from './schema.js';
import type { Cell, Row } from '../sim/types.js';
import { logLogSlope } from '../stats/fit.js';
import { groupBy } from '../stats/group.js';
import { tCritical, zCritical } from '../stats/normal.js';
import { msg } from '../messages.js';
import { combine, decide, type Interval, type Verdict } from '../stats/verdict.js';

export { combine, decide, ratioOf, type Estimate, type Interval, type Verdict } from '../stats/verdict.js';

/** The reason of a claim whose where matches no rows (a narrowed grid, or a claim that names a wrong value). */
export const NO_ROWS = 'no rows match the claim’s where';

/** The columns a claim reads (its where-keys aside): what loading checks exist and what makes a claim a timing one. */
export function claimColumns(c: Claim): string[] {
  const bounds =
    'test' in c && 'between' in c.test ? c.test.between.filter((b): b is string => typeof b === 'string') : [];
  const interval = 'test' in c && c.test.interval ? [...c.test.interval] : [];
  return c.kind === 'slope' || c.kind === 'monotone'
    ? [c.x, c.y, ...c.per]
    : c.kind === 'spread'
      ? [c.column, ...c.per]
      : [c.test.column, ...bounds, ...interval];
}

/** Claims whose verdict rests on timings or memory readings: on the measured columns, or on tables derived from them. */
export function isTimingClaim(claim: Claim, sim: { timing: boolean; measuredColumns: readonly string[] }): boolean {
  return sim.timing && (claim.table !== 'results' || claimColumns(claim).some((c) => sim.measuredColumns.includes(c)));
}

/** The outcome of one claim; `status` tags the union (the tinybench habit). */
export type ClaimResult =
  | { status: 'pass'; id: string; text: string; expected: string; measured: string; values?: string }
  | { status: 'fail'; id: string; text: string; expected: string; measured: string; values?: string }
  | {
      status: 'inconclusive';
      id: string;
      text: string;
      expected: string;
      measured: string;
      values?: string;
      /** Which interval straddles which edge. */
      reason: string;
      /** What narrows the interval (more rounds on a quieter machine, more trials). */
      cure: string;
    }
  | { status: 'error'; id: string; text: string; expected: string; reason: string };

/** Names a row in a claim's verdict ("n = 16, d = 1024"). */
type RowLabel = (row: Row) => string;

/** A label from the parameter names a row may carry: those that vary among `rows`, as `k = v` (the claim's where fixes the rest). */
function paramLabel(keys: readonly string[], rows: readonly Row[]): RowLabel {
  const varying = keys.filter((k) => new Set(rows.map((r) => String(r[k] ?? ''))).size > 1);
  return (row) =>
    varying
      .filter((k) => row[k] !== null && row[k] !== undefined)
      .map((k) => `${k} = ${String(row[k])}`)
      .join(', ');
}

const fmt = (v: number, digits = 4): string =>
  Number.isFinite(v) ? Number(v.toPrecision(digits)).toString() : String(v);
const showInterval = ([a, b]: Interval, digits = 4): string =>
  a === b ? '' : ` [${fmt(a, digits)}, ${fmt(b, digits)}]`;

export function selectRows(rows: readonly Row[], where: Record<string, Cell | Cell[]>): Row[] {
  return rows.filter((r) =>
    Object.entries(where).every(([k, want]) => (Array.isArray(want) ? want.includes(r[k] ?? null) : r[k] === want)),
  );
}

/**
 * The interval of `column` in each row: the columns the claim names (`interval`), else `<column>_ci_low` and
 * `<column>_ci_high` where the rows carry them, else the value itself. A row whose bounds are missing is exact.
 */
export function rowInterval(
  column: string,
  rows: readonly Row[],
  named?: readonly [string, string],
): (r: Row) => Interval {
  const [lowCol, highCol] = named ?? [`${column}_ci_low`, `${column}_ci_high`];
  const has = named !== undefined || rows.some((r) => typeof r[lowCol] === 'number' && typeof r[highCol] === 'number');
  return (r) => {
    const v = Number(r[column]);
    const [a, b] = has ? [r[lowCol], r[highCol]] : [null, null];
    return typeof a === 'number' && typeof b === 'number' ? [Math.min(a, v), Math.max(b, v)] : [v, v];
  };
}

interface TestDescription {
  expected: string;
  verdict: (r: Row) => Verdict;
  /** How far a row is from failing, larger is worse (positive: it fails); the worst row is named in the verdict. */
  badness: (r: Row) => number;
  /** The tested value of a row as the verdict shows it, with its interval. */
  shown: (r: Row) => string;
}

function describeTest(t: ClaimTest, rows: readonly Row[]): TestDescription {
  const num = (r: Row, c: string): number => Number(r[c]);
  const interval = rowInterval(t.column, rows, t.interval);
  if ('between' in t) {
    const [lo, hi] = t.between;
    const bound = (r: Row, b: string | number) => (typeof b === 'number' ? b : num(r, b));
    const bounds = typeof lo === 'number' && typeof hi === 'number';
    return {
      expected: `${lo} ≤ ${t.column} ≤ ${hi}`,
      verdict: (r) => decide(interval(r), [bound(r, lo), bound(r, hi)]),
      // Distance outside the range, in units of its width where it has one (column bounds: a range per row).
      badness: (r) => {
        const [a, b, v] = [bound(r, lo), bound(r, hi), num(r, t.column)];
        return Math.max(a - v, v - b) / (b > a ? b - a : 1);
      },
      shown: (r) =>
        `${t.column} = ${fmt(num(r, t.column))}${showInterval(interval(r))}` +
        (bounds ? '' : ` in [${fmt(bound(r, lo))}, ${fmt(bound(r, hi))}]`),
    };
  }
  const n = rows.length;
  const bound = 'abs_below' in t ? t.abs_below : zCritical(1 - t.abs_below_bonferroni / Math.max(n, 1));
  const label =
    'abs_below' in t
      ? `|${t.column}| < ${t.abs_below}`
      : `|${t.column}| < ${fmt(bound)} (Bonferroni, α = ${t.abs_below_bonferroni} over ${n} rows)`;
  // |x| < bound: the interval's largest magnitude decides a pass, its smallest a fail.
  const magnitudes = (r: Row): Interval => {
    const [a, b] = interval(r);
    return [a <= 0 && b >= 0 ? 0 : Math.min(Math.abs(a), Math.abs(b)), Math.max(Math.abs(a), Math.abs(b))];
  };
  return {
    expected: label,
    verdict: (r) => {
      const [least, most] = magnitudes(r);
      return most < bound ? 'pass' : least >= bound ? 'fail' : 'inconclusive';
    },
    badness: (r) => Math.abs(num(r, t.column)),
    shown: (r) => `max |${t.column}| = ${fmt(Math.abs(num(r, t.column)))}${showInterval(magnitudes(r))}`,
  };
}

const RANK: Record<Verdict, number> = { pass: 0, inconclusive: 1, fail: 2 };

/** The row a verdict names: a failing one before an undecided one before a passing one, then the farthest out. */
function worstRow(t: TestDescription, rows: readonly Row[]): Row {
  const key = (r: Row) => [RANK[t.verdict(r)], t.badness(r)] as const;
  return rows.reduce((w, r) => {
    const [a, b] = [key(r), key(w)];
    return a[0] > b[0] || (a[0] === b[0] && a[1] > b[1]) ? r : w;
  });
}

/** The verdict's tail: the worst row's value and where it is (or, when every row has the same value, that value). */
function worstOf(t: TestDescription, rows: readonly Row[], label: RowLabel): string {
  const worst = worstRow(t, rows);
  const same = rows.every((r) => t.shown(r) === t.shown(worst));
  const where = label(worst);
  const title = { pass: 'closest to the bound', inconclusive: 'undecided', fail: 'worst' }[t.verdict(worst)];
  return `; ${same && rows.length > 1 ? `every ${t.shown(worst).replace(/^max /, '')}` : `${title}: ${t.shown(worst)}${where ? ` at ${where}` : ''}`}`;
}

/** What a claim's evaluation is told beyond its rows. */
export interface ClaimContext {
  /** The column names that locate a row (the grid parameters, a seed), for the verdicts' "worst … at …". */
  params?: readonly string[];
  /** The cure printed with an inconclusive verdict (what would narrow the interval); see msg.cure*. */
  cure?: string;
}

type Base = { id: string; text: string };
const DEFAULT_CURE = msg.cureSampling();

/** The claim's result from its verdict: an inconclusive one carries its reason and the cure. */
function result(
  base: Base,
  verdict: Verdict,
  body: { expected: string; measured: string; values?: string },
  reason: () => string,
  cure = DEFAULT_CURE,
): ClaimResult {
  if (verdict === 'inconclusive') return { ...base, status: verdict, ...body, reason: reason(), cure };
  return verdict === 'pass' ? { ...base, status: verdict, ...body } : { ...base, status: verdict, ...body };
}

/**
 * A fraction of rows: each row passes, fails or is undecided by its interval; the claim passes when the passing rows
 * reach `at_least`, fails when they cannot even if every undecided row passed, and is inconclusive between.
 */
function evaluateFraction(
  claim: Extract<Claim, { kind: 'fraction' }>,
  rows: readonly Row[],
  base: Base,
  ctx: ClaimContext,
): ClaimResult {
  const t = describeTest(claim.test, rows);
  const expected = `${t.expected} for ≥ ${fmt(claim.at_least * 100, 3)}% of rows`;
  if (rows.length === 0) return { ...base, status: 'error', expected, reason: NO_ROWS };
  const label = paramLabel(ctx.params ?? [], rows);
  const verdicts = rows.map(t.verdict);
  const count = (v: Verdict) => verdicts.filter((x) => x === v).length;
  const [ok, open] = [count('pass'), count('inconclusive')];
  const need = Math.ceil(claim.at_least * rows.length - 1e-9);
  const verdict: Verdict = ok >= need ? 'pass' : ok + open < need ? 'fail' : 'inconclusive';
  const undecided = open ? `, ${open} undecided` : '';
  const measured = `${ok}/${rows.length} rows (${fmt((ok / rows.length) * 100)}%)${undecided}${worstOf(t, rows, label)}`;
  const mark = { pass: '', inconclusive: ' ?', fail: ' ✗' };
  const interval = rowInterval(claim.test.column, rows, claim.test.interval);
  const values = rows.map(
    (r, i) =>
      `${label(r) || '·'}: ${fmt(Number(r[claim.test.column]))}${showInterval(interval(r))}${mark[verdicts[i]!]}`,
  );
  const reason = () => {
    const worst = worstRow(t, rows);
    const where = label(worst);
    return `${open} of ${rows.length} rows straddle an edge of ${t.expected} (${ok} pass, ${need} needed), e.g. ${t.shown(worst)}${where ? ` at ${where}` : ''}`;
  };
  return result(base, verdict, { expected, measured, values: values.join('\n') }, reason, ctx.cure);
}

/** Evaluate one claim on its table's rows. Pure: same rows, same verdict. */
export function evaluateClaim(
  claim: Claim,
  rows: readonly Row[],
  ctx: ClaimContext | readonly string[] = {},
): ClaimResult {
  const context: ClaimContext = Array.isArray(ctx) ? { params: ctx as readonly string[] } : (ctx as ClaimContext);
  const base = { id: claim.id, text: claim.text };
  // Skipped points (a null in a tested column) are not evidence either way.
  const used =
    claim.kind === 'slope' || claim.kind === 'monotone'
      ? [claim.x, claim.y]
      : claim.kind === 'spread'
        ? [claim.column]
        : [claim.test.column];
  const selected = selectRows(rows, claim.where).filter((r) => used.every((c) => r[c] !== null && r[c] !== undefined));
  if (claim.kind === 'fraction') return evaluateFraction(claim, selected, base, context);
  if (claim.kind === 'spread' || claim.kind === 'monotone') return evaluateShape(claim, selected, base, context);
  return evaluateSlope(claim, selected, base, context);
}

/**
 * A log-log slope per group against target ± tol, with its interval: from the ends' intervals where the rows carry
 * them (endpointSlope), else the least-squares slope's 95% t-interval (± t·se on n − 2 degrees of freedom).
 */
function evaluateSlope(
  claim: Extract<Claim, { kind: 'slope' }>,
  selected: readonly Row[],
  base: Base,
  ctx: ClaimContext,
): ClaimResult {
  const range = [
    claim.x_min !== undefined ? `${claim.x} ≥ ${claim.x_min}` : '',
    claim.largest !== undefined ? `the ${claim.largest} largest ${claim.x}` : '',
  ]
    .filter(Boolean)
    .join(', ');
  const expected = `slope of log ${claim.y} vs log ${claim.x} = ${claim.expect.target} ± ${claim.expect.tol}${range ? ` (${range})` : ''}`;
  const grouped = groups(
    claim.x_min === undefined ? selected : selected.filter((r) => Number(r[claim.x]) >= claim.x_min!),
    claim.per,
  );
  if (grouped.size === 0) return { ...base, status: 'error', expected, reason: NO_ROWS };
  const target: Interval = [claim.expect.target - claim.expect.tol, claim.expect.target + claim.expect.tol];
  const parts: { text: string; verdict: Verdict }[] = [];
  for (const [key, all] of grouped) {
    const rs =
      claim.largest === undefined
        ? all
        : [...all].sort((a, b) => Number(a[claim.x]) - Number(b[claim.x])).slice(-claim.largest);
    try {
      const f = logLogSlope(
        rs.map((r) => Number(r[claim.x])),
        rs.map((r) => Number(r[claim.y])),
      );
      const ends = endpointSlope(rs, claim.x, claim.y);
      const half = Number.isFinite(f.slopeSe) ? tCritical(0.95, rs.length - 2) * f.slopeSe : 0;
      const iv: Interval = ends?.interval ?? [f.slope - half, f.slope + half];
      const text = ends
        ? `${fmt(ends.slope)}${showInterval(iv)} from ${claim.x} = ${ends.from} to ${ends.to} (least squares ${fmt(f.slope)})`
        : `${fmt(f.slope)}${Number.isFinite(f.slopeSe) ? showInterval(iv) : ` (${rs.length} points: no interval)`}`;
      parts.push({ text: `${key ? `${key}: ` : ''}${text}`, verdict: decide(iv, target) });
    } catch (e) {
      return { ...base, status: 'error', expected, reason: `${key}: ${(e as Error).message}` };
    }
  }
  const verdict = combine(parts.map((p) => p.verdict));
  const reason = () =>
    `the slope's 95% interval straddles an edge of [${fmt(target[0])}, ${fmt(target[1])}]: ${parts
      .filter((p) => p.verdict === 'inconclusive')
      .map((p) => p.text)
      .join('; ')}`;
  return result(base, verdict, { expected, measured: parts.map((p) => p.text).join('; ') }, reason, ctx.cure);
}

/**
 * Where the rows carry y's interval (<y>_ci_low, <y>_ci_high: a Monte Carlo estimate's), the slope between the
 * smallest and largest x with the interval its ends allow, [log(low_last / high_first), log(high_last / low_first)]
 * ÷ log(x_last / x_first): the noise of the estimates themselves, which a few points' residuals estimate poorly
 * (three points leave a t on one degree of freedom). Null where they do not.
 */
function endpointSlope(
  rows: readonly Row[],
  x: string,
  y: string,
): { slope: number; interval: Interval; from: number; to: number } | null {
  const sorted = [...rows].sort((a, b) => Number(a[x]) - Number(b[x]));
  const [first, last] = [sorted[0], sorted[sorted.length - 1]];
  const [lo, hi] = [`${y}_ci_low`, `${y}_ci_high`];
  if (!first || !last || first === last) return null;
  const ends = [first[lo], first[hi], last[lo], last[hi]];
  if (!ends.every((v) => typeof v === 'number' && v > 0)) return null;
  const [fl, fh, ll, lh] = ends as number[];
  const span = Math.log(Number(last[x]) / Number(first[x]));
  return {
    slope: Math.log(Number(last[y]) / Number(first[y])) / span,
    interval: [Math.log(ll! / fh!) / span, Math.log(lh! / fl!) / span],
    from: Number(first[x]),
    to: Number(last[x]),
  };
}

const groups = (rows: readonly Row[], per: readonly string[]): Map<string, Row[]> =>
  groupBy(rows, (r) => per.map((c) => `${c}=${r[c]}`).join(', '));

/**
 * spread: (max − min)/mean below a bound per group, its interval from the rows' intervals (at least
 * (max low − min high)⁺/mean, at most (max high − min low)/mean); monotone: each step along x up (or down) by its
 * intervals (a step passes when the intervals do not overlap, fails when they overlap the wrong way round).
 */
function evaluateShape(
  claim: Extract<Claim, { kind: 'spread' | 'monotone' }>,
  rows: readonly Row[],
  base: Base,
  ctx: ClaimContext,
): ClaimResult {
  const per = claim.per.length ? ` per ${claim.per.join(', ')}` : '';
  const expected =
    claim.kind === 'spread'
      ? `(max − min)/mean of ${claim.column} < ${claim.below}${per}`
      : `${claim.y} strictly ${claim.direction} in ${claim.x}${per}`;
  if (rows.length === 0) return { ...base, status: 'error', expected, reason: NO_ROWS };
  const interval = rowInterval(claim.kind === 'spread' ? claim.column : claim.y, rows);
  const parts: { text: string; verdict: Verdict }[] = [];
  for (const [key, rs] of groups(rows, claim.per)) {
    const part = claim.kind === 'spread' ? spreadOf(claim, rs, interval) : stepsOf(claim, rs, interval);
    parts.push({ ...part, text: `${key ? `${key}: ` : ''}${part.text}` });
  }
  const verdict = combine(parts.map((p) => p.verdict));
  const reason = () =>
    `intervals overlap at an edge: ${parts
      .filter((p) => p.verdict === 'inconclusive')
      .map((p) => p.text)
      .join('; ')}`;
  return result(base, verdict, { expected, measured: parts.map((p) => p.text).join('; ') }, reason, ctx.cure);
}

function spreadOf(
  claim: Extract<Claim, { kind: 'spread' }>,
  rs: readonly Row[],
  interval: (r: Row) => Interval,
): { text: string; verdict: Verdict } {
  const v = rs.map((r) => Number(r[claim.column]));
  const iv = rs.map(interval);
  const mean = Math.abs(v.reduce((s, x) => s + x, 0) / v.length);
  const spread = (Math.max(...v) - Math.min(...v)) / mean;
  const [lows, highs] = [iv.map((i) => i[0]), iv.map((i) => i[1])];
  const range: Interval = [
    Math.max(0, Math.max(...lows) - Math.min(...highs)) / mean,
    (Math.max(...highs) - Math.min(...lows)) / mean,
  ];
  const verdict = range[1] < claim.below ? 'pass' : range[0] >= claim.below ? 'fail' : 'inconclusive';
  return { text: `${fmt(spread, 3)}${showInterval(range, 3)}`, verdict };
}

function stepsOf(
  claim: Extract<Claim, { kind: 'monotone' }>,
  rs: readonly Row[],
  interval: (r: Row) => Interval,
): { text: string; verdict: Verdict } {
  const sorted = [...rs].sort((a, b) => Number(a[claim.x]) - Number(b[claim.x]));
  // Decreasing is increasing in −y.
  const sign = claim.direction === 'decreasing' ? -1 : 1;
  const iv = sorted.map((r) => {
    const [a, b] = interval(r);
    return sign > 0 ? [a, b] : [-b, -a];
  });
  const steps: Verdict[] = iv.map((cur, i) => {
    if (i === 0) return 'pass';
    const prev = iv[i - 1]!;
    return cur[0]! > prev[1]! ? 'pass' : cur[1]! <= prev[0]! ? 'fail' : 'inconclusive';
  });
  const verdict = combine(steps);
  const at = steps.findIndex((s) => s === verdict);
  const text =
    verdict === 'pass'
      ? `${sorted.length} steps ${claim.direction}`
      : `${verdict === 'fail' ? 'not' : 'undecided'} at ${claim.x} = ${sorted[at]![claim.x]}`;
  return { text, verdict };
}

/**
 * Evaluate every claim; `tables` holds results and the simulation's analysis tables by name. `cure` gives each claim
 * the cure its inconclusive verdict prints (timing claims: quieter machine or more rounds).
 */
export function evaluateClaims(
  claims: readonly Claim[],
  tables: Readonly<Record<string, readonly Row[]>>,
  params: readonly string[] = [],
  cure?: (claim: Claim) => string,
): ClaimResult[] {
  return claims.map((c) => evaluateClaim(c, tables[c.table] ?? [], { params, ...(cure ? { cure: cure(c) } : {}) }));
}
