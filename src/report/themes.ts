import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { FONT_FILES, FONT_FAMILY, PALETTE } from '../spec/theme.js';

const fontDir = join(dirname(createRequire(import.meta.url).resolve('dejavu-fonts-ttf/package.json')), 'ttf');

/** How a figure is re-rendered for a medium: sizes, type and line weights on top of the chart's own spec. */
export interface Theme {
  /** View size of single and layered charts (px). */
  width: number;
  height: number;
  /** Multiplier on the cell size of faceted and concatenated charts. */
  cellScale: number;
  /**
   * Width ÷ height the whole figure keeps, title and legend included (white margins added), where the medium has one.
   */
  aspect?: number;
  /**
   * The smallest type must measure at least `px` once the figure is shown `at` px wide (a slide on a 1920 px screen).
   */
  minType?: { px: number; at: number };
  font: string;
  /** Regular and bold font files, handed to resvg and to the PDF writer. */
  fontFiles: [string, string];
  config: Record<string, unknown>;
}

const sizes = (label: number, title: number, chartTitle: number, stroke: number, point: number) => ({
  axis: { labelFontSize: label, titleFontSize: title, gridColor: '#e6e6e6', labelSeparation: 6 },
  legend: { labelFontSize: label, titleFontSize: title, labelLimit: 400, symbolSize: point },
  header: { labelFontSize: title, titleFontSize: title },
  title: { fontSize: chartTitle, anchor: 'start' },
  line: { strokeWidth: stroke },
  point: { size: point },
  rule: { strokeWidth: stroke * 0.8 },
  errorbar: { thickness: stroke * 0.8 },
});

export const THEMES = {
  /** As in the report. */
  report: {
    width: 420,
    height: 280,
    cellScale: 1,
    font: FONT_FAMILY,
    fontFiles: [FONT_FILES[0]!, FONT_FILES[1]!],
    config: sizes(11, 12, 14, 2, 30),
  },
  /** 16:9, large type (at least 24 px on a 1920 px wide screen, however wide the figure), thick lines. */
  slides: {
    width: 800,
    height: 450,
    cellScale: 1.6,
    aspect: 16 / 9,
    minType: { px: 24, at: 1920 },
    font: FONT_FAMILY,
    fontFiles: [FONT_FILES[0]!, FONT_FILES[1]!],
    config: sizes(18, 20, 26, 3.5, 90),
  },
  /** One column of a two-column paper (about 3.4 in), serif type. */
  paper: {
    width: 230,
    height: 150,
    cellScale: 0.6,
    font: 'DejaVu Serif',
    fontFiles: [join(fontDir, 'DejaVuSerif.ttf'), join(fontDir, 'DejaVuSerif-Bold.ttf')],
    config: sizes(8, 9, 10, 1.2, 12),
  },
} as const satisfies Record<string, Theme>;
export type ThemeName = keyof typeof THEMES;

const COMPOSITE = ['facet', 'repeat', 'concat', 'hconcat', 'vconcat'];

const isFontSize = (key: string, v: unknown): v is number => typeof v === 'number' && /fontSize$/i.test(key);
const isConfig = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A config with every font size (a number under a key ending in fontSize, at any depth) multiplied by k. */
const scaleType = (config: Record<string, unknown>, k: number): Record<string, unknown> =>
  Object.fromEntries(
    Object.entries(config).map(([key, v]) => [
      key,
      isFontSize(key, v) ? Math.round(v * k * 10) / 10 : isConfig(v) ? scaleType(v, k) : v,
    ]),
  );

/** Every font size of a config, at any depth. */
const typeSizes = (config: Record<string, unknown>): number[] =>
  Object.entries(config).flatMap(([key, v]) => (isFontSize(key, v) ? [v] : isConfig(v) ? typeSizes(v) : []));

const smallestType = (config: Record<string, unknown>): number => Math.min(...typeSizes(config));

/**
 * A theme whose type is large enough for a figure `width` px wide (as drawn, margins included): where the smallest
 * type would measure less than `minType.px` once the figure is shown `minType.at` px wide, every font size grows
 * by the missing factor (a four-panel figure 1,700 px wide gets 18 × 1920/1700 → 24 px). Returns null where the
 * type is large enough already.
 */
export function typeFor(t: Theme, width: number): Theme | null {
  if (!t.minType) return null;
  const shown = (smallestType(t.config) * t.minType.at) / width;
  if (shown >= t.minType.px) return null;
  return { ...t, config: scaleType(t.config, (t.minType.px / shown) * 1.02) };
}

/**
 * The smallest type of a theme, in px, once a figure `width` px wide is shown at its `minType.at` (for tests and logs).
 */
export const shownType = (t: Theme, width: number): number =>
  (smallestType(t.config) * (t.minType?.at ?? width)) / width;

/** A stored Vega-Lite spec re-dressed for a theme (the input is not changed). */
export function applyTheme(spec: Record<string, unknown>, t: Theme): Record<string, unknown> {
  const out: Record<string, unknown> = structuredClone(spec);
  const config = (out['config'] as Record<string, unknown> | undefined) ?? {};
  out['config'] = { ...config, ...t.config, font: t.font, range: { category: PALETTE }, background: 'white' };
  if (COMPOSITE.some((k) => k in out)) {
    const inner = out['spec'] as Record<string, unknown> | undefined;
    if (inner && typeof inner['width'] === 'number') inner['width'] = Math.round(inner['width'] * t.cellScale);
    if (inner && typeof inner['height'] === 'number') inner['height'] = Math.round(inner['height'] * t.cellScale);
  } else {
    out['width'] = t.width;
    out['height'] = t.height;
  }
  return out;
}
