import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FLASH_TFJS, scaling } from '../../../src/sim/scaling/simulation.js';
import { FITS_COLUMNS } from '../../../src/sim/scaling/analysis.js';
import { cli, latestRun, listFiles, stripColumns, tmp } from '../../helpers.js';
import { expectGolden } from '../../golden.js';

// A small grid: every method and block, N up to 512, few samples, on each engine. Under a 5 MB budget the linear
// forms are skipped where their predicted bytes exceed it, each with its reason, while softmax (1.2 MB at N = 512)
// still runs. Rows per chunk: the power of two nearest to 2 MiB of φ, at most N (D = 64, C = 2145: 256; D = 32,
// C = 561: 1024; rff with D_random = 512, F = 1024: 512).
//   onnx: 4·(N·(2M + 1 + 2D) + rows·(2D + 1 + 3C) + 2C·(M + 1)): 4.6 MB at N = 128, D = 64, 8.1 MB at 256; causal
//         adds N·(2(M + 1) + C/5): 4.9 MB at 128. Random features: 4·(N·(2M + 1 + 2D) + rows·3F + 2F(M + 1)): 6.4 MB
//         for rff and rff-homework at N = 512 with F = 1024 (FAVOR+, F = R = 512: 3.2 MB).
//   wasm: two halves, each φ for its rows and the state, plus the inputs: 6.8 MB already at N = 128 for D = 64, and
//         5.1 MB at N = 512 for D = 32 (a chunk of all 256 rows of each half).
const SKIPPED = {
  onnx: [
    'quadratic-kernel false 256 64',
    'quadratic-kernel false 512 64',
    'quadratic-kernel true 256 64',
    'quadratic-kernel true 512 64',
    'rff false 512 4',
    'rff-homework false 512 4',
  ],
  wasm: [
    'quadratic-kernel false 128 64',
    'quadratic-kernel false 256 64',
    'quadratic-kernel false 512 32',
    'quadratic-kernel false 512 64',
    'quadratic-kernel true 128 64',
    'quadratic-kernel true 256 64',
    'quadratic-kernel true 512 64',
    'rff false 512 4',
    'rff-homework false 512 4',
  ],
};

describe.each(['onnx', 'wasm'] as const)('scaling end to end (small grid, %s)', (engine) => {
  const ARGS = [
    'scaling',
    '--quick',
    '--backend',
    engine,
    '--set',
    'N=[128,256,512]',
    '--set',
    'grid[5].D_random=[256,512]',
    '--set',
    'error_draws=3',
    '--set',
    'time_budget_ms=5',
    '--set',
    'min_samples=3',
    '--set',
    'memory_budget_bytes=5000000',
  ];
  let out: string;
  let dir: string;
  let run: { code: number; stdout: string; stderr: string };

  beforeAll(async () => {
    out = join(tmp(), 'results');
    run = await cli([...ARGS, '--out', out]);
    dir = latestRun(out, 'scaling');
  });

  it('writes results, fits, five charts and the report', () => {
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')).backend.name).toBe(engine);
    const charts = ['causal-vs-noncausal', 'crossover-vs-d', 'memory-vs-n', 'rff-error', 'time-vs-n'];
    // vendor/katex/ (KaTeX's CSS and fonts) is checked in e2e.test.ts.
    expect(listFiles(dir).filter((f) => !f.startsWith('vendor/katex/'))).toEqual(
      [
        'claims.csv',
        'fits.csv',
        'manifest.json',
        'points.jsonl',
        'report.html',
        'results.csv',
        ...charts.map((c) => `charts/${c}.vl.json`),
        'charts/time-vs-n.slides.vl.json',
        ...charts.flatMap((c) => [`figures/${c}.png`, `figures/${c}.svg`]),
        'vendor/vega-embed.min.js',
        'vendor/vega-lite.min.js',
        'vendor/vega.min.js',
      ].sort(),
    );
    expect(run.stdout.trimEnd().split('\n').pop()).toBe(join(dir, 'report.html'));
    expect(run.stdout).toMatch(/crossover D=32: /);
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    expect(html).toContain('<h3>fits <small>');
    expect(html.match(/<div class="vis"[^>]*><svg/g)).toHaveLength(5);
  });

  it('results.csv: the declared columns, skipped points with their reason, errors below 1e-3', () => {
    const lines = readFileSync(join(dir, 'results.csv'), 'utf8').trimEnd().split('\n');
    const header = lines[0]!.split(',');

    expectGolden('scaling.header.csv', `${lines[0]}\n`);
    const rows = lines.slice(1).map((l) => Object.fromEntries(l.split(',').map((v, i) => [header[i], v])));
    // flash is ONNX Runtime's fused kernel: on wasm every flash point is skipped, with that reason.
    const flash = rows.filter((r) => r['method'] === 'flash');
    expect(flash.length).toBeGreaterThan(0);
    for (const r of flash) expect(r['skipped_reason'], `flash N=${r['N']}`).toBe(engine === 'onnx' ? '' : FLASH_TFJS);
    for (const r of flash.filter((r) => r['time_ms'])) expect(Number(r['max_rel_error'])).toBeLessThan(1e-4);
    const skipped = rows.filter((r) => r['skipped_reason'] && r['method'] !== 'flash');
    expect(skipped.map((r) => `${r['method']} ${r['causal']} ${r['N']} ${r['D']}`)).toEqual(SKIPPED[engine]);
    for (const r of skipped) {
      expect(r['skipped_reason']).toMatch(/^predicted \d+ MiB > memory budget 5 MiB$/);
      expect(r['time_ms']).toBe('');
    }
    for (const r of rows.filter((r) => r['method']!.startsWith('quadratic') && r['time_ms'])) {
      expect(Number(r['max_rel_error']), `${r['method']} N=${r['N']}`).toBeLessThan(1e-3);
      expect(Number(r['gflops'])).toBeGreaterThan(0);
    }
    // --set N applies to every block that has N, the random-feature block included: 3 N × 2 D_random, the last
    // (N = 512, D_random = 512) skipped by the budget.
    expect(rows.filter((r) => r['method'] === 'rff').map((r) => r['draws'])).toEqual([...Array(5).fill('3'), '']);
  });

  it('fits.csv has slopes and crossovers', () => {
    const lines = readFileSync(join(dir, 'fits.csv'), 'utf8').trimEnd().split('\n');
    expect(lines[0]!.split(',')).toEqual([...FITS_COLUMNS]);
    expect(lines.some((l) => l.startsWith('crossover,'))).toBe(true);
    expect(lines.some((l) => l.startsWith('error-slope,rff,'))).toBe(true);
    expectGolden('scaling-fits.header.csv', `${lines[0]}\n`);
  });

  it('the same seed gives the same results.csv apart from timing and memory columns (errors included)', async () => {
    const again = join(tmp(), 'results');
    expect((await cli([...ARGS, '--out', again])).code).toBe(0);
    const a = readFileSync(join(dir, 'results.csv'), 'utf8');
    const b = readFileSync(join(again, 'scaling', 'latest', 'results.csv'), 'utf8');
    expect(stripColumns(b, scaling.measuredColumns)).toBe(stripColumns(a, scaling.measuredColumns));
  });
});
