import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { runInNewContext } from 'node:vm';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { registerSimulation } from '../../src/sim/registry.js';
import { toCsv } from '../../src/report/csv.js';
import { COLLECT_AFTER_BYTES, pooledTiming, timeCall } from '../../src/sim/timing.js';
import { defineSimulation } from '../../src/sim/types.js';
import { cli, tmp } from '../helpers.js';

describe('pooled timing of rounds', () => {
  it("pools every round's samples: median and count over all of them, ascending", () => {
    const t = pooledTiming([[1, 5], [3], [2, 4]]);
    expect(t.samples).toEqual([1, 2, 3, 4, 5]);
    expect(t.medianMs).toBe(3);
  });

  it('pools the samples as measured, not as the CSV rounds them', () => {
    expect(pooledTiming([[1.00049], [1.0004]]).medianMs).toBeCloseTo(1.000445, 9);
    expect(toCsv(['s'], [{ s: [1.00049, 2] }])).toBe('s\n1.000;2.000\n');
  });
});

describe('a timed call starts on a collected heap', () => {
  // The heap of a run: the command line's modules loaded. In a heap still small from few imports, V8 adds a full
  // collection of its own beside the timed call's (two in the window, here).
  beforeAll(() => import('../../src/cli.js'));
  /** Start times of the full (major) collections while `f` runs, and the instants it reports. */
  async function majorsDuring(f: () => Promise<void>): Promise<number[]> {
    const majors: number[] = [];
    const observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries())
        if (
          (e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR
        )
          majors.push(e.startTime);
    });
    observer.observe({ entryTypes: ['gc'] });
    await f();
    await new Promise((r) => setTimeout(r, 50)); // gc entries are delivered asynchronously
    observer.disconnect();
    return majors;
  }
  const timeFirstCall = async () => {
    const called = performance.now();
    let first = Infinity;
    await timeCall(() => (first = Math.min(first, performance.now())), {
      timeMs: 0,
      minSamples: 3,
      warmupMs: 0,
      warmupCalls: 1,
      now: () => performance.now(),
      label: 'heap',
    });
    return [called, first] as const;
  };

  it(`after ${COLLECT_AFTER_BYTES / 2 ** 20} MiB or more of old garbage, one full collection before the first call; none after less`, async () => {
    expect(COLLECT_AFTER_BYTES).toBe(4 * 2 ** 20);
    let window: readonly [number, number] = [0, 0];
    const majors = await majorsDuring(async () => {
      // 5 × 8 MiB, under the 64 MiB that sets V8 off on its own, moved to the old generation (two minor collections
      // survived) as an earlier point's inputs are: the minor collection every timed call gets does not free it.
      let garbage: Float64Array[] | null = Array.from({ length: 5 }, () => new Float64Array(1 << 20).fill(1));
      const gc = runInNewContext('gc') as (o: { type: 'minor'; execution: 'sync' }) => void;
      gc({ type: 'minor', execution: 'sync' });
      gc({ type: 'minor', execution: 'sync' });
      garbage = null;
      void garbage;
      window = await timeFirstCall();
    });
    expect(majors.filter((t) => t >= window[0] && t <= window[1])).toHaveLength(1);
    // Right after it, with nothing allocated since: no collection (it would cost 5 – 50 ms a round for nothing).
    const again = await majorsDuring(async () => {
      window = await timeFirstCall();
    });
    expect(again.filter((t) => t >= window[0] && t <= window[1])).toHaveLength(0);
  });
});

// A timing simulation whose "samples" say which point and round made them: x·10 + round.
const calls: string[] = [];
const YAML = `name: rounds\ntitle: T\ndescription: D\nsimulation: rounds-test\nseed: 1\ngrid: { x: [1, 2, 3] }\nsettings: { rounds: 3 }\ncharts:\n  - { id: c, title: C, spec: { mark: point, encoding: { x: { field: x, type: quantitative } } } }\n`;

describe('timing rounds (asv-style)', () => {
  beforeAll(() => {
    const sim = defineSimulation({
      kind: 'rounds-test',
      summary: 'samples that name their round',
      params: z.object({ x: z.number() }).strict(),
      settings: z.object({ rounds: z.number().int().min(1).default(1) }).strict(),
      row: z.object({ x: z.number(), time_ms: z.number(), samples: z.number(), time_samples_ms: z.array(z.number()) }),
      measuredColumns: ['time_ms', 'samples', 'time_samples_ms'],
      timing: true,
      rounds: (s) => s.rounds,
      combine: (rounds) =>
        rounds[0]!.map((row, i) => {
          const t = pooledTiming(rounds.map((r) => r[i]!.time_samples_ms));
          return { ...row, time_ms: t.medianMs, samples: t.samples.length, time_samples_ms: t.samples };
        }),
      run: ({ params, round }) => {
        calls.push(`${params.x}@${round?.index ?? '-'}/${round?.count ?? '-'}`);
        const s = [params.x * 10 + (round?.index ?? 0)];
        return [{ x: params.x, time_ms: s[0]!, samples: 1, time_samples_ms: s }];
      },
    });
    registerSimulation(sim);
  });

  it('measures every point once per round, round after round, and pools the rounds into results.csv', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'rounds.yaml'), YAML);
    calls.length = 0;
    const r = await cli([join(dir, 'rounds.yaml'), '--out', join(dir, 'results')]);
    expect(r.code, r.stderr).toBe(0);
    // all points of round 0, then of round 1, then of round 2
    expect(calls).toEqual(['1@0/3', '2@0/3', '3@0/3', '1@1/3', '2@1/3', '3@1/3', '1@2/3', '2@2/3', '3@2/3']);
    expect(r.stderr).toContain('9/9 point rounds (3 per point)');
    const run = join(dir, 'results', 'rounds', 'latest');
    expect(readFileSync(join(run, 'results.csv'), 'utf8')).toBe(
      'x,time_ms,samples,time_samples_ms\n1,11,3,10.000;11.000;12.000\n2,21,3,20.000;21.000;22.000\n3,31,3,30.000;31.000;32.000\n',
    );
    // the checkpoint holds each round (with `round`), then the point's final entry when its last round is done
    const entries = readFileSync(join(run, 'points.jsonl'), 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { round?: number; rows: { x: number }[] });
    expect(entries.map((e) => `${e.rows[0]!.x}${e.round === undefined ? '' : `@${e.round}`}`)).toEqual([
      '1@0',
      '2@0',
      '3@0',
      '1@1',
      '2@1',
      '3@1',
      '1@2',
      '1',
      '2@2',
      '2',
      '3@2',
      '3',
    ]);
  });

  it('an interrupted run resumes inside a round: finished rounds are not measured again', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'rounds.yaml'), YAML);
    const out = join(dir, 'results');
    expect((await cli([join(dir, 'rounds.yaml'), '--out', out])).code).toBe(0);
    const runDir = join(
      out,
      'rounds',
      readdirSync(join(out, 'rounds')).find((d) => d !== 'latest')!,
    );
    const csv = readFileSync(join(runDir, 'results.csv'), 'utf8');
    // Cut the run after round 0 and the first point of round 1, as a kill would leave it.
    const lines = readFileSync(join(runDir, 'points.jsonl'), 'utf8').trimEnd().split('\n');
    writeFileSync(join(runDir, 'points.jsonl'), `${lines.slice(0, 4).join('\n')}\n`);
    const manifest = JSON.parse(readFileSync(join(runDir, 'manifest.json'), 'utf8'));
    writeFileSync(join(runDir, 'manifest.json'), JSON.stringify({ ...manifest, status: 'running' }));
    calls.length = 0;
    const resumed = await cli([join(dir, 'rounds.yaml'), '--out', out]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(calls).toEqual(['2@1/3', '3@1/3', '1@2/3', '2@2/3', '3@2/3']);
    expect(readFileSync(join(runDir, 'results.csv'), 'utf8')).toBe(csv);
  });

  it("shards measure in rounds too, and merge takes each point's final entry", async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'rounds.yaml'), YAML);
    const one = await cli([join(dir, 'rounds.yaml'), '--out', join(dir, 'one')]);
    expect(one.code, one.stderr).toBe(0);
    const shards = [1, 2].map((i) => join(dir, `shard${i}`));
    for (const [i, out] of shards.entries())
      expect((await cli([join(dir, 'rounds.yaml'), '--shard', `${i + 1}/2`, '--out', out])).code).toBe(0);
    const merged = await cli(['merge', join(dir, 'rounds.yaml'), ...shards, '--out', join(dir, 'merged')]);
    expect(merged.code, merged.stderr).toBe(0);
    const csv = (root: string) => readFileSync(join(root, 'rounds', 'latest', 'results.csv'), 'utf8');
    expect(csv(join(dir, 'merged'))).toBe(csv(join(dir, 'one')));
  });

  it('rounds: 1 measures each point once, as a simulation without rounds', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'rounds.yaml'), YAML.replace('rounds: 3', 'rounds: 1'));
    calls.length = 0;
    const r = await cli([join(dir, 'rounds.yaml'), '--out', join(dir, 'results')]);
    expect(r.code, r.stderr).toBe(0);
    expect(calls).toEqual(['1@-/-', '2@-/-', '3@-/-']);
    expect(readFileSync(join(dir, 'results', 'rounds', 'latest', 'points.jsonl'), 'utf8')).not.toContain('"round"');
  });
});
