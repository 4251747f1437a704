/**
 * Derived tables and findings of the ablation records:
 * - ablation: every loss effect, with the ablated head's label, the delta as its heat-map cell writes it, and `shown`
 *   (the probe and T the report draws: repeated at its largest T where the grid has it, else the first probe's);
 * - composition: every effect of an ablation on a score of a head above it, with both heads' layers and heads, and
 *   `best`: whether that head has its layer's highest clean value of the score (a claim on "layer 1's best induction
 *   score" reads that row).
 * Findings name, for the first ablation mode and the trained model, the head whose removal raises the loss most (and
 * how far behind the next one is), each named set, and which ablation cuts the top induction head's score most.
 */
import type { Row, Table } from '../types.js';
import type { MapsRow } from './rows.js';

export const ABLATION_COLUMNS = [
  'model',
  'probe',
  'T',
  'ablation',
  'ablated',
  'set',
  'layer',
  'head',
  'measure',
  'clean',
  'ablated_value',
  'delta',
  'ci_low',
  'ci_high',
  'text',
  'shown',
] as const;
export const COMPOSITION_COLUMNS = [
  'model',
  'probe',
  'T',
  'ablation',
  'ablated',
  'ablated_layer',
  'ablated_head',
  'layer',
  'head',
  'label',
  'score',
  'clean',
  'ablated_value',
  'delta',
  'ci_low',
  'ci_high',
  'ratio',
  'ratio_ci_low',
  'ratio_ci_high',
  'best',
  'text',
  'shown',
] as const;

const LABEL = /^L(\d+)H(\d+)$/;
const fmt = (x: number) => (Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(2));
const ci = (r: MapsRow) =>
  `${fmt(r.delta!)}${r.delta_ci_low !== null ? ` [${fmt(r.delta_ci_low)}, ${fmt(r.delta_ci_high!)}]` : ''}`;

/** The probe and T the report shows ablations at. */
export function ablationShown(rows: readonly MapsRow[]): { probe: string; T: number } | null {
  const probes = [...new Set(rows.map((r) => r.probe))];
  const probe = probes.includes('repeated') ? 'repeated' : probes[0];
  if (probe === undefined) return null;
  return { probe, T: Math.max(...rows.filter((r) => r.probe === probe).map((r) => r.T)) };
}

export function ablationTables(all: readonly MapsRow[]): { tables: Record<string, Table>; findings: string[] } {
  const loss = all.filter((r) => r.record === 'loss');
  const comp = all.filter((r) => r.record === 'composition');
  const at = ablationShown([...loss, ...comp]);
  const isShown = (r: MapsRow) => at !== null && r.probe === at.probe && r.T === at.T;
  const ablationRows: Row[] = loss.map((r) => ({
    model: r.model,
    probe: r.probe,
    T: r.T,
    ablation: r.ablation,
    ablated: r.ablated,
    set: r.layer === null,
    layer: r.layer,
    head: r.head,
    measure: r.measure,
    clean: r.clean,
    ablated_value: r.ablated_value,
    delta: r.delta,
    ci_low: r.delta_ci_low,
    ci_high: r.delta_ci_high,
    text: r.delta === null ? '' : fmt(r.delta),
    shown: isShown(r),
  }));
  const best = bestHeads(comp);
  const compositionRows: Row[] = comp.map((r) => {
    const m = LABEL.exec(r.ablated ?? '');
    return {
      model: r.model,
      probe: r.probe,
      T: r.T,
      ablation: r.ablation,
      ablated: r.ablated,
      ablated_layer: m ? Number(m[1]) : null,
      ablated_head: m ? Number(m[2]) : null,
      layer: r.layer,
      head: r.head,
      label: `L${r.layer}H${r.head}`,
      score: r.measure,
      clean: r.clean,
      ablated_value: r.ablated_value,
      delta: r.delta,
      ci_low: r.delta_ci_low,
      ci_high: r.delta_ci_high,
      ratio: r.ratio,
      ratio_ci_low: r.ratio_ci_low,
      ratio_ci_high: r.ratio_ci_high,
      best: best.has(r),
      text: r.delta === null ? '' : fmt(r.delta),
      shown: isShown(r),
    };
  });
  return {
    tables: {
      ablation: { columns: ABLATION_COLUMNS, rows: ablationRows },
      composition: { columns: COMPOSITION_COLUMNS, rows: compositionRows },
    },
    findings: at ? [...lossFindings(loss, at), ...compositionFindings(comp, at)] : [],
  };
}

/** Composition rows of the head with its layer's highest clean value of the score (per model, point, mode, ablation). */
function bestHeads(comp: readonly MapsRow[]): Set<MapsRow> {
  const top = new Map<string, MapsRow>();
  for (const r of comp) {
    const key = [r.model, r.probe, r.T, r.ablation, r.ablated, r.layer, r.measure].join('|');
    const cur = top.get(key);
    if (!cur || r.clean! > cur.clean!) top.set(key, r);
  }
  return new Set(top.values());
}

function lossFindings(loss: readonly MapsRow[], at: { probe: string; T: number }): string[] {
  const mode = loss.find((r) => r.model === 'trained')?.ablation;
  const measure = at.probe === 'repeated' ? 'second_copy' : 'all';
  const g = loss.filter(
    (r) =>
      r.model === 'trained' && r.ablation === mode && r.probe === at.probe && r.T === at.T && r.measure === measure,
  );
  const heads = g.filter((r) => r.layer !== null).sort((a, b) => b.delta! - a.delta!);
  const [first, second] = heads;
  if (!first) return [];
  const what = measure === 'second_copy' ? 'the second-copy loss' : 'the loss';
  const where = `(${mode} ablation, ${at.probe} probe, T=${at.T}, ${first.sequences} sequences; clean ${fmt(first.clean!)} nats per token)`;
  const out = [
    `Ablating ${first.ablated} raises ${what} by ${ci(first)} nats ${where}${second ? `; no other single head raises it by more than ${fmt(second.delta!)} (${second.ablated})` : ''}.`,
  ];
  const sets = g.filter((r) => r.layer === null);
  if (sets.length)
    out.push(`Head sets, ${what}: ${sets.map((r) => `${r.ablated} +${ci(r)}`).join('; ')} nats ${where}.`);
  return out;
}

function compositionFindings(comp: readonly MapsRow[], at: { probe: string; T: number }): string[] {
  const mode = comp.find((r) => r.model === 'trained')?.ablation;
  const score = at.probe === 'repeated' ? 'induction_score' : 'previous_token_score';
  const g = comp.filter(
    (r) => r.model === 'trained' && r.ablation === mode && r.probe === at.probe && r.T === at.T && r.measure === score,
  );
  const target = [...g].sort((a, b) => b.clean! - a.clean!)[0];
  if (!target) return [];
  const label = `L${target.layer}H${target.head}`;
  const onIt = g.filter((r) => r.layer === target.layer && r.head === target.head).sort((a, b) => a.delta! - b.delta!);
  const worst = onIt[0]!;
  const ratio =
    worst.ratio !== null
      ? `, ×${fmt(worst.ratio)}${worst.ratio_ci_low !== null ? ` [${fmt(worst.ratio_ci_low)}, ${fmt(worst.ratio_ci_high!)}]` : ''}`
      : '';
  return [
    `Composition: ablating ${worst.ablated} (${mode}) moves ${label}'s ${score} from ${fmt(worst.clean!)} to ${fmt(worst.ablated_value!)} (${ci(worst)}${ratio}), the largest drop of any ablation (${at.probe} probe, T=${at.T}).`,
  ];
}
