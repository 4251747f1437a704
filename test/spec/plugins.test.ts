import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { msg } from '../../src/messages.js';
import { cli, latestRun, listFiles, ROOT, stripColumns, tmp } from '../helpers.js';

/** The example's simulation and experiment, copied to a folder outside the repository (no package.json there). */
function example(): { dir: string; yaml: string; module: string } {
  const dir = tmp('attnlab-plugin-');
  copyFileSync(join(ROOT, 'examples/correlated-qk/corr-qk.ts'), join(dir, 'my-sim.ts'));
  const text = readFileSync(join(ROOT, 'examples/correlated-qk/correlated-qk.yaml'), 'utf8').replace(
    /^simulation: .*$/m,
    'simulation: ./my-sim.ts',
  );
  writeFileSync(join(dir, 'exp.yaml'), text);
  return { dir, yaml: join(dir, 'exp.yaml'), module: join(dir, 'my-sim.ts') };
}
const QUICK = ['--quick', '--set', 'trials=12000'];
const runs = (out: string) => readdirSync(join(out, 'correlated-qk')).filter((d) => d !== 'latest');

describe("a simulation from the user's file", () => {
  it('runs from a folder anywhere on disk with its own claims and chart; --jobs 2 gives the results.csv of --jobs 1', async () => {
    const { dir, yaml } = example();
    const csvs: string[] = [];
    for (const jobs of ['1', '2']) {
      const out = join(dir, `out${jobs}`);
      const r = await cli([yaml, ...QUICK, '--jobs', jobs, '--out', out]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('correlated-qk: 12 rows, claims: 5/5 passed');
      const run = latestRun(out, 'correlated-qk');
      expect(listFiles(run)).toEqual(
        expect.arrayContaining([
          'results.csv',
          'report.html',
          'charts/variance-vs-d.vl.json',
          'figures/variance-vs-d.png',
        ]),
      );
      const manifest = JSON.parse(readFileSync(join(run, 'manifest.json'), 'utf8'));
      expect(manifest.simulationModule.path).toBe(join(dir, 'my-sim.ts'));
      expect(manifest.simulationModule.sha256).toMatch(/^[0-9a-f]{64}$/);
      csvs.push(stripColumns(readFileSync(join(run, 'results.csv'), 'utf8'), ['time_ms']));
    }
    expect(csvs[1]).toBe(csvs[0]);
    // The closed form by hand at one row: d = 16, ρ = 0.9, unscaled: E = 14.4, Var = 16 · 1.81 = 28.96.
    const row = csvs[0]!
      .split('\n')
      .find((l) => l.startsWith('16,0.9,none,'))!
      .split(',');
    expect(Number(row[10])).toBeCloseTo(14.4, 9);
    expect(Number(row[11])).toBeCloseTo(28.96, 9);
  });

  it('takes --set and --quick on its own params and settings, with located errors', async () => {
    const { dir, yaml } = example();
    const r = await cli([
      yaml,
      '--quick',
      '--set',
      'rho=[0.25]',
      '--set',
      'd=[4]',
      '--set',
      'trials=500',
      '--out',
      join(dir, 'out'),
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('correlated-qk: 2 rows');
    const bad = await cli([yaml, '--set', 'rho=[2]', '--out', join(dir, 'bad')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--set rho=[2]');
    expect(listFiles(join(dir, 'bad'))).toEqual([]);
  });

  it('editing the module starts a new run instead of resuming the old one', async () => {
    const { dir, yaml, module } = example();
    const out = join(dir, 'out');
    expect((await cli([yaml, ...QUICK, '--out', out])).code).toBe(0);
    // Make the run look interrupted after 11 of its 12 points.
    const interrupt = () => {
      const run = join(out, 'correlated-qk', runs(out).sort().at(-1)!);
      const manifest = JSON.parse(readFileSync(join(run, 'manifest.json'), 'utf8'));
      writeFileSync(join(run, 'manifest.json'), JSON.stringify({ ...manifest, status: 'interrupted' }));
      const lines = readFileSync(join(run, 'points.jsonl'), 'utf8').trimEnd().split('\n');
      writeFileSync(join(run, 'points.jsonl'), `${lines.slice(0, -1).join('\n')}\n`);
      return run;
    };
    // Control: the same module resumes the interrupted run.
    const first = interrupt();
    const resumed = await cli([yaml, ...QUICK, '--out', out]);
    expect(resumed.stderr).toContain(msg.resuming(first, 11, 12));
    expect(runs(out)).toHaveLength(1);
    interrupt();
    appendFileSync(module, '\n// an edit\n');
    const again = await cli([yaml, ...QUICK, '--out', out]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).not.toContain('resuming');
    expect(runs(out)).toHaveLength(2);
    const hashes = runs(out).map(
      (d) => JSON.parse(readFileSync(join(out, 'correlated-qk', d, 'manifest.json'), 'utf8')).configHash,
    );
    expect(new Set(hashes).size).toBe(2);
  });

  it('merge refuses shards made with other module contents', async () => {
    const { dir, yaml, module } = example();
    for (const i of [1, 2])
      expect((await cli([yaml, ...QUICK, '--shard', `${i}/2`, '--out', join(dir, `s${i}`)])).code).toBe(0);
    const ok = await cli(['merge', yaml, join(dir, 's1'), join(dir, 's2'), '--out', join(dir, 'merged')]);
    expect(ok.code, ok.stderr).toBe(0);
    const before = readFileSync(module, 'utf8');
    appendFileSync(module, '\n// an edit\n');
    const r = await cli(['merge', yaml, join(dir, 's1'), join(dir, 's2'), '--out', join(dir, 'merged2')]);
    expect(r.code).toBe(2);
    const sha = (s: string) => createHash('sha256').update(s).digest('hex');
    expect(r.stderr).toContain(msg.mergeModuleChanged(module, sha(before), sha(readFileSync(module, 'utf8'))));
  });

  it('a throw inside run is recorded for its point; the run goes on and --check exits 1', async () => {
    const { dir, yaml, module } = example();
    writeFileSync(
      module,
      readFileSync(module, 'utf8').replace(
        'const t0 = ctx.now();',
        "const t0 = ctx.now();\n    if (d === 16 && rho === 0) throw new Error('no d = 16 today');",
      ),
    );
    const r = await cli([yaml, ...QUICK, '--check', '--out', join(dir, 'out')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no d = 16 today');
    expect(r.stdout).toContain(`correlated-qk: 10 rows`);
  });

  it('runs under the real command line (tsx, the resolution hook, two worker threads)', () => {
    const { dir, yaml } = example();
    const out = execFileSync(
      process.execPath,
      [
        join(ROOT, 'node_modules/tsx/dist/cli.mjs'),
        join(ROOT, 'src/cli.ts'),
        yaml,
        ...QUICK,
        '--jobs',
        '2',
        '--out',
        join(dir, 'out'),
      ],
      { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
    expect(out).toContain('correlated-qk: 12 rows, claims: 5/5 passed');
  });
});

describe('experiments/schema.json for editors', () => {
  it('has a branch for files whose simulation is a module (the example’s ./corr-qk.ts), apart from the built-ins', () => {
    const schema = JSON.parse(readFileSync(join(ROOT, 'experiments/schema.json'), 'utf8')) as {
      anyOf: { properties?: { simulation?: { pattern?: string } } }[];
    };
    const pattern = new RegExp(
      schema.anyOf.map((b) => b.properties?.simulation?.pattern).find((p) => p !== undefined)!,
    );
    const example = /^simulation: (.*)$/m.exec(
      readFileSync(join(ROOT, 'examples/correlated-qk/correlated-qk.yaml'), 'utf8'),
    )![1]!;
    expect(example).toBe('./corr-qk.ts');
    expect(pattern.test(example)).toBe(true);
    // as the loader reads it: a path (./, ../, /) or a module's extension
    for (const name of ['sim.ts', '../sims/sim.mjs', '/abs/sim.js']) expect(pattern.test(name), name).toBe(true);
    for (const name of ['scaling', 'qk-variance', 'sim-ts']) expect(pattern.test(name), name).toBe(false);
  });
});

describe('bad simulation modules: exit 2, a located message naming the file, nothing written', () => {
  const GOOD = readFileSync(join(ROOT, 'examples/correlated-qk/corr-qk.ts'), 'utf8');
  const cases: [string, string | null, (file: string) => string][] = [
    ['the file is missing', null, (f) => msg.pluginMissing(f)],
    [
      'it does not parse',
      GOOD.replace('export default defineSimulation({', 'export default defineSimulation({{'),
      (f) => `simulation: module ${f} failed to load: `,
    ],
    ['it throws at import', `throw new Error('not today');\n${GOOD}`, (f) => msg.pluginImport(f, 'not today')],
    [
      'it has no default export',
      GOOD.replace('export default defineSimulation(', 'export const sim = defineSimulation('),
      (f) => msg.pluginNoDefault(f, ['sim']),
    ],
    ['its default export is not an object', 'export default 42;\n', (f) => msg.pluginNotSimulation(f, 'number')],
    [
      'a field is missing',
      GOOD.replace("  summary: 'mean and variance of q·k for q, k with per-coordinate correlation ρ',\n", ''),
      (f) => msg.pluginField(f, 'summary', 'missing', 'a one-line string'),
    ],
    [
      'a field is wrong',
      GOOD.replace("kind: 'correlated-qk'", "kind: 'Correlated QK'"),
      (f) => msg.pluginField(f, 'kind', 'wrong', 'a lowercase name: letters, digits, dashes'),
    ],
    [
      'it was not made with defineSimulation',
      GOOD.replace('export default defineSimulation({', 'export default ({').replace(
        /\n\}\);\n$/,
        '\n} as unknown as never);\n',
      ),
      (f) =>
        msg.pluginField(
          f,
          'columns',
          'missing',
          "the row's keys, which defineSimulation adds: export defineSimulation({ ... })",
        ),
    ],
    // The shape a user guesses from other tools: a list of columns instead of a zod row (once a TypeError about `shape`).
    [
      'it lists columns instead of a row',
      GOOD.replace(/row: z\.object\(\{[^]*?\}\),\n/, "columns: ['d', 'rho', 'mean'],\n"),
      (f) =>
        `${msg.pluginField(f, 'row', 'missing', '').split(': field')[0]}: it has no field "columns" (did you mean "row"? row must be a zod object whose keys, in order, are the columns`,
    ],
    [
      'its kind is a built-in',
      GOOD.replace("kind: 'correlated-qk'", "kind: 'qk-variance'"),
      (f) => msg.pluginKindTaken(f, 'qk-variance'),
    ],
  ];
  it.each(cases)('%s', async (_, source, expected) => {
    const { dir, yaml, module } = example();
    if (source === null)
      writeFileSync(yaml, readFileSync(yaml, 'utf8').replace(/^simulation: .*$/m, 'simulation: ./missing.ts'));
    else writeFileSync(module, source);
    const file = source === null ? join(dir, 'missing.ts') : module;
    const out = join(dir, 'out');
    const r = await cli([yaml, '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${yaml}:7:13: ${expected(file)}`);
    expect(r.stderr).toContain('[PLUGIN]');
    expect(listFiles(out)).toEqual([]);
  });
});
