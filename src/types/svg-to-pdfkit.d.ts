/** Minimal types for svg-to-pdfkit (it ships none): draws an SVG string onto a PDFKit document. */
declare module 'svg-to-pdfkit' {
  interface Options {
    assumePt?: boolean;
    fontCallback?: (family: string, bold: boolean, italic: boolean) => string;
  }
  export default function SVGtoPDF(doc: PDFKit.PDFDocument, svg: string, x: number, y: number, options?: Options): void;
}
