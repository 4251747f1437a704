/**
 * Run-to-run spread of mha-vs-mqa's timing claims: runs the default grid (or the given --set's) N times, one after
 * another, and prints per run the wall time and each timing claim's measured value (the worst row's), then the range
 * over runs, beside the bound the experiment file states. Run it on a quiet machine to set or check the tolerances:
 *
 *   npx tsx scripts/mha-vs-mqa-spread.ts [runs=3] [--out DIR] [-- extra CLI arguments]
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { loadExperiment, resolveExperimentFile } from '../src/spec/load.js';

const args = process.argv.slice(2);
const dash = args.indexOf('--');
const extra = dash >= 0 ? args.slice(dash + 1) : [];
const own = dash >= 0 ? args.slice(0, dash) : args;
const runs = Number(own.find((a) => /^\d+$/.test(a)) ?? 3);
const outAt = own.indexOf('--out');
const out = outAt >= 0 ? own[outAt + 1]! : join('results', 'spread');

function csv(file: string): Record<string, string>[] {
  const [head, ...lines] = readFileSync(file, 'utf8').trimEnd().split('\n');
  const cols = head!.split(',');
  return lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [cols[i], v])));
}

/** Each timing claim's worst value in one run, as its claim tests it. */
function claimValues(dir: string): Record<string, number> {
  const k = csv(join(dir, 'kernels.csv'));
  const r = csv(join(dir, 'ratios.csv'));
  const max = (xs: number[]) => (xs.length ? Math.max(...xs) : NaN);
  const min = (xs: number[]) => (xs.length ? Math.min(...xs) : NaN);
  const num = (rows: Record<string, string>[], c: string) =>
    rows.map((x) => Number(x[c])).filter((v) => Number.isFinite(v));
  const best = k.filter((x) => x['kind'] === 'best-kernel' && x['b'] === '1' && Number(x['n']) >= 8192);
  const values: Record<string, number> = {};
  for (const v of ['mha', 'gqa', 'mqa', 'mla'])
    values[`decode-near-bandwidth ${v} (max time ÷ bound)`] = max(
      num(
        best.filter((x) => x['variant'] === v),
        'time_over_bound',
      ),
    );
  values['int8-cache-faster (max int8 ÷ float32)'] = max(
    num(
      k.filter((x) => x['kind'] === 'dtype' && x['kv_dtype'] === 'int8' && Number(x['n']) >= 32768),
      'time_ratio',
    ),
  );
  values['mla-time-at-roofline (min time ÷ roofline bound at the largest n)'] = min(
    num(
      k.filter((x) => x['kind'] === 'mla' && Number(x['n']) >= 32768),
      'time_over_roofline',
    ),
  );
  values['window-stops-growth (max time growth)'] = max(
    num(
      k.filter((x) => x['kind'] === 'window'),
      'time_growth',
    ),
  );
  values['mqa-step-faster (min MHA/MQA time at b = 1, n ≥ 8192)'] = min(
    num(
      r.filter((x) => x['kind'] === 'shape' && x['b'] === '1' && Number(x['n']) >= 8192),
      'time_ratio',
    ),
  );
  return values;
}

console.log(`CPU: ${cpus()[0]?.model ?? 'unknown'} × ${cpus().length}`);
const table: { seconds: number; claims: string; values: Record<string, number> }[] = [];
for (let i = 0; i < runs; i++) {
  const dir = join(out, `run-${i + 1}`);
  const start = Date.now();
  const r = spawnSync('npx', ['tsx', 'src/cli.ts', 'mha-vs-mqa', '--out', dir, ...extra], { encoding: 'utf8' });
  const seconds = (Date.now() - start) / 1000;
  const claims = /claims: (\d+\/\d+) passed/.exec(r.stdout)?.[1] ?? `exit ${r.status}`;
  const run = join(
    dir,
    'mha-vs-mqa',
    readdirSync(join(dir, 'mha-vs-mqa'))
      .filter((d) => d !== 'latest')
      .sort()
      .at(-1)!,
  );
  const values = claimValues(run);
  table.push({ seconds, claims, values });
  console.log(`run ${i + 1}: ${seconds.toFixed(1)} s, claims ${claims}`);
  for (const [name, v] of Object.entries(values)) console.log(`  ${name}: ${v.toFixed(3)}`);
  for (const line of r.stdout.split('\n').filter((l) => /^\s+FAIL /.test(l))) console.log(`  ${line.trim()}`);
}
// The bounds as the experiment file states them now.
const { experiment } = await loadExperiment(resolveExperimentFile('mha-vs-mqa'));
const stated = experiment.claims.flatMap((c) =>
  'test' in c && c.test && 'between' in c.test ? [`${c.id} ${c.test.between[0]} – ${c.test.between[1]}`] : [],
);
console.log(`\nrange over runs (the file states: ${stated.join(', ')}):`);
for (const name of Object.keys(table[0]?.values ?? {})) {
  const xs = table.map((t) => t.values[name]!).filter((v) => Number.isFinite(v));
  console.log(`  ${name}: ${Math.min(...xs).toFixed(3)} – ${Math.max(...xs).toFixed(3)}`);
}
console.log(
  `  wall time: ${Math.min(...table.map((t) => t.seconds)).toFixed(1)} – ${Math.max(...table.map((t) => t.seconds)).toFixed(1)} s`,
);
