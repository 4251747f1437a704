import { msg } from '../messages.js';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Bench } from 'tinybench';
import seedrandom from 'seedrandom';
import { bootstrapMedian } from '../stats/compare.js';
import { median, medianInterval } from '../stats/quantile.js';
import { z } from 'zod';

/** How long and how often a timing point is measured. */
export interface TimingOptions {
  /** Minimum time spent taking samples (ms). */
  timeMs: number;
  /** Minimum number of samples. */
  minSamples: number;
  /** Warm-up time before sampling (ms); at least `warmupCalls` warm-up calls are made in any case. */
  warmupMs: number;
  /** Warm-up calls at least (default 2). */
  warmupCalls?: number;
  /** The clock handed to the simulation. */
  now: () => number;
  /** Named in the error when the measurement does not complete. */
  label: string;
}

export interface Timing {
  /** Median of the samples (ms). */
  medianMs: number;
  /** Distribution-free interval of the median (ms). */
  lowMs: number;
  highMs: number;
  /** Every sample, ascending (ms). */
  samples: number[];
}

/**
 * V8's garbage collection, full or minor, without --expose-gc on the command line (the flag set at run time, gc() taken
 * from a fresh context).
 */
const collectGarbage = (() => {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as (options?: { type: 'major' | 'minor'; execution: 'sync' }) => void;
})();

/** Heap and array-buffer bytes in use: what a collection could free, and what sets V8's own collections off. */
const inUse = () => {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};

/**
 * Old-generation allocation since the last full collection beyond which a timed call starts with one (after a minor
 * collection, which every call gets: it frees the young garbage, such as the output tensors of the calls before).
 * The smallest threshold that kept the window claim steady without a full collection every round (figures:
 * docs/benchmarks.md, "Figures behind constants").
 */
export const COLLECT_AFTER_BYTES = 4 * 2 ** 20;
let inUseAfterCollection = 0;

/**
 * Time `fn` with tinybench (warm-up, then samples until both minimums are met) and summarise by the median. Garbage
 * is collected first (minor, and full past COLLECT_AFTER_BYTES), so that V8 does not collect during the samples the
 * garbage of what came before (the inputs of earlier points, every call's output tensors): their external memory set
 * off incremental marking about every 170 ms of a mha-vs-mqa run, its helper threads taking a core from the timed call.
 */
export async function timeCall(fn: () => unknown, o: TimingOptions): Promise<Timing> {
  collectGarbage({ type: 'minor', execution: 'sync' });
  const used = inUse();
  inUseAfterCollection = Math.min(inUseAfterCollection, used); // V8 collected on its own since
  if (used - inUseAfterCollection > COLLECT_AFTER_BYTES) {
    collectGarbage();
    inUseAfterCollection = inUse();
  }
  const bench = new Bench({
    time: o.timeMs,
    iterations: o.minSamples,
    warmup: true,
    warmupTime: o.warmupMs,
    warmupIterations: o.warmupCalls ?? 2,
    now: o.now,
    retainSamples: true,
  });
  bench.add(o.label, fn);
  await bench.run();
  const result = bench.tasks[0]?.result;
  if (result?.state !== 'completed') throw new Error(msg.timingIncomplete(o.label, result?.state));
  return summarise([...(result.latency.samples ?? [])]);
}

/**
 * Median ms of `f` over 7 calls with no time window: the machine probes of a setup, measured like every timed point.
 */
export async function probeMs(now: () => number, f: () => unknown, label: string): Promise<number> {
  return (await timeCall(f, { timeMs: 0, minSamples: 7, warmupMs: 0, now, label })).medianMs;
}

/** Median and its distribution-free interval of samples (ms), which come back ascending. */
export function summarise(samples: readonly number[]): Timing {
  const sorted = [...samples].sort((a, b) => a - b);
  const ci = medianInterval(sorted);
  return { medianMs: median(sorted), lowMs: ci.low, highMs: ci.high, samples: sorted };
}

/** The raw samples column (`time_samples_ms`): every sample in ms, null where the point was not timed. */
export const Samples = z.array(z.number()).nullable();

/**
 * The timing of a point measured in rounds: the median over every round's raw samples pooled, and its interval from
 * a bootstrap over the rounds (each round a session of its own, so the interval holds the noise between sessions
 * that the samples of one session do not show; claims decide from it). Seeded: the same samples give the same
 * interval.
 */
export function pooledTiming(rounds: readonly (readonly number[])[]): Timing {
  const pooled = summarise(rounds.flat());
  const got = rounds.filter((r) => r.length > 0);
  if (got.length < 2) return pooled;
  const [lowMs, highMs] = bootstrapMedian(got, seedrandom('attnlab-rounds'));
  return { ...pooled, lowMs: Math.min(lowMs, pooled.medianMs), highMs: Math.max(highMs, pooled.medianMs) };
}

/** A timing round of a point: which, of how many (see `Simulation.rounds`). */
export interface Round {
  index: number;
  count: number;
}

/** The measurement of one point as one round. */
export const ONE_ROUND: Round = { index: 0, count: 1 };

/**
 * What one round of a point measures: its share of the time window and of the minimum samples (5 over 3 rounds:
 * 1, 2, 2), after a warm-up of `warmupMs` and two calls where the shape is new (the first round: tier-up,
 * operator caches), and of one call later (the inputs are set up again).
 */
export function roundOptions(
  round: Round,
  o: { timeMs: number; minSamples: number; warmupMs: number },
): Pick<TimingOptions, 'timeMs' | 'minSamples' | 'warmupMs' | 'warmupCalls'> {
  return {
    timeMs: o.timeMs / round.count,
    minSamples: Math.max(1, Math.floor((o.minSamples + round.index) / round.count)),
    warmupMs: round.index === 0 ? o.warmupMs : 0,
    warmupCalls: round.index === 0 ? 2 : 1,
  };
}

/** Predicted ms of timing one point in `count` rounds, for a call of `callMs` (the cost models' share). */
export function roundsMs(
  count: number,
  callMs: number,
  o: { timeMs: number; minSamples: number; warmupMs: number },
): number {
  let ms = 0;
  for (let index = 0; index < count; index++) {
    const r = roundOptions({ index, count }, o);
    ms += r.warmupMs + r.warmupCalls! * callMs + Math.max(r.timeMs, r.minSamples * callMs);
  }
  return ms;
}

/**
 * A point's rows from its rounds: the first round's row (what is measured once) with the timing columns
 * recomputed by `timed` from the samples of every round (each row's `time_samples_ms`), and given those samples round
 * by round (for ratios paired by round: src/stats/compare.ts, bootstrapRatio, paired). Rows that were not
 * timed (skipped points: `time_ms` null) are the first round's.
 */
export function combineRounds<T extends TimedRow>(
  rounds: readonly T[][],
  timed: (first: T, t: Timing, rounds: readonly (readonly number[])[]) => T,
): T[] {
  return rounds[0]!.map((first, i) => {
    if (first.time_ms === null) return first;
    const samples = rounds.map((r) => r[i]!.time_samples_ms ?? []);
    return timed(
      first,
      pooledTiming(samples),
      samples.filter((s) => s.length > 0),
    );
  });
}

/** What `combineRounds` reads of a row: whether it was timed, and its raw samples. */
export interface TimedRow {
  time_ms: number | null;
  time_samples_ms: readonly number[] | null;
}

/**
 * The settings every timing experiment shares, which its own Settings object extends (`...timingSettings(400)`):
 * the time window of a point, its minimum samples, and the rounds its samples are pooled over.
 */
export function timingSettings(timeBudgetMs: number) {
  return {
    time_budget_ms: z
      .number()
      .positive()
      .default(timeBudgetMs)
      .describe(`minimum time spent measuring each point; @default ${timeBudgetMs}`),
    min_samples: z.number().int().min(3).default(5).describe('minimum timed samples per point; @default 5'),
    rounds: z
      .number()
      .int()
      .min(1)
      .max(20)
      .default(3)
      .describe(
        'timing rounds: every point is measured once per round, each round with its share of time_budget_ms and min_samples, and the samples are pooled (a slow spell of a shared machine then falls on a third of many points, not on all of one); @default 3',
      ),
  };
}

/** What timingSettings adds to an experiment's settings. */
export interface TimingSettings {
  time_budget_ms: number;
  min_samples: number;
  rounds: number;
}

/** A point's time window from the settings, with the experiment's warm-up before a shape's first round. */
export function timingWindow(settings: TimingSettings, warmupMs: number) {
  return { timeMs: settings.time_budget_ms, minSamples: settings.min_samples, warmupMs };
}

/** The timing columns every timed row has, from its timing. */
export function timingColumns(t: Timing) {
  return {
    time_ms: t.medianMs,
    time_ci_low: t.lowMs,
    time_ci_high: t.highMs,
    samples: t.samples.length,
    time_samples_ms: t.samples,
  };
}
