/** A tensor worker: loads the run's backend once, then runs attention ops over shared inputs. */
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { runOp, type OpArgs, type SharedInputs } from './attention.js';
import { activate, type TfjsBackend } from '../backend.js';

type Request =
  { id: number; type: 'inputs'; inputs: SharedInputs } | { id: number; type: 'op'; args: OpArgs; profile: boolean };

const port = parentPort!;
let inputs: SharedInputs | undefined;
const ready = activate((workerData as { backend: TfjsBackend }).backend);

port.on('message', async (req: Request) => {
  try {
    await ready;
    if (req.type === 'inputs') {
      inputs = req.inputs;
      port.postMessage({ id: req.id });
      return;
    }
    if (!inputs) throw new Error('op before inputs');
    const result = await runOp(tf, inputs, req.args, req.profile);
    port.postMessage({ id: req.id, result }, [result.data.buffer as ArrayBuffer]);
  } catch (e) {
    port.postMessage({ id: req.id, error: (e as Error).stack ?? String(e) });
  }
});
