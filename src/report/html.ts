import type { Experiment } from '../spec/schema.js';
import type { ClaimResult } from '../spec/claims.js';
import type { Manifest } from '../types/manifest.js';
import type { Analysis, Cell } from '../sim/types.js';
import { esc } from './escape.js';
import { HEAD_VIEW_STYLE, headViewHtml } from './head-view.js';
import { scriptJson } from './interactive.js';
import { mathHtml } from './math.js';
import { plainText } from '../spec/tex.js';

export interface ReportFigure {
  id: string;
  title: string;
  description?: string | undefined;
  svg: string;
  /** The interactive version (tooltips, zoom); the SVG stays as the fallback. */
  spec: unknown;
}

export interface ReportInput {
  experiment: Experiment;
  manifest: Manifest;
  claims: readonly ClaimResult[];
  figures: readonly ReportFigure[];
  /** Expanded grid: parameter → the values it took. */
  axes: Record<string, readonly unknown[]>;
  rowCount: number;
  analysis: Analysis;
  /** Ids of the claims that rest on timings or memory readings: an unstable machine's warning is shown beside them. */
  timingClaims: ReadonlySet<string>;
}

/** A cell as a table shows it: 4 significant digits (integers whole), lists of samples as their count. */
const cell = (v: Cell): string =>
  typeof v === 'number' && !Number.isInteger(v)
    ? Number(v.toPrecision(4)).toString()
    : v === null
      ? ''
      : Array.isArray(v)
        ? `${v.length} samples`
        : String(v);

/** A column's header with its unit spelled out (`time_ms` → time (ms)); the column's own name in the tooltip. */
const UNITS: [RegExp, string][] = [
  [/_ms$/, ' (ms)'],
  [/_bytes$/, ' (bytes)'],
  [/_gbs$/, ' (GB/s)'],
  [/^flops$/, 'FLOPs'],
  [/^gflops$/, 'GFLOP/s'],
];
function header(column: string): string {
  for (const [re, unit] of UNITS) if (re.test(column)) return column.replace(re, unit).replace(/_/g, ' ');
  return column.replace(/_/g, ' ');
}

/** A table that scrolls inside itself (not the page), with a sticky header and a link to its CSV. */
function dataTable(name: string, columns: readonly string[], rows: readonly Record<string, Cell>[]): string {
  return (
    `<h3>${esc(name)} <small>(${rows.length} rows, <a href="${esc(name)}.csv">${esc(name)}.csv</a>)</small></h3>` +
    `<div class="scroll"><table><tr>${columns.map((c) => `<th title="${esc(c)}">${esc(header(c))}</th>`).join('')}</tr>` +
    rows.map((r) => `<tr>${columns.map((c) => `<td>${esc(cell(r[c] ?? null))}</td>`).join('')}</tr>`).join('\n') +
    '</table></div>'
  );
}

function analysisTables(a: Analysis): string {
  return Object.entries(a.tables)
    .map(([name, t]) => dataTable(name, t.columns, t.rows))
    .join('\n');
}

const STYLE = `
body{font-family:"DejaVu Sans",system-ui,sans-serif;max-width:1100px;margin:2rem auto;padding:0 1rem;color:#222;line-height:1.45}
h1{margin-bottom:.2rem}.sub{color:#555;margin-top:0}
table{border-collapse:collapse;margin:.5rem 0 1.5rem;font-size:.92rem}.scroll{max-width:100%;max-height:30rem;overflow:auto;margin:.5rem 0 1.5rem}.scroll table{margin:0}.scroll th{position:sticky;top:0}.hscroll{max-width:100%;overflow-x:auto}
.verdict{font-size:1.1rem;font-weight:bold;margin:.6rem 0}.findings{font-size:1.02rem;background:#f7f9fc;border-left:4px solid #0072B2;padding:.5rem 1rem .5rem 2rem;margin:.5rem 0 1rem}.findings li{margin:.25rem 0}
details{margin:.6rem 0}summary{cursor:pointer;font-weight:bold;font-size:1.05rem}svg{max-width:100%;height:auto}th,td{border:1px solid #ddd;padding:.3rem .6rem;text-align:left;vertical-align:top}
th{background:#f4f4f4}details pre{max-height:16rem;overflow:auto;font-size:.8rem;margin:.3rem 0}.pass{color:#006d2c;font-weight:bold}.unstable{color:#8a5a00;font-weight:bold}.fail{color:#b30000;font-weight:bold}.error{color:#8a5a00;font-weight:bold}.inconclusive{color:#b36b00;font-weight:bold}
figure{display:inline-block;margin:0 1rem 1.5rem 0;vertical-align:top}#vg-tooltip-element{font-size:12px}figcaption{font-size:.9rem;color:#444;max-width:520px}
.notes p{background:#f7f9fc;border-left:4px solid #0072B2;padding:.4rem .8rem}code{background:#f2f2f2;padding:0 .2rem}
`;

function claimRow(c: ClaimResult, unstable: string): string {
  const measured =
    c.status === 'error'
      ? `error: ${c.reason}`
      : c.status === 'inconclusive'
        ? `${c.measured}\n${c.reason}; cure: ${c.cure}`
        : c.measured;
  // Every tested value one click away: the verdict names only the worst.
  const values =
    c.status !== 'error' && c.values
      ? `<details><summary>every row</summary><pre>${esc(c.values)}</pre></details>`
      : '';
  return `<tr><td>${mathHtml(c.text)}<br><code>${esc(c.id)}</code></td><td>${esc(c.expected)}</td><td>${esc(measured)}${values}</td><td class="${c.status}">${c.status}${unstable}</td></tr>`;
}

function table(rows: readonly (readonly [string, unknown])[]): string {
  return `<table>${rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(typeof v === 'string' ? v : JSON.stringify(v))}</td></tr>`).join('')}</table>`;
}

/** A figure: its static SVG, the Vega-Lite spec that makes it interactive, its caption and download links. */
function figureHtml(f: ReportFigure): string {
  return (
    `<figure id="fig-${esc(f.id)}"><div class="vis" role="img" aria-label="${esc(plainText(f.title))}${f.description ? `: ${esc(plainText(f.description))}` : ''}" data-spec="spec-${esc(f.id)}">${f.svg}</div>` +
    `<script type="application/json" id="spec-${esc(f.id)}">${scriptJson(f.spec)}</script><figcaption><b>${mathHtml(f.title)}</b>${f.description ? ` ${mathHtml(f.description)}` : ''}<br>` +
    `<a href="figures/${esc(f.id)}.svg">SVG</a> · <a href="figures/${esc(f.id)}.png">PNG</a> · <a href="charts/${esc(f.id)}.vl.json">Vega-Lite</a></figcaption></figure>`
  );
}

/** The verdict line: how many claims passed, and which did not. */
function verdictHtml(claims: readonly ClaimResult[]): string {
  const passed = claims.filter((c) => c.status === 'pass').length;
  const failed = claims.filter((c) => c.status !== 'pass');
  // Red when a claim failed (or could not be evaluated), amber when some could not tell, green when all passed.
  const tone = failed.some((c) => c.status !== 'inconclusive') ? 'fail' : failed.length ? 'inconclusive' : 'pass';
  return `<p class="verdict ${tone}">Claims: ${passed}/${claims.length} passed${failed.length ? ` · not passed: ${failed.map((c) => `${esc(c.id)} (${c.status})`).join(', ')}` : ''}</p>`;
}

/** The points that failed, with their parameters and errors (empty where none did). */
function errorsHtml(m: Manifest): string {
  if (!m.errors?.length) return '';
  return `<h2 class="fail">${m.errors.length} point${m.errors.length === 1 ? '' : 's'} failed</h2><table><tr><th>parameters</th><th>replicate</th><th>error</th></tr>${m.errors.map((e) => `<tr><td><code>${esc(JSON.stringify(e.params))}</code></td><td>${e.replicate}</td><td>${esc(e.message)}</td></tr>`).join('')}</table>`;
}

/** The top of the report: title, run line, verdict, machine warnings, key results, description, failed points. */
function headerHtml(input: ReportInput, warnings: readonly string[]): string {
  const { experiment: e, manifest: m } = input;
  // Key results first: the simulation's findings, or its summary lines where it has none.
  const findings = input.analysis.findings?.length ? input.analysis.findings : input.analysis.summary;
  return `<h1>${mathHtml(e.title)}</h1>
${m.status === 'interrupted' ? `<p class="fail">Incomplete: interrupted after ${m.points.done} of ${m.points.total} points. Run the same command again to finish.</p>` : ''}
<p class="sub"><code>${esc(e.name)}</code> · run <code>${esc(m.runId)}</code> · backend <b>${esc(m.backend.name)}</b> · ${esc(m.startedAt)}${m.quick ? ' · <b>quick grid</b>' : ''}</p>
${verdictHtml(input.claims)}
${warnings.map((w) => `<p class="unstable">⚠ ${esc(w)}. Timing claims are marked.</p>`).join('\n')}
${findings.length ? `<ul class="findings">${findings.map((s) => `<li>${esc(s)}</li>`).join('')}</ul>` : ''}
<p>${mathHtml(e.description)}</p>
${errorsHtml(m)}`;
}

/** Every claim in full, those resting on timings marked where the machine was unstable. */
function claimsHtml(input: ReportInput, warnings: readonly string[]): string {
  const { claims } = input;
  const passed = claims.filter((c) => c.status === 'pass').length;
  const unstable = (c: ClaimResult) =>
    warnings.length && input.timingClaims.has(c.id)
      ? ' <span class="unstable" title="' + esc(warnings.join(' ')) + '">⚠ unstable machine</span>'
      : '';
  return `<details open><summary>Claims in full (${passed}/${claims.length} passed)</summary>
<div class="hscroll"><table><tr><th>claim</th><th>expected</th><th>measured</th><th>result</th></tr>
${claims.map((c) => claimRow(c, unstable(c))).join('\n')}
</table></div>
</details>`;
}

/** The grid's values, seed, replicates and settings, and where the rows and provenance are. */
function parametersHtml(input: ReportInput): string {
  const e = input.experiment;
  const params = Object.entries(input.axes).map(
    ([k, vs]) => [k, vs.map((v) => (typeof v === 'object' ? JSON.stringify(v) : String(v))).join(', ')] as const,
  );
  return `<details><summary>Parameters</summary>
${table([...params, ['seed', String(e.seed)], ['replicates', String(e.replicates)], ...Object.entries(e.settings).map(([k, v]) => [k, v] as const)])}
<p>${input.rowCount} rows in <a href="results.csv">results.csv</a>; checkpoint in <a href="points.jsonl">points.jsonl</a>; provenance in <a href="manifest.json">manifest.json</a>.</p>
</details>`;
}

/** The provenance table's rows: command, files read, git, backend, versions, machines, setup figures and times. */
function provenanceRows(m: Manifest): (readonly [string, unknown])[] {
  return [
    ['command', m.command],
    ['experiment file', `${m.experimentFile} (sha256 ${m.experimentSha256.slice(0, 16)}…)`],
    ...(m.inputs ?? []).map(
      (f) =>
        [
          `file read${f.key ? ` (${f.key})` : ''}`,
          `${f.path} (sha256 ${f.sha256.slice(0, 16)}…${f.namedIn ? `, named in ${f.namedIn}` : ''})`,
        ] as [string, string],
    ),
    ['git', m.git ? `${m.git.commit}${m.git.dirty ? ' (dirty)' : ''}` : 'not a git checkout'],
    ['backend', `${m.backend.name} (${m.backend.provider})`],
    [
      'versions',
      Object.entries(m.versions)
        .map(([k, v]) => `${k} ${v}`)
        .join(', '),
    ],
    ['cpu', `${m.cpu.model} × ${m.cpu.count}`],
    ...(m.shards
      ? [
          [
            'shards',
            m.shards
              .map(
                (x) =>
                  `${x.shard}: ${x.cpu.model} × ${x.cpu.count}, ${x.startedAt} – ${x.finishedAt}${x.git ? `, git ${x.git.commit.slice(0, 10)}` : ''}`,
              )
              .join('; '),
          ] as const,
        ]
      : []),
    ...(m.setup
      ? [
          [
            'measured at setup',
            Object.entries(m.setup)
              .map(([k, v]) => `${k} ${Number(v.toPrecision(4))}`)
              .join(', '),
          ] as const,
        ]
      : []),
    ['started', m.startedAt],
    ['finished', m.finishedAt ?? 'unfinished'],
  ];
}

/** Makes the figures interactive in a browser; the static SVG stays if anything here fails. */
const EMBED_SCRIPT = `<script src="vendor/vega.min.js"></script><script src="vendor/vega-lite.min.js"></script><script src="vendor/vega-embed.min.js"></script>
<script>
// Interactive charts (tooltips, zoom and pan); the static SVG stays if anything here fails.
for (const el of document.querySelectorAll('.vis')) {
  const spec = JSON.parse(document.getElementById(el.dataset.spec).textContent);
  const holder = document.createElement('div');
  vegaEmbed(holder, spec, { renderer: 'svg', tooltip: true, actions: { export: true, source: false, compiled: false, editor: false } })
    .then(() => { el.replaceChildren(holder); el.dataset.interactive = 'true'; })
    .catch((e) => console.warn('static figure kept:', e));
}
</script>`;

/** The self-contained report: inline SVG figures, no script, no network. */
export function renderReport(input: ReportInput): string {
  const { experiment: e, manifest: m, analysis: a } = input;
  const warnings = m.stability?.warnings ?? [];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(plainText(e.title))} · attnlab</title><link rel="stylesheet" href="vendor/katex/katex.min.css"><style>${STYLE}${a.headView ? HEAD_VIEW_STYLE : ''}</style></head>
<body>
${headerHtml(input, warnings)}
<h2>Figures</h2>
${input.figures.map(figureHtml).join('\n')}
${a.headView?.sequences.length ? headViewHtml(a.headView) : ''}
${claimsHtml(input, warnings)}
${e.notes.length ? `<details open><summary>Notes</summary><div class="notes">${e.notes.map((n) => `<p>${mathHtml(n)}</p>`).join('\n')}</div></details>` : ''}
${Object.keys(a.tables).length ? `<details><summary>Derived tables (${Object.keys(a.tables).join(', ')})</summary>${analysisTables(a)}</details>` : ''}
${parametersHtml(input)}
<details><summary>Provenance</summary>
${table(provenanceRows(m))}
</details>
${EMBED_SCRIPT}
</body></html>
`;
}
