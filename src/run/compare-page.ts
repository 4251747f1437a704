/**
 * What `compare` prints (a markdown table) and writes (compare-<A run id>.html: a chart of the ratios and the tables).
 */
import type { TopLevelSpec } from 'vega-lite';
import type { Comparison } from './compare.js';
import { PRIOR_DF, UNMEASURED_NOISE_FACTOR, type SessionNoise } from '../stats/compare.js';
import type { Manifest } from '../types/manifest.js';
import { esc } from '../report/escape.js';
import { renderSvg } from '../report/render.js';

const g4 = (v: number | null): string => (v === null ? '–' : Number(v.toPrecision(4)).toString());
const pText = (p: number | null): string => (p === null ? '–' : p < 1e-4 ? p.toExponential(1) : p.toPrecision(2));

/** One run in the header: id, experiment file hash, engine, machine, commit. */
const runLine = (m: Manifest): string =>
  `${m.runId} · file sha256 ${m.experimentSha256.slice(0, 12)}… · ${m.backend.name}${m.backend.version ? ` ${m.backend.version}` : ''}${m.backend.threads ? ` (${m.backend.threads} threads)` : ''} · ${m.cpu.model} × ${m.cpu.count} · ${m.git ? `git ${m.git.commit.slice(0, 10)}${m.git.dirty ? ' (dirty)' : ''}` : 'no git'}`;

/** The unstable-machine warnings either run recorded: its timings, and so every verdict, carry them. */
export function unsteady(c: Comparison): string[] {
  return (['a', 'b'] as const).flatMap((side) =>
    (c[side].manifest.stability?.warnings ?? []).map(
      (w) => `run ${side.toUpperCase()} (${c[side].manifest.runId}): ${w}`,
    ),
  );
}

/** How the verdicts were reached, with the noise the rounds showed. */
export function noiseSentence(c: Comparison): string {
  const band = `a change is called only where the whole interval lies beyond [1/${c.threshold}, ${c.threshold}] (criterion's noise band); a ratio beyond it whose interval reaches into it is inconclusive`;
  const sigma = (n: SessionNoise | null) =>
    n ? `${(Math.sqrt(n.variance) * 100).toFixed(1)}% on ${n.df} df` : 'no rounds';
  return c.noise.a || c.noise.b
    ? `Intervals: 2000 seeded bootstrap resamples of both runs' samples (rounds, then samples within them), or where wider the t-interval of the noise between sessions that the timing rounds show (σ of log time pooled over each run's points: A ${sigma(c.noise.a)}, B ${sigma(c.noise.b)}; each point's own rounds moderate it, limma's way, with ${PRIOR_DF} prior degrees of freedom): ${band}. The U test ranks the rounds' medians and is shown, not decisive.`
    : `Neither run has timing rounds, so nothing measures the noise between sessions: a ratio beyond ${UNMEASURED_NOISE_FACTOR}× is a change, one between the threshold and that is inconclusive (run with rounds for intervals that include the noise between runs).`;
}

/** The summary line: counts per verdict and the geometric mean of the ratios. */
export function summaryLine(c: Comparison): string {
  const parts = Object.entries(c.counts)
    .filter(([, n]) => n > 0)
    .map(([v, n]) => `${n} ${v}`);
  return `timing: ${c.timing.length} points${parts.length ? `: ${parts.join(', ')}` : ''}${c.geomean === null ? '' : `; geometric mean ratio B/A ${c.geomean.toFixed(3)}`} (threshold ${c.threshold}); estimates: ${c.estimates.length} compared, ${c.estimates.filter((e) => e.differs).length} differ (|z| > 3)`;
}

export function compareMarkdown(c: Comparison): string {
  const lines = [
    `# compare ${c.b.manifest.experiment}: A → B`,
    '',
    `A: ${runLine(c.a.manifest)}`,
    `B: ${runLine(c.b.manifest)}`,
    ...(c.filesDiffer
      ? [
          '',
          'warning: the experiment files differ (other grid, settings or claims): points are paired by their parameters only',
        ]
      : []),
    ...unsteady(c).map((w) => `\nwarning: ${w}`),
    '',
  ];
  if (c.timing.length) {
    lines.push(
      '| point | A median (ms) | B median (ms) | B/A [95% CI] | p (U test) | verdict |',
      '|---|---:|---:|---|---:|---|',
    );
    for (const t of c.timing)
      lines.push(
        `| ${t.label} | ${g4(t.a)} | ${g4(t.b)} | ${t.ratio === null ? '–' : `${g4(t.ratio)} [${g4(t.low)}, ${g4(t.high)}]`} | ${pText(t.p)} | ${t.verdict} |`,
      );
    lines.push('');
  }
  if (c.estimates.length) {
    lines.push('| point | estimate | A | B | B − A [95% CI] | z | |', '|---|---|---:|---:|---|---:|---|');
    for (const e of c.estimates)
      lines.push(
        `| ${e.label} | ${e.column} | ${g4(e.a)} | ${g4(e.b)} | ${g4(e.diff)} [${g4(e.low)}, ${g4(e.high)}] | ${e.z.toFixed(2)} | ${e.differs ? 'differs' : ''} |`,
      );
    lines.push('');
  }
  if (c.timing.length) lines.push(noiseSentence(c), '');
  lines.push(summaryLine(c));
  return `${lines.join('\n')}\n`;
}

/** The ratio of every timed point with its interval, on a log axis, with the noise band around 1. */
function ratioChart(c: Comparison): TopLevelSpec | null {
  const values = c.timing
    .filter((t) => t.ratio !== null)
    .map((t, order) => ({ point: t.label, order, ratio: t.ratio, low: t.low, high: t.high, verdict: t.verdict }));
  if (!values.length) return null;
  const y = { field: 'point', type: 'nominal', sort: { field: 'order' }, title: null } as const;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: `${c.b.manifest.experiment}: time B/A per point (95% interval)`,
    width: 520,
    height: { step: 16 },
    data: { values },
    layer: [
      {
        mark: { type: 'rect', color: '#eeeeee' },
        encoding: { x: { datum: 1 / c.threshold }, x2: { datum: c.threshold } },
      },
      { mark: { type: 'rule', color: '#888888' }, encoding: { x: { datum: 1 } } },
      {
        mark: 'rule',
        encoding: {
          y,
          x: { field: 'low', type: 'quantitative', scale: { type: 'log' }, title: 'B/A (time ratio; < 1: B faster)' },
          x2: { field: 'high' },
          color: {
            field: 'verdict',
            type: 'nominal',
            scale: {
              domain: ['faster', 'same', 'inconclusive', 'slower'],
              range: ['#009E73', '#555555', '#E69F00', '#D55E00'],
            },
          },
        },
      },
      {
        mark: { type: 'point', filled: true, size: 40 },
        encoding: { y, x: { field: 'ratio', type: 'quantitative' }, color: { field: 'verdict', type: 'nominal' } },
      },
    ],
  } as TopLevelSpec;
}

export async function compareHtml(c: Comparison): Promise<string> {
  const spec = ratioChart(c);
  const svg = spec ? await renderSvg(spec) : '';
  const head = (cols: string[]) => `<tr>${cols.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>`;
  const timing = c.timing.length
    ? `<h2>Timing</h2><div class="scroll"><table>${head(['point', 'A median (ms)', 'B median (ms)', 'B/A [95% CI]', 'p (U test)', 'verdict'])}${c.timing
        .map(
          (t) =>
            `<tr><td>${esc(t.label)}</td><td>${g4(t.a)}</td><td>${g4(t.b)}</td><td>${t.ratio === null ? '–' : `${g4(t.ratio)} [${g4(t.low)}, ${g4(t.high)}]`}</td><td>${pText(t.p)}</td><td class="${t.verdict}">${t.verdict}</td></tr>`,
        )
        .join('\n')}</table></div>`
    : '';
  const estimates = c.estimates.length
    ? `<h2>Estimates</h2><div class="scroll"><table>${head(['point', 'estimate', 'A', 'B', 'B − A [95% CI]', 'z', ''])}${c.estimates
        .map(
          (e) =>
            `<tr><td>${esc(e.label)}</td><td>${esc(e.column)}</td><td>${g4(e.a)}</td><td>${g4(e.b)}</td><td>${g4(e.diff)} [${g4(e.low)}, ${g4(e.high)}]</td><td>${e.z.toFixed(2)}</td><td class="${e.differs ? 'slower' : ''}">${e.differs ? 'differs' : ''}</td></tr>`,
        )
        .join('\n')}</table></div>`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>compare ${esc(c.b.manifest.experiment)} · attnlab</title>
<style>body{font-family:"DejaVu Sans",system-ui,sans-serif;max-width:1100px;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;font-size:.9rem}th,td{border:1px solid #ddd;padding:.25rem .5rem;text-align:left}th{background:#f4f4f4;position:sticky;top:0}
.scroll{overflow-x:auto}.slower{color:#b30000;font-weight:bold}.faster{color:#006d2c;font-weight:bold}.failed,.missing{color:#8a5a00;font-weight:bold}.warn{background:#fff4e0;padding:.4rem .8rem}</style></head>
<body><h1>Compare ${esc(c.b.manifest.experiment)}: A → B</h1>
<p><b>${esc(summaryLine(c))}</b></p>
<table><tr><th>A</th><td>${esc(runLine(c.a.manifest))}<br><code>${esc(c.a.dir)}</code></td></tr><tr><th>B</th><td>${esc(runLine(c.b.manifest))}<br><code>${esc(c.b.dir)}</code></td></tr></table>
${c.filesDiffer ? '<p class="warn">The experiment files differ (other grid, settings or claims): points are paired by their parameters only.</p>' : ''}
${unsteady(c)
  .map((w) => `<p class="warn">⚠ ${esc(w)}; every timing verdict below carries it.</p>`)
  .join('\n')}
<p>${esc(noiseSentence(c))}</p>
${svg ? `<figure>${svg}</figure>` : ''}
${timing}
${estimates}
</body></html>
`;
}
