/**
 * A tensor worker: loads the run's backend and the asking experiment's kernels (the module at workerData.kernels)
 * once, then runs their ops over shared inputs.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { activate, type TfjsBackend } from '../backend.js';
import type { Kernels } from './executor.js';

type Request =
  { id: number; type: 'inputs'; inputs: unknown } | { id: number; type: 'op'; args: unknown; profile: boolean };

const port = parentPort!;
const init = workerData as { backend: TfjsBackend; kernels: string };
let inputs: unknown;
const kernels = import(init.kernels).then((m: { kernels: Kernels<unknown, unknown> }) => m.kernels);
const ready = Promise.all([activate(init.backend), kernels]);

port.on('message', async (req: Request) => {
  try {
    await ready;
    if (req.type === 'inputs') {
      inputs = req.inputs;
      port.postMessage({ id: req.id });
      return;
    }
    if (inputs === undefined) throw new Error('op before inputs');
    const result = await (await kernels).runOp(tf, inputs, req.args, req.profile);
    port.postMessage({ id: req.id, result }, [result.data.buffer as ArrayBuffer]);
  } catch (e) {
    port.postMessage({ id: req.id, error: (e as Error).stack ?? String(e) });
  }
});
