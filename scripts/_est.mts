import { readdirSync, readFileSync } from 'node:fs';
import { loadExperiment, resolveExperimentFile } from '../src/spec/load.js';
import { applyOverrides } from '../src/spec/overrides.js';
import { expandGrid } from '../src/spec/grid.js';
const [name, dir] = process.argv.slice(2) as [string, string];
const loaded = loadExperiment(resolveExperimentFile(name));
const exp = applyOverrides(loaded.experiment, loaded.sim, { quick: false, sets: [] });
const pts = new Map(expandGrid(exp, loaded.sim).map((p) => [p.id, p]));
const ms = new Map<string, number>();
for (const line of readFileSync(`${dir}/${readdirSync(dir).find((d) => /^\d{8}-/.test(d))}/points.jsonl`, 'utf8').trim().split('\n')) {
  const e = JSON.parse(line); if (e.round === undefined) continue;
  ms.set(e.point, (ms.get(e.point) ?? 0) + e.ms);
}
const groups = new Map<string, [number, number]>();
let tm = 0, tp = 0;
for (const [id, m] of ms) {
  const p = pts.get(id); if (!p) continue;
  const pred = loaded.sim.estimateMs!(p.params as never, exp.settings as never, 'onnx');
  const k = JSON.stringify({ ...p.params, N: undefined, D: undefined, M: undefined, n: undefined }) + (Number(p.params['N'] ?? p.params['n']) >= 8192 ? ' big' : ' small');
  const g = groups.get(k) ?? [0, 0]; g[0] += m; g[1] += pred; groups.set(k, g); tm += m; tp += pred;
}
for (const [k, [m, p]] of groups) console.log(k, (m / 1e3).toFixed(1), (p / 1e3).toFixed(1), (m / p).toFixed(2));
console.log('total', (tm / 1e3).toFixed(1), (tp / 1e3).toFixed(1));
