/**
 * Attention methods from ONNX files (`settings.methods` of a scaling experiment). The contract: inputs named Q, K, V
 * of shapes [N, D], [N, D], [N, M], with N given at run time (a leading batch axis of 1 is also accepted), and one
 * output (named O where there are several) of [N, M]. Each model is loaded and called twice on small inputs before
 * any work, so a broken one is refused with the file, the key and what was expected.
 */
import type * as Ort from 'onnxruntime-node';
import { z } from 'zod';
import { AttnlabError, type SourceLocation } from '../../errors.js';
import { msg } from '../../messages.js';
import { loadOnnx, type OnnxEngine } from '../../engine/onnx/engine.js';
import { describeNonOnnx, fileStart } from '../../engine/onnx/model-file.js';
import { evaluateFlops } from './flops-expression.js';

export const UserMethod = z
  .object({
    onnx: z.string().min(1).describe('the model file, relative to the experiment file'),
    exact: z
      .enum(['softmax', 'none'])
      .default('none')
      .describe(
        'softmax: the model computes softmax(QKᵀ/√D)V, and its errors against the float64 reference are filled; none: no error columns; @default none',
      ),
    flops: z.string().optional().describe('FLOPs of one call as an expression in N, D, M (fills flops and gflops)'),
  })
  .strict();
export type UserMethod = z.output<typeof UserMethod>;

/** The contract's input names, sorted (compared with the model's, sorted). */
const INPUTS = ['K', 'Q', 'V'];
const CONTRACT =
  'inputs Q [N, D], K [N, D], V [N, M] (N dynamic; a leading batch axis of 1 allowed) and one output O [N, M]';

/** Whether the model's inputs carry a leading batch axis (rank 3). */
export function batched(session: Ort.InferenceSession): boolean {
  const q = session.inputMetadata.find((m) => m.name === 'Q');
  return q?.isTensor === true && q.shape.length === 3;
}

/** The name of the model's output: O, or its only output. */
export const outputName = (session: Ort.InferenceSession): string =>
  session.outputNames.includes('O') ? 'O' : session.outputNames[0]!;

/** The shapes (D, M) the grid runs each method at, for the trial calls. */
export type MethodShapes = Record<string, { D: number; M: number }[]>;

/** Check every model file against the contract; throws a located AttnlabError (BAD_MODEL) on the first problem. */
export async function checkMethodFiles(
  methods: Record<string, UserMethod>,
  shapes: MethodShapes,
  at: (path: (string | number)[]) => SourceLocation,
): Promise<void> {
  const names = Object.keys(methods);
  if (!names.length) return;
  let engine: OnnxEngine;
  try {
    engine = await loadOnnx();
  } catch (e) {
    throw new AttnlabError(
      'BACKEND',
      msg.modelNeedsOnnx((e as Error).message.split('\n')[0]!),
      at(['settings', 'methods']),
    );
  }
  for (const name of names) {
    const m = methods[name]!;
    const where = at(['settings', 'methods', name, 'onnx']);
    if (m.flops) {
      try {
        evaluateFlops(m.flops, { N: 1024, D: 64, M: 64 });
      } catch (e) {
        throw new AttnlabError(
          'BAD_MODEL',
          msg.badFlops(name, m.flops, (e as Error).message),
          at(['settings', 'methods', name, 'flops']),
        );
      }
    }
    let session: Ort.InferenceSession;
    try {
      session = await engine.session(m.onnx);
    } catch (e) {
      const start = fileStart(m.onnx);
      const looks = start && describeNonOnnx(start);
      throw new AttnlabError(
        'BAD_MODEL',
        msg.modelNotOnnx(name, m.onnx, (e as Error).message.split('\n')[0]!, looks),
        where,
      );
    }
    try {
      await checkContract(engine, session, name, m.onnx, shapes[name] ?? [], where);
    } finally {
      await session.release();
    }
  }
}

async function checkContract(
  engine: OnnxEngine,
  session: Ort.InferenceSession,
  name: string,
  file: string,
  shapes: { D: number; M: number }[],
  where: SourceLocation,
): Promise<void> {
  const refuse = (found: string) =>
    new AttnlabError('BAD_MODEL', msg.modelContract(name, file, found, CONTRACT), where);
  const inputs = [...session.inputNames].sort();
  if (inputs.join() !== INPUTS.join()) throw refuse(`has inputs ${inputs.join(', ') || '(none)'}`);
  if (session.outputNames.length > 1 && !session.outputNames.includes('O'))
    throw refuse(`has outputs ${session.outputNames.join(', ')} and none named O`);
  const rank3 = batched(session);
  for (const meta of session.inputMetadata) {
    if (!meta.isTensor) throw refuse(`input ${meta.name} is not a tensor`);
    if (meta.type !== 'float32') throw refuse(`input ${meta.name} is ${meta.type}`);
    const shape = meta.shape;
    if (shape.length !== (rank3 ? 3 : 2)) throw refuse(`input ${meta.name} has shape [${shape.join(', ')}]`);
    if (rank3 && shape[0] !== 1 && typeof shape[0] === 'number')
      throw refuse(`input ${meta.name} has a batch axis of ${shape[0]}`);
    const n = shape[rank3 ? 1 : 0];
    if (typeof n === 'number' && n > 0) throw refuse(`input ${meta.name} has a fixed sequence axis of ${n}`);
  }
  // Two calls at different N: the sequence axis must really be dynamic, and the output [N, M].
  for (const { D, M } of shapes.length ? shapes : [{ D: 64, M: 64 }]) {
    for (const N of [16, 24]) {
      const lead = rank3 ? [1] : [];
      const tensor = (cols: number) =>
        new engine.ort.Tensor(
          'float32',
          Float32Array.from({ length: N * cols }, (_, i) => Math.sin(i)),
          [...lead, N, cols],
        );
      let out: Ort.Tensor;
      try {
        out = (await session.run({ Q: tensor(D), K: tensor(D), V: tensor(M) }))[outputName(session)]!;
      } catch (e) {
        throw new AttnlabError(
          'BAD_MODEL',
          msg.modelFailed(name, file, `N=${N}, D=${D}, M=${M}`, (e as Error).message.split('\n')[0]!),
          where,
        );
      }
      const want = [...lead, N, M];
      if (out.dims.join() !== want.join())
        throw refuse(
          `gives an output of [${out.dims.join(', ')}] for N=${N}, D=${D}, M=${M}, not [${want.join(', ')}]`,
        );
    }
  }
}
