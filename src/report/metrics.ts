import * as fontkit from 'fontkit';
import * as vega from 'vega';
import { FONT_FILES } from '../spec/theme.js';
import { THEMES } from './themes.js';

/**
 * Text widths for Vega's layout from the shipped font files (fontkit), instead of its estimate of
 * 0.8 × size per character when no canvas is present: axis, legend and title bounds then match
 * the glyphs resvg and the PDF writer draw, on every machine.
 */
const files = {
  sans: FONT_FILES as readonly string[],
  serif: THEMES.paper.fontFiles as readonly string[],
};
const fonts = new Map<string, fontkit.Font>();
const widths = new Map<string, number>();

function fontFor(family: string, weight: unknown): fontkit.Font {
  const bold =
    weight === 'bold' ||
    (typeof weight === 'number' && weight >= 600) ||
    (typeof weight === 'string' && Number(weight) >= 600);
  const file = (/serif/i.test(family) && !/sans/i.test(family) ? files.serif : files.sans)[bold ? 1 : 0]!;
  let font = fonts.get(file);
  if (!font) {
    font = fontkit.openSync(file);
    fonts.set(file, font);
  }
  return font;
}

/** Width in px of `text` as Vega would draw it for `item`. */
export function textWidth(item: { font?: string; fontSize?: number; fontWeight?: unknown }, text: unknown): number {
  const size = item.fontSize ?? 11;
  const t = text == null ? '' : String(text).trim();
  if (!t || size <= 0) return 0;
  const key = `${item.font}|${String(item.fontWeight)}|${size}|${t}`;
  let w = widths.get(key);
  if (w === undefined) {
    const font = fontFor(item.font ?? '', item.fontWeight);
    w = (font.layout(t).advanceWidth / font.unitsPerEm) * size;
    widths.set(key, w);
  }
  return w;
}

/** Install the font-based widths in Vega (once per process). */
export function useFontMetrics(): void {
  // vega-scenegraph's textMetrics is exported at run time but not in vega's type declarations.
  (vega as unknown as { textMetrics: { width: typeof textWidth } }).textMetrics.width = textWidth;
}
