import { describe, expect, it } from 'vitest';
import { parse, View } from 'vega';
import { compile } from 'vega-lite';
import { buildChartSpec } from '../../src/spec/charts.js';
import { renderSvg } from '../../src/report/render.js';
import { Chart } from '../../src/spec/schema.js';

const chart = (spec: unknown) => Chart.parse({ id: 'c', title: 'T', spec });
const rows = [8, 64].flatMap((D) =>
  ['softmax', 'quadratic-kernel'].flatMap((method) => [1, 8].map((b) => ({ D, method, b, N: 2, t: D * b }))),
);

describe('charts read without the fragment spelling it out', () => {
  it('facet headers name their variable; values with a display name show it in legends and headers', async () => {
    const spec = buildChartSpec(
      chart({
        facet: { column: { field: 'D', type: 'ordinal' } },
        spec: {
          mark: 'point',
          encoding: {
            x: { field: 'N', type: 'quantitative' },
            y: { field: 't', type: 'quantitative' },
            color: { field: 'method', type: 'nominal' },
          },
        },
      }),
      rows,
      { 'quadratic-kernel': 'linear form' },
    );
    const svg = await renderSvg(spec);
    expect(svg).toContain('>D = 8<');
    expect(svg).toContain('>D = 64<');
    expect(svg).toContain('>linear form<');
    expect(svg).toContain('>softmax<');
    expect(svg).not.toContain('>quadratic-kernel<');
  });

  it('display names also label nominal axes and fill tooltips (under the field’s own title)', async () => {
    const spec = buildChartSpec(
      chart({
        mark: 'bar',
        encoding: {
          x: { field: 'method', type: 'nominal' },
          y: { field: 't', type: 'quantitative', aggregate: 'sum' },
          tooltip: [{ field: 'method' }, { field: 'D' }],
        },
      }),
      rows,
      { 'quadratic-kernel': 'linear form' },
    );
    const svg = await renderSvg(spec);
    // the axis: the display name, and softmax (which has none) as it is
    expect(svg).toContain('>linear form<');
    expect(svg).toContain('>softmax<');
    expect(svg).not.toContain('>quadratic-kernel<');
    // the tooltip shows the computed name under the title "method"
    expect((spec as { encoding: { tooltip: unknown[] } }).encoding.tooltip[0]).toEqual({
      field: 'method (name)',
      title: 'method',
    });
    const view = new View(parse(compile(spec).spec), { renderer: 'none' });
    await view.runAsync();
    // data_0: the aggregated bars, each with its method's name
    const data = JSON.stringify(view.data('data_0'));
    expect(data).toContain('"method (name)":"linear form"');
    expect(data).toContain('"method (name)":"softmax"');
  });

  it('a header whose values a transform made into labels stays as it is; a dash-style legend draws dashes', async () => {
    const spec = buildChartSpec(
      chart({
        transform: [{ calculate: "'b = ' + datum.b", as: 'batch' }],
        facet: { column: { field: 'batch', type: 'nominal' } },
        spec: {
          mark: 'line',
          encoding: {
            x: { field: 'N', type: 'quantitative' },
            y: { field: 't', type: 'quantitative' },
            strokeDash: { field: 'method', type: 'nominal' },
          },
        },
      }),
      rows,
    );
    const svg = await renderSvg(spec);
    expect(svg).toContain('>b = 1<');
    expect(svg).not.toContain('batch = b = 1');
    expect(JSON.stringify(spec)).toContain('"symbolType":"stroke"');
  });

  it('an expression Vega cannot evaluate is an error, not a blank figure (which crashed the PNG renderer)', async () => {
    const bad = {
      title: 'bad',
      data: { values: [{ s: null }] },
      facet: { column: { field: 's', type: 'nominal', header: { labelExpr: "indexof(datum.value, 'x')" } } },
      spec: { mark: 'point' },
    };
    await expect(renderSvg(bad as never)).rejects.toThrow(/^Vega could not draw the chart "bad": TypeError/);
  });
});
