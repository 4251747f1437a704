import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { msg } from '../../src/messages.js';
import { freshRunDir } from '../../src/run/store.js';
import { cli, latestRun, ROOT, tmp } from '../helpers.js';

const EXAMPLE = join(ROOT, 'examples/correlated-qk/correlated-qk.yaml');

describe('claims left without rows by a --set', () => {
  it('are not evaluated: a note names them, the manifest lists them, claims.csv leaves them out, --check passes', async () => {
    const out = tmp('attnlab-narrowed-');
    // var-grows-like-d reads scaling = none only: the --set leaves it nothing to decide on.
    const sets = ['scaling=[sqrt_d]'];
    const r = await cli([EXAMPLE, '--quick', ...sets.flatMap((s) => ['--set', s]), '--check', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('claims: 4/4 passed');
    expect(r.stdout).toContain(
      msg.claimsNotEvaluated(['var-grows-like-d'], ['--quick', ...sets.map((s) => `--set ${s}`)]),
    );
    const manifest = JSON.parse(readFileSync(join(latestRun(out, 'correlated-qk'), 'manifest.json'), 'utf8'));
    expect(manifest.claims).toMatchObject({ passed: 4, errored: 0, notEvaluated: ['var-grows-like-d'] });
    const claims = readFileSync(join(latestRun(out, 'correlated-qk'), 'claims.csv'), 'utf8');
    expect(claims).not.toContain('var-grows-like-d');
  });
});

describe('two runs of one configuration started in the same second', () => {
  it('a new run takes id, then id-2, id-3: never a directory that exists', () => {
    const dir = tmp('attnlab-fresh-');
    const got = [1, 2, 3].map(() => {
      const d = freshRunDir(dir, '20261208-043034-c2ccbab6');
      mkdirSync(d);
      return d.slice(dir.length + 1);
    });
    expect(got).toEqual(['20261208-043034-c2ccbab6', '20261208-043034-c2ccbab6-2', '20261208-043034-c2ccbab6-3']);
  });

  it('keep both runs, each complete; latest is the second (the first was written over before)', async () => {
    const out = tmp('attnlab-same-second-');
    const args = ['qk-variance', '--quick', '--set', 'd=[4]', '--set', 'trials=2000', '--out', out];
    // The clock stands still: both runs start in the same second (a quick run takes 0.1 s).
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-12-08T04:30:34.250Z'));
    try {
      expect((await cli(args)).code).toBe(0);
      expect((await cli(args)).code).toBe(0);
    } finally {
      vi.useRealTimers();
    }
    const runs = readdirSync(join(out, 'qk-variance'))
      .filter((d) => d !== 'latest')
      .sort();
    expect(runs).toHaveLength(2);
    expect(runs[0]).toMatch(/^20261208-043034-[0-9a-f]{8}$/);
    expect(runs[1]).toBe(`${runs[0]}-2`);
    for (const run of runs) {
      const manifest = JSON.parse(readFileSync(join(out, 'qk-variance', run, 'manifest.json'), 'utf8'));
      expect([manifest.status, manifest.runId]).toEqual(['complete', run]);
    }
    expect(latestRun(out, 'qk-variance')).toBe(join(out, 'qk-variance', runs[1]!));
  });
});
