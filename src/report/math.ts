/**
 * TeX in experiment files' text (src/spec/tex.ts) typeset by KaTeX at report time into HTML that needs only KaTeX's
 * CSS and fonts (copied beside the report in vendor/katex/, so it opens from disk).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import katex from 'katex';
import { esc } from './escape.js';
import { split } from '../spec/tex.js';

/** HTML of the text: plain parts escaped, TeX parts typeset (inline). */
export function mathHtml(text: string): string {
  return split(text)
    .map((p, i) => (i % 2 ? katex.renderToString(p, { throwOnError: false, output: 'html' }) : esc(p)))
    .join('');
}

/** KaTeX's stylesheet and its woff2 fonts, as vendor/katex/ files beside a report. */
export function katexFiles(): Map<string, Buffer> {
  const dist = dirname(createRequire(import.meta.url).resolve('katex'));
  const files = new Map<string, Buffer>([['vendor/katex/katex.min.css', readFileSync(join(dist, 'katex.min.css'))]]);
  for (const f of readdirSync(join(dist, 'fonts')).filter((x) => x.endsWith('.woff2')))
    files.set(`vendor/katex/fonts/${f}`, readFileSync(join(dist, 'fonts', f)));
  return files;
}
