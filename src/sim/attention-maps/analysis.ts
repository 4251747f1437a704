/**
 * Derived tables of attention-maps:
 * - heads: every head's scores in long form (one row per model × probe × T × layer × head × score), with the label
 *   L<layer>H<head>, the value as the heat maps write it in its cell, and `shown`: whether the report's heat map of
 *   that score draws this probe and T;
 * - top_heads: the three highest heads of each score (the lowest for entropy_ratio) at every probe and T;
 * - maps: the attention map of the top head of each score at its shown probe and T, with token labels (every chart
 *   carries every table, so only the top head's; results.csv holds the maps of the point's top map_heads heads).
 * Which probe a score is shown on: induction_score and duplicate_token_score on `repeated` where the grid has it,
 * the others on the first of text, tokens, random, repeated in the grid; always at its largest T.
 */
import type { Analysis, HeadView, Row } from '../types.js';
import type { MapsRow } from './rows.js';
import { SCORES, type Score } from './scores.js';
import { ablationTables } from './analysis-ablation.js';

export const HEAD_COLUMNS = [
  'model',
  'probe',
  'T',
  'layer',
  'head',
  'label',
  'score',
  'mean',
  'ci_low',
  'ci_high',
  'text',
  'shown',
] as const;
export const TOP_COLUMNS = [
  'model',
  'probe',
  'T',
  'score',
  'rank',
  'layer',
  'head',
  'label',
  'mean',
  'ci_low',
  'ci_high',
] as const;
export const MAP_COLUMNS = ['score', 'panel', 'query', 'key', 'weight', 'query_label', 'key_label'] as const;

/** Thresholds the findings name a head by (a sink: Gu et al. 2025; the others: most of a query's weight). */
export const THRESHOLDS: Partial<Record<Score, { value: number; kind: string }>> = {
  previous_token_score: { value: 0.5, kind: 'a previous-token head' },
  next_token_score: { value: 0.5, kind: 'a next-token head' },
  first_token_mass: { value: 0.3, kind: 'a sink head (first-token mass above 0.3)' },
  duplicate_token_score: { value: 0.5, kind: 'a duplicate-token head' },
  induction_score: { value: 0.5, kind: 'an induction head' },
};

export const headLabel = (layer: number, head: number) => `L${layer}H${head}`;
/** A row of the head record: one head's scores. */
export type HeadRow = MapsRow & { layer: number; head: number };
export const headRows = (rows: readonly MapsRow[]): HeadRow[] =>
  rows.filter((r): r is HeadRow => r.record === 'head' && r.layer !== null && r.head !== null);
const ranksLow = (score: Score) => score === 'entropy_ratio';
const f2 = (x: number) => (Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(2));
const interval = (r: { mean: number; ci_low: number | null; ci_high: number | null }) =>
  `${r.mean.toFixed(3)}${r.ci_low !== null && r.ci_high !== null ? ` [${r.ci_low.toFixed(3)}, ${r.ci_high.toFixed(3)}]` : ''}`;

/** The probe and T each score's heat map and maps show. */
export function shownPoint(rows: readonly MapsRow[], score: Score): { probe: string; T: number } | null {
  const probes = new Set(rows.map((r) => r.probe));
  const order =
    score === 'induction_score' || score === 'duplicate_token_score'
      ? ['repeated', 'text', 'tokens', 'random']
      : ['text', 'tokens', 'random', 'repeated'];
  const probe = order.find((p) => probes.has(p) && rows.some((r) => r.probe === p && r[score] !== null));
  if (!probe) return null;
  return { probe, T: Math.max(...rows.filter((r) => r.probe === probe).map((r) => r.T)) };
}

/** The heads table: every head's every score, marked `shown` at the probe and T its heat map draws. */
function headTable(rows: readonly HeadRow[], shown: ReadonlyMap<Score, { probe: string; T: number } | null>): Row[] {
  const heads: Row[] = [];
  for (const r of rows) {
    for (const score of SCORES) {
      const mean = r[score];
      if (mean === null) continue;
      const at = shown.get(score);
      heads.push({
        model: r.model,
        probe: r.probe,
        T: r.T,
        layer: r.layer,
        head: r.head,
        label: headLabel(r.layer, r.head),
        score,
        mean,
        ci_low: r[`${score}_ci_low`],
        ci_high: r[`${score}_ci_high`],
        text: f2(mean),
        shown: at !== null && at !== undefined && at.probe === r.probe && at.T === r.T,
      });
    }
  }
  return heads;
}

/** A group's heads that have the score, best first (lowest first for entropy_ratio), ties by layer and head. */
const ranked = (g: readonly HeadRow[], score: Score) =>
  g
    .filter((r) => r[score] !== null)
    .sort(
      (a, b) =>
        (ranksLow(score) ? a[score]! - b[score]! : b[score]! - a[score]!) || a.layer - b.layer || a.head - b.head,
    );

/** The top_heads table: the three best heads of each score at every model, probe and T. */
function topHeadTable(rows: readonly HeadRow[]): Row[] {
  const top: Row[] = [];
  const groups = new Map<string, HeadRow[]>();
  for (const r of rows)
    groups.set(`${r.model}|${r.probe}|${r.T}`, [...(groups.get(`${r.model}|${r.probe}|${r.T}`) ?? []), r]);
  for (const g of groups.values()) {
    for (const score of SCORES) {
      ranked(g, score)
        .slice(0, 3)
        .forEach((r, i) => {
          top.push({
            model: r.model,
            probe: r.probe,
            T: r.T,
            score,
            rank: i + 1,
            layer: r.layer,
            head: r.head,
            label: headLabel(r.layer, r.head),
            mean: r[score],
            ci_low: r[`${score}_ci_low`],
            ci_high: r[`${score}_ci_high`],
          });
        });
    }
  }
  return top;
}

const scoreInterval = (r: HeadRow, score: Score) =>
  interval({ mean: r[score]!, ci_low: r[`${score}_ci_low`], ci_high: r[`${score}_ci_high`] });

/** Whether the best trained head passes the score's threshold (and which others do), or that none does. */
function thresholdFinding(g: readonly HeadRow[], score: Score, at: { probe: string; T: number }): string | null {
  const th = THRESHOLDS[score];
  if (!th) return null;
  const best = g[0]!;
  const above = g.filter((r) => r[score]! > th.value);
  const where = `(${at.probe} probe, T=${at.T}, ${best.sequences} sequences)`;
  if (above.length) {
    const others = above.slice(1, 6).map((r) => `${headLabel(r.layer, r.head)} ${r[score]!.toFixed(2)}`);
    return `${headLabel(best.layer, best.head)} is ${th.kind}: ${scoreInterval(best, score)} ${where}${others.length ? `; also above ${th.value}: ${others.join(', ')}${above.length > 6 ? `, and ${above.length - 6} more` : ''}` : ''}.`;
  }
  return `No head is ${th.kind}: the highest ${score} is ${headLabel(best.layer, best.head)}'s, ${scoreInterval(best, score)} ${where}.`;
}

/** The maps table's panel for a score: the top head's map, on the point's map sequence. */
function topHeadMap(best: HeadRow, score: Score, at: { probe: string; T: number }): Row[] {
  const maps: Row[] = [];
  if (!best.map || !best.map_tokens) return maps;
  const t = Math.round(Math.sqrt(best.map.length));
  const tokens = JSON.parse(best.map_tokens) as string[];
  const panel = `${score}: ${headLabel(best.layer, best.head)} (${f2(best[score]!)}, ${at.probe}, T=${at.T})`;
  for (let q = 0; q < t; q++) {
    for (let k = 0; k < t; k++)
      maps.push({
        score,
        panel,
        query: q,
        key: k,
        weight: best.map[q * t + k]!,
        query_label: `${q} ${tokens[q] ?? ''}`,
        key_label: `${k} ${tokens[k] ?? ''}`,
      });
  }
  return maps;
}

export function analyseMaps(all: readonly MapsRow[], baseline = 'weight matrices permuted'): Analysis {
  const rows = headRows(all);
  const maps: Row[] = [];
  const summary: string[] = [];
  const findings: string[] = [];
  const shown = new Map(SCORES.map((s) => [s, shownPoint(rows, s)]));
  const trained = rows.filter((r) => r.model === 'trained');
  for (const score of SCORES) {
    const at = shown.get(score);
    if (!at) continue;
    const g = ranked(
      trained.filter((r) => r.probe === at.probe && r.T === at.T),
      score,
    );
    const best = g[0];
    if (!best) continue;
    summary.push(
      `${score} (${at.probe}, T=${at.T}): ${g
        .slice(0, 3)
        .map((r) => `${headLabel(r.layer, r.head)} ${scoreInterval(r, score)}`)
        .join('; ')}`,
    );
    const finding = thresholdFinding(g, score, at);
    if (finding !== null) findings.push(finding);
    maps.push(...topHeadMap(best, score, at));
  }
  findings.push(...logitFindings(rows, baseline));
  const ablation = ablationTables(all);
  const headView = headViewOf(rows);
  findings.push(...ablation.findings);
  return {
    tables: {
      heads: { columns: HEAD_COLUMNS, rows: headTable(rows, shown) },
      top_heads: { columns: TOP_COLUMNS, rows: topHeadTable(rows) },
      maps: { columns: MAP_COLUMNS, rows: maps },
      ...ablation.tables,
    },
    summary,
    findings,
    ...(headView.sequences.length ? { headView } : {}),
  };
}

/** The head view's sequences: each trained point whose every head kept its map (settings.head_view). */
function headViewOf(rows: readonly HeadRow[]): HeadView {
  const points = new Map<string, HeadRow[]>();
  for (const r of rows.filter((x) => x.model === 'trained'))
    points.set(`${r.probe}|${r.T}`, [...(points.get(`${r.probe}|${r.T}`) ?? []), r]);
  const sequences: HeadView['sequences'] = [];
  for (const g of points.values()) {
    if (!g.every((r) => r.map && r.map_tokens)) continue;
    const tokens = JSON.parse(g[0]!.map_tokens!) as string[];
    const maps: number[][][] = [];
    for (const r of g) (maps[r.layer] ??= [])[r.head] = r.map!;
    // Labels show spaces as ·: joined, they read back as the text (WordPiece pieces are joined by spaces).
    const text = tokens.some((t) => t.includes('·')) ? tokens.join('').replace(/·/g, ' ') : tokens.join(' ');
    const { probe, T } = g[0]!;
    sequences.push({
      title: `${probe}, T=${T} (map on ${tokens.length} tokens)`,
      text: probe === 'text' ? text : null,
      tokens,
      maps,
    });
  }
  return { sequences };
}

/** The logits' variance against 1, and the untrained baseline's entropy against the trained model's. */
function logitFindings(rows: readonly MapsRow[], baseline: string): string[] {
  const out: string[] = [];
  const at = shownPoint(rows, 'logit_var');
  const pick = (model: MapsRow['model'], score: Score) =>
    at
      ? rows
          .filter((r) => r.model === model && r.probe === at.probe && r.T === at.T && r[score] !== null)
          .map((r) => r[score]!)
          .sort((a, b) => a - b)
      : [];
  const med = (xs: number[]) => xs[Math.floor(xs.length / 2)]!;
  const trained = pick('trained', 'logit_var');
  if (at && trained.length) {
    const above = trained.filter((v) => v > 2).length;
    out.push(
      `Pre-softmax logits (after scale and mask) have a variance per head from ${f2(trained[0]!)} to ${f2(trained.at(-1)!)}, median ${f2(med(trained))} (${at.probe} probe, T=${at.T}), against 1 for √d-scaled logits of independent unit-variance q and k; ${above} of ${trained.length} heads are above 2.`,
    );
  }
  const eAt = shownPoint(rows, 'entropy_ratio');
  if (eAt) {
    const ent = (model: MapsRow['model']) =>
      rows
        .filter((r) => r.model === model && r.probe === eAt.probe && r.T === eAt.T && r.entropy_ratio !== null)
        .map((r) => r.entropy_ratio!)
        .sort((a, b) => a - b);
    const [t, u] = [ent('trained'), ent('untrained')];
    if (t.length && u.length) {
      out.push(
        `Untrained (${baseline}): entropy ÷ ln(keys) from ${u[0]!.toFixed(3)} to ${u.at(-1)!.toFixed(3)} (median ${med(u).toFixed(3)}; 1 is uniform), against ${t[0]!.toFixed(3)} to ${t.at(-1)!.toFixed(3)} (median ${med(t).toFixed(3)}) trained (${eAt.probe} probe, T=${eAt.T}).`,
      );
    }
  }
  return out;
}
