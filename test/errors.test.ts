import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { msg } from '../src/messages.js';
import { BACKENDS } from '../src/engine/backend.js';
import { simulationKinds } from '../src/sim/registry.js';
import { listExperimentNames } from '../src/spec/load.js';
import { cli, listFiles, tmp } from './helpers.js';

const GOOD = `name: bad
title: T
description: D
simulation: qk-variance
seed: 1
grid:
  d: [1, 2]
  sigma: [1]
charts:
  - id: c
    title: C
    spec: { mark: point, encoding: { x: { field: d, type: quantitative } } }
`;

/** Write `text` as an experiment file, run it, and check: exit 2, the catalog message, nothing under --out. */
async function expectBad(text: string, args: string[] = []): Promise<string> {
  const dir = tmp();
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, text);
  const out = join(dir, 'results');
  const r = await cli([file, '--out', out, ...args]);
  expect(r.code, r.stderr).toBe(2);
  expect(listFiles(out)).toEqual([]);
  expect(r.stdout).toBe('');
  return r.stderr.replace(file, 'FILE');
}

describe('--check', () => {
  it('exits 1 when a claim fails and 0 without --check; the report is still written', async () => {
    const dir = tmp();
    const file = join(dir, 'claims.yaml');
    // Var(q·k) grows like d, so a slope of 3 must fail; the slope of 1 must pass.
    writeFileSync(
      file,
      `${GOOD}claims:\n  - { id: wrong, kind: slope, text: t, x: d, y: var, expect: { target: 3, tol: 0.1 } }\n  - { id: right, kind: slope, text: t, x: d, y: var, expect: { target: 1, tol: 0.2 } }\n`,
    );
    const out = join(dir, 'results');
    const checked = await cli([file, '--out', out, '--set', 'trials=20000', '--check']);
    expect(checked.code).toBe(1);
    expect(checked.stdout).toContain('claims: 1/2 passed');
    expect(checked.stdout).toContain('FAIL wrong: ');
    expect(checked.stdout.trimEnd().split('\n').pop()).toMatch(/report\.html$/);
    expect((await cli([file, '--out', out, '--set', 'trials=20000'])).code).toBe(0);
  });
});

describe('--check --strict: an inconclusive claim', () => {
  it('does not fail --check, fails --check --strict, and prints its reason and cure; claims.csv records it', async () => {
    const dir = tmp();
    const file = join(dir, 'claims.yaml');
    // Var(q·k) = d·σ⁴: 1 at d = 1, 2 at d = 2. Its 99% interval at d = 2 reaches past 2 (it straddles the edge of
    // [0, 2]); at d = 1 it lies inside. The slope claim passes.
    writeFileSync(
      file,
      `${GOOD}claims:\n  - { id: edge, kind: fraction, text: t, test: { column: var, between: [0, 2], interval: [var_ci99_low, var_ci99_high] } }\n  - { id: right, kind: slope, text: t, x: d, y: var, expect: { target: 1, tol: 0.2 } }\n`,
    );
    const out = join(dir, 'results');
    const args = [file, '--out', out, '--set', 'trials=20000', '--check'];
    const checked = await cli(args);
    expect(checked.code, checked.stderr).toBe(0);
    expect(checked.stdout).toContain('claims: 1/2 passed, 1 inconclusive');
    expect(checked.stdout).toContain(
      'INCONCLUSIVE edge: 1 of 2 rows straddle an edge of 0 ≤ var ≤ 2 (1 pass, 2 needed)',
    );
    expect(checked.stdout).toContain(`    cure: ${msg.cureSampling()}`);
    const strict = await cli([...args, '--strict']);
    expect(strict.code).toBe(1);
    const csv = readFileSync(join(strict.stdout.trimEnd().split('\n').pop()!, '..', 'claims.csv'), 'utf8');
    expect(csv.split('\n')[0]).toBe('id,status,expected,measured,reason,cure,text');
    expect(csv).toMatch(/^edge,inconclusive,/m);
    expect(csv).toMatch(/^right,pass,/m);
    const report = readFileSync(strict.stdout.trimEnd().split('\n').pop()!, 'utf8');
    expect(report).toContain(
      '<p class="verdict inconclusive">Claims: 1/2 passed · not passed: edge (inconclusive)</p>',
    );
  });

  it('--strict without --check is bad input', async () => {
    const err = await expectBad(GOOD, ['--strict']);
    expect(err).toContain(msg.strictNeedsCheck());
  });
});

describe('bad input: exit 2, a located message, nothing written', () => {
  it('the good file is fine (control)', async () => {
    const dir = tmp();
    const file = join(dir, 'ok.yaml');
    writeFileSync(file, GOOD);
    const r = await cli([file, '--out', join(dir, 'results'), '--set', 'trials=100']);
    expect(r.code, r.stderr).toBe(0);
  });

  it('YAML syntax error names line and column', async () => {
    const err = await expectBad(GOOD.replace('sigma: [1]', 'sigma: [1'));
    expect(err).toMatch(/^error: FILE:\d+:\d+: YAML syntax error: .+ \[YAML_SYNTAX\]\n$/);
  });

  it('an alias before its anchor is a YAML error too, not a crash (found by the fuzz test)', async () => {
    const err = await expectBad(GOOD.replace('sigma: [1]', 'sigma: *later'));
    expect(err).toMatch(/^error: FILE:1:1: YAML syntax error: Unresolved alias.* \[YAML_SYNTAX\]\n$/);
  });

  it('unknown key names the key, its line and the allowed keys', async () => {
    const err = await expectBad(GOOD.replace('seed: 1', 'seed: 1\nseeed: 2'));
    expect(err).toContain('FILE:6:1: ');
    expect(err).toContain(
      msg.unknownKey('', 'seeed', ['$schema', 'name', 'title', 'description', 'seed']).split(', description')[0],
    );
    expect(err).toContain('[SCHEMA]');
  });

  it('unknown key inside a nested mapping', async () => {
    const err = await expectBad(GOOD.replace('  sigma: [1]', '  sigma: [1]\n  dee: [3]'));
    expect(err).toContain('FILE:9:3: ');
    expect(err).toContain('unknown key "dee" in grid (did you mean "d"?); allowed: d, sigma, mu, scaling');
  });

  it('a value of none of the forms a key takes lists those forms (a claim test with `below` instead of `abs_below`)', async () => {
    const claim = 'claims:\n  - { id: c1, text: T, kind: fraction, test: { column: z_var, below: 3 } }\n';
    const err = await expectBad(GOOD.replace('charts:', `${claim}charts:`));
    expect(err).toBe(
      `error: FILE:10:46: ${msg.wrongValue('claims[0].test', { column: 'z_var', below: 3 }, 'one of the forms {column, between, interval?}, {column, abs_below, interval?}, {column, abs_below_bonferroni, interval?}')} [SCHEMA]\n`,
    );
  });

  it('wrong type names the key, the value and what is allowed', async () => {
    const err = await expectBad(GOOD.replace('seed: 1', 'seed: "one"'));
    expect(err).toBe(`error: FILE:5:7: ${msg.wrongValue('seed', 'one', 'number, received string')} [SCHEMA]\n`);
  });

  it('a bad grid value is located at its axis', async () => {
    const err = await expectBad(GOOD.replace('d: [1, 2]', 'd: [1, -2]'));
    expect(err).toMatch(/^error: FILE:7:6: grid\.d: bad value -2; expected/);
  });

  it('an empty grid axis', async () => {
    const err = await expectBad(GOOD.replace('d: [1, 2]', 'd: []'));
    expect(err).toBe(`error: FILE:7:6: ${msg.emptyGrid('d')} [EMPTY_GRID]\n`);
  });

  it('an empty range', async () => {
    const err = await expectBad(GOOD.replace('d: [1, 2]', 'd: { geometric: { from: 8, to: 2 } }'));
    expect(err).toContain('geometric range goes down (from 8 to 2)');
  });

  it('a missing required key', async () => {
    const err = await expectBad(GOOD.replace('seed: 1\n', ''));
    expect(err).toContain(msg.missingKey('seed', 'number'));
  });

  it('an unknown simulation kind lists the kinds', async () => {
    const err = await expectBad(GOOD.replace('simulation: qk-variance', 'simulation: qk-varianse'));
    expect(err).toContain(`FILE:4:13: ${msg.unknownSimulation('qk-varianse', simulationKinds())}`);
  });

  it('a claim on a column the simulation does not produce', async () => {
    const err = await expectBad(
      `${GOOD}claims:\n  - { id: x, kind: fraction, text: t, test: { column: nope, abs_below: 1 } }\n`,
    );
    expect(err).toContain('claims.x: column "nope" is not produced by this simulation');
  });

  it('TeX that does not typeset is located at its key: an unknown command, an unclosed $', async () => {
    const unknown = await expectBad(GOOD.replace('description: D', () => "description: 'the variance $\\Var(q)$'"));
    expect(unknown).toMatch(
      /^error: FILE:3:14: description: the TeX in this text does not typeset: \$\\Var\(q\)\$: Undefined control sequence: \\Var/,
    );
    expect(unknown).toContain('[BAD_TEX]');
    const unclosed = await expectBad(GOOD.replace('    title: C', () => "    title: 'costs $5'"));
    expect(unclosed).toContain(
      `FILE:11:12: ${msg.badTex('charts[0].title', 'a $ is not closed (write \\$ for a dollar sign)')}`,
    );
  });

  it('a chart that is not valid Vega-Lite', async () => {
    const err = await expectBad(GOOD.replace('mark: point', 'mark: pointy'));
    expect(err).toContain('charts.c: not a valid Vega-Lite fragment');
    expect(err).toContain('[BAD_CHART]');
  });

  it('a chart Vega-Lite would draw with a part dropped: a misspelt channel, a field definition without its field', async () => {
    const channel = await expectBad(
      GOOD.replace('encoding: { x:', 'encoding: { colr: { field: sigma, type: nominal }, x:'),
    );
    expect(channel).toMatch(
      /^error: FILE:12:11: charts\.c: not a valid Vega-Lite fragment: .*colr-encoding is dropped as colr is not a valid encoding channel/,
    );
    expect(channel).toContain('[BAD_CHART]');
    const field = await expectBad(GOOD.replace('encoding: { x:', 'encoding: { tooltip: [{ feld: sigma }], x:'));
    expect(field).toContain(
      'Dropping {"feld":"sigma"} from channel "tooltip" since it does not contain any data field',
    );
  });

  it('an unknown experiment name lists what exists', async () => {
    const out = join(tmp(), 'results');
    const r = await cli(['qk-varience', '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(msg.unknownExperiment('qk-varience', listExperimentNames()));
    expect(listFiles(out)).toEqual([]);
  });

  it('an unknown backend lists the backends', async () => {
    const err = await expectBad(GOOD, ['--backend', 'cuda']);
    expect(err).toBe(`error: ${msg.unknownBackend('cuda', BACKENDS)} [BAD_OPTION]\n`);
  });

  it('malformed --set: no "=", unknown key, bad value', async () => {
    expect(await expectBad(GOOD, ['--set', 'trials'])).toBe(`error: ${msg.badSet('trials')} [BAD_SET]\n`);
    expect(await expectBad(GOOD, ['--set', 'trails=5'])).toContain(
      '--set trails=...: unknown key "trails" (did you mean "trials"?); settable: d, sigma, mu, scaling, trials, seed, replicates',
    );
    expect(await expectBad(GOOD, ['--set', 'trials=-5'])).toBe(
      `error: ${msg.badSetType('trials=-5', 'trials', -5, 'an integer from 100 to 100000000')} [BAD_SET]\n`,
    );
    expect(await expectBad(GOOD, ['--set', 'd=[64,'])).toContain('--set d=[64,: ');
  });

  it('an unknown option and a bad --seed', async () => {
    expect(await expectBad(GOOD, ['--quik'])).toContain('unknown option "--quik"');
    expect(await expectBad(GOOD, ['--seed=-3'])).toContain(msg.badOptionValue('seed', '-3', 'a non-negative integer'));
    expect(await expectBad(GOOD, ['--seed', '1.5'])).toContain(
      msg.badOptionValue('seed', '1.5', 'a non-negative integer'),
    );
    expect(await expectBad(GOOD, ['--seed', '-3'])).toMatch(
      /^error: Option '--seed' argument is ambiguous.*\(see --help\) \[BAD_OPTION\]/,
    );
  });

  it('a forced backend that cannot load fails clearly (here: tensorflow is not installed)', async () => {
    let installed = true;
    try {
      await import('@tensorflow/tfjs-node' as string);
    } catch {
      installed = false;
    }
    if (installed) return;
    const err = await expectBad(GOOD, ['--backend', 'tensorflow']);
    expect(err).toMatch(/^error: backend "tensorflow" could not be loaded: .*Use --backend wasm/);
  });
});
