import { prepareCall } from '../src/sim/scaling-engines.js';
import { startOnnxRun } from '../src/onnx/engine.js';
import { randomInputs } from '../src/tensor/executor.js';
import { rngFor } from '../src/random/seed.js';
const run = startOnnxRun();
const x0 = randomInputs(rngFor(1, 'a', 0), 256, 32, 32); const x = process.env.PLAIN ? { ...x0, q: x0.q.slice(), k: x0.k.slice(), v: x0.v.slice() } : x0;
const c = await prepareCall({ backend: 'onnx', executor: null as never, onnx: () => run }, { method: 'quadratic-kernel-direct', causal: false, n: 256, d: 32, m: 32, count: 0, chunk: 256, causalChunk: 256 }, x);
try { await c.run(null); console.log('run ok'); } catch (e) { console.log('run', (e as Error).stack); }
try { console.log(await c.peakBytes(null)); } catch (e) { console.log('peak', (e as Error).stack); }
(await run).probe?.close();
