/** A worker that runs Monte Carlo points (--jobs): the same simulation code and seeds as the main thread. */
import { msg } from '../messages.js';
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { rngFor } from '../random/seed.js';
import { getSimulation } from '../sim/registry.js';
import { loadSimulationModule } from '../spec/plugin.js';
import { checkedRows } from '../sim/types.js';
import { attachments } from './store.js';
import { activate } from '../engine/backend.js';
import { inlineExecutor, type Kernels } from '../engine/tfjs/executor.js';
import type { JobsOptions } from './jobs.js';

/** What the main thread hands each worker (jobs.ts): the options it runs points with. */
type Init = Pick<JobsOptions, 'kind' | 'module' | 'backend' | 'seed' | 'settings' | 'setup'>;
type Request = { id: number; point: string; params: Record<string, unknown>; replicate: number };

const port = parentPort!;
const init = workerData as Init & { entry: string };
const executor = async <I, A>(kernels: Kernels<I, A>) => inlineExecutor(kernels);
const now = () => performance.now();
const onnx = () => Promise.reject(new Error(msg.onnxOutsideMainThread()));
const context = { tf, now, backend: init.backend, executor, onnx };
const ready = (async () => {
  // A user simulation: the same module file the run hashed (refused if it changed since).
  const sim = init.module
    ? (await loadSimulationModule(init.module.path, undefined, init.module.sha256)).sim
    : getSimulation(init.kind);
  await activate(init.backend);
  // A setup may have side effects a point needs (softmax-saturation loads gradients); its values come from the main
  // thread.
  await sim?.setup?.({ rng: rngFor(init.seed, 'setup', 0), ...context }, init.settings);
  return sim;
})();

port.on('message', async (req: Request) => {
  const t0 = now();
  try {
    const sim = await ready;
    if (!sim) throw new Error(`unknown simulation ${init.kind}`);
    const { attach, files } = attachments(sim.kind);
    const rows = checkedRows(
      sim,
      await sim.run(
        { params: req.params, settings: init.settings, replicate: req.replicate },
        { rng: rngFor(init.seed, req.point, req.replicate), ...context, setup: init.setup, attach },
      ),
    );
    port.postMessage({ id: req.id, rows, files, ms: now() - t0 });
  } catch (e) {
    port.postMessage({ id: req.id, error: (e as Error).message ?? String(e), ms: now() - t0 });
  }
});
