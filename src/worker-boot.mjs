// Worker entry in plain JavaScript: Node 20 does not pass --import loaders on to worker threads,
// so register tsx here (when running from TypeScript sources) and load the worker module named
// in workerData.entry, relative to src/ (e.g. "engine/tfjs/worker" or "run/point-worker").
import { workerData } from 'node:worker_threads';
import { existsSync } from 'node:fs';

const ts = new URL(`./${workerData.entry}.ts`, import.meta.url);
if (existsSync(ts)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(ts.href);
} else {
  await import(new URL(`./${workerData.entry}.js`, import.meta.url).href);
}
