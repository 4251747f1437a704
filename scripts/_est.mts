import { readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../src/cli.js';
import { loadExperiment, resolveExperimentFile } from '../src/spec/load.js';
import { applyOverrides } from '../src/spec/overrides.js';
import { expandGrid } from '../src/spec/grid.js';
const [name, ...sets] = process.argv.slice(2);
const out = '/tmp/est-' + Date.now();
const args = [name!, '--quick', ...sets.flatMap((s) => ['--set', s]), '--out', out];
const t0 = performance.now();
const code = await runCli(args, { stdout: { write: () => 0 }, stderr: { write: (s: string) => (process.stderr.write(s), 0) } });
console.log('code', code, 'wall', ((performance.now() - t0) / 1000).toFixed(1));
const loaded = loadExperiment(resolveExperimentFile(name!));
const exp = applyOverrides(loaded.experiment, loaded.sim, { quick: true, sets });
const pts = expandGrid(exp, loaded.sim);
const dir = join(out, name!, readlinkSync(join(out, name!, 'latest')));
const ms = new Map<string, number>();
for (const l of readFileSync(join(dir, 'points.jsonl'), 'utf8').trim().split('\n')) { const e = JSON.parse(l); ms.set(e.point, (ms.get(e.point) ?? 0) + (e.ms ?? 0)); }
for (const p of pts) { const pred = loaded.sim.estimateMs!(p.params as never, exp.settings as never); const m = ms.get(p.id)!; console.log(JSON.stringify(p.params), 'pred', pred.toFixed(0), 'meas', m.toFixed(0), 'ratio', (m / pred).toFixed(2)); }
