import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { msg } from '../../src/messages.js';
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
