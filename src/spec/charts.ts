import { compile, type TopLevelSpec } from 'vega-lite';
import { AttnlabError, type SourceLocation } from '../errors.js';
import { msg } from '../messages.js';
import type { Chart } from './schema.js';
import type { Row } from '../sim/types.js';
import { plainText } from './tex.js';
import { CHART_SIZE, chartConfig } from './theme.js';

/** Composite views size their own cells; only single and layered views get the default size. */
const COMPOSITE = ['facet', 'repeat', 'concat', 'hconcat', 'vconcat'];

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** How a label reads: the experiment's display name for a value (`labels`), else the value itself. */
const LABEL = (labels: boolean, of = 'datum.label') =>
  labels ? `(isValid(labels[${of}]) ? labels[${of}] : ${of})` : of;

/** The field a tooltip shows for `field` where its values have display names: computed by a transform (below). */
const named = (field: string) => `${field} (name)`;

/**
 * Readability the fragments need not spell out, applied to a copy: facet headers say which variable they are (`D = 64`,
 * unless a transform computed the field's values as labels already, like `b = 1`), legends of dash styles draw the
 * dashes (not a dot), and values with a display name (the experiment's `labels`) show it in legends, headers, the
 * labels of nominal and ordinal axes, and tooltips (`labeled`: the fields whose values have one).
 */
function readable(fragment: Json, labels: boolean, labeled: ReadonlySet<string> = new Set()): Json {
  // Fields a transform computes already read as labels (`'b = ' + datum.b`): their headers stay as they are.
  const computed = new Set<string>();
  const collect = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(collect);
    else if (isObject(node)) {
      if (typeof node['calculate'] === 'string' && typeof node['as'] === 'string') computed.add(node['as']);
      Object.values(node).forEach(collect);
    }
  };
  collect(fragment);
  const visit = (node: unknown, key?: string): unknown => {
    if (Array.isArray(node)) return node.map((x) => visit(x));
    if (!isObject(node)) return node;
    const out: Json = Object.fromEntries(Object.entries(node).map(([k, v]) => [k, visit(v, k)]));
    if (key === 'facet') {
      // A facet channel's header: `facet: { field }` itself, or its row and column.
      const channels: [string | null, unknown][] =
        typeof out['field'] === 'string' ? [[null, out]] : ['row', 'column', 'facet'].map((ch) => [ch, out[ch]]);
      for (const [ch, c] of channels) {
        if (!isObject(c) || typeof c['field'] !== 'string' || (isObject(c['header']) && 'labelExpr' in c['header']))
          continue;
        const name = c['title'] === null ? null : String(c['title'] ?? c['field']);
        // Headers see their value as datum.value (datum.label is not set on row and column headers).
        const label = LABEL(labels, 'datum.value');
        const labelExpr =
          name === null || computed.has(c['field']) ? label : `${JSON.stringify(`${name} = `)} + ${label}`;
        const channel = { ...c, title: null, header: { ...(isObject(c['header']) ? c['header'] : {}), labelExpr } };
        if (ch === null) return channel;
        out[ch] = channel;
      }
    }
    if (key === 'encoding') {
      // Tooltips show the display name in the field's place, under the field's own title.
      const tip = (t: unknown) =>
        isObject(t) && typeof t['field'] === 'string' && labeled.has(t['field'])
          ? { ...t, field: named(t['field']), title: t['title'] ?? t['field'] }
          : t;
      if (Array.isArray(out['tooltip'])) out['tooltip'] = out['tooltip'].map(tip);
      else if (isObject(out['tooltip'])) out['tooltip'] = tip(out['tooltip']);
      for (const ch of ['x', 'y']) {
        const c = out[ch];
        if (
          !isObject(c) ||
          typeof c['field'] !== 'string' ||
          !labeled.has(c['field']) ||
          c['axis'] === null ||
          !['nominal', 'ordinal'].includes(String(c['type']))
        )
          continue;
        const axis: Json = { ...(isObject(c['axis']) ? c['axis'] : {}) };
        if (!('labelExpr' in axis)) out[ch] = { ...c, axis: { ...axis, labelExpr: LABEL(true) } };
      }
      for (const ch of ['color', 'fill', 'stroke', 'shape', 'strokeDash']) {
        const c = out[ch];
        if (!isObject(c) || typeof c['field'] !== 'string' || c['legend'] === null) continue;
        const legend: Json = { ...(isObject(c['legend']) ? c['legend'] : {}) };
        if (labels && !('labelExpr' in legend)) legend['labelExpr'] = LABEL(true);
        // Dash styles drawn as dashes: a stroke symbol, solid, in one neutral colour (a dot would hide the dash).
        if (ch === 'strokeDash' && !('symbolType' in legend))
          Object.assign(legend, {
            symbolType: 'stroke',
            symbolStrokeWidth: 2,
            symbolStrokeColor: '#333333',
            symbolFillColor: '#333333',
            symbolSize: 400,
            symbolOpacity: 1,
          });
        if (Object.keys(legend).length) out[ch] = { ...c, legend };
      }
    }
    return out;
  };
  return visit(fragment) as Json;
}

/** A complete Vega-Lite spec: the experiment's fragment with data, size, title and theme injected. */
export function buildChartSpec(
  chart: Chart,
  rows: readonly Row[],
  labels: Readonly<Record<string, string>> = {},
): TopLevelSpec {
  const hasLabels = Object.keys(labels).length > 0;
  // The columns some of whose values have a display name (`method` for `quadratic-kernel`, …).
  const labeled = new Set(
    rows.flatMap((r) =>
      Object.entries(r).flatMap(([k, v]) => (typeof v === 'string' && Object.hasOwn(labels, v) ? [k] : [])),
    ),
  );
  const readableFragment = readable(chart.spec, hasLabels, labeled);
  // Their display names as fields of their own, computed first, for the tooltips.
  const names = [...labeled]
    .sort()
    .map((f) => ({ calculate: LABEL(true, `datum[${JSON.stringify(f)}]`), as: named(f) }));
  const fragment = names.length
    ? {
        ...readableFragment,
        transform: [...names, ...((readableFragment['transform'] as unknown[] | undefined) ?? [])],
      }
    : readableFragment;
  const sized = COMPOSITE.some((k) => k in fragment) ? {} : { ...CHART_SIZE };
  const config = { ...chartConfig, ...((fragment['config'] as object | undefined) ?? {}) };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    // SVG, PNG and PDF have no TeX: titles get its plain-text form.
    title: plainText(chart.title),
    ...(chart.description ? { description: plainText(chart.description) } : {}),
    ...sized,
    ...fragment,
    data: { values: rows.map((r) => ({ ...r })) },
    ...(hasLabels
      ? { params: [...((fragment['params'] as unknown[] | undefined) ?? []), { name: 'labels', value: labels }] }
      : {}),
    config,
  } as TopLevelSpec;
}

type Logger = NonNullable<NonNullable<Parameters<typeof compile>[1]>['logger']>;

/**
 * A Vega-Lite logger that keeps its warnings and errors in `into` and prints nothing (level 0: it filters nothing
 * itself).
 */
function collecting(into: string[]): Logger {
  const keep = (...parts: readonly unknown[]) => {
    into.push(parts.map(String).join(' '));
    return logger;
  };
  const logger = {
    level: (v?: number) => (v === undefined ? 0 : logger),
    error: keep,
    warn: keep,
    info: () => logger,
    debug: () => logger,
  };
  // One function stands for `level`'s getter and setter overloads.
  return logger as unknown as Logger;
}

/**
 * Charts that compiled, by content. Compiling is most of loading an experiment file (25 of 40 ms for scaling's six),
 * and a file is loaded again by every command of a session and every test; a failure is never remembered. Each chart
 * apart: an edit to one chart compiles that one again.
 */
const compiled = new Set<string>();

/** Compile every fragment with empty data, so a broken chart fails at load time, before any work. */
export function checkCharts(
  charts: readonly Chart[],
  locate: (index: number) => SourceLocation,
  labels: Readonly<Record<string, string>> = {},
): void {
  charts.forEach((chart, i) => {
    const key = JSON.stringify([chart, labels]);
    if (compiled.has(key)) return;
    for (const spec of [chart.spec, ...(chart.slides ? [chart.slides] : [])]) {
      // Vega-Lite drops what it cannot use (a misspelt channel, a field definition without a field) with a warning
      // and draws the rest: here that is an error too, so a typo in a chart is named before any work.
      const warnings: string[] = [];
      try {
        compile(buildChartSpec({ ...chart, spec }, [], labels), { logger: collecting(warnings) });
      } catch (e) {
        throw new AttnlabError('BAD_CHART', msg.badChart(chart.id, (e as Error).message), locate(i));
      }
      if (warnings.length) throw new AttnlabError('BAD_CHART', msg.badChart(chart.id, warnings.join('; ')), locate(i));
    }
    if (compiled.size >= 256) compiled.clear();
    compiled.add(key);
  });
}
