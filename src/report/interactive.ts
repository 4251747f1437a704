import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, sep } from 'node:path';
import { compile, type TopLevelSpec } from 'vega-lite';
import { katexFiles } from './math.js';

const require = createRequire(import.meta.url);

/** A package's folder, cut from its main entry's path (vega-embed's exports map hides its build files). */
function packageRoot(pkg: string): string {
  const main = require.resolve(pkg);
  const marker = `${sep}node_modules${sep}${pkg}${sep}`;
  return main.slice(0, main.lastIndexOf(marker) + marker.length - 1);
}

/** The Vega runtime copied beside each report, so it opens from disk with no network. */
export function vendorFiles(): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (const [name, pkg, file] of [
    ['vega.min.js', 'vega', 'build/vega.min.js'],
    ['vega-lite.min.js', 'vega-lite', 'build/vega-lite.min.js'],
    ['vega-embed.min.js', 'vega-embed', 'build/vega-embed.min.js'],
  ] as const) {
    files.set(`vendor/${name}`, readFileSync(join(packageRoot(pkg), file)));
  }
  for (const [rel, data] of katexFiles()) files.set(rel, data);
  return files;
}

/** The unit spec that carries the zoom: a single view, or the first layer that encodes x and y fields. */
function zoomHost(spec: Record<string, unknown>): Record<string, unknown> | undefined {
  const inner = (spec['spec'] as Record<string, unknown> | undefined) ?? spec;
  const candidates = 'mark' in inner ? [inner] : ((inner['layer'] as Record<string, unknown>[] | undefined) ?? []);
  return candidates.find((l) => {
    const enc = l['encoding'] as Record<string, { field?: string }> | undefined;
    return (
      Boolean(enc?.['x']?.field && enc?.['y']?.field) && !JSON.stringify(l['transform'] ?? []).includes('"regression"')
    );
  });
}

/** The chart with zoom and pan (an interval bound to the scales), when it compiles with it; else as it was. */
export function withZoom(spec: TopLevelSpec): TopLevelSpec {
  const copy = structuredClone(spec) as unknown as Record<string, unknown>;
  const host = zoomHost(copy);
  if (!host) return spec;
  host['params'] = [
    ...((host['params'] as unknown[] | undefined) ?? []),
    { name: 'zoom', select: 'interval', bind: 'scales' },
  ];
  // Keep the zoom only when Vega-Lite compiles it without a warning.
  let warned = false;
  const logger = {
    level: () => logger,
    warn: () => ((warned = true), logger),
    info: () => logger,
    debug: () => logger,
    error: () => ((warned = true), logger),
  };
  try {
    compile(copy as unknown as TopLevelSpec, { logger: logger as never });
    return warned ? spec : (copy as unknown as TopLevelSpec);
  } catch {
    return spec;
  }
}

/** JSON that is safe inside a <script> element: no "<" (so no "</script>"), no line separators. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}
