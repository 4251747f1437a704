/**
 * Is this machine steady enough to time on? pyperf warns "the benchmark seems unstable"; attnlab says it beside every
 * timing verdict. Two signs, each measured, not guessed: other processes using the CPU when a timing run starts
 * (from /proc/stat, over a quarter of a second in which this process sleeps), and timing rounds that disagree (each
 * round is a session of its own: the spread of a point's round medians is the noise between sessions, pooled).
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { msg } from '../messages.js';
import { poolNoise, sessionNoise } from '../stats/compare.js';
import { median } from '../stats/quantile.js';
import type { Stability } from '../types/manifest.js';

/** Other processes' CPU use above which a timing run starts on a busy machine: a quarter of its cores. */
export const BUSY_SHARE = 0.25;
/**
 * Round-to-round spread of the typical point (σ of log time between sessions) above which a run's timings are
 * unstable. pyperf warns at 10%; 20% sits above every quiet run's spread on the 2-core reference VM
 * (docs/benchmarks.md, "Figures behind constants"). A run beside busy processes is told by the busy-machine probe.
 */
export const UNSTABLE_SPREAD = 0.2;

/** Busy and total jiffies of all CPUs, from the first line of /proc/stat; null off Linux. */
function cpuTimes(): { busy: number; total: number } | null {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
    // idle and iowait are not busy
    return { busy: total - fields[3]! - (fields[4] ?? 0), total };
  } catch {
    return null;
  }
}

/** Cores' worth of CPU in use while this process sleeps for `ms`: what other processes take from a timing run. */
export async function busyCores(ms = 250): Promise<number | null> {
  const a = cpuTimes();
  await sleep(ms);
  const b = cpuTimes();
  if (!a || !b || b.total === a.total) return null;
  return ((b.busy - a.busy) / (b.total - a.total)) * availableParallelism();
}

/** A checkpointed round of a point (store.ts's CheckpointEntry has these fields): its rows. */
interface RoundEntry {
  rows: readonly Readonly<Record<string, unknown>>[];
}

/** The σ between sessions that a run's timing rounds show: every timed row's samples, grouped by round. */
export function roundSpread(
  rounds: ReadonlyMap<string, readonly (RoundEntry | undefined)[]>,
): Stability['roundSpread'] {
  const points: number[][][] = [];
  for (const entries of rounds.values()) {
    const got = entries.filter((e): e is RoundEntry => e !== undefined);
    if (got.length < 2) continue;
    const rowCount = Math.min(...got.map((e) => e.rows.length));
    for (let i = 0; i < rowCount; i++) {
      const groups = got
        .map((e) => e.rows[i]?.['time_samples_ms'])
        .filter((s): s is number[] => Array.isArray(s) && s.length > 0);
      if (groups.length === got.length) points.push(groups);
    }
  }
  // The typical point, not the pooled variance: a few very noisy points (the shortest calls) weigh on a pooled
  // variance as much as all the others together.
  const each = points.map((p) => sessionNoise([p])!);
  return each.length ? { sigma: median(each.map((n) => Math.sqrt(n.variance))), df: poolNoise(each)!.df } : null;
}

/** The warnings a run's measurements call for. */
export function stability(
  busy: number | null,
  spread: Stability['roundSpread'],
  cores = availableParallelism(),
): Stability {
  const warnings: string[] = [];
  if (busy !== null && busy > BUSY_SHARE * cores) warnings.push(msg.machineBusy(busy, cores));
  if (spread && spread.sigma > UNSTABLE_SPREAD) warnings.push(msg.roundsDisagree(spread.sigma, UNSTABLE_SPREAD));
  return { busyCores: busy, cores, roundSpread: spread, warnings };
}
