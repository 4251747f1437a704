/**
 * Phases of one attention-maps point on a model, timed apart (the speed check of docs/experiments/attention-maps.md):
 *   npx tsx scripts/attention-maps-speed.ts /tmp/gpt2like/gpt2-like.onnx 128 32
 * Prints the CPU, the time to open the model (decode, surgery, session, first call), the forward pass of the
 * sequences with every layer's probabilities and logits as outputs, and the scoring in JavaScript.
 */
import { cpus } from 'node:os';
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
const lap = () => {
  const now = performance.now();
  const ms = now - t;
  t = now;
  return `${(ms / 1000).toFixed(2)} s`;
};
const model = await openModel({ file, idsInput: 'input_ids' });
console.log(
  `open (decode, surgery, session, first call): ${lap()}; ${model.layers.length} layers × ${model.layers[0]!.heads} heads, vocab ${model.vocab}`,
);
for (const probe of ['random', 'repeated'] as const) {
  const batch = probeSequences(probe, T, n, model.vocab, new NormalRng(Uint32Array.of(1, 2, 3, 4)), [], []);
  lap();
  const out = await model.run(batch.sequences);
  const forward = lap();
  for (const o of out)
    for (let h = 0; h < o.heads; h++)
      for (let b = 0; b < n; b++)
        headScores(o.probs, o.logits, (b * o.heads + h) * T * T, T, batch.sequences[b]!, batch.repeat);
  console.log(`${probe}: forward ${forward}, scoring ${lap()} (T=${T}, ${n} sequences)`);
}
