/**
 * Unstable machines said out loud (src/run/stability.ts): a timing run that starts beside other work, or whose
 * rounds disagree, warns in the terminal and beside every timing claim of its report; the numbers by hand.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { msg } from '../../src/messages.js';
import { busyCores, roundSpread, stability, UNSTABLE_SPREAD } from '../../src/run/stability.js';
import type { CheckpointEntry } from '../../src/run/store.js';
import { isTimingClaim } from '../../src/spec/claims.js';
import type { Comparison } from '../../src/run/compare.js';
import { compareMarkdown, unsteady } from '../../src/run/compare-page.js';
import { loadExperiment, resolveExperimentFile } from '../../src/spec/load.js';
import { cli, latestRun, tmp } from '../helpers.js';

const entry = (round: number, samples: number[]): CheckpointEntry => ({
  point: 'p',
  replicate: 0,
  round,
  rows: [{ time_samples_ms: samples }],
  ms: 1,
});

describe('stability by hand', () => {
  it("rounds' spread: medians 1 and e^0.4 → logs 0, 0.4 → σ = √(0.08 / 1) = 0.2828 on 1 df, over 20%", () => {
    const spread = roundSpread(new Map([['p#0', [entry(0, [1, 1, 1]), entry(1, [Math.exp(0.4)])]]]))!;
    expect(spread.df).toBe(1);
    expect(spread.sigma).toBeCloseTo(Math.sqrt(0.08), 12);
    expect(UNSTABLE_SPREAD).toBe(0.2);
    expect(stability(null, spread, 2).warnings).toEqual([msg.roundsDisagree(Math.sqrt(0.08), 0.2)]);
    // Medians 1 and e^0.2: σ = 0.1414, steady.
    expect(
      stability(null, roundSpread(new Map([['p#0', [entry(0, [1]), entry(1, [Math.exp(0.2)])]]])), 2).warnings,
    ).toEqual([]);
    // The typical point decides: σ 0.2828, 0.1414, 0.1414 → median 0.1414, where the pooled σ would be 0.2.
    const three = new Map([
      ['a', [entry(0, [1]), entry(1, [Math.exp(0.4)])]],
      ['b', [entry(0, [1]), entry(1, [Math.exp(0.2)])]],
      ['c', [entry(0, [1]), entry(1, [Math.exp(0.2)])]],
    ]);
    expect(roundSpread(three)!.sigma).toBeCloseTo(Math.sqrt(0.02), 12);
    expect(roundSpread(three)!.df).toBe(3);
    // A point measured once says nothing.
    expect(roundSpread(new Map([['p#0', [entry(0, [1])]]]))).toBeNull();
  });

  it('busy at the start: other processes above a quarter of the cores', () => {
    expect(stability(1.2, null, 2).warnings).toEqual([msg.machineBusy(1.2, 2)]);
    expect(stability(0.4, null, 2).warnings).toEqual([]);
    expect(stability(null, null, 2).warnings).toEqual([]);
  });

  it('busyCores reads two busy processes as about two cores', async () => {
    const busy: ChildProcess[] = [0, 1].map(() =>
      spawn(process.execPath, ['-e', 'const end = Date.now() + 20_000; while (Date.now() < end);'], {
        stdio: 'ignore',
      }),
    );
    try {
      await new Promise((r) => setTimeout(r, 300));
      const cores = await busyCores();
      expect(cores).not.toBeNull();
      expect(cores!).toBeGreaterThan(1.5);
    } finally {
      for (const p of busy) p.kill('SIGKILL');
    }
  });

  it("timing claims are the ones on measured columns or derived tables: scaling's slopes and crossover, not its error claims", async () => {
    const { experiment, sim } = await loadExperiment(resolveExperimentFile('scaling'));
    const timing = experiment.claims.filter((c) => isTimingClaim(c, sim)).map((c) => c.id);
    expect(timing).toEqual(
      expect.arrayContaining(['softmax-time-quadratic', 'softmax-memory-quadratic', 'crossover-near-theory']),
    );
    expect(timing).not.toContain('linear-equals-direct');
    expect(timing).not.toContain('rff-error-half-power');
    const qk = await loadExperiment(resolveExperimentFile('qk-variance'));
    expect(qk.experiment.claims.filter((c) => isTimingClaim(c, qk.sim))).toEqual([]);
  });
});

describe('a timing run beside two busy processes', () => {
  it('warns in the terminal summary and beside each timing claim of the report, not beside the others', async () => {
    const dir = tmp();
    const file = join(dir, 'small.yaml');
    writeFileSync(
      file,
      `name: small-timing
title: A small timing grid
description: softmax and the linear form.
simulation: scaling
seed: 1
grid:
  method: [softmax, quadratic-kernel]
  N: [256, 512, 1024]
  D: [16]
  M: [16]
settings: { time_budget_ms: 30, warmup_ms: 5, rounds: 2, error_rows: 4 }
claims:
  - { id: time-grows, text: time grows, kind: monotone, x: N, y: time_ms, per: [method], direction: increasing }
  - { id: exact, text: linear form is exact, kind: fraction, test: { column: max_rel_error, abs_below: 0.001 }, where: { method: quadratic-kernel } }
charts:
  - { id: time, title: time, spec: { mark: point, encoding: { x: { field: N, type: quantitative }, y: { field: time_ms, type: quantitative } } } }
`,
    );
    const busy: ChildProcess[] = [0, 1].map(() =>
      spawn(process.execPath, ['-e', 'const end = Date.now() + 60_000; while (Date.now() < end);'], {
        stdio: 'ignore',
      }),
    );
    let r: Awaited<ReturnType<typeof cli>>;
    try {
      await new Promise((res) => setTimeout(res, 300));
      r = await cli([file, '--out', join(dir, 'out')]);
    } finally {
      for (const p of busy) p.kill('SIGKILL');
    }
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /warning: the machine was busy when the run started: other processes used \d\.\d\d of its \d+ cores/,
    );
    const run = latestRun(join(dir, 'out'), 'small-timing');
    const manifest = JSON.parse(readFileSync(join(run, 'manifest.json'), 'utf8'));
    expect(manifest.stability.busyCores).toBeGreaterThan(0.25 * manifest.stability.cores);
    const html = readFileSync(join(run, 'report.html'), 'utf8');
    const row = (id: string) => html.split('<tr>').find((tr) => tr.includes(`<code>${id}</code>`))!;
    expect(row('time-grows')).toContain('⚠ unstable machine');
    expect(row('exact')).not.toContain('unstable');
  });
});

describe('compare carries the warnings of the runs it compares', () => {
  it('a run that started busy is named above the verdicts', () => {
    const manifest = (runId: string, warnings: string[]) => ({
      runId,
      experiment: 'x',
      experimentSha256: '0'.repeat(64),
      backend: { name: 'onnx' },
      cpu: { model: 'CPU', count: 2 },
      git: null,
      stability: { busyCores: 1.9, cores: 2, roundSpread: null, warnings },
    });
    const c = {
      a: { manifest: manifest('A1', []) },
      b: { manifest: manifest('B1', [msg.machineBusy(1.9, 2)]) },
      threshold: 1.1,
      timing: [],
      estimates: [],
      counts: {},
      geomean: null,
      filesDiffer: false,
      noise: { a: null, b: null },
    } as unknown as Comparison;
    expect(unsteady(c)).toEqual([`run B (B1): ${msg.machineBusy(1.9, 2)}`]);
    expect(compareMarkdown(c)).toContain(
      `warning: run B (B1): the machine was busy when the run started: other processes used 1.90 of its 2 cores`,
    );
  });
});
