import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { qkVariance } from '../../src/sim/qk-variance/simulation.js';
import { cli, ROOT, stripColumns, tmp } from '../helpers.js';

const ARGS = ['qk-variance', '--quick', '--set', 'd=[1,4,16,64]', '--set', 'trials=150000', '--backend', 'cpu'];

function start(out: string) {
  return spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...ARGS, '--out', out], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function finish(child: ReturnType<typeof start>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((res) => child.on('close', (code) => res({ code, stdout, stderr })));
}

const checkpointLines = (out: string): number => {
  const base = join(out, 'qk-variance');
  if (!existsSync(base)) return 0;
  const run = readdirSync(base).find((d) => /^\d{8}-/.test(d));
  const file = run && join(base, run, 'points.jsonl');
  return file && existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).length : 0;
};

/** Start the run, send `signal` once it has checkpointed `lines` points, and wait for it to end. */
async function interruptAfter(out: string, lines: number, signal: NodeJS.Signals) {
  const child = start(out);
  const done = finish(child);
  while (checkpointLines(out) < lines) await new Promise((r) => setTimeout(r, 10));
  child.kill(signal);
  return done;
}

/** results.csv of one uninterrupted run (made once, for both tests), without its measured columns. */
let uninterrupted: Promise<string> | undefined;
const freshCsv = () =>
  (uninterrupted ??= (async () => {
    // In this process: the same command as the spawned runs, without a second start of node and tsx.
    const fresh = join(tmp(), 'results');
    const r = await cli([...ARGS, '--out', fresh]);
    expect(r.code, r.stderr).toBe(0);
    return stripColumns(
      readFileSync(join(fresh, 'qk-variance', 'latest', 'results.csv'), 'utf8'),
      qkVariance.measuredColumns,
    );
  })());

describe('an interrupted run resumes', () => {
  it('SIGKILL part-way, rerun the same command: every point kept once, CSV identical to an uninterrupted run', async () => {
    const out = join(tmp(), 'results');
    await interruptAfter(out, 5, 'SIGKILL');
    const before = checkpointLines(out);
    expect(before).toBeGreaterThanOrEqual(5);
    expect(before).toBeLessThan(32);
    expect(existsSync(join(out, 'qk-variance', 'latest'))).toBe(false);

    const resumed = await finish(start(out));
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(new RegExp(`resuming .*: ${before}/32 points already done`));
    const runDir = join(out, 'qk-variance', 'latest');
    const ids = readFileSync(join(runDir, 'points.jsonl'), 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l).point);
    expect(ids).toHaveLength(32);
    expect(new Set(ids).size).toBe(32);

    expect(stripColumns(readFileSync(join(runDir, 'results.csv'), 'utf8'), qkVariance.measuredColumns)).toBe(
      await freshCsv(),
    );
  });
});

describe('Ctrl-C', () => {
  it('SIGINT finishes the current point, writes a partial report marked incomplete, exits 130; the rerun finishes', async () => {
    const out = join(tmp(), 'results');
    const stopped = await interruptAfter(out, 4, 'SIGINT');
    expect(stopped.code, stopped.stderr).toBe(130);
    expect(stopped.stderr).toContain('interrupt: finishing the current point');
    const kept = checkpointLines(out);
    expect(kept).toBeGreaterThanOrEqual(4);
    expect(kept).toBeLessThan(32);
    const runDir = join(
      out,
      'qk-variance',
      readdirSync(join(out, 'qk-variance')).find((d) => d !== 'latest')!,
    );
    expect(JSON.parse(readFileSync(join(runDir, 'manifest.json'), 'utf8')).status).toBe('interrupted');
    expect(readFileSync(join(runDir, 'report.html'), 'utf8')).toContain(
      `Incomplete: interrupted after ${kept} of 32 points`,
    );
    expect(readFileSync(join(runDir, 'results.csv'), 'utf8').trimEnd().split('\n')).toHaveLength(kept + 1);
    expect(existsSync(join(out, 'qk-variance', 'latest'))).toBe(false);
    expect(readFileSync(join(out, 'index.html'), 'utf8')).toContain('partial report');

    const resumed = await finish(start(out));
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(new RegExp(`resuming .*: ${kept}/32 points already done`));
    expect(
      stripColumns(readFileSync(join(out, 'qk-variance', 'latest', 'results.csv'), 'utf8'), qkVariance.measuredColumns),
    ).toBe(await freshCsv());
  }, 120_000);
});

describe('attached files survive an interruption', () => {
  // induction-heads --quick: 2 layer counts × 4 seeds, each point attaching its trained model (models/<L>L-seed<s>.onnx)
  // to its checkpoint entry; the files are written from the checkpoint when the run finishes.
  const IH = ['induction-heads', '--quick', '--jobs', '1', '--set', 'steps=20', '--set', 'record_every=10'];
  const run = (out: string) =>
    spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...IH, '--out', out], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  const lines = (out: string): number => {
    const base = join(out, 'induction-heads');
    const dir = existsSync(base) ? readdirSync(base).find((d) => /^\d{8}-/.test(d)) : undefined;
    const file = dir && join(base, dir, 'points.jsonl');
    return file && existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).length : 0;
  };
  const models = (out: string) => {
    const dir = join(out, 'induction-heads', 'latest', 'models');
    return Object.fromEntries(
      readdirSync(dir)
        .sort()
        .map((f) => [f, readFileSync(join(dir, f)).toString('base64')]),
    );
  };

  it('SIGKILL after some seeds, rerun: every model there once, byte-identical to an uninterrupted run', async () => {
    const out = join(tmp(), 'results');
    const child = run(out);
    const done = finish(child);
    while (lines(out) < 3) await new Promise((r) => setTimeout(r, 10));
    child.kill('SIGKILL');
    await done;
    const before = lines(out);
    expect(before).toBeGreaterThanOrEqual(3);
    expect(before).toBeLessThan(8);

    const resumed = await finish(run(out));
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(new RegExp(`resuming .*: ${before}/8 points already done`));
    const fresh = join(tmp(), 'results');
    const clean = await cli([...IH, '--out', fresh]);
    expect(clean.code, clean.stderr).toBe(0);
    const [got, want] = [models(out), models(fresh)];
    expect(Object.keys(got)).toEqual([
      '1L-seed0.onnx',
      '1L-seed1.onnx',
      '1L-seed2.onnx',
      '1L-seed3.onnx',
      '2L-seed0.onnx',
      '2L-seed1.onnx',
      '2L-seed2.onnx',
      '2L-seed3.onnx',
    ]);
    expect(got).toEqual(want);
  });
});
