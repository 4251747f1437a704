import type { Manifest } from '../types/manifest.js';
import { duration } from '../messages.js';
import { esc } from './escape.js';

/** One run as the index lists it: its manifest and where its report is, relative to the index. */
export interface IndexEntry {
  manifest: Manifest;
  reportHref: string;
  /** Its comparison with the run before it (same experiment), where one was written. */
  compareHref?: string;
  previousId?: string;
}

const runTime = (m: Manifest): string =>
  m.finishedAt ? duration(Date.parse(m.finishedAt) - Date.parse(m.startedAt)) : '';

/** results/index.html: every run, newest first. Self-contained; opens from disk. */
export function renderIndex(entries: readonly IndexEntry[]): string {
  const rows = [...entries]
    .sort((a, b) => b.manifest.startedAt.localeCompare(a.manifest.startedAt))
    .map(({ manifest: m, reportHref, compareHref, previousId }) => {
      const c = m.claims;
      const open = c?.inconclusive ?? 0;
      const claims = c
        ? `${c.passed}/${c.passed + c.failed + c.errored + open}${open ? ` (${open} inconclusive)` : ''}`
        : '';
      const cls = !c ? '' : c.failed + c.errored > 0 ? 'fail' : open > 0 ? 'inconclusive' : 'pass';
      const link = m.shard
        ? `shard ${m.shard.index}/${m.shard.count}, ${m.status === 'complete' ? 'done' : 'unfinished'}: <code>npm run exp -- merge ${esc(m.experiment)} &lt;shard dirs&gt;</code>`
        : m.status === 'complete'
          ? `<a href="${esc(reportHref)}">report</a>`
          : m.status === 'interrupted'
            ? `<a href="${esc(reportHref)}">partial report</a> (rerun the same command to finish)`
            : 'unfinished (rerun the same command to resume)';
      const versus = compareHref
        ? ` · <a href="${esc(compareHref)}" title="against ${esc(previousId)}">vs previous</a>`
        : '';
      return `<tr><td>${esc(m.experiment)}</td><td>${esc(m.startedAt.replace('T', ' ').slice(0, 19))}</td><td>${esc(m.backend.name)}</td><td class="${cls}">${esc(claims)}</td><td>${esc(runTime(m))}</td><td>${m.quick ? 'quick' : 'full'}${m.sets.length ? ` · ${esc(m.sets.join(' '))}` : ''}</td><td>${link}${versus}</td></tr>`;
    });
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>attnlab runs</title>
<style>body{font-family:"DejaVu Sans",system-ui,sans-serif;max-width:1100px;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;font-size:.92rem}th,td{border:1px solid #ddd;padding:.3rem .6rem;text-align:left}th{background:#f4f4f4}
.pass{color:#006d2c;font-weight:bold}.fail{color:#b30000;font-weight:bold}.inconclusive{color:#b36b00;font-weight:bold}</style></head>
<body><h1>attnlab runs</h1><p>${entries.length} run${entries.length === 1 ? '' : 's'}, newest first.</p>
<table><tr><th>experiment</th><th>started (UTC)</th><th>backend</th><th>claims passed</th><th>duration</th><th>grid</th><th></th></tr>
${rows.join('\n')}
</table></body></html>
`;
}
