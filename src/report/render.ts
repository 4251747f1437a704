import { msg } from '../messages.js';
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { useFontMetrics } from './metrics.js';
import { FONT_FAMILY, FONT_FILES } from '../spec/theme.js';

useFontMetrics();

/** Vega-Lite → Vega → SVG, headless (no canvas, no network), laid out with the shipped font's metrics. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  // Vega logs a failing expression and goes on, drawing an SVG that can crash the PNG renderer: collect and throw.
  const errors: string[] = [];
  const base = vega.logger(vega.Warn);
  const logger = Object.assign(Object.create(base) as typeof base, {
    error: (...args: unknown[]) => (errors.push(args.map(String).join(' ')), logger),
  });
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none', logger });
  try {
    const svg = await view.toSVG();
    if (errors.length)
      throw new Error(msg.vegaCouldNotDraw(typeof spec.title === 'string' ? spec.title : undefined, errors[0]!));
    return svg;
  } finally {
    view.finalize();
  }
}

/** SVG → PNG with the shipped font (or a theme's); `scale` 2 gives crisp slides. */
export function svgToPng(
  svg: string,
  scale = 2,
  fonts: { files: readonly string[]; family: string } = { files: FONT_FILES, family: FONT_FAMILY },
): Buffer {
  const resvg = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale },
    font: { fontFiles: [...fonts.files], loadSystemFonts: false, defaultFontFamily: fonts.family },
  });
  return resvg.render().asPng();
}
