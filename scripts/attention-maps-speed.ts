/**
 * Phases of one attention-maps point on a model, timed apart (the speed check of docs/experiments/attention-maps.md):
 *   npx tsx scripts/attention-maps-speed.ts /tmp/gpt2like/gpt2-like.onnx 128 32
 * Prints the CPU, the time to open the model (decode, surgery, session, first call), the forward pass of the
 * sequences with every layer's probabilities and logits as outputs, and the scoring in JavaScript, each as wall and
 * CPU time, beside the cost model's prediction of the point.
 */
import { cpus } from 'node:os';
import { modelCostMs, modelSize } from '../src/sim/attention-maps/cost.js';
import { openModel } from '../src/sim/attention-maps/engines.js';
import { probeSequences } from '../src/sim/attention-maps/probes.js';
import { headScores } from '../src/sim/attention-maps/scores.js';
import { NormalRng } from '../src/random/normal.js';

const [file, tArg = '128', nArg = '32'] = process.argv.slice(2);
if (!file) throw new Error('usage: npx tsx scripts/attention-maps-speed.ts MODEL.onnx [T] [sequences]');
const T = Number(tArg);
const n = Number(nArg);
console.log(`CPU: ${cpus()[0]?.model} × ${cpus().length}`);
let t = performance.now();
let cpu = process.cpuUsage();
// Wall time, and the process's CPU time (user + system, all threads): on a machine shared with other work, the CPU
// time over the threads ONNX Runtime runs is what the phase would take alone.
const lap = () => {
  const now = performance.now();
  const used = process.cpuUsage(cpu);
  const ms = now - t;
  [t, cpu] = [now, process.cpuUsage()];
  return `${(ms / 1000).toFixed(2)} s (CPU ${((used.user + used.system) / 1e6).toFixed(2)} s)`;
};
const model = await openModel({ file, idsInput: 'input_ids' });
const size = modelSize(file);
console.log(
  `open (decode, surgery, session, first call): ${lap()}; ${model.layers.length} layers × ${model.layers[0]!.heads} heads, vocab ${model.vocab}, ${((size?.forwardWeights ?? 0) / 1e6).toFixed(2)} M weights in the forward pass`,
);
const predicted = modelCostMs(file, T, n, false);
for (const probe of ['random', 'repeated'] as const) {
  const batch = probeSequences(probe, T, n, model.vocab, new NormalRng(Uint32Array.of(1, 2, 3, 4)), [], []);
  lap();
  const out = await model.run(batch.sequences);
  const forward = lap();
  for (const o of out)
    for (let h = 0; h < o.heads; h++)
      for (let b = 0; b < n; b++)
        headScores(o.probs, o.logits, (b * o.heads + h) * T * T, T, batch.sequences[b]!, batch.repeat);
  console.log(
    `${probe}: forward ${forward}, scoring ${lap()} (T=${T}, ${n} sequences); cost model ${(predicted / 1000).toFixed(2)} s`,
  );
}
