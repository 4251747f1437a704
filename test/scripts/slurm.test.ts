/**
 * scripts/slurm-shards.sh under a real Slurm: a single-node cluster of the test's own (munged, slurmctld
 * and slurmd on localhost, configuration and state in a temporary directory, daemons stopped by pid at the
 * end) runs the script as a job array plus the dependent merge job. Needs Debian's slurm-wlm and munge.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { qkVariance } from '../../src/sim/qk-variance/simulation.js';
import { cli, hasTool, latestRun, ROOT, stripColumns, tmp } from '../helpers.js';

const HAVE_SLURM = hasTool(
  'Slurm',
  ['slurmctld', 'slurmd', 'sbatch', 'squeue', 'scancel', 'munged', 'mungekey'],
  'Debian: apt-get install -y slurm-wlm munge',
);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.runIf(HAVE_SLURM)('Slurm for real: scripts/slurm-shards.sh as a job array on a single-node cluster', () => {
  const dir = tmp('attnlab-slurm-');
  const daemons: ChildProcess[] = [];
  const env = { ...process.env, SLURM_CONF: join(dir, 'slurm.conf') };
  const slurm = (cmd: string, args: string[], extra: Record<string, string> = {}) =>
    execFileSync(cmd, args, { env: { ...env, ...extra }, cwd: ROOT, encoding: 'utf8' }).trim();

  /** Poll until `done` holds, for at most `ms`. */
  async function until(what: string, done: () => boolean, ms: number): Promise<void> {
    const end = Date.now() + ms;
    while (!done()) {
      if (Date.now() > end)
        throw new Error(
          `timed out waiting for ${what}; slurmctld log:\n${readFileSync(join(dir, 'slurmctld.log'), 'utf8').slice(-2000)}`,
        );
      await sleep(250);
    }
  }
  const queued = (jobs: string[]) => slurm('squeue', ['-h', '-o', '%i', '-j', jobs.join(',')]).length > 0;

  beforeAll(async () => {
    for (const d of ['state', 'spool', 'munge', 'out']) mkdirSync(join(dir, d), { recursive: true, mode: 0o700 });
    const m = join(dir, 'munge');
    execFileSync('mungekey', ['-c', '-k', join(m, 'munge.key')]);
    execFileSync('munged', [
      '--force',
      `--key-file=${m}/munge.key`,
      `--socket=${m}/sock`,
      `--pid-file=${m}/pid`,
      `--log-file=${m}/log`,
      `--seed-file=${m}/seed`,
    ]);
    // Ports of our own, so a cluster already on this machine is left alone.
    const port = 20000 + (process.pid % 20000);
    writeFileSync(
      env.SLURM_CONF,
      [
        'ClusterName=attnlab-test',
        'SlurmctldHost=localhost',
        'SlurmUser=root',
        'SlurmdUser=root',
        'AuthType=auth/munge',
        `AuthInfo=socket=${m}/sock`,
        'CredType=cred/munge',
        `StateSaveLocation=${dir}/state`,
        `SlurmdSpoolDir=${dir}/spool`,
        `SlurmctldPidFile=${dir}/slurmctld.pid`,
        `SlurmdPidFile=${dir}/slurmd.pid`,
        `SlurmctldPort=${port}`,
        `SlurmdPort=${port + 1}`,
        `SlurmctldLogFile=${dir}/slurmctld.log`,
        `SlurmdLogFile=${dir}/slurmd.log`,
        'ProctrackType=proctrack/linuxproc',
        'TaskPlugin=task/none',
        'MpiDefault=none',
        'SchedulerType=sched/backfill',
        'SelectType=select/cons_tres',
        'SelectTypeParameters=CR_CPU',
        'ReturnToService=2',
        'JobCompType=jobcomp/none',
        'AccountingStorageType=accounting_storage/none',
        'NodeName=localhost NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN',
        'PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES',
        '',
      ].join('\n'),
    );
    for (const [cmd, args] of [
      ['slurmctld', ['-D', '-i']],
      ['slurmd', ['-D', '-N', 'localhost']],
    ] as const) {
      daemons.push(spawn(cmd, [...args, '-f', env.SLURM_CONF], { env, stdio: 'ignore' }));
    }
    await until(
      'the node to come up idle',
      () => {
        try {
          return slurm('sinfo', ['-h', '-o', '%t']) === 'idle';
        } catch {
          return false;
        }
      },
      30_000,
    );
  }, 60_000);

  afterAll(() => {
    for (const d of daemons) d.kill('SIGTERM');
    const munged = join(dir, 'munge', 'pid');
    if (existsSync(munged)) process.kill(Number(readFileSync(munged, 'utf8')), 'SIGTERM');
  });

  const ARGS = ['qk-variance', '--quick', '--set', 'trials=500', '--set', 'd=[1,16]'];

  it('an array of 3 shards and the dependent merge job give the one-process results.csv', async () => {
    const root = join(dir, 'run1');
    const shards = join(root, 'shards');
    const sbatchOut = `--output=${dir}/out/%x-%A_%a.out`;
    const array = slurm(
      'sbatch',
      ['--parsable', '--array=1-3', '--cpus-per-task=1', sbatchOut, 'scripts/slurm-shards.sh', ...ARGS],
      { ATTNLAB_SHARDS: shards },
    );
    const merge = slurm('sbatch', [
      '--parsable',
      `--dependency=afterok:${array}`,
      `--output=${dir}/out/merge.out`,
      '--wrap',
      `npm run --silent exp -- merge qk-variance ${shards} --out ${join(root, 'merged')}`,
    ]);
    await until('the array and the merge job', () => !queued([array, merge]), 120_000);
    expect(readdirSync(join(shards, 'qk-variance')).sort()).toEqual(['shard-1-of-3', 'shard-2-of-3', 'shard-3-of-3']);
    const one = await cli([...ARGS, '--out', join(root, 'one')]);
    expect(one.code, one.stderr).toBe(0);
    // The merge job printed the summary a one-process run prints (16 rows: d ∈ {1, 16} in every block).
    expect(one.stdout).toMatch(/^qk-variance: 16 rows, /);
    expect(readFileSync(join(dir, 'out', 'merge.out'), 'utf8').split('\n')[0]).toBe(one.stdout.split('\n')[0]);
    const strip = (out: string) =>
      stripColumns(
        readFileSync(join(latestRun(out, 'qk-variance'), 'results.csv'), 'utf8'),
        qkVariance.measuredColumns,
      );
    expect(strip(join(root, 'merged'))).toBe(strip(join(root, 'one')));
  }, 180_000);

  it('a task cancelled mid-run and resubmitted alone resumes: its finished points are not computed again', async () => {
    const shards = join(dir, 'run2', 'shards');
    // Shard 1 of 2 (9 points), slow enough (0.2 – 0.7 s a point) to be cancelled between points.
    const args = ['qk-variance', '--quick', '--set', 'trials=50000', '--set', 'd=[256,1024]', '--backend', 'cpu'];
    const submit = (array: string, extra: Record<string, string> = {}) =>
      slurm(
        'sbatch',
        [
          '--parsable',
          `--array=${array}`,
          '--cpus-per-task=1',
          `--output=${dir}/out/requeue-%A_%a.out`,
          'scripts/slurm-shards.sh',
          ...args,
        ],
        { ATTNLAB_SHARDS: shards, ...extra },
      );
    const job = submit('1-2');
    const shardDir = join(shards, 'qk-variance', 'shard-1-of-2', 'qk-variance');
    const checkpoint = () => {
      const run = existsSync(shardDir) ? readdirSync(shardDir).find((d) => /^\d{8}-/.test(d)) : undefined;
      const file = run && join(shardDir, run, 'points.jsonl');
      return file && existsSync(file) ? readFileSync(file, 'utf8').trimEnd().split('\n').filter(Boolean) : [];
    };
    await until('task 1 to checkpoint 2 points', () => checkpoint().length >= 2, 60_000);
    slurm('scancel', [`${job}_1`]);
    await until('task 1 to end', () => !queued([`${job}_1`]), 30_000);
    const kept = checkpoint().length;
    // Resubmit task 1 alone, keeping the shard count (the script's ATTNLAB_SHARD_COUNT), and let both finish.
    const again = submit('1', { ATTNLAB_SHARD_COUNT: '2' });
    await until('the resubmitted task and task 2', () => !queued([again, job]), 120_000);
    const lines = checkpoint();
    const ids = lines.map((l) => (JSON.parse(l) as { point: string }).point);
    expect(new Set(ids).size, 'each point once').toBe(ids.length);
    expect(kept).toBeLessThan(ids.length);
    const log = readdirSync(join(dir, 'out'))
      .filter((f) => f.startsWith(`requeue-${again}_`))
      .map((f) => readFileSync(join(dir, 'out', f), 'utf8'))
      .join('');
    expect(log).toContain(`${kept}/${ids.length} points already done`);
    const merged = await cli(['merge', 'qk-variance', shards, '--out', join(dir, 'run2', 'merged')]);
    expect(merged.code, merged.stderr).toBe(0);
  }, 240_000);
});
