import { attentionGraph, type GraphCall } from '../src/onnx/attention-graphs.js';
import { loadOnnx } from '../src/onnx/engine.js';
import { memoryProbe } from '../src/onnx/memory.js';
import { predictedBytes, quadraticFeatures } from '../src/sim/scaling-cost.js';
import { referenceRows, relErrors, sampleRows } from '../src/tensor/reference.js';
const e = await loadOnnx();
const probe = memoryProbe(e.options)!;
const d = Number(process.argv[4] ?? 64);
for (const method of process.argv[2]!.split(',')) for (const n of process.argv[3]!.split(',').map(Number)) {
  const [mm, cs] = method.split(':');
  const c: GraphCall = { method: mm as any, causal: cs === 'c', n, d, m: d, count: 0, chunk: Number(process.env.CH ?? 256), causalChunk: 256 };
  const g = attentionGraph(c);
  const b = await probe.peak(g, { Q: [n, d], K: [n, d], V: [n, d] });
  const s = await e.session(g);
  const rnd = (k: number) => Float32Array.from({ length: k }, () => Math.random() * 2 - 1);
  const q = rnd(n * d), k = rnd(n * d), v = rnd(n * d);
  const feeds = { Q: new e.ort.Tensor('float32', q, [n, d]), K: new e.ort.Tensor('float32', k, [n, d]), V: new e.ort.Tensor('float32', v, [n, d]) };
  const out = (await s.run(feeds)).O!.data as Float32Array;
  const rows = sampleRows(n, 64);
  const err = relErrors(out, d, rows, referenceRows({ q, k, v, n, d, m: d }, mm === 'softmax' ? 'softmax' : 'quadratic', c.causal, rows));
  const t0 = performance.now(); for (let i = 0; i < 10; i++) await s.run(feeds); const ms = (performance.now() - t0) / 10;
  const p = predictedBytes({ method: mm as any, causal: c.causal, N: n, D: d, M: d, F: mm === 'quadratic-kernel' ? quadraticFeatures(d) : 0, causalChunk: 256, chunkRows: 256, engine: 'onnx' })!;
  console.log(method, n, 'measured', (b / 2 ** 20).toFixed(2), 'predicted', (p / 2 ** 20).toFixed(2), 'ratio', (b / p).toFixed(3), `${ms.toFixed(1)} ms`, 'err', err.max.toExponential(1));
}
probe.close();
