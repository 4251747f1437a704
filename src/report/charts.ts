import { compile, type TopLevelSpec } from 'vega-lite';
import { AttnlabError, type SourceLocation } from '../errors.js';
import { msg } from '../messages.js';
import type { Chart } from '../spec/schema.js';
import type { Row } from '../sim/types.js';
import { plainText } from './math.js';
import { CHART_SIZE, chartConfig } from './theme.js';

/** Composite views size their own cells; only single and layered views get the default size. */
const COMPOSITE = ['facet', 'repeat', 'concat', 'hconcat', 'vconcat'];

/** A complete Vega-Lite spec: the experiment's fragment with data, size, title and theme injected. */
export function buildChartSpec(chart: Chart, rows: readonly Row[]): TopLevelSpec {
  const fragment = chart.spec;
  const sized = COMPOSITE.some((k) => k in fragment) ? {} : { ...CHART_SIZE };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    // SVG, PNG and PDF have no TeX: titles get its plain-text form.
    title: plainText(chart.title),
    ...(chart.description ? { description: plainText(chart.description) } : {}),
    ...sized,
    ...fragment,
    data: { values: rows.map((r) => ({ ...r })) },
    config: { ...chartConfig, ...((fragment['config'] as object | undefined) ?? {}) },
  } as TopLevelSpec;
}

/** Compile every fragment with empty data, so a broken chart fails at load time, before any work. */
export function checkCharts(charts: readonly Chart[], locate: (index: number) => SourceLocation): void {
  charts.forEach((chart, i) => {
    try {
      compile(buildChartSpec(chart, []));
    } catch (e) {
      throw new AttnlabError('BAD_CHART', msg.badChart(chart.id, (e as Error).message), locate(i));
    }
  });
}
