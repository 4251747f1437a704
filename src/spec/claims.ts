import type { Claim, ClaimTest } from './schema.js';
import type { Cell, Row } from '../sim/types.js';
import { logLogSlope } from '../stats/fit.js';
import { groupBy } from '../stats/group.js';
import { zCritical } from '../stats/normal.js';

/** The columns a claim reads (its where-keys aside): what loading checks exist and what makes a claim a timing one. */
export function claimColumns(c: Claim): string[] {
  const bounds =
    'test' in c && 'between' in c.test ? c.test.between.filter((b): b is string => typeof b === 'string') : [];
  return c.kind === 'slope' || c.kind === 'monotone'
    ? [c.x, c.y, ...c.per]
    : c.kind === 'spread'
      ? [c.column, ...c.per]
      : [c.test.column, ...bounds];
}

/** Claims whose verdict rests on timings or memory readings: on the measured columns, or on tables derived from them. */
export function isTimingClaim(claim: Claim, sim: { timing: boolean; measuredColumns: readonly string[] }): boolean {
  return sim.timing && (claim.table !== 'results' || claimColumns(claim).some((c) => sim.measuredColumns.includes(c)));
}

/** The outcome of one claim; `status` tags the union (the tinybench habit). */
export type ClaimResult =
  | { status: 'pass' | 'fail'; id: string; text: string; expected: string; measured: string; values?: string }
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

export function selectRows(rows: readonly Row[], where: Record<string, Cell | Cell[]>): Row[] {
  return rows.filter((r) =>
    Object.entries(where).every(([k, want]) => (Array.isArray(want) ? want.includes(r[k] ?? null) : r[k] === want)),
  );
}

interface TestDescription {
  expected: string;
  pass: (r: Row) => boolean;
  /** How far a row is from failing, larger is worse (positive: it fails); the worst row is named in the verdict. */
  badness: (r: Row) => number;
  /** The tested value of a row as the verdict shows it. */
  shown: (r: Row) => string;
}

function describeTest(t: ClaimTest, rows: number): TestDescription {
  const num = (r: Row, c: string): number => Number(r[c]);
  if ('between' in t) {
    const [lo, hi] = t.between;
    const bound = (r: Row, b: string | number) => (typeof b === 'number' ? b : num(r, b));
    const bounds = typeof lo === 'number' && typeof hi === 'number';
    return {
      expected: `${lo} ≤ ${t.column} ≤ ${hi}`,
      pass: (r) => bound(r, lo) <= num(r, t.column) && num(r, t.column) <= bound(r, hi),
      // Distance outside the interval, in units of its width where it has one (column bounds: an interval per row).
      badness: (r) => {
        const [a, b, v] = [bound(r, lo), bound(r, hi), num(r, t.column)];
        return Math.max(a - v, v - b) / (b > a ? b - a : 1);
      },
      shown: (r) =>
        bounds
          ? `${t.column} = ${fmt(num(r, t.column), 4)}`
          : `${t.column} = ${fmt(num(r, t.column), 4)} in [${fmt(bound(r, lo), 4)}, ${fmt(bound(r, hi), 4)}]`,
    };
  }
  const bound = 'abs_below' in t ? t.abs_below : zCritical(1 - t.abs_below_bonferroni / Math.max(rows, 1));
  const label =
    'abs_below' in t
      ? `|${t.column}| < ${t.abs_below}`
      : `|${t.column}| < ${fmt(bound, 4)} (Bonferroni, α = ${t.abs_below_bonferroni} over ${rows} rows)`;
  return {
    expected: label,
    pass: (r) => Math.abs(num(r, t.column)) < bound,
    badness: (r) => Math.abs(num(r, t.column)),
    shown: (r) => `max |${t.column}| = ${fmt(Math.abs(num(r, t.column)), 4)}`,
  };
}

/** The verdict's tail: the worst row's value and where it is (or, when every row has the same value, that value). */
function worstOf(t: TestDescription, rows: readonly Row[], label: RowLabel): string {
  const worst = rows.reduce((w, r) => (t.badness(r) > t.badness(w) ? r : w), rows[0]!);
  const same = rows.every((r) => t.shown(r) === t.shown(worst));
  const where = label(worst);
  return `; ${same && rows.length > 1 ? `every ${t.shown(worst).replace(/^max /, '')}` : `${t.pass(worst) ? 'closest to the bound' : 'worst'}: ${t.shown(worst)}${where ? ` at ${where}` : ''}`}`;
}

/** Evaluate one claim on its table's rows. Pure: same rows, same verdict. */
export function evaluateClaim(claim: Claim, rows: readonly Row[], params: readonly string[] = []): ClaimResult {
  const base = { id: claim.id, text: claim.text };
  // Skipped points (a null in a tested column) are not evidence either way.
  const used =
    claim.kind === 'slope' || claim.kind === 'monotone'
      ? [claim.x, claim.y]
      : claim.kind === 'spread'
        ? [claim.column]
        : [claim.test.column];
  const selected = selectRows(rows, claim.where).filter((r) => used.every((c) => r[c] !== null && r[c] !== undefined));
  if (claim.kind === 'fraction') {
    const t = describeTest(claim.test, selected.length);
    const label = paramLabel(params, selected);
    const expected = `${t.expected} for ≥ ${fmt(claim.at_least * 100, 3)}% of rows`;
    if (selected.length === 0) return { ...base, status: 'error', expected, reason: 'no rows match the claim’s where' };
    const ok = selected.filter(t.pass).length;
    const frac = ok / selected.length;
    const measured = `${ok}/${selected.length} rows (${fmt(frac * 100, 4)}%)${worstOf(t, selected, label)}`;
    const values = selected
      .map((r) => `${label(r) || '·'}: ${fmt(Number(r[claim.test.column]), 4)}${t.pass(r) ? '' : ' ✗'}`)
      .join('\n');
    return { ...base, status: frac >= claim.at_least ? 'pass' : 'fail', expected, measured, values };
  }
  if (claim.kind === 'spread' || claim.kind === 'monotone') return evaluateShape(claim, selected, base);
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
  if (grouped.size === 0) return { ...base, status: 'error', expected, reason: 'no rows match the claim’s where' };
  const parts: string[] = [];
  let allPass = true;
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
      allPass &&= Math.abs(f.slope - claim.expect.target) <= claim.expect.tol;
      parts.push(
        `${key ? `${key}: ` : ''}${fmt(f.slope, 4)}${Number.isFinite(f.slopeSe) ? ` ± ${fmt(f.slopeSe, 2)}` : ` (${rs.length} points: no standard error)`}`,
      );
    } catch (e) {
      return { ...base, status: 'error', expected, reason: `${key}: ${(e as Error).message}` };
    }
  }
  return { ...base, status: allPass ? 'pass' : 'fail', expected, measured: parts.join('; ') };
}

const groups = (rows: readonly Row[], per: readonly string[]): Map<string, Row[]> =>
  groupBy(rows, (r) => per.map((c) => `${c}=${r[c]}`).join(', '));

/** spread: (max − min)/mean below a bound per group; monotone: strictly up or down along x per group. */
function evaluateShape(
  claim: Extract<Claim, { kind: 'spread' | 'monotone' }>,
  rows: readonly Row[],
  base: { id: string; text: string },
): ClaimResult {
  const expected =
    claim.kind === 'spread'
      ? `(max − min)/mean of ${claim.column} < ${claim.below}${claim.per.length ? ` per ${claim.per.join(', ')}` : ''}`
      : `${claim.y} strictly ${claim.direction} in ${claim.x}${claim.per.length ? ` per ${claim.per.join(', ')}` : ''}`;
  if (rows.length === 0) return { ...base, status: 'error', expected, reason: 'no rows match the claim’s where' };
  const parts: string[] = [];
  let pass = true;
  for (const [key, rs] of groups(rows, claim.per)) {
    const label = key ? `${key}: ` : '';
    if (claim.kind === 'spread') {
      const v = rs.map((r) => Number(r[claim.column]));
      const mean = v.reduce((s, x) => s + x, 0) / v.length;
      const spread = (Math.max(...v) - Math.min(...v)) / Math.abs(mean);
      pass &&= spread < claim.below;
      parts.push(`${label}${fmt(spread, 3)}`);
    } else {
      const sorted = [...rs].sort((a, b) => Number(a[claim.x]) - Number(b[claim.x]));
      const ys = sorted.map((r) => Number(r[claim.y]));
      const bad = ys.findIndex(
        (y, i) => i > 0 && (claim.direction === 'decreasing' ? !(y < ys[i - 1]!) : !(y > ys[i - 1]!)),
      );
      pass &&= bad < 0;
      parts.push(
        `${label}${bad < 0 ? `${ys.length} steps ${claim.direction}` : `not at ${claim.x} = ${sorted[bad]![claim.x]}`}`,
      );
    }
  }
  return { ...base, status: pass ? 'pass' : 'fail', expected, measured: parts.join('; ') };
}

/** Evaluate every claim; `tables` holds results and the simulation's analysis tables by name. */
/**
 * Evaluate every claim; `tables` holds results and the simulation's analysis tables by name, and `params` the
 * column names that locate a row (the grid parameters, a seed), for the verdicts' "worst … at …".
 */
export function evaluateClaims(
  claims: readonly Claim[],
  tables: Readonly<Record<string, readonly Row[]>>,
  params: readonly string[] = [],
): ClaimResult[] {
  return claims.map((c) => evaluateClaim(c, tables[c.table] ?? [], params));
}
