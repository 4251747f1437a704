/**
 * The scaling experiment's calls on either engine, behind one shape: prepare a call once per point (an ONNX Runtime
 * session of its graph, or the tfjs executor's inputs), then run it as often as the timing needs, and read its
 * peak memory once.
 */
import type * as Ort from 'onnxruntime-node';
import { attentionGraph, graphInputs, type GraphCall } from './graphs.js';
import { kernels, type SharedInputs } from './kernels.js';
import type { FeatureMap } from './features.js';
import { runMethod, type Method } from './methods.js';
import { batched, outputName } from './user-methods.js';
import type { SimContext } from '../types.js';

export interface PreparedCall {
  /** One call; `w` holds the random features' directions (R × D) of the methods that have them. */
  run(w: Float32Array | null): Promise<Float32Array>;
  /** The most memory one call holds at once, in bytes; null where this engine cannot measure it. */
  peakBytes(w: Float32Array | null): Promise<number | null>;
  release(): Promise<void>;
}

/**
 * Prepare a call of `shape` (random features R = 0 for the methods without them) on inputs `x`. `file`: the model
 * file of a method from `settings.methods`, which stands for the graph (its shape's method is then ignored).
 * `peak`: its peak bytes will be asked for; on onnx the probe's process then starts on it at once, building its
 * session and calling it while this process builds its own.
 */
export async function prepareCall(
  ctx: Pick<SimContext, 'backend' | 'executor' | 'onnx'>,
  shape: GraphCall,
  x: SharedInputs,
  { file, peak = false }: { file?: string | undefined; peak?: boolean } = {},
): Promise<PreparedCall> {
  return ctx.backend === 'onnx' ? prepareOnnx(ctx, shape, x, file, peak) : prepareTfjs(ctx, shape, x);
}

async function prepareOnnx(
  ctx: Pick<SimContext, 'onnx'>,
  shape: GraphCall,
  x: SharedInputs,
  file: string | undefined,
  early: boolean,
): Promise<PreparedCall> {
  const { engine, probe } = await ctx.onnx();
  const model = file ?? attentionGraph(shape);
  const { n, d, m, count } = shape;
  const names = file ? ['Q', 'K', 'V'] : graphInputs(shape);
  const dimsOf = (lead: number[]): Record<string, number[]> => ({
    Q: [...lead, n, d],
    K: [...lead, n, d],
    V: [...lead, n, m],
    W: [count, d],
  });
  const probeOn = (dims: Record<string, number[]>): Promise<number | null> =>
    probe
      ? probe.peak(
          model,
          Object.fromEntries(names.map((name) => [name, dims[name]!])),
          file ?? `${shape.method}${shape.causal ? ' causal' : ''}`,
        )
      : Promise.resolve(null);
  // A built-in graph's shapes are known before its session: the probe's process builds and calls it meanwhile (a
  // model file's batch axis is read from its session first). Handled here too, in case this session fails first.
  let peak = early && !file ? probeOn(dimsOf([])) : null;
  peak?.catch(() => {});
  const session = await engine.session(model);
  const dims = dimsOf(file && batched(session) ? [1] : []);
  const output = outputName(session);
  // Copies into ordinary memory, once per point (ONNX Runtime refuses some inputs over shared memory); the tensors then
  // wrap them, and every call reads them where they lie.
  const data: Record<string, Float32Array> = { Q: x.q.slice(), K: x.k.slice(), V: x.v.slice() };
  const tensor = (name: string, values: Float32Array) => new engine.ort.Tensor('float32', values, dims[name]!);
  const fixed: Record<string, Ort.Tensor> = Object.fromEntries(
    names.filter((n) => n !== 'W').map((name) => [name, tensor(name, data[name]!)]),
  );
  return {
    async run(w) {
      const out = await session.run(w ? { ...fixed, W: tensor('W', w) } : fixed);
      return out[output]!.data as Float32Array;
    },
    peakBytes: () => (peak ??= probeOn(dims)),
    release: () => session.release(),
  };
}

async function prepareTfjs(
  ctx: Pick<SimContext, 'executor'>,
  shape: GraphCall,
  x: SharedInputs,
): Promise<PreparedCall> {
  const exec = await ctx.executor(kernels);
  await exec.setInputs(x);
  const call = (w: Float32Array | null) => ({
    method: shape.method,
    causal: shape.causal,
    n: shape.n,
    d: shape.d,
    m: shape.m,
    map: featureMap(shape.method, shape.count, w),
    chunk: shape.chunk,
    causalChunk: shape.causalChunk,
  });
  // The peak is a profiled call on the same executor (in this thread where it has one lane): a later call waits for it,
  // so that its tensors do not run inside the profile.
  let profiling: Promise<unknown> = Promise.resolve();
  return {
    run: async (w) => {
      await profiling;
      return (await runMethod(exec, call(w), false)).out;
    },
    peakBytes: (w) => {
      const peak = runMethod(exec, call(w), true).then((r) => r.peakBytes);
      profiling = peak.catch(() => {});
      return peak;
    },
    release: async () => {},
  };
}

function featureMap(method: Method, count: number, w: Float32Array | null): FeatureMap {
  if (method === 'favor') return { kind: 'positive', w: w!, count };
  if (method === 'rff' || method === 'rff-homework') return { kind: 'fourier', w: w!, count };
  return { kind: 'quadratic' };
}
