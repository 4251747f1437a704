import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** Okabe–Ito: distinguishable with every common form of colour blindness. */
export const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#F0E442', '#000000'];

/** The one font, shipped in an npm package so text measures the same on every machine. */
export const FONT_FAMILY = 'DejaVu Sans';
const fontDir = join(dirname(createRequire(import.meta.url).resolve('dejavu-fonts-ttf/package.json')), 'ttf');
export const FONT_FILES = [join(fontDir, 'DejaVuSans.ttf'), join(fontDir, 'DejaVuSans-Bold.ttf')];

/** Vega-Lite config injected into every chart. */
export const chartConfig = {
  font: FONT_FAMILY,
  background: 'white',
  range: { category: PALETTE },
  // Labels closer than 6 px count as overlapping, so that a dense log axis drops some rather than running them
  // together.
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#e6e6e6', labelSeparation: 6 },
  legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 320 },
  title: { fontSize: 14, anchor: 'start' },
  view: { stroke: null },
} as const;

export const CHART_SIZE = { width: 420, height: 280 } as const;
