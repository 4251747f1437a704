/**
 * `npm run figures -- <name> [--run ID] [--theme slides|paper|report] [--format svg,png,pdf] [--scale N] [--out DIR]`
 * Re-renders every chart of a stored run from its charts/*.vl.json (no simulation) into
 * figures/<theme>/. The last line of stdout is that folder. Exit 2 on bad input, nothing written.
 */
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { TopLevelSpec } from 'vega-lite';
import { parseCommand, withExitCode } from './commands.js';
import { AttnlabError } from './errors.js';
import { msg } from './messages.js';
import { parse as parseYaml } from 'yaml';
import { svgToPdf } from './report/pdf.js';
import { letterbox } from './report/letterbox.js';
import { renderSvg, svgToPng } from './report/render.js';
import { applyTheme, THEMES, typeFor, type Theme, type ThemeName } from './report/themes.js';
import { RunStore } from './run/store.js';
import type { CliIo } from './cli.js';

const FORMATS = ['svg', 'png', 'pdf'] as const;
type Format = (typeof FORMATS)[number];

/** The run directory: --run ID, or the one results/<name>/latest points at. */
function runDir(root: string, name: string, id: string | undefined): string {
  const base = join(root, name);
  const runs = existsSync(base)
    ? readdirSync(base)
        .filter((d) => d !== 'latest' && existsSync(join(base, d, 'charts')))
        .sort()
    : [];
  if (id !== undefined) {
    if (!runs.includes(id)) throw new AttnlabError('BAD_OPTION', msg.unknownRun(name, id, runs));
    return join(base, id);
  }
  if (!existsSync(join(base, 'latest'))) throw new AttnlabError('UNKNOWN_EXPERIMENT', msg.noRuns(name, root));
  return join(base, readlinkSync(join(base, 'latest')));
}

/** Width of an SVG as drawn (its width attribute). */
const svgWidth = (svg: string): number => Number(/^<svg[^>]*\bwidth="([\d.]+)"/.exec(svg)?.[1] ?? NaN);

/**
 * A chart drawn in a theme, letterboxed to the theme's aspect; where its smallest type would read too small at the
 * theme's screen width (a wide, faceted figure on a slide), drawn again with the type enlarged (at most twice:
 * larger type widens the figure a little).
 */
async function draw(chart: Record<string, unknown>, theme: Theme): Promise<string> {
  let t = theme;
  let svg = '';
  for (let i = 0; i < 3; i++) {
    const drawn = await renderSvg(applyTheme(chart, t) as unknown as TopLevelSpec);
    svg = t.aspect ? letterbox(drawn, t.aspect) : drawn;
    const larger = typeFor(t, svgWidth(svg));
    if (!larger) break;
    t = larger;
  }
  return svg;
}

export async function runFigures(rawArgs: readonly string[], io: CliIo): Promise<number> {
  return withExitCode(io, async () => {
    const { values, positionals } = parseCommand('figures', rawArgs);
    const name = positionals[0];
    if (!name) throw new AttnlabError('BAD_OPTION', msg.figuresUsage());
    const themeName = values.theme ?? 'report';
    if (!Object.hasOwn(THEMES, themeName))
      throw new AttnlabError('BAD_OPTION', msg.badOptionValue('theme', themeName, Object.keys(THEMES).join(', ')));
    const theme: Theme = THEMES[themeName as ThemeName];
    const formats = (values.format ?? 'svg,png').split(',').map((f) => f.trim());
    const bad = formats.find((f) => !(FORMATS as readonly string[]).includes(f));
    if (bad !== undefined || formats.length === 0)
      throw new AttnlabError(
        'BAD_OPTION',
        msg.badOptionValue('format', values.format ?? '', `a comma-separated list of ${FORMATS.join(', ')}`),
      );
    const scale = values.scale === undefined ? 2 : Number(values.scale);
    if (!(scale > 0 && scale <= 8))
      throw new AttnlabError('BAD_OPTION', msg.badOptionValue('scale', values.scale ?? '', 'a number in (0, 8]'));

    const where = (values.where ?? []).map((w) => {
      const eq = w.indexOf('=');
      if (eq <= 0) throw new AttnlabError('BAD_OPTION', msg.badOptionValue('where', w, 'key=value, e.g. D=64'));
      return { key: w.slice(0, eq), value: parseYaml(w.slice(eq + 1)) as unknown };
    });
    const dir = runDir(resolve(values.out ?? 'results'), name, values.run);
    // Filtered figures go beside the theme's own: figures/slides-D=64/.
    const folder = [themeName, ...(values.where ?? [])].join('-');
    const stored = readdirSync(join(dir, 'charts'));
    const charts = stored.filter((f) => f.endsWith('.vl.json') && !f.endsWith('.slides.vl.json')).sort();
    const store = new RunStore(dir);
    for (const file of charts) {
      const id = file.replace(/\.vl\.json$/, '');
      // Slides draw a chart's slides variant where it has one.
      const variant = themeName === 'slides' && stored.includes(`${id}.slides.vl.json`) ? `${id}.slides.vl.json` : file;
      const chart = JSON.parse(readFileSync(join(dir, 'charts', variant), 'utf8')) as {
        data?: { values?: Record<string, unknown>[] };
      } & Record<string, unknown>;
      const values = chart.data?.values ?? [];
      const kept = values.filter((r) => where.every((w) => !(w.key in r) || r[w.key] === w.value));
      if (where.length && kept.length === values.length) io.stderr.write(`${msg.whereKeepsAll(id, values.length)}\n`);
      const svg = await draw({ ...chart, data: { values: kept } }, theme);
      const out: Record<Format, () => Promise<string | Buffer> | string | Buffer> = {
        svg: () => svg,
        png: () => svgToPng(svg, scale, { files: theme.fontFiles, family: theme.font }),
        pdf: () => svgToPdf(svg, theme.fontFiles),
      };
      for (const f of formats as Format[]) store.writeAtomic(join('figures', folder, `${id}.${f}`), await out[f]());
      io.stderr.write(`${id}: ${formats.join(', ')}\n`);
    }
    io.stdout.write(`${join(dir, 'figures', folder)}\n`);
    return 0;
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await runFigures(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr });
}
