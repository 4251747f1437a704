import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT_LOCKED } from '../../src/cli.js';
import { msg } from '../../src/messages.js';
import { acquireRunLock, isLocked, lockPath, readHolder, STALE_MS } from '../../src/run/lock.js';
import { cli, latestRun, ROOT, tmp } from '../helpers.js';

// Long enough (about 3 s) that the second command starts while the first still computes.
const ARGS = ['qk-variance', '--quick', '--set', 'trials=60000', '--jobs', '1'];

function start(out: string, extra: string[] = []): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...ARGS, ...extra, '--out', out], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
}

const pointLines = (out: string) =>
  readdirSync(join(out, 'qk-variance'))
    .filter((d) => /^\d{8}-/.test(d))
    .flatMap((d) =>
      readFileSync(join(out, 'qk-variance', d, 'points.jsonl'), 'utf8')
        .trimEnd()
        .split('\n'),
    );

/** Start b once a's lock holder file names a run (a has passed the lock and picked its directory). */
async function whenHolding(out: string): Promise<void> {
  const dir = join(out, 'qk-variance');
  for (let i = 0; i < 600; i++) {
    const holder = readdirSync(dir, { withFileTypes: true }).find((f) => f.name.endsWith('.holder.json'));
    if (holder && JSON.parse(readFileSync(join(dir, holder.name), 'utf8')).run) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the first command never took the lock');
}

describe('one process per run', () => {
  it('two identical commands at once: the second exits 75 naming the holder, a third with --wait uses its run; each point is computed once', async () => {
    const out = join(tmp(), 'results');
    mkdirSync(join(out, 'qk-variance'), { recursive: true });
    const first = start(out);
    await whenHolding(out);
    const [second, third] = await Promise.all([start(out), start(out, ['--wait'])]);
    const a = await first;
    expect(a.code, a.stderr).toBe(0);
    expect(second.code).toBe(EXIT_LOCKED);
    expect(second.stderr).toMatch(
      /error: this run is being computed by pid \d+ on \S+, started 20\d\d-.*qk-variance\/\d{8}-.*--wait.* \[LOCKED\]/,
    );
    expect(third.code, third.stderr).toBe(0);
    expect(third.stderr).toContain('waiting for pid');
    expect(third.stderr).toContain(msg.waitedDone(latestRun(out, 'qk-variance')));
    expect(third.stdout).toContain('qk-variance: 40 rows, claims: 8/8 passed');
    expect(readdirSync(join(out, 'qk-variance')).filter((d) => /^\d{8}-/.test(d))).toHaveLength(1);
    const lines = pointLines(out);
    expect(lines).toHaveLength(40);
    expect(new Set(lines.map((l) => JSON.parse(l).point)).size).toBe(40);
  }, 60_000);

  it('a stale lock is taken over with a warning: a dead pid on this host at once, another host after STALE_MS', async () => {
    const dir = tmp();
    const me = { pid: process.pid, host: hostname(), startedAt: '2026-12-02T00:00:00.000Z', command: 'test' };
    const warnings: string[] = [];
    const warn = (s: string) => warnings.push(s);
    // A holder that was killed: its lock directory and holder file remain.
    const path = lockPath(dir, 'abcdef0123456789');
    const dead = { pid: 2 ** 22 + 17, host: hostname(), startedAt: '2026-12-01T00:00:00.000Z', command: 'old' };
    mkdirSync(`${path}.lock`);
    writeFileSync(`${path}.holder.json`, JSON.stringify(dead));
    expect(isLocked(path)).toBe(false);
    const lock = await acquireRunLock(path, me, { wait: false, warn });
    expect(warnings).toEqual([msg.lockStale(dead, `${path}.lock`)]);
    expect(readHolder(path)?.pid).toBe(process.pid);
    expect(isLocked(path)).toBe(true);
    // Held by a live process: refused at once with the holder named.
    await expect(acquireRunLock(path, me, { wait: false, warn })).rejects.toThrow(
      msg.runLocked(readHolder(path), `${path}.lock`),
    );
    await lock.release();
    expect(isLocked(path)).toBe(false);

    // Another host's lock that nobody has refreshed for longer than STALE_MS.
    const remote = lockPath(dir, 'fedcba9876543210');
    const gone = { pid: 1, host: 'node17.cluster', startedAt: '2026-12-01T00:00:00.000Z', command: 'old' };
    mkdirSync(`${remote}.lock`);
    writeFileSync(`${remote}.holder.json`, JSON.stringify(gone));
    expect(isLocked(remote)).toBe(true);
    const old = (Date.now() - STALE_MS - 5000) / 1000;
    utimesSync(`${remote}.lock`, old, old);
    expect(isLocked(remote)).toBe(false);
    const taken = await acquireRunLock(remote, me, { wait: false, warn });
    expect(warnings[1]).toBe(msg.lockStale(gone, `${remote}.lock`));
    await taken.release();
  });

  it('merge refuses a shard that is still locked', async () => {
    const root = tmp();
    const shardArgs = ['qk-variance', '--quick', '--set', 'trials=500'];
    for (const i of [1, 2])
      expect((await cli([...shardArgs, '--shard', `${i}/2`, '--out', join(root, `s${i}`)])).code).toBe(0);
    const expDir = join(root, 's1', 'qk-variance');
    const shardDir = join(
      expDir,
      readdirSync(expDir).find((d) => d.endsWith('shard1of2'))!,
    );
    const manifest = JSON.parse(readFileSync(join(shardDir, 'manifest.json'), 'utf8'));
    const me = { pid: process.pid, host: hostname(), startedAt: '2026-12-02T00:00:00.000Z', command: 'test' };
    const lock = await acquireRunLock(lockPath(expDir, manifest.configHash, manifest.shard), me, {
      wait: false,
      warn: () => {},
    });
    const merged = await cli(['merge', 'qk-variance', root, '--out', join(root, 'merged')]);
    expect(merged.code).toBe(2);
    expect(merged.stderr).toContain(msg.mergeLocked(shardDir, me));
    await lock.release();
    expect((await cli(['merge', 'qk-variance', root, '--out', join(root, 'merged')])).code).toBe(0);
  });
});
