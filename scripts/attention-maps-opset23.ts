/**
 * A model whose attention is ONNX's opset-23 `Attention` op (PyTorch 1.13 cannot export it: its exporter stops at
 * opset 17), built with attnlab's graph builder to check what attention-maps says of it (the export pitfalls of
 * docs/experiments/attention-maps.md): ONNX Runtime runs it, and no probability tensor exists to be found.
 *   npx tsx scripts/attention-maps-opset23.ts /tmp/pitfalls/attention23.onnx
 */
import { writeFileSync } from 'node:fs';
import onnxProto from 'onnx-proto';
import { Graph } from '../src/engine/onnx/graph.js';
const { onnx } = onnxProto;
// input_ids [B, T] -> embedding [B, T, 8] -> Attention-23 (2 heads, 3-D inputs, causal) -> [B, T, 8]
const g = new Graph('attention23');
const ids = g.input('input_ids', ['batch', 'T'], 'int64');
const emb = g.op('Gather', [
  g.floats(
    Array.from({ length: 50 * 8 }, (_, i) => Math.sin(i)),
    [50, 8],
  ),
  ids,
]);
const y = g.op('Attention', [emb, emb, emb], { q_num_heads: 2, kv_num_heads: 2, is_causal: 1 });
g.output(y, 'y', ['batch', 'T', 8]);
const m = onnx.ModelProto.decode(g.encode());
m.irVersion = 10;
m.opsetImport = [{ domain: '', version: 23 }];
writeFileSync(process.argv[2]!, onnx.ModelProto.encode(m).finish());
const ort = await import('onnxruntime-node');
const s = await ort.InferenceSession.create(process.argv[2]!);
const out = await s.run({ input_ids: new ort.Tensor('int64', BigInt64Array.from([1n, 2n, 3n]), [1, 3]) });
console.log('ORT runs it:', out['y']!.dims);
