import PDFDocument from 'pdfkit';
import SVGtoPDF from 'svg-to-pdfkit';

/**
 * Vega writes solid lines of a dash encoding as stroke-dasharray="1,0", which PDFKit refuses
 * (lengths must be > 0): patterns with no gaps become no pattern, other zero lengths 0.01.
 */
export function pdfSafeDashes(svg: string): string {
  return svg.replace(/\sstroke-dasharray="([^"]*)"/g, (_m, v: string) => {
    const parts = v
      .split(/[\s,]+/)
      .filter(Boolean)
      .map(Number);
    if (parts.filter((_, i) => i % 2 === 1).every((g) => g === 0)) return '';
    return ` stroke-dasharray="${parts.map((p) => (p > 0 ? p : 0.01)).join(',')}"`;
  });
}

/** SVG → vector PDF (one page the size of the figure), with the theme's fonts embedded. */
export function svgToPdf(svg: string, fontFiles: readonly [string, string]): Promise<Buffer> {
  const size = (attr: string) => Number(new RegExp(`<svg[^>]*\\s${attr}="([\\d.]+)"`).exec(svg)?.[1] ?? 400);
  const doc = new PDFDocument({
    size: [size('width'), size('height')],
    margin: 0,
    autoFirstPage: true,
    info: { Creator: 'attnlab' },
  });
  doc.registerFont('regular', fontFiles[0]);
  doc.registerFont('bold', fontFiles[1]);
  const chunks: Buffer[] = [];
  doc.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<Buffer>((resolve) => doc.on('end', () => resolve(Buffer.concat(chunks))));
  SVGtoPDF(doc, pdfSafeDashes(svg), 0, 0, {
    assumePt: true,
    fontCallback: (_family: string, bold: boolean) => (bold ? 'bold' : 'regular'),
  });
  doc.end();
  return done;
}
