/**
 * The `onnx` engine: ONNX Runtime (onnxruntime-node, native CPU kernels shipped in the npm package) runs graphs
 * from bytes or files. Sessions use every core for one op at a time (intra-op threads) and no inter-op parallelism.
 * Timed sessions keep ONNX Runtime's CPU memory arena (without it every call maps its buffers afresh, and at
 * N = 8192 softmax spends more than half its time in page faults: 278 ms a call against 115 – 128 with it); the
 * memory probe's sessions run without it, so that freed buffers go back to the system and a call's peak resident
 * memory can be read from /proc (see memory.ts).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import type * as Ort from 'onnxruntime-node';
import { Graph } from './graph.js';
import { memoryProbe, type MemoryProbe } from './memory.js';

export interface OnnxEngine {
  ort: typeof Ort;
  version: string;
  /** The execution provider sessions run on: `cuda` where its binaries are installed, else `cpu`. */
  provider: 'cuda' | 'cpu';
  threads: number;
  /** The options every session is created with (the memory probe's, less the arena). */
  options: Ort.InferenceSession.SessionOptions;
  /** A session for a model (bytes, or a file path). */
  session(model: Uint8Array | string): Promise<Ort.InferenceSession>;
}

let loaded: Promise<OnnxEngine> | undefined;

/** Load onnxruntime-node once; throws (plain Error) where it cannot load. */
export function loadOnnx(): Promise<OnnxEngine> {
  return (loaded ??= (async () => {
    const ort = (await import('onnxruntime-node')) as typeof Ort;
    const threads = availableParallelism();
    const options = (providers: string[]): Ort.InferenceSession.SessionOptions => ({
      executionProviders: providers,
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      // The arena keeps buffers between calls. Memory-pattern planning on top of it runs no faster once warm, but
      // spares a fresh session's second call from growing the arena again: softmax at N = 16384, D = 8 took
      // 809 and 2154 ms for its first two calls without it, 455 and 384 with it (then 183 ms either way).
      enableCpuMemArena: true,
      enableMemPattern: true,
      // Fatal only: ONNX Runtime logs a failed provider probe or a failed call (a bad model from a file) before it
      // throws, and the error it throws carries the same message, which attnlab prints with its context.
      logSeverityLevel: 4,
      // Threads that wait asleep between ops, not spinning. With spinning (ONNX Runtime's default) the same call's
      // median was bimodal between processes on a 2-core AMD EPYC VM: the linear form at N = 2048, D = 32 took
      // 2.1 ms in most processes and 4.1 – 5.2 in others, for every round of the run, so two identical runs
      // differed by up to 2.5× (a false "slower" in compare). Asleep, six runs' medians were within 3 – 14% of
      // each other (2.3 – 2.6 ms), and compare called 39 of the 40 points of five identical pairs the same, one
      // inconclusive (docs/benchmarks.md).
      extra: { session: { 'intra_op.allow_spinning': '0' } },
    });
    // The CUDA provider is a separate download (skipped by .npmrc): where its library is there, a one-node graph
    // tells whether it really loads.
    const binding = dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
    const cuda = existsSync(
      join(binding, 'bin/napi-v6', process.platform, process.arch, 'libonnxruntime_providers_cuda.so'),
    );
    let provider: 'cuda' | 'cpu' = 'cpu';
    if (cuda) {
      try {
        await ort.InferenceSession.create(identityModel(), options(['cuda']));
        provider = 'cuda';
      } catch {
        provider = 'cpu';
      }
    }
    const sessionOptions = options(provider === 'cuda' ? ['cuda', 'cpu'] : ['cpu']);
    return {
      ort,
      version: ort.env.versions.node ?? ort.env.versions.common ?? 'unknown',
      provider,
      threads,
      options: sessionOptions,
      // Two calls for the two overloads (a path, or the model's bytes).
      session: (model) =>
        typeof model === 'string'
          ? ort.InferenceSession.create(model, sessionOptions)
          : ort.InferenceSession.create(model, sessionOptions),
    };
  })());
}

/** A one-node model (Identity of a float vector), for probing a provider. */
function identityModel(): Uint8Array {
  const g = new Graph('probe');
  g.output(g.input('x', [1]), 'y', [1]);
  return g.encode();
}

/** What a run on the onnx engine shares between its points: the engine and the memory probe (closed at the end). */
export interface OnnxRun {
  engine: OnnxEngine;
  /** Null where a call's peak memory cannot be read (no /proc/self/clear_refs). */
  probe: MemoryProbe | null;
}

export async function startOnnxRun(): Promise<OnnxRun> {
  const engine = await loadOnnx();
  // The probe's sessions are the timed ones' less the arena (its threads, like theirs, wait asleep).
  return { engine, probe: memoryProbe({ ...engine.options, enableCpuMemArena: false }) };
}
