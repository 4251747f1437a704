import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe as group, expect, it } from 'vitest';
import {
  backwardImports,
  describe,
  folderCycles,
  folderGraph,
  measure,
  type ScannedFile,
} from '../../scripts/house.js';

const file = (path: string, imports: string[]): ScannedFile => ({
  file: path,
  imports,
  functions: [],
  longLines: [],
  datedComments: [],
});

group('the house check', () => {
  const root = mkdtempSync(join(tmpdir(), 'house-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  };

  it('finds a folder cycle made by a type-only import, and fails on it', () => {
    write('src/stats/a.ts', "import { b } from '../spec/b.js';\nexport const a = b + 1;\n");
    write('src/spec/b.ts', "import type { T } from '../stats/t.js';\nexport const b: T = 1;\n");
    write('src/stats/t.ts', 'export type T = number;\n');
    const report = measure(root, [['stats'], ['spec']]);
    expect(report.cycles).toEqual([['spec', 'stats']]);
    expect(report.backward).toEqual(['stats → spec (stage 0 imports stage 1): src/stats/a.ts → src/spec/b.ts']);
    expect(describe(report).problems).toContain('folder cycle: spec ⇄ stats');
  });

  it('passes the same tree once the type moves below both', () => {
    write('src/stats/a.ts', 'export const a = 2;\n');
    const report = measure(root, [['stats'], ['spec']]);
    expect(report.cycles).toEqual([]);
    expect(describe(report).problems).toEqual([]);
  });

  it('finds a three-folder cycle on a synthetic graph, with a fourth folder outside it', () => {
    const graph = folderGraph([
      file('src/run/r.ts', ['src/report/p.ts']),
      file('src/report/p.ts', ['src/spec/s.ts']),
      file('src/spec/s.ts', ['src/run/r.ts', 'src/stats/x.ts']),
      file('src/stats/x.ts', []),
    ]);
    expect(folderCycles(graph)).toEqual([['report', 'run', 'spec']]);
    expect(backwardImports(graph, [['stats'], ['spec'], ['report'], ['run']])).toEqual([
      'spec → run (stage 1 imports stage 3): src/spec/s.ts → src/run/r.ts',
    ]);
  });

  it('counts a long function, a long line and a dated comment', () => {
    write(
      'src/stats/a.ts',
      `// Measured 2026-12-05 on a quiet machine.\nexport function long() {\n${'  1;\n'.repeat(85)}}\n`,
    );
    write('src/stats/t.ts', `export const t = '${'x'.repeat(130)}';\n`);
    const report = measure(root, [['stats'], ['spec']]);
    expect(report.overLimit.map((f) => [f.name, f.lines])).toEqual([['long', 87]]);
    expect(report.longLines).toBe(1);
    expect(report.datedComments.map((d) => [d.file, d.line])).toEqual([['src/stats/a.ts', 1]]);
  });
});
