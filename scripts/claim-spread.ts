/**
 * Run-to-run spread of scaling's fits, from which its claims' tolerances come.
 *
 *   npx tsx scripts/claim-spread.ts [--runs K] [--out DIR] [--quick] [DIR ...]
 *
 * Runs `npm run exp -- scaling` K times (default 3) into DIR (default results-spread/), each a fresh run with the
 * same seed (or takes run directories given instead), recomputes the fits from each run's results.csv with the
 * analysis and claims as they are now (so a changed fit or tolerance can be tried on old runs), and prints
 * per fitted quantity (p of each growth fit, b_ratio of each per-row fit, each memory ratio and crossover ratio):
 * every run's value, their mean, standard deviation and range, and the claims' verdicts per run, with each run's
 * wall time. A tolerance that covers the range with room to spare (about 3 standard deviations, and never less than
 * the range) is what each claim in experiments/scaling.yaml should carry; print the machine (lscpu) beside it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { loadExperiment, resolveExperimentFile } from '../src/spec/load.js';
import { evaluateClaims } from '../src/spec/claims.js';
import { analyseScaling } from '../src/sim/scaling/analysis.js';
import type { ScalingRow } from '../src/sim/scaling/rows.js';

const experiment = await loadExperiment(resolveExperimentFile('scaling'));
const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(name);
  return i < 0 ? undefined : args.splice(i, 2)[1];
};
const runs = Number(flag('--runs') ?? 3);
const out = resolve(flag('--out') ?? 'results-spread');
const quick = args.includes('--quick') ? (args.splice(args.indexOf('--quick'), 1), true) : false;

let dirs = args.map((d) => resolve(d));
const seconds: number[] = [];
if (!dirs.length) {
  for (let i = 0; i < runs; i++) {
    const start = Date.now();
    // Each run in its own results root, so that none resumes another.
    execFileSync(
      'npx',
      ['tsx', 'src/cli.ts', 'scaling', ...(quick ? ['--quick'] : []), '--out', join(out, `run-${i}`)],
      { stdio: ['ignore', 'inherit', 'inherit'] },
    );
    seconds.push((Date.now() - start) / 1000);
  }
  dirs = Array.from({ length: runs }, (_, i) => join(out, `run-${i}`, 'scaling', 'latest'));
}

type Row = Record<string, string>;
/** Rows of a CSV file written by attnlab (RFC 4180: fields with a comma, quote or newline are quoted). */
function read(file: string): Row[] {
  if (!existsSync(file)) return [];
  const text = readFileSync(file, 'utf8');
  const records: string[][] = [[]];
  let field = '';
  let quoted = false;
  const end = () => {
    records[records.length - 1]!.push(field);
    field = '';
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') end();
    else if (c === '\n') {
      end();
      records.push([]);
    } else field += c;
  }
  const [header, ...rows] = records.filter((r) => r.length > 1);
  return rows.map((r) => Object.fromEntries(header!.map((h, i) => [h, r[i] ?? ''])));
}
const values = new Map<string, number[]>();
const verdicts = new Map<string, string[]>();
// The analysis as it is now, recomputed from each run's results.csv (so a changed fit or tolerance can be tried on old
// runs); CSV cells are strings, so numbers, booleans and the samples' arrays are restored first.
const cell = (v: string): unknown =>
  v === ''
    ? null
    : v === 'true'
      ? true
      : v === 'false'
        ? false
        : v.startsWith('[')
          ? JSON.parse(v)
          : Number.isFinite(Number(v))
            ? Number(v)
            : v;
const typed = (rows: Row[]) => rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, cell(v)])));
const fitMinN = Number((experiment.experiment.settings as Record<string, unknown>)['fit_min_N'] ?? 1024);
dirs.forEach((dir, run) => {
  const results = typed(read(join(dir, 'results.csv')));
  const fits = analyseScaling(results as unknown as ScalingRow[], fitMinN).tables['fits']!.rows;
  for (const r of fits.map((f) =>
    Object.fromEntries(Object.entries(f).map(([k, v]) => [k, v === null ? '' : String(v)])),
  )) {
    const where = `${r['method']}${r['causal'] === 'true' ? ' causal' : ''} D=${r['D']}`;
    const quantity =
      r['kind'] === 'growth'
        ? [`p ${r['metric']}`, r['p']]
        : r['kind'] === 'per-row'
          ? ['b_ratio memory', r['b_ratio']]
          : r['kind'] === 'memory-ratio'
            ? ['ratio memory', r['ratio']]
            : r['kind'] === 'crossover'
              ? ['crossover_ratio', r['crossover_ratio']]
              : null;
    if (!quantity || quantity[1] === '' || quantity[1] === undefined) continue;
    const key = `${quantity[0]} | ${where}`;
    const list = values.get(key) ?? [];
    list[run] = Number(quantity[1]);
    values.set(key, list);
  }
  // The claims of the experiment file as it is now.
  for (const c of evaluateClaims(experiment.experiment.claims, { results: results as never, fits })) {
    const list = verdicts.get(c.id) ?? [];
    list[run] = c.status === 'error' ? `error (${c.reason})` : c.status === 'pass' ? 'pass' : `FAIL (${c.measured})`;
    verdicts.set(c.id, list);
  }
});

const f = (v: number) => (Number.isFinite(v) ? Number(v.toPrecision(3)).toString() : '—');
console.log(`# scaling: run-to-run spread over ${dirs.length} runs`);
console.log(`CPU: ${cpus()[0]?.model ?? 'unknown'} × ${cpus().length}; ${new Date().toISOString()}`);
if (seconds.length) console.log(`wall time per run (s): ${seconds.map((s) => s.toFixed(1)).join(', ')}`);
console.log('\n| quantity | where | runs | mean | sd | min | max |\n|---|---|---|---|---|---|---|');
for (const [key, list] of [...values].sort(([a], [b]) => a.localeCompare(b))) {
  const v = list.filter((x) => x !== undefined && Number.isFinite(x));
  const mean = v.reduce((s, x) => s + x, 0) / v.length;
  const sd = v.length > 1 ? Math.sqrt(v.reduce((s, x) => s + (x - mean) ** 2, 0) / (v.length - 1)) : NaN;
  const [quantity, where] = key.split(' | ');
  console.log(
    `| ${quantity} | ${where} | ${list.map((x) => (x === undefined ? '·' : f(x))).join(' ')} | ${f(mean)} | ${f(sd)} | ${f(Math.min(...v))} | ${f(Math.max(...v))} |`,
  );
}
if (verdicts.size) {
  console.log('\n| claim | verdict per run |\n|---|---|');
  for (const [id, list] of verdicts) console.log(`| ${id} | ${list.map((x) => x ?? '·').join('; ')} |`);
}
