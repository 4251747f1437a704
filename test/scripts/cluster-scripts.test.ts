import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { qkVariance } from '../../src/sim/qk-variance/simulation.js';
import { cli, hasTool, latestRun, ROOT, stripColumns, tmp } from '../helpers.js';

// The cluster scripts of scripts/, run for real (GNU parallel) or as Slurm array tasks would run them; the shards
// and merge themselves are tested in shards.test.ts (a file of their own, so the two run on different workers).
const csvOf = (out: string, name: string, file = 'results.csv') =>
  readFileSync(join(latestRun(out, name), file), 'utf8');

describe('scripts/ for clusters', () => {
  const one = async (args: string[], out: string) => {
    const r = await cli([...args, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    return stripColumns(csvOf(out, 'qk-variance'), qkVariance.measuredColumns);
  };
  const ARGS = ['qk-variance', '--quick', '--set', 'trials=500', '--set', 'd=[1,16]'];

  it.runIf(hasTool('GNU parallel', ['parallel'], 'Debian: apt-get install -y parallel'))(
    'GNU parallel: scripts/parallel-shards.sh runs the shards and merges them into the one-process result',
    async () => {
      const root = tmp();
      const env = { ...process.env, ATTNLAB_SHARDS: join(root, 'shards'), ATTNLAB_RESULTS: join(root, 'merged') };
      execFileSync('bash', [join(ROOT, 'scripts/parallel-shards.sh'), '3', ...ARGS], { cwd: root, env, stdio: 'pipe' });
      expect(readdirSync(join(root, 'shards', 'qk-variance')).sort()).toEqual([
        'shard-1-of-3',
        'shard-2-of-3',
        'shard-3-of-3',
      ]);
      expect(stripColumns(csvOf(join(root, 'merged'), 'qk-variance'), qkVariance.measuredColumns)).toBe(
        await one(ARGS, join(root, 'one')),
      );
    },
    120_000,
  );

  it('Slurm: scripts/slurm-shards.sh, run as array tasks 0..2 would run it, gives shards that merge to the same result', async () => {
    const root = tmp();
    for (const task of [0, 1, 2]) {
      const env = {
        ...process.env,
        ATTNLAB_SHARDS: join(root, 'shards'),
        SLURM_ARRAY_TASK_ID: String(task),
        SLURM_ARRAY_TASK_MIN: '0',
        SLURM_ARRAY_TASK_COUNT: '3',
        SLURM_CPUS_PER_TASK: '1',
      };
      execFileSync('bash', [join(ROOT, 'scripts/slurm-shards.sh'), ...ARGS], { cwd: ROOT, env, stdio: 'pipe' });
    }
    const merged = await cli(['merge', 'qk-variance', join(root, 'shards'), '--out', join(root, 'merged')]);
    expect(merged.code, merged.stderr).toBe(0);
    expect(stripColumns(csvOf(join(root, 'merged'), 'qk-variance'), qkVariance.measuredColumns)).toBe(
      await one(ARGS, join(root, 'one')),
    );
  }, 120_000);
});
