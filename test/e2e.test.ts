import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { compile } from 'vega-lite';
import { qkVariance } from '../src/sim/qk-variance/simulation.js';
import { schemaJsonText } from '../src/spec/schema-json.js';
import { ROOT, cli, latestRun, listFiles, stripColumns, tmp } from './helpers.js';
import { expectGolden } from './golden.js';

const QUICK = ['qk-variance', '--quick', '--backend', 'cpu'];

describe('qk-variance --quick end to end', () => {
  let out: string;
  let run: { code: number; stdout: string; stderr: string };
  let dir: string;

  beforeAll(async () => {
    out = join(tmp(), 'results');
    run = await cli([...QUICK, '--out', out]);
    dir = latestRun(out, 'qk-variance');
  });

  it('exits 0 and the last line of stdout is the report path', () => {
    expect(run.code, run.stderr).toBe(0);
    const last = run.stdout.trimEnd().split('\n').pop();
    expect(last).toBe(join(dir, 'report.html'));
    expect(run.stdout).toMatch(/qk-variance: 40 rows, claims: 8\/8 passed/);
  });

  it('writes every output, and each parses', () => {
    const charts = ['mean-vs-d', 'variance-vs-d', 'z-scores'];
    const files = listFiles(dir);
    expect(files.filter((f) => !f.startsWith('vendor/katex/'))).toEqual(
      [
        'claims.csv',
        'manifest.json',
        'points.jsonl',
        'report.html',
        'results.csv',
        ...charts.map((c) => `charts/${c}.vl.json`),
        'charts/variance-vs-d.slides.vl.json',
        ...charts.flatMap((c) => [`figures/${c}.png`, `figures/${c}.svg`]),
        'vendor/vega-embed.min.js',
        'vendor/vega-lite.min.js',
        'vendor/vega.min.js',
      ].sort(),
    );
    // KaTeX's stylesheet and its 20 woff2 fonts, for the report's typeset formulas.
    const katex = files.filter((f) => f.startsWith('vendor/katex/'));
    expect(katex).toContain('vendor/katex/katex.min.css');
    expect(katex.filter((f) => f.endsWith('.woff2'))).toHaveLength(20);
    const csv = readFileSync(join(dir, 'results.csv'), 'utf8').trimEnd().split('\n');
    expect(csv).toHaveLength(41);
    for (const c of charts) {
      const spec = JSON.parse(readFileSync(join(dir, `charts/${c}.vl.json`), 'utf8'));
      expect(spec.data.values).toHaveLength(40);
      expect(() => compile(spec)).not.toThrow();
      expect(readFileSync(join(dir, `figures/${c}.svg`), 'utf8')).toMatch(/^<svg[^>]*>.*<\/svg>$/s);
      expect(
        readFileSync(join(dir, `figures/${c}.png`))
          .subarray(1, 4)
          .toString(),
      ).toBe('PNG');
    }
    expect(readFileSync(join(dir, 'points.jsonl'), 'utf8').trimEnd().split('\n')).toHaveLength(40);
  });

  it('records provenance in the manifest', () => {
    const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    expect(m).toMatchObject({
      status: 'complete',
      experiment: 'qk-variance',
      seed: 20261122,
      quick: true,
      backend: { name: 'cpu' },
    });
    expect(m.experimentSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(Object.keys(m.versions)).toEqual(['node', '@tensorflow/tfjs-core', 'vega', 'vega-lite']);
    expect(m.cpu.count).toBeGreaterThan(0);
    expect(Date.parse(m.finishedAt)).toBeGreaterThanOrEqual(Date.parse(m.startedAt));
  });

  it('the report is self-contained: inline figures, claims table, parameters, provenance, no network', () => {
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    // One inline SVG per figure (KaTeX draws its √ with SVG too: count the figures' holders).
    expect(html.match(/<div class="vis"[^>]*><svg/g)).toHaveLength(3);
    expect(html).toContain('<th>claim</th><th>expected</th><th>measured</th><th>result</th>');
    expect(html.match(/class="(pass|fail|error)"/g)).toHaveLength(8);
    expect(html).toContain('backend <b>cpu</b>');
    expect(html).toContain('m²·√d');
    expect(html).not.toMatch(/(src|href)="https?:/);
  });

  it('golden structure of the CSV header and of a Vega-Lite spec', () => {
    expectGolden('qk-variance.header.csv', `${readFileSync(join(dir, 'results.csv'), 'utf8').split('\n')[0]}\n`);
    const spec = JSON.parse(readFileSync(join(dir, 'charts/variance-vs-d.vl.json'), 'utf8'));
    expectGolden(
      'variance-vs-d.vl.json',
      `${JSON.stringify({ ...spec, data: { values: `${spec.data.values.length} rows` } }, null, 1)}\n`,
    );
  });

  it('the same seed gives a byte-identical results.csv (timing aside); another seed does not', async () => {
    const again = join(tmp(), 'results');
    expect((await cli([...QUICK, '--out', again])).code).toBe(0);
    const a = readFileSync(join(dir, 'results.csv'), 'utf8');
    const b = readFileSync(join(again, 'qk-variance', 'latest', 'results.csv'), 'utf8');
    expect(stripColumns(b, qkVariance.measuredColumns)).toBe(stripColumns(a, qkVariance.measuredColumns));
    const other = join(tmp(), 'results');
    expect((await cli([...QUICK, '--seed', '7', '--out', other])).code).toBe(0);
    const c = readFileSync(join(other, 'qk-variance', 'latest', 'results.csv'), 'utf8');
    expect(stripColumns(c, qkVariance.measuredColumns)).not.toBe(stripColumns(a, qkVariance.measuredColumns));
  });

  it("--quick overlays only the settings its block names; the others keep the file's values", async () => {
    const { loadExperiment, resolveExperimentFile } = await import('../src/spec/load.js');
    const { resolveExperiment } = await import('../src/spec/resolve.js');
    const quick = resolveExperiment(await loadExperiment(resolveExperimentFile('mha-vs-mqa')), {
      quick: true,
      sets: [],
    });
    expect(quick.settings['time_budget_ms']).toBe(50);
    expect((quick.settings['hardware'] as { name: string }[]).map((h) => h.name)).toEqual([
      'A100 40GB (fp16)',
      'H100 SXM (fp16)',
    ]);
  });

  it('--set overrides a grid axis and a setting', async () => {
    const o = join(tmp(), 'results');
    const r = await cli(['qk-variance', '--quick', '--set', 'd=[3]', '--set', 'trials=500', '--out', o]);
    expect(r.code, r.stderr).toBe(0);
    const csv = readFileSync(join(o, 'qk-variance', 'latest', 'results.csv'), 'utf8')
      .trimEnd()
      .split('\n');
    expect(csv).toHaveLength(1 + 8);
    expect(csv.slice(1).every((l) => l.startsWith('3,1,') && l.includes(',500,'))).toBe(true);
  });
});

describe('listing and schema', () => {
  it('--list names each experiment with its title', async () => {
    const r = await cli(['--list']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^qk-variance\s+Variance of q·k grows like d/m);
  });

  it('experiments/schema.json is generated from the zod schema (run npm run schema)', () => {
    expect(readFileSync(join(ROOT, 'experiments/schema.json'), 'utf8')).toBe(schemaJsonText());
  });

  it('every experiment file validates and is named after its file', async () => {
    const { listExperimentNames, loadExperiment, resolveExperimentFile } = await import('../src/spec/load.js');
    for (const name of listExperimentNames())
      expect((await loadExperiment(resolveExperimentFile(name))).experiment.name).toBe(name);
  });

  it('the wasm backend is the embedded default here', async () => {
    const { selectBackend, TFJS_BACKENDS } = await import('../src/engine/backend.js');
    const b = await selectBackend('wasm', TFJS_BACKENDS, 'qk-variance');
    expect(b.tf.getBackend()).toBe('wasm');
    expect(existsSync(join(ROOT, 'node_modules/@tensorflow/tfjs-backend-wasm'))).toBe(true);
  });
});
