import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runFigures } from '../../src/figures.js';
import { msg } from '../../src/messages.js';
import { applyTheme, shownType, typeFor, THEMES } from '../../src/report/themes.js';
import { pdfSafeDashes } from '../../src/report/pdf.js';
import { letterbox } from '../../src/report/letterbox.js';
import { cli, latestRun, listFiles, tmp } from '../helpers.js';

async function figures(args: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runFigures(args, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
  });
  return { code, stdout, stderr };
}

describe('npm run figures', () => {
  let out: string;
  let dir: string;
  beforeAll(async () => {
    out = join(tmp(), 'results');
    expect((await cli(['qk-variance', '--quick', '--set', 'trials=300', '--out', out])).code).toBe(0);
    dir = latestRun(out, 'qk-variance');
  });

  it('re-renders every chart of the latest run into figures/<theme>/, in every format asked', async () => {
    const r = await figures([
      'qk-variance',
      '--theme',
      'paper',
      '--format',
      'svg,png,pdf',
      '--scale',
      '3',
      '--out',
      out,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(join(dir, 'figures', 'paper'));
    const files = listFiles(join(dir, 'figures', 'paper'));
    expect(files).toEqual(
      ['mean-vs-d', 'variance-vs-d', 'z-scores'].flatMap((c) => [`${c}.pdf`, `${c}.png`, `${c}.svg`]),
    );
    const svg = readFileSync(join(dir, 'figures/paper/variance-vs-d.svg'), 'utf8');
    expect(svg).toContain('DejaVu Serif');
    expect(readFileSync(join(dir, 'figures/paper/variance-vs-d.pdf')).subarray(0, 5).toString()).toBe('%PDF-');
    expect(readFileSync(join(dir, 'figures/paper/variance-vs-d.png')).subarray(1, 4).toString()).toBe('PNG');
  });

  it('slides: 16:9 view, large type, thick lines; the stored spec is not changed', () => {
    const spec = JSON.parse(readFileSync(join(dir, 'charts/variance-vs-d.vl.json'), 'utf8'));
    const before = JSON.stringify(spec);
    const themed = applyTheme(spec, THEMES.slides) as {
      width: number;
      height: number;
      config: { axis: { labelFontSize: number }; line: { strokeWidth: number } };
    };
    expect(JSON.stringify(spec)).toBe(before);
    expect(themed.width / themed.height).toBeCloseTo(16 / 9, 1);
    expect(themed.config.axis.labelFontSize).toBe(18);
    expect(themed.config.line.strokeWidth).toBe(3.5);
  });

  it('--where keeps the rows with a value (one panel for a slide); slides are 16:9 whatever the chart', async () => {
    const r = await figures([
      'qk-variance',
      '--theme',
      'slides',
      '--where',
      'scaling=sqrt_d',
      '--format',
      'svg',
      '--out',
      out,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(join(dir, 'figures', 'slides-scaling=sqrt_d'));
    const svg = readFileSync(join(dir, 'figures', 'slides-scaling=sqrt_d', 'mean-vs-d.svg'), 'utf8');
    const [, w, h] = /^<svg[^>]*width="([\d.]+)" height="([\d.]+)"/.exec(svg)!;
    expect(Number(w) / Number(h)).toBeCloseTo(16 / 9, 2);
    // variance-vs-d has a slides variant: one line per scaling, σ = 1, no error bars.
    const slide = readFileSync(join(dir, 'figures', 'slides-scaling=sqrt_d', 'variance-vs-d.svg'), 'utf8');
    expect(slide).toContain('Var(q·k), σ = 1');
    expect(readFileSync(join(dir, 'charts', 'variance-vs-d.vl.json'), 'utf8')).not.toContain('Var(q·k), σ = 1');
    // mean-vs-d facets by scaling: only the √d panel is left.
    expect(svg).toContain('scaling = sqrt_d');
    expect(svg).not.toContain('scaling = none');
  });

  it('slides: the smallest type reads at least 24 px on a 1920 px screen, however wide the figure (type grows where it would not)', async () => {
    // 18 px type on a figure 1,700 px wide shows at 18 × 1920/1700 = 20.3 px: every size grows by 24/20.3 (and 2%).
    const larger = typeFor(THEMES.slides, 1700)!;
    // 18 × 1.2043 = 21.7 px (sizes kept to 0.1 px): 21.7 × 1920/1700 = 24.5 px shown
    expect(shownType(larger, 1700)).toBeCloseTo(24.51, 2);
    expect((larger.config.title as { fontSize: number }).fontSize).toBeCloseTo(
      26 * (24 / ((18 * 1920) / 1700)) * 1.02,
      0,
    );
    expect(typeFor(THEMES.slides, 1000)).toBeNull();
    expect(typeFor(THEMES.report, 5000)).toBeNull();
    const r = await figures(['qk-variance', '--theme', 'slides', '--format', 'svg', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    for (const file of listFiles(join(dir, 'figures', 'slides'))) {
      const svg = readFileSync(join(dir, 'figures', 'slides', file), 'utf8');
      const width = Number(/^<svg[^>]*width="([\d.]+)"/.exec(svg)![1]);
      const sizes = [...svg.matchAll(/font-size[=:]\s*"?([\d.]+)px/g)].map((m) => Number(m[1]));
      expect(sizes.length, file).toBeGreaterThan(3);
      expect((Math.min(...sizes) * 1920) / width, file).toBeGreaterThanOrEqual(24);
    }
  });

  it('letterbox: a figure centred on a white 16:9 canvas, not scaled', () => {
    expect(letterbox('<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100"><g/></svg>', 16 / 9)).toBe(
      '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="177.8" height="100.0" viewBox="0 0 177.8 100.0"><rect width="100%" height="100%" fill="white"/><svg x="38.9" y="0.0" xmlns="http://www.w3.org/2000/svg" width="100" height="100"><g/></svg></svg>',
    );
  });

  it('bad input exits 2 and writes nothing', async () => {
    const before = listFiles(dir);
    expect((await figures(['qk-variance', '--theme', 'poster', '--out', out])).stderr).toContain(
      msg.badOptionValue('theme', 'poster', 'report, slides, paper'),
    );
    expect((await figures(['qk-variance', '--format', 'svg,gif', '--out', out])).code).toBe(2);
    expect((await figures(['qk-variance', '--run', 'nope', '--out', out])).stderr).toContain(
      'no run "nope" of "qk-variance"',
    );
    expect((await figures(['scaling', '--out', out])).stderr).toContain(msg.noRuns('scaling', out));
    expect(listFiles(dir)).toEqual(before);
  });

  it('PDF-safe dashes: solid patterns dropped, zero lengths made positive', () => {
    expect(pdfSafeDashes('<path stroke-dasharray="1,0" d="M0"/>')).toBe('<path d="M0"/>');
    expect(pdfSafeDashes('<path stroke-dasharray="4,3" d="M0"/>')).toBe('<path stroke-dasharray="4,3" d="M0"/>');
    expect(pdfSafeDashes('<path stroke-dasharray="0,4" d="M0"/>')).toBe('<path stroke-dasharray="0.01,4" d="M0"/>');
  });
});

describe('text metrics from the shipped font', () => {
  it('Vega lays text out with DejaVu glyph widths, not 0.8 × size per character', async () => {
    const { textWidth } = await import('../../src/report/metrics.js');
    const sans = { font: 'DejaVu Sans', fontSize: 20 };
    // The estimate would give 64 for both; the glyphs differ: i is narrow, W is wide.
    expect(textWidth(sans, 'iiii')).toBeLessThan(30);
    expect(textWidth(sans, 'WWWW')).toBeGreaterThan(70);
    expect(textWidth({ ...sans, fontWeight: 'bold' }, 'WWWW')).toBeGreaterThan(textWidth(sans, 'WWWW'));
    expect(textWidth({ font: 'DejaVu Serif', fontSize: 20 }, 'WWWW')).not.toBe(textWidth(sans, 'WWWW'));
    // DejaVu Sans "W": 2025 units of 2048 per em → 4 × 20 × 2025/2048
    expect(textWidth(sans, 'WWWW')).toBeCloseTo((4 * 20 * 2025) / 2048, 6);
  });
});
