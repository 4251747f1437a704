import * as tf from '@tensorflow/tfjs-core';
import { AttnlabError } from '../errors.js';
import { msg } from '../messages.js';
import { loadOnnx } from './onnx/engine.js';
import type { Backend, EngineInfo, TfjsBackend } from '../types/engines.js';

export { Backend, BACKENDS, TFJS_BACKENDS, isBackend, type EngineInfo, type TfjsBackend } from '../types/engines.js';

export interface SelectedBackend extends EngineInfo {
  /** The tfjs backend active beside it (itself, for a tfjs engine): setup code and checks run on it. */
  tfjs: TfjsBackend;
  tf: typeof tf;
}

/** Load and activate one tfjs backend; throws (plain Error) if it cannot. Returns the providing package. */
export async function activate(name: TfjsBackend): Promise<string> {
  // Production mode: no debug checks, and no console banners (the cpu backend greets Node users).
  tf.enableProdMode();
  if (name === 'tensorflow') {
    // Optional dependencies: present only where libtensorflow could be downloaded at install time.
    const errors: string[] = [];
    for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
      try {
        await import(pkg);
        if (await tf.setBackend('tensorflow')) return pkg;
        errors.push(`${pkg}: setBackend failed`);
      } catch (e) {
        errors.push(`${pkg}: ${(e as Error).message.split('\n')[0]}`);
      }
    }
    throw new Error(errors.join('; '));
  }
  const pkg = name === 'wasm' ? '@tensorflow/tfjs-backend-wasm' : '@tensorflow/tfjs-backend-cpu';
  await import(pkg);
  if (!(await tf.setBackend(name))) throw new Error(msg.setBackendFailed());
  await tf.ready();
  return pkg;
}

/** The first of `engines` that loads. */
async function firstThatLoads(engines: readonly Backend[]): Promise<SelectedBackend> {
  let last: unknown;
  for (const name of engines) {
    try {
      return await load(name);
    } catch (e) {
      last = e;
    }
  }
  throw new AttnlabError('BACKEND', msg.backendUnavailable(engines.at(-1)!, (last as Error).message));
}

async function load(name: Backend): Promise<SelectedBackend> {
  if (name !== 'onnx') return { name, provider: await activate(name), tfjs: name, tf };
  const onnx = await loadOnnx();
  // Setup code (machine probes, checks) still has tensors to make: the embedded tfjs backend runs it.
  const beside = await firstThatLoads(['wasm', 'cpu']);
  return {
    name,
    provider: `onnxruntime-node ${onnx.version} (${onnx.provider} execution provider, ${onnx.threads} threads)`,
    version: onnx.version,
    executionProvider: onnx.provider,
    threads: onnx.threads,
    tfjs: beside.tfjs,
    tf,
  };
}

/**
 * Choose the engine of a simulation: the requested one (an error if the simulation cannot run on it or it cannot
 * load), else the first of the simulation's engines that loads.
 */
export async function selectBackend(
  requested: Backend | undefined,
  engines: readonly Backend[],
  kind: string,
): Promise<SelectedBackend> {
  if (requested) {
    if (!engines.includes(requested)) throw new AttnlabError('BACKEND', msg.backendNotFor(requested, kind, engines));
    try {
      return await load(requested);
    } catch (e) {
      if (e instanceof AttnlabError) throw e;
      throw new AttnlabError('BACKEND', msg.backendUnavailable(requested, (e as Error).message.split('\n')[0]!));
    }
  }
  return firstThatLoads(engines);
}
