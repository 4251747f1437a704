import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { qkVariance } from '../src/sim/qk-variance.js';
import { ROOT, stripColumns, tmp } from './helpers.js';

const ARGS = ['qk-variance', '--quick', '--set', 'd=[1,4,16,64]', '--set', 'trials=300000', '--backend', 'cpu'];

function start(out: string) {
  return spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...ARGS, '--out', out], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
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
  const run = readdirSync(base).find((d) => d !== 'latest');
  const file = run && join(base, run, 'points.jsonl');
  return file && existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).length : 0;
};

describe('an interrupted run resumes', () => {
  it('SIGKILL part-way, rerun the same command: every point kept once, CSV identical to an uninterrupted run', async () => {
    const out = join(tmp(), 'results');
    const child = start(out);
    const done = finish(child);
    while (checkpointLines(out) < 5) await new Promise((r) => setTimeout(r, 10));
    child.kill('SIGKILL');
    await done;
    const before = checkpointLines(out);
    expect(before).toBeGreaterThanOrEqual(5);
    expect(before).toBeLessThan(32);
    expect(existsSync(join(out, 'qk-variance', 'latest'))).toBe(false);

    const resumed = await finish(start(out));
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(new RegExp(`resuming .*: ${before}/32 points already done`));
    const runDir = join(out, 'qk-variance', 'latest');
    const ids = readFileSync(join(runDir, 'points.jsonl'), 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l).point);
    expect(ids).toHaveLength(32);
    expect(new Set(ids).size).toBe(32);

    const fresh = join(tmp(), 'results');
    expect((await finish(start(fresh))).code).toBe(0);
    const a = readFileSync(join(runDir, 'results.csv'), 'utf8');
    const b = readFileSync(join(fresh, 'qk-variance', 'latest', 'results.csv'), 'utf8');
    expect(stripColumns(a, qkVariance.measuredColumns)).toBe(stripColumns(b, qkVariance.measuredColumns));
  });
});
