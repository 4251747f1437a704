import type { Experiment } from '../spec/schema.js';
import type { Analysis, Row, Simulation } from '../sim/types.js';
import type { ClaimResult } from '../spec/claims.js';
import type { Manifest } from '../types/manifest.js';
import { buildChartSpec } from '../spec/charts.js';
import { flatCell, toCsv } from './csv.js';
import { renderReport, type ReportFigure } from './html.js';
import { isTimingClaim } from '../spec/claims.js';
import { renderSvg, svgToPng } from './render.js';
import { vendorFiles, withZoom } from './interactive.js';

export interface BuildInput {
  experiment: Experiment;
  sim: Simulation;
  rows: readonly Row[];
  analysis: Analysis;
  claims: readonly ClaimResult[];
  manifest: Manifest;
  axes: Record<string, readonly unknown[]>;
}

/** claims.csv: one row per claim, its verdict, what it expected and measured, and why it could not tell. */
export const CLAIMS_COLUMNS = ['id', 'status', 'expected', 'measured', 'reason', 'cure', 'text'] as const;

function claimCsvRow(c: ClaimResult): Row {
  return {
    id: c.id,
    status: c.status,
    expected: c.expected,
    measured: c.status === 'error' ? null : c.measured,
    reason: c.status === 'error' || c.status === 'inconclusive' ? c.reason : null,
    cure: c.status === 'inconclusive' ? c.cure : null,
    text: c.text,
  };
}

/** Every output file of a run, as relative path → contents. Writing them is the store's job. */
export async function buildOutputs(input: BuildInput): Promise<Map<string, string | Buffer>> {
  const files = new Map<string, string | Buffer>();
  files.set('results.csv', toCsv(input.sim.columns, input.rows));
  for (const [name, t] of Object.entries(input.analysis.tables)) files.set(`${name}.csv`, toCsv(t.columns, t.rows));
  files.set('claims.csv', toCsv(CLAIMS_COLUMNS, input.claims.map(claimCsvRow)));
  // Charts see one dataset: every results row and analysis row, tagged with its table.
  const data = [
    ...input.rows.map((r) => ({
      table: 'results',
      ...Object.fromEntries(Object.entries(r).map(([k, v]) => [k, flatCell(v)])),
    })),
    ...Object.entries(input.analysis.tables).flatMap(([name, t]) => t.rows.map((r) => ({ table: name, ...r }))),
  ];
  const figures: ReportFigure[] = [];
  for (const chart of input.experiment.charts) {
    const spec = buildChartSpec(chart, data, input.experiment.labels);
    const svg = await renderSvg(spec);
    files.set(`charts/${chart.id}.vl.json`, `${JSON.stringify(spec, null, 1)}\n`);
    // The slides variant, where the chart has one: what `figures --theme slides` draws.
    if (chart.slides)
      files.set(
        `charts/${chart.id}.slides.vl.json`,
        `${JSON.stringify(buildChartSpec({ ...chart, spec: chart.slides }, data, input.experiment.labels), null, 1)}\n`,
      );
    files.set(`figures/${chart.id}.svg`, svg);
    files.set(`figures/${chart.id}.png`, svgToPng(svg));
    figures.push({ id: chart.id, title: chart.title, description: chart.description, svg, spec: withZoom(spec) });
  }
  for (const [rel, data] of vendorFiles()) files.set(rel, data);
  files.set(
    'report.html',
    renderReport({
      experiment: input.experiment,
      manifest: input.manifest,
      claims: input.claims,
      figures,
      axes: input.axes,
      rowCount: input.rows.length,
      analysis: input.analysis,
      timingClaims: new Set(input.experiment.claims.filter((c) => isTimingClaim(c, input.sim)).map((c) => c.id)),
    }),
  );
  return files;
}
