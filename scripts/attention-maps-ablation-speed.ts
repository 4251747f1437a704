/**
 * The ablation speed check of docs/experiments/attention-maps.md: every head of a model ablated, one at a time, on
 * each probe, with the time below the split (once per probe) and above it (once per layer) apart:
 *   npx tsx scripts/attention-maps-ablation-speed.ts /tmp/gpt2/gpt2-like.onnx 128 8 [zero] [composition]
 * Prints the CPU, the time to prepare the ablations (discovery calls, surgery, the below session), and per probe the
 * total, below and above the split, the largest loss change, and the process's CPU time (user + system, all threads:
 * on a shared machine, CPU time ÷ cores is what the probe would take alone).
 */
import { cpus, loadavg } from 'node:os';
import { ablationRows } from '../src/sim/attention-maps/ablate-point.js';
import type { Ablation } from '../src/sim/attention-maps/ablation-feeds.js';
import { openAblator } from '../src/sim/attention-maps/ablator.js';
import { openModel } from '../src/sim/attention-maps/engines.js';
import { probeSequences } from '../src/sim/attention-maps/probes.js';
import type { MapsRow } from '../src/sim/attention-maps/rows.js';
import { NormalRng } from '../src/random/normal.js';

const [file, tArg = '128', nArg = '8', mode = 'zero', comp = 'no'] = process.argv.slice(2);
if (!file)
  throw new Error(
    'usage: npx tsx scripts/attention-maps-ablation-speed.ts MODEL.onnx [T] [sequences] [mode] [composition]',
  );
const [T, n] = [Number(tArg), Number(nArg)];
console.log(`CPU: ${cpus()[0]?.model} × ${cpus().length}`);
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
let t0 = performance.now();
const o = { file, idsInput: 'input_ids' };
const model = await openModel(o);
const ablator = await openAblator(o, model);
const heads = model.layers.reduce((a, l) => a + l.heads, 0);
console.log(
  `open and prepare: ${s(performance.now() - t0)}; ${model.layers.length} layers, ${heads} heads, logits ${ablator.logits}`,
);
for (const probe of ['random', 'repeated'] as const) {
  const batch = probeSequences(probe, T, n, model.vocab, new NormalRng(Uint32Array.of(1, 2, 3, 4)), [], []);
  t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const base = (record: MapsRow['record']) => ({ model: 'trained', record, probe, T }) as MapsRow;
  const r = await ablationRows(
    ablator,
    batch.sequences,
    batch.repeat,
    [mode as Ablation],
    [],
    comp === 'composition',
    base,
  );
  const total = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const cpuS = (cpu.user + cpu.system) / 1e6;
  const measure = probe === 'repeated' ? 'second_copy' : 'all';
  const top = r.rows.filter((x) => x.measure === measure).sort((a, b) => b.delta! - a.delta!)[0];
  console.log(
    `${probe}: ${s(total)} for ${heads} ablated passes of ${n} sequences (T=${T}); below the split ${s(r.belowMs)} ` +
      `(${((100 * r.belowMs) / total).toFixed(1)}%), above ${s(r.aboveMs)} (${((100 * r.aboveMs) / total).toFixed(1)}%); ` +
      `largest Δ${measure} ${top?.ablated} ${top?.delta?.toFixed(4)}; CPU time ${cpuS.toFixed(0)} s, load average ` +
      `${loadavg()[0]!.toFixed(1)}`,
  );
}
