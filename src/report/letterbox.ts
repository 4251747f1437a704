/** An SVG placed centred on a white canvas of the given width ÷ height (a 16:9 slide), without scaling it. */
export function letterbox(svg: string, aspect: number): string {
  const m = /^<svg[^>]*\bwidth="([\d.]+)"[^>]*\bheight="([\d.]+)"/.exec(svg);
  if (!m) return svg;
  const [w, h] = [Number(m[1]), Number(m[2])];
  const [W, H] = w / h >= aspect ? [w, w / aspect] : [h * aspect, h];
  const [x, y] = [(W - w) / 2, (H - h) / 2];
  const inner = svg.replace(/^<svg/, `<svg x="${x.toFixed(1)}" y="${y.toFixed(1)}"`);
  return `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="${W.toFixed(1)}" height="${H.toFixed(1)}" viewBox="0 0 ${W.toFixed(1)} ${H.toFixed(1)}"><rect width="100%" height="100%" fill="white"/>${inner}</svg>`;
}
