import { Bench } from 'tinybench';
import { median, medianInterval } from '../stats/quantile.js';

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

/** Time `fn` with tinybench (warm-up, then samples until both minimums are met) and summarise by the median. */
export async function timeCall(fn: () => unknown, o: TimingOptions): Promise<Timing> {
  const bench = new Bench({ time: o.timeMs, iterations: o.minSamples, warmup: true, warmupTime: o.warmupMs, warmupIterations: o.warmupCalls ?? 2, now: o.now, retainSamples: true });
  bench.add(o.label, fn);
  await bench.run();
  const result = bench.tasks[0]?.result;
  if (result?.state !== 'completed') throw new Error(`timing ${o.label} did not complete: ${result?.state}`);
  return summarise([...(result.latency.samples ?? [])]);
}

/** Median and its distribution-free interval of samples (ms), which come back ascending. */
export function summarise(samples: readonly number[]): Timing {
  const sorted = [...samples].sort((a, b) => a - b);
  const ci = medianInterval(sorted);
  return { medianMs: median(sorted), lowMs: ci.low, highMs: ci.high, samples: sorted };
}

/** Samples as a CSV cell (`time_samples_ms`): microseconds, `;`-separated. */
export const samplesCell = (samples: readonly number[]): string => samples.map((s) => s.toFixed(3)).join(';');

/**
 * The timing of a point measured in rounds: the samples of every round (their `time_samples_ms` cells, as
 * written) pooled, so the median and its interval are over all of them.
 */
export function pooledTiming(cells: readonly string[]): Timing {
  return summarise(cells.flatMap((c) => c.split(';').map(Number)));
}
