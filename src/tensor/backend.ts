import * as tf from '@tensorflow/tfjs-core';
import { fusedMultiplyAdd } from './simd-kernels.js';
import { AttnlabError } from '../errors.js';
import { msg } from '../messages.js';

/** Tensor backends, in the order the automatic choice tries them. */
export const Backend = { tensorflow: 'tensorflow', wasm: 'wasm', cpu: 'cpu' } as const;
export type Backend = keyof typeof Backend;
export const BACKENDS = Object.keys(Backend) as Backend[];

export function isBackend(name: string): name is Backend {
  return Object.hasOwn(Backend, name);
}

export interface SelectedBackend {
  name: Backend;
  /** The npm package that provides it, for the manifest. */
  provider: string;
  tf: typeof tf;
}

/** Load and activate one backend; throws (plain Error) if it cannot. Returns the providing package. */
export async function activate(name: Backend): Promise<string> {
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
  if (!(await tf.setBackend(name))) throw new Error('setBackend returned false');
  await tf.ready();
  // On wasm the attention products run attnlab's own SIMD kernels; whether their multiply-adds are fused decides
  // the last bits of the results, so the manifest records it.
  return name === 'wasm' ? `${pkg} + attnlab SIMD kernels (${fusedMultiplyAdd() ? 'fused multiply-add, relaxed SIMD' : 'multiply and add'})` : pkg;
}

/**
 * Choose the backend: the requested one (an error if it cannot load), else the
 * first of tensorflow → wasm → cpu that loads.
 */
export async function selectBackend(requested?: Backend): Promise<SelectedBackend> {
  if (requested) {
    try {
      return { name: requested, provider: await activate(requested), tf };
    } catch (e) {
      throw new AttnlabError('BACKEND', msg.backendUnavailable(requested, (e as Error).message));
    }
  }
  let last: unknown;
  for (const name of BACKENDS) {
    try {
      return { name, provider: await activate(name), tf };
    } catch (e) {
      last = e;
    }
  }
  throw new AttnlabError('BACKEND', msg.backendUnavailable('cpu', (last as Error).message));
}
