import { copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { msg } from '../../src/messages.js';
import { shardOf } from '../../src/run/shard.js';
import { mhaVsMqa } from '../../src/sim/mha-vs-mqa/simulation.js';
import { qkVariance } from '../../src/sim/qk-variance/simulation.js';
import { cli, latestRun, listFiles, ROOT, stripColumns, tmp } from '../helpers.js';

const QK = ['qk-variance', '--quick', '--set', 'trials=2000'];
const csvOf = (out: string, name: string, file = 'results.csv') =>
  readFileSync(join(latestRun(out, name), file), 'utf8');

/** Run shards 1..n of `args` into <root>/s<i>; returns the shard roots. */
async function runShards(args: readonly string[], n: number, root: string, only?: number[]): Promise<string[]> {
  const roots: string[] = [];
  for (const i of only ?? Array.from({ length: n }, (_, k) => k + 1)) {
    const out = join(root, `s${i}`);
    const r = await cli([...args, '--shard', `${i}/${n}`, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    roots.push(out);
  }
  return roots;
}

describe('--shard and merge', () => {
  it('a point belongs to the shard its id names: stable, and every shard gets a share', () => {
    expect(shardOf('00000000abcd', 4)).toBe(1);
    expect(shardOf('00000007abcd', 4)).toBe(4); // 7 mod 4 = 3 → shard 4
    expect(shardOf('ffffffff0000', 3)).toBe(1); // 4294967295 mod 3 = 0
  });

  it('four shards merged give the results.csv of one process and of --jobs 2', async () => {
    const root = tmp();
    const shards = await runShards(QK, 4, root);
    // Each shard holds its own points only, and no report.
    const sizes = shards.map(
      (s) =>
        readFileSync(
          join(
            s,
            'qk-variance',
            readdirSync(join(s, 'qk-variance')).find((d) => d.includes('shard'))!,
            'points.jsonl',
          ),
          'utf8',
        )
          .trimEnd()
          .split('\n').length,
    );
    expect(sizes.reduce((a, b) => a + b)).toBe(40);
    expect(Math.min(...sizes)).toBeGreaterThan(0);
    const shardRun = join(
      shards[0]!,
      'qk-variance',
      readdirSync(join(shards[0]!, 'qk-variance')).find((d) => d.endsWith('shard1of4'))!,
    );
    expect(listFiles(shardRun)).toEqual(['manifest.json', 'points.jsonl', 'results.csv', 'setup.json']);

    const merged = await cli(['merge', 'qk-variance', ...shards, '--out', join(root, 'merged')]);
    expect(merged.code, merged.stderr).toBe(0);
    expect(merged.stdout).toContain('qk-variance: 40 rows');
    const one = await cli([...QK, '--jobs', '1', '--out', join(root, 'one')]);
    const two = await cli([...QK, '--jobs', '2', '--out', join(root, 'two')]);
    expect(one.code + two.code).toBe(0);
    const strip = (out: string) => stripColumns(csvOf(out, 'qk-variance'), qkVariance.measuredColumns);
    expect(strip(join(root, 'merged'))).toBe(strip(join(root, 'one')));
    expect(strip(join(root, 'two'))).toBe(strip(join(root, 'one')));
    // The merged run is a whole run: report, checkpoint of every point, manifest naming its shards.
    const dir = latestRun(join(root, 'merged'), 'qk-variance');
    expect(existsSync(join(dir, 'report.html'))).toBe(true);
    const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    expect(m.status).toBe('complete');
    expect(m.shard).toBeUndefined();
    expect(m.shards.map((s: { shard: string }) => s.shard)).toEqual(['1/4', '2/4', '3/4', '4/4']);
    expect(readFileSync(join(dir, 'points.jsonl'), 'utf8').trimEnd().split('\n')).toHaveLength(40);
    expect(readFileSync(join(dir, 'report.html'), 'utf8')).toMatch(/<th>shards<\/th><td>1\/4: .*; 4\/4: /);
    // The index of a shard's results root lists it as a shard, with the merge command instead of a report.
    expect(readFileSync(join(shards[1]!, 'index.html'), 'utf8')).toContain(
      'shard 2/4, done: <code>npm run exp -- merge qk-variance &lt;shard dirs&gt;</code>',
    );
  });

  it('a timing experiment with setup tables merges too (the setup of shard 1 is kept)', async () => {
    // MQA alone (9 points, one cache length): the setup tables merge the same whatever the grid (a run 6.2 s, 8.5 with
    // all three variants).
    const args = ['mha-vs-mqa', '--quick', '--set', 'n=[1024]', '--set', 'variant=[mqa]', '--set', 'time_budget_ms=5'];
    const root = tmp();
    // Two shards, each with its own setup (machine probes, graph checks): enough to show that one setup is kept.
    const shards = await runShards(args, 2, root);
    const merged = await cli(['merge', 'mha-vs-mqa', join(root), '--out', join(root, 'merged')]);
    expect(merged.code, merged.stderr).toBe(0);
    const one = await cli([...args, '--out', join(root, 'one')]);
    expect(one.code, one.stderr).toBe(0);
    const strip = (out: string) => stripColumns(csvOf(out, 'mha-vs-mqa'), mhaVsMqa.measuredColumns);
    expect(strip(join(root, 'merged'))).toBe(strip(join(root, 'one')));
    expect(csvOf(join(root, 'merged'), 'mha-vs-mqa', 'checks.csv')).toBe(
      csvOf(join(root, 'one'), 'mha-vs-mqa', 'checks.csv'),
    );
    expect(shards).toHaveLength(2);
  });

  it('refuses missing, unfinished and mixed shards, a changed file and run options, writing nothing', async () => {
    const root = tmp();
    const [s1, s2] = await runShards(QK, 3, root, [1, 2]);
    const out = join(root, 'merged');
    const missing = await cli(['merge', 'qk-variance', s1!, s2!, '--out', out]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(
      msg.mergeMissing([3], 3, `npm run exp -- ${QK.join(' ')} --shard 3/3 --out ${s1}`),
    );

    // shard 3 run with another seed: a different configuration
    await runShards([...QK, '--seed', '5'], 3, root, [3]);
    const mixed = await cli(['merge', 'qk-variance', root, '--out', out]);
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toContain('[MERGE]');
    expect(mixed.stderr).toContain('different configurations');

    const option = await cli(['merge', 'qk-variance', root, '--quick']);
    expect(option.code).toBe(2);
    expect(option.stderr).toContain(msg.mergeOption('quick'));
    const usage = await cli(['merge', 'qk-variance']);
    expect(usage.stderr).toContain(msg.mergeUsage());
    const bad = await cli([...QK, '--shard', '5/4']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(msg.badOptionValue('shard', '5/4', 'I/N with 1 ≤ I ≤ N ≤ 10000, e.g. 1/4'));
    expect(listFiles(out)).toEqual([]);
  });

  it('an unfinished shard names its resume command; a changed experiment file is refused', async () => {
    const root = tmp();
    const file = join(root, 'exp.yaml');
    copyFileSync(join(ROOT, 'experiments', 'qk-variance.yaml'), file);
    const args = [file, '--quick', '--set', 'trials=500'];
    const shards = await runShards(args, 2, root);
    const m1 = join(shards[0]!, 'qk-variance', readdirSync(join(shards[0]!, 'qk-variance'))[0]!, 'manifest.json');
    const manifest = JSON.parse(readFileSync(m1, 'utf8'));
    writeFileSync(m1, JSON.stringify({ ...manifest, status: 'running', points: { ...manifest.points, done: 3 } }));
    const unfinished = await cli(['merge', file, ...shards, '--out', join(root, 'merged')]);
    expect(unfinished.code).toBe(2);
    expect(unfinished.stderr).toContain(
      msg.mergeUnfinished('1/2', join(m1, '..'), 3, manifest.points.total, manifest.command),
    );
    writeFileSync(m1, JSON.stringify(manifest));

    writeFileSync(file, `${readFileSync(file, 'utf8')}\n# edited after the shards ran\n`);
    const changed = await cli(['merge', file, ...shards, '--out', join(root, 'merged')]);
    expect(changed.code).toBe(2);
    expect(changed.stderr).toContain('merge: the shards ran');
    expect(listFiles(join(root, 'merged'))).toEqual([]);
  });
});
