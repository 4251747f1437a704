/**
 * GroupQueryAttention's borrowed-cache mode against the mode mha-vs-mqa times (issue 33): past key and value as the
 * whole cache (the new token already in it), no new key and value (kv_sequence_length 0), no present outputs, so the
 * kernel need not copy the cache into present (onnxruntime PR 28242, "make present_key/present_value optional").
 * Prints, per variant at b = 1, d = 1024, h = 16, n = 32768 (float32): the median ms of each mode and each one's
 * time ÷ (bytes ÷ this machine's measured bandwidth), bytes without the copy; or why the engine refused the mode.
 *
 *   npx tsx scripts/gqa-borrowed-cache.ts [n] [omitted,empty]
 *
 * With onnxruntime-node 1.30.0 on CPU neither runs: omitted key and value make GroupQueryAttention read the query as
 * packed QKV (refused: head_size must be a multiple of 8), and key and value of length 0 end the process in a
 * segmentation fault (exit 139) in the first run (docs/experiments/mha-vs-mqa.md). Run each mode alone to see both.
 */
import { startOnnxRun } from '../src/engine/onnx/engine.js';
import { Graph } from '../src/engine/onnx/graph.js';
import { onnxProbes, stepModel } from '../src/sim/mha-vs-mqa/engines.js';
import { decodeCost } from '../src/sim/mha-vs-mqa/cost.js';
import { probeMs } from '../src/sim/timing.js';

const [b, d, h] = [1, 1024, 16];
const n = Number(process.argv[2] ?? 32768);
const k = d / h;

/** The borrowed-cache step: projections, GroupQueryAttention over past (n + 1 tokens, the new one written), output. */
function borrowedGraph(g: number, keyValue: 'omitted' | 'empty'): Uint8Array {
  const graph = new Graph('attnlab-decode-gqa-borrowed');
  graph.input('x', [b, d]);
  graph.input('Wq', [d, h * k]);
  graph.input('Wo', [h * k, d]);
  graph.input('past_key', [b, g, n + 1, k]);
  graph.input('past_value', [b, g, n + 1, k]);
  graph.input('seqlens_k', [b], 'int32');
  graph.input('total_sequence_length', [1], 'int32');
  const q = graph.op('Reshape', [graph.op('MatMul', ['x', 'Wq']), graph.ints([b, 1, h * k])]);
  let kv = ['', ''];
  if (keyValue === 'empty') {
    graph.input('key', [b, 0, g * k]);
    graph.input('value', [b, 0, g * k]);
    kv = ['key', 'value'];
  }
  const ins = [q, ...kv, 'past_key', 'past_value', 'seqlens_k', 'total_sequence_length'];
  const [out] = graph.contrib('GroupQueryAttention', ins, 1, { num_heads: h, kv_num_heads: g });
  graph.output(graph.op('MatMul', [graph.op('Reshape', [out!, graph.ints([b, h * k])]), 'Wo']), 'y', [b, d]);
  return graph.encode();
}

const run = await startOnnxRun();
const { engine } = run;
const now = () => performance.now();
const { bandwidth } = await onnxProbes(run, now);
console.log(`bandwidth ${(bandwidth / 1e9).toFixed(2)} GB/s; b = ${b}, d = ${d}, h = ${h}, n = ${n}, float32`);
for (const [variant, g] of [
  ['mha', 16],
  ['gqa', 4],
  ['mqa', 1],
] as const) {
  const bound = (copies: boolean) =>
    (decodeCost({ b, n, d, h, g, s: 4, copiesCache: copies }).bytesTotal / bandwidth) * 1e3;
  const std = stepModel(engine, { kernel: 'gqa-op', shape: { b, n, d, h, g, kv: 'float32', scales: 'per-channel' } });
  const session = await engine.session(std.model);
  const stdMs = await probeMs(now, () => session.run(std.inputs, std.fetch), 'gqa-op');
  await session.release();
  const line = [
    `${variant}: present mode ${stdMs.toFixed(3)} ms (${(stdMs / bound(true)).toFixed(2)}× its bound with the copy, ${(stdMs / bound(false)).toFixed(2)}× without)`,
  ];
  for (const mode of (process.argv[3] ?? 'omitted,empty').split(',') as ('omitted' | 'empty')[]) {
    try {
      const s = await engine.session(borrowedGraph(g, mode));
      const inputs = Object.fromEntries(Object.entries(std.inputs).filter(([name]) => !['Wk', 'Wv'].includes(name)));
      if (mode === 'empty') {
        inputs['key'] = new engine.ort.Tensor('float32', new Float32Array(0), [b, 0, g * k]);
        inputs['value'] = new engine.ort.Tensor('float32', new Float32Array(0), [b, 0, g * k]);
      }
      await s.run(inputs, ['y']); // once outside the timer: an engine that refuses the mode says why here
      const ms = await probeMs(now, () => s.run(inputs, ['y']), `borrowed ${mode}`);
      await s.release();
      line.push(`borrowed (key/value ${mode}) ${ms.toFixed(3)} ms (${(ms / bound(false)).toFixed(2)}× its bound)`);
      console.error(line.at(-1));
    } catch (e) {
      line.push(`borrowed (key/value ${mode}) refused: ${(e as Error).message.split('\n')[0]}`);
      console.error(line.at(-1));
    }
  }
  console.log(line.join('; '));
}
await run.probe?.close();
