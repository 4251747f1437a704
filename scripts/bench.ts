/**
 * `npm run bench [-- --quick] [-- --peers]`: throughput of the harness's hot paths, measured with
 * tinybench (warm-up, then repeated samples; median and median absolute deviation reported). With --peers, also runs
 * bench/peers.py (NumPy, and PyTorch where installed, on this machine) in the same session and prints
 * ratios, each rate also as a fraction of NumPy's sgemm (the machine's practical peak); exact attention both as the
 * scaling experiment's materialized graph (softmax) and through ONNX Runtime's fused kernel (flash). The CPU model
 * and its SIMD flags come first: figures from different machines are not comparable.
 * Output: a table on stderr and one JSON line per task on stdout, in the peers' format.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { Bench } from 'tinybench';
import * as tf from '@tensorflow/tfjs-core';
import { rngFor } from '../src/random/seed.js';
import { qkVariance } from '../src/sim/qk-variance/simulation.js';
import { startOnnxRun } from '../src/engine/onnx/engine.js';
import { Graph } from '../src/engine/onnx/graph.js';
import { quadraticFeatures } from '../src/sim/scaling/features.js';
import { linearChunkRows } from '../src/sim/scaling/cost.js';
import { prepareCall, type PreparedCall } from '../src/sim/scaling/engines.js';
import { scaling } from '../src/sim/scaling/simulation.js';
import { activate } from '../src/engine/backend.js';
import { executorPools, inlineExecutor } from '../src/engine/tfjs/executor.js';
import { randomInputs } from '../src/sim/scaling/kernels.js';
import type { Method } from '../src/sim/scaling/methods.js';

const QUICK = process.argv.includes('--quick');

/** `AMD EPYC …, 2 cores; SIMD: avx avx2 fma …` from /proc/cpuinfo (lscpu's flags), printed beside every figure. */
function cpuLine(): string {
  let flags: string[] = [];
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    flags = (/^flags\s*:\s*(.*)$/m.exec(info)?.[1] ?? '')
      .split(' ')
      .filter((f) => /^(sse4_2|avx|avx2|fma|f16c|avx512\w*|amx\w*|neon|asimd\w*|sve\w*)$/.test(f));
  } catch {
    // not Linux: the model and count still say something
  }
  return `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores; SIMD: ${flags.join(' ') || 'unknown'}`;
}
process.stderr.write(`cpu: ${cpuLine()}\n`);
/** The scaling experiment's default settings (row chunks of the linear form), so the bench times the same calls. */
const SCALING_DEFAULTS = scaling.settings.parse({});
const PEERS = process.argv.includes('--peers');

interface Task {
  task: string;
  params: Record<string, number>;
  /** Work per call in `unit`s (so rate = work / seconds). */
  work: number;
  unit: string;
  fn: () => unknown;
  /** The engine of an attention task (peers are compared with the onnx rows). */
  engine?: 'onnx' | 'wasm';
  /** Runs once before the task's warm-up and before its samples, untimed. */
  before?: () => Promise<void>;
}

const label = (t: Task) => `${t.task}${t.engine ? ` ${t.engine}` : ''} ${JSON.stringify(t.params)}`;
const trials = QUICK ? 100_000 : 1_000_000;
const tasks: Task[] = [
  {
    task: 'mc-qk',
    params: { d: 64, trials },
    work: trials / 1e6,
    unit: 'M samples/s',
    // The simulation itself, moments and intervals included: what a user's run pays per point.
    fn: () =>
      qkVariance.run(
        { params: { d: 64, sigma: 1, mu: { kind: 'zero' }, scaling: 'none' }, settings: { trials }, replicate: 0 },
        {
          rng: rngFor(0, 'bench', 0),
          tf,
          now: () => performance.now(),
          backend: 'wasm',
          executor: async (kernels) => inlineExecutor(kernels),
          onnx: () => onnx,
          setup: { values: {}, tables: {} },
          attach: () => undefined,
        },
      ),
  },
];

// Attention at the peers' shapes, through the same calls and settings as the scaling experiment, on each engine:
// onnx (the timing experiments' default: the rows the peers are compared with) and wasm (the embedded fallback).
// FLOPs as the peers count them (softmax 4·N²·D, kernel 4·N·C·D), so rates compare equal work.
await activate('wasm');
// The wasm workers start with the first wasm task, after every onnx task: idle beside them, they cost the onnx
// calls 6% in one process (flash at N = 4096: 23.6 ms a call without them, 25.0 with them) and about 30% in the
// bench's own rows (flash 140 GFLOP/s with them, 188 without, in runs two minutes apart).
const pools = executorPools('wasm');
const executor = pools.executor;
const onnx = startOnnxRun();
const rng = rngFor(0, 'bench-attention', 0);
const calls: PreparedCall[] = [];
const attention = (engine: 'onnx' | 'wasm') => {
  for (const n of QUICK ? [1024] : [1024, 4096]) {
    const d = 64;
    const x = randomInputs(rng, n, d, d);
    const c = quadraticFeatures(d);
    for (const [task, method, flops] of [
      ['softmax-attention', 'softmax', 4 * n * n * d],
      // Exact attention through ONNX Runtime's fused kernel (the same work as softmax; onnx only).
      ...(engine === 'onnx' ? [['flash-attention', 'flash', 4 * n * n * d]] : []),
      ['quadratic-kernel-attention', 'quadratic-kernel', 4 * n * c * d],
    ] as [string, Method, number][]) {
      const shape = {
        method,
        causal: false,
        n,
        d,
        m: d,
        count: 0,
        chunk: linearChunkRows(n, c, SCALING_DEFAULTS.chunk_bytes),
        causalChunk: SCALING_DEFAULTS.causal_chunk,
      };
      let call: PreparedCall | undefined;
      tasks.push({
        task,
        engine,
        params: { N: n, D: d, M: d, ...(method === 'quadratic-kernel' ? { C: c } : {}) },
        work: flops / 1e9,
        unit: 'GFLOP/s',
        // The session (onnx) or the workers' inputs (wasm) are made once per task, outside the timed calls.
        before: async () =>
          void calls.push((call = await prepareCall({ backend: engine, executor, onnx: () => onnx }, shape, x))),
        fn: async () => void (await call!.run(null)),
      });
    }
  }
};
attention('onnx');

// ONNX Runtime's own ceilings, one graph each: its 4096³ MatMul (beside NumPy's sgemm, the peak the ratios use), and
// the quadratic kernel's two products alone, φ given as inputs in the layouts its products run fastest in
// (φ(K)ᵀ·V, then φ(Q)·S): no linear form on this engine can beat that row, since it also has to build φ.
const products = (n: number, d: number) => {
  const c = quadraticFeatures(d);
  const g = new Graph('ceiling');
  const s = g.op('MatMul', [g.input('FK', [c, n]), g.input('V', [n, d])]);
  g.output(g.op('MatMul', [g.input('FQ', [n, c]), s]), 'O', [n, d]);
  return {
    task: 'quadratic-kernel-products',
    params: { N: n, D: d, M: d, C: c },
    work: (4 * n * c * d) / 1e9,
    graph: g,
    dims: { FK: [c, n], V: [n, d], FQ: [n, c] },
  };
};
const sgemm = (n: number) => {
  const g = new Graph('sgemm');
  g.output(g.op('MatMul', [g.input('A', [n, n]), g.input('B', [n, n])]), 'O', [n, n]);
  return { task: 'sgemm', params: { N: n }, work: (2 * n ** 3) / 1e9, graph: g, dims: { A: [n, n], B: [n, n] } };
};
const sessions: { release(): Promise<void> }[] = [];
for (const t of [sgemm(QUICK ? 1024 : 4096), products(QUICK ? 1024 : 4096, 64)]) {
  let run: () => Promise<unknown> = async () => undefined;
  tasks.push({
    ...t,
    engine: 'onnx',
    unit: 'GFLOP/s',
    before: async () => {
      const { engine } = await onnx;
      const session = await engine.session(t.graph.encode());
      sessions.push(session);
      const feeds = Object.fromEntries(
        Object.entries(t.dims).map(([name, dims]) => {
          const values = new Float32Array(dims[0]! * dims[1]!);
          rng.fill(values);
          return [name, new engine.ort.Tensor('float32', values, dims)];
        }),
      );
      run = () => session.run(feeds);
    },
    fn: () => run(),
  });
}

attention('wasm');

const bench = new Bench({ time: QUICK ? 500 : 2000, iterations: QUICK ? 3 : 7, warmup: true });
for (const t of tasks) bench.add(label(t), t.fn, t.before ? { beforeAll: t.before } : {});
await bench.run();
await pools.close();
await Promise.all([...calls, ...sessions].map((c) => c.release()));
(await onnx).probe?.close();

const ours = new Map<string, number>();
const key = (task: string, params: object) => `${task} ${JSON.stringify(params)}`;
for (const t of tasks) {
  const r = bench.getTask(label(t))?.result;
  if (!r || r.state !== 'completed')
    throw new Error(`bench task ${t.task} did not complete: ${r?.state} ${r && 'error' in r ? String(r.error) : ''}`);
  const medianMs = r.latency.p50;
  const rate = t.work / (medianMs / 1e3);
  if (t.engine !== 'wasm') ours.set(key(t.task, t.params), rate);
  process.stderr.write(
    `${`${t.task}${t.engine ? ` (${t.engine})` : ''} N=${t.params['N'] ?? ''}`.padEnd(41)} ${rate.toFixed(3).padStart(10)} ${t.unit.padEnd(14)} median ${medianMs.toFixed(2)} ms ± ${r.latency.mad.toFixed(2)} (MAD, ${r.latency.samplesCount} samples)\n`,
  );
  console.log(
    JSON.stringify({
      task: t.task,
      ...(t.engine ? { engine: t.engine } : {}),
      params: t.params,
      median_ms: Number(medianMs.toFixed(3)),
      rate: Number(rate.toFixed(3)),
      rate_unit: t.unit,
    }),
  );
}

const ceiling = [...ours].filter(([k]) => k.startsWith('quadratic-kernel-products '));
for (const [k, rate] of ceiling) {
  const linear = ours.get(k.replace('quadratic-kernel-products', 'quadratic-kernel-attention'));
  if (linear)
    process.stderr.write(
      `quadratic-kernel attention (onnx) at ${(linear / rate).toFixed(2)}× of its two products alone, φ given (${k.slice(k.indexOf(' ') + 1)})\n`,
    );
}

if (PEERS) {
  const script = join(import.meta.dirname, '../bench/peers.py');
  const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
  let out = '';
  try {
    out = execFileSync(python, [script, ...(QUICK ? ['--quick'] : [])], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
  } catch (e) {
    process.stderr.write(
      `peers: ${python} ${script} failed (${(e as Error).message.split('\n')[0]}); install NumPy (and PyTorch): apt-get install -y python3-numpy python3-torch\n`,
    );
    process.exitCode = 1;
  }
  const peers = out
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { task: string; params: object; peer: string; rate: number; rate_unit: string });
  const peak = peers.find((p) => p.task === 'sgemm')?.rate;
  if (peak) process.stderr.write(`\npractical peak: NumPy sgemm ${peak} GFLOP/s\n`);
  process.stderr.write('ratio to peers (ours / peer, same machine, same session):\n');
  for (const p of peers) {
    const mine = ours.get(key(p.task, p.params));
    if (mine === undefined) continue;
    const ofPeak =
      peak && p.rate_unit === 'GFLOP/s'
        ? `  (ours ${(mine / peak).toFixed(2)}× of sgemm, peer ${(p.rate / peak).toFixed(2)}×)`
        : '';
    process.stderr.write(
      `  ${key(p.task, p.params).padEnd(60)} ours ${mine.toFixed(3)} vs ${p.peer} ${p.rate} ${p.rate_unit}  →  ${(mine / p.rate).toFixed(2)}×${ofPeak}\n`,
    );
    // The fused kernel does softmax attention's work: compared with the same peers.
    const flash = p.task === 'softmax-attention' ? ours.get(key('flash-attention', p.params)) : undefined;
    if (flash !== undefined) {
      const flashOfPeak = peak ? `  (ours ${(flash / peak).toFixed(2)}× of sgemm)` : '';
      process.stderr.write(
        `  ${key('flash-attention', p.params).padEnd(60)} ours ${flash.toFixed(3)} vs ${p.peer} ${p.rate} ${p.rate_unit}  →  ${(flash / p.rate).toFixed(2)}×${flashOfPeak}\n`,
      );
    }
  }
  // The issue's target: the best exact method at N = 4096, D = 64 at 0.9× of NumPy's sgemm or better, same session.
  for (const n of QUICK ? [1024] : [1024, 4096]) {
    const params = { N: n, D: 64, M: 64 };
    const best = Math.max(
      ours.get(key('softmax-attention', params)) ?? 0,
      ours.get(key('flash-attention', params)) ?? 0,
    );
    if (peak && best > 0)
      process.stderr.write(
        `best exact attention (softmax or flash, onnx) at N = ${n}, D = 64: ${best.toFixed(1)} GFLOP/s, ${(best / peak).toFixed(2)}× NumPy's sgemm\n`,
      );
  }
}
