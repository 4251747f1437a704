import * as ort from 'onnxruntime-node';
import { Graph } from '../src/engine/onnx/graph.js';
const opts = { intraOpNumThreads: 2, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all', extra: { session: { 'intra_op.allow_spinning': '0' } } } as any;
// layout 'flat': Kt [1,g,k,n], V [1,g,n,k]; 'paged': Kt [1,g,S,k,c], V [1,g,S,c,k]
function graph(g0: number, r: number, k: number, n: number, c: number) {
  const g = new Graph('p');
  const q = g.input('q', [1, g0, r, k]);
  let o: string;
  if (c === 0) {
    const kT = g.input('Kt', [1, g0, k, n]); const v = g.input('V', [1, g0, n, k]);
    o = g.op('MatMul', [g.op('Softmax', [g.op('MatMul', [q, kT])], { axis: -1 }), v]);
  } else {
    const S = n / c;
    const kT = g.input('Kt', [1, g0, S, k, c]); const v = g.input('V', [1, g0, S, c, k]);
    const q5 = g.op('Reshape', [q, g.ints([1, g0, 1, r, k])]);
    const s = g.op('MatMul', [q5, kT]); // [1,g,S,r,c]
    const max = g.op('ReduceMax', [s, g.ints([2, 4])], { keepdims: 1 });
    const e = g.op('Exp', [g.op('Sub', [s, max])]);
    const sum = g.op('ReduceSum', [e, g.ints([2, 4])], { keepdims: 1 }); // [1,g,1,r,1]
    const part = g.op('MatMul', [e, v]); // [1,g,S,r,k]
    const tot = g.op('ReduceSum', [part, g.ints([2])], { keepdims: 0 }); // [1,g,r,k]
    o = g.op('Div', [tot, g.op('Reshape', [sum, g.ints([1, g0, r, 1])])]);
  }
  g.output(o, 'o', [1, g0, r, k]);
  return g.encode();
}
const rnd = (len: number) => { const a = new Float32Array(len); for (let i = 0; i < len; i++) a[i] = Math.random() - 0.5; return a; };
for (const [name, g0, r] of [['mqa', 1, 16], ['gqa', 4, 4], ['mha', 16, 1]] as const) for (const n of [8192, 32768]) {
  const k = 64; const res: string[] = [];
  for (const c of [0, 256, 1024, 0, 256, 1024]) {
    const s = await ort.InferenceSession.create(graph(g0, r, k, n, c), opts);
    const dims = c === 0 ? [[1, g0, k, n], [1, g0, n, k]] : [[1, g0, n / c, k, c], [1, g0, n / c, c, k]];
    const feeds: any = { q: new ort.Tensor('float32', rnd(g0 * r * k), [1, g0, r, k]), Kt: new ort.Tensor('float32', rnd(g0 * k * n), dims[0]!), V: new ort.Tensor('float32', rnd(g0 * k * n), dims[1]!) };
    for (let i = 0; i < 5; i++) await s.run(feeds);
    const t: number[] = []; for (let i = 0; i < 40; i++) { const t0 = performance.now(); await s.run(feeds); t.push(performance.now() - t0); }
    t.sort((a, b) => a - b); const bytes = 2 * g0 * k * n * 4;
    res.push(`c${c} ${t[20]!.toFixed(2)}ms ${(bytes / t[20]! / 1e6).toFixed(0)}GB/s`);
    await s.release();
  }
  console.log(name, n, res.join(' | '));
}
