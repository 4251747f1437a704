import { Bench } from 'tinybench';
import { median, medianInterval } from '../stats/quantile.js';

/** How long and how often a timing point is measured. */
export interface TimingOptions {
  /** Minimum time spent taking samples (ms). */
  timeMs: number;
  /** Minimum number of samples. */
  minSamples: number;
  /** Warm-up time before sampling (ms); at least 2 warm-up calls are made in any case. */
  warmupMs: number;
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
  const bench = new Bench({ time: o.timeMs, iterations: o.minSamples, warmup: true, warmupTime: o.warmupMs, warmupIterations: 2, now: o.now, retainSamples: true });
  bench.add(o.label, fn);
  await bench.run();
  const result = bench.tasks[0]?.result;
  if (result?.state !== 'completed') throw new Error(`timing ${o.label} did not complete: ${result?.state}`);
  const samples = [...(result.latency.samples ?? [])];
  const ci = medianInterval(samples);
  return { medianMs: median(samples), lowMs: ci.low, highMs: ci.high, samples };
}
