import { appendFileSync, chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { msg } from '../src/messages.js';
import { qkVariance } from '../src/sim/qk-variance.js';
import { cli, listFiles, stripColumns, tmp } from './helpers.js';

const ARGS = ['qk-variance', '--quick', '--set', 'd=[1,4,16]', '--set', 'trials=400'];

describe('faults', () => {
  it('a torn last line in points.jsonl is dropped with a warning and that point recomputed', async () => {
    const out = join(tmp(), 'results');
    const full = await cli([...ARGS, '--out', out]);
    expect(full.code).toBe(0);
    const runDir = join(out, 'qk-variance', readdirSync(join(out, 'qk-variance')).find((d) => d !== 'latest')!);
    const csv = readFileSync(join(runDir, 'results.csv'), 'utf8');
    // Make the run look interrupted mid-write: status running, last line cut in half.
    const manifest = JSON.parse(readFileSync(join(runDir, 'manifest.json'), 'utf8'));
    writeFileSync(join(runDir, 'manifest.json'), JSON.stringify({ ...manifest, status: 'running' }));
    const lines = readFileSync(join(runDir, 'points.jsonl'), 'utf8').trimEnd().split('\n');
    const last = lines.pop()!;
    writeFileSync(join(runDir, 'points.jsonl'), `${lines.join('\n')}\n${last.slice(0, last.length / 2)}`);
    const resumed = await cli([...ARGS, '--out', out]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain(msg.checkpointTruncated(join(runDir, 'points.jsonl'), lines.length + 1));
    expect(resumed.stderr).toContain(`${lines.length}/${lines.length + 1} points already done`);
    const after = readFileSync(join(runDir, 'points.jsonl'), 'utf8').trimEnd().split('\n');
    expect(after).toHaveLength(lines.length + 1);
    expect(after.every((l) => JSON.parse(l))).toBe(true);
    expect(stripColumns(readFileSync(join(runDir, 'results.csv'), 'utf8'), qkVariance.measuredColumns)).toBe(stripColumns(csv, qkVariance.measuredColumns));
  });

  it('a results directory that cannot be written fails clearly before any work (exit 2)', async () => {
    const parent = join(tmp(), 'locked');
    mkdirSync(parent);
    chmodSync(parent, 0o500);
    try {
      const r = await cli([...ARGS, '--out', join(parent, 'results')]);
      if (process.getuid?.() === 0) {
        // root writes anywhere: nothing to refuse; the run simply works
        expect(r.code).toBe(0);
      } else {
        expect(r.code).toBe(2);
        expect(r.stderr).toMatch(/output directory .* is not writable/);
        expect(listFiles(parent)).toEqual([]);
      }
    } finally {
      chmodSync(parent, 0o700);
    }
  });

  it('a results path that is a file is refused before any work (exit 2)', async () => {
    const dir = tmp();
    const file = join(dir, 'results');
    appendFileSync(file, 'not a directory');
    const r = await cli([...ARGS, '--out', file]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`output directory ${file} is not writable`);
  });
});
