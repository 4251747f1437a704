/**
 * Which graph inputs ONNX Runtime converts before using them: it inserts a Cast where an op has no kernel for a type on
 * the session's provider (a float16 MatMul on CPU becomes Cast → float32 MatMul). The session's optimized model is
 * written to a temporary file and read back; the inputs that feed a Cast node there are returned.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import type { OnnxEngine } from './engine.js';

export async function castInputs(engine: OnnxEngine, model: Uint8Array, inputs: readonly string[]): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'attnlab-casts-'));
  try {
    const path = join(dir, 'optimized.onnx');
    const session = await engine.ort.InferenceSession.create(model, {
      ...engine.options,
      optimizedModelFilePath: path,
    });
    await session.release();
    const graph = onnxProto.onnx.ModelProto.decode(readFileSync(path)).graph;
    const cast = new Set((graph?.node ?? []).filter((n) => n.opType === 'Cast').flatMap((n) => n.input ?? []));
    return inputs.filter((name) => cast.has(name));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
