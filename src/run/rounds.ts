/**
 * Timing rounds, as asv runs them. A timing simulation that declares `rounds` has every point measured once per
 * round, all points of a round before the next, so a slow spell of a shared machine (a neighbour's job, a host
 * episode) falls on one round of many points instead of on every sample of one point, and the pooled median
 * shrugs it off. Each round's rows are checkpointed as an entry with `round`, so an interrupted run resumes
 * inside a round; after a point's last round, the simulation's `combine` pools its rounds into the point's
 * final entry, the one results.csv is built from.
 */
import type { Round } from '../sim/timing.js';
import { checkedRows, type Simulation } from '../sim/types.js';
import { entryKey as key } from './finish.js';
import { roundMs, type CheckpointEntry } from './store.js';

export class TimingRounds {
  /** Rounds per point: 1 for simulations that measure each point once. */
  readonly count: number;
  private readonly byPoint = new Map<string, CheckpointEntry[]>();
  private readonly sim: Pick<Simulation, 'kind' | 'columns' | 'timing' | 'rounds' | 'combine'>;
  private readonly settings: Record<string, unknown>;

  constructor(
    sim: Pick<Simulation, 'kind' | 'columns' | 'timing' | 'rounds' | 'combine'>,
    settings: Record<string, unknown>,
  ) {
    this.sim = sim;
    this.settings = settings;
    this.count = sim.timing && sim.combine ? (sim.rounds?.(settings) ?? 1) : 1;
  }

  /** What the progress line counts. */
  get unit(): string {
    return this.count > 1 ? `point rounds (${this.count} per point)` : 'points';
  }

  /** A finished round of a point (from this run or its checkpoint). */
  add(entry: CheckpointEntry): void {
    const k = key(entry.point, entry.replicate);
    const got = this.byPoint.get(k) ?? [];
    got[entry.round ?? 0] = entry;
    this.byPoint.set(k, got);
  }

  /** The point's finished rounds, indexed by round (a sparse array). */
  of(point: string, replicate: number): readonly (CheckpointEntry | undefined)[] {
    return this.byPoint.get(key(point, replicate)) ?? [];
  }

  /** Every round entry held, for rewriting a checkpoint. */
  entries(): CheckpointEntry[] {
    return [...this.byPoint.values()].flatMap((got) => got.filter((e) => e !== undefined));
  }

  /**
   * What the progress line has counted already: every round of the finished points, and the rounds run of the others.
   */
  counted(done: ReadonlyMap<string, unknown>): number {
    const pending = this.entries().filter((e) => !done.has(key(e.point, e.replicate))).length;
    return done.size * this.count + pending;
  }

  /**
   * Rounds of a point the progress line has yet to count when it finishes (all of them, for a point that failed in its
   * first).
   */
  uncounted(point: string, replicate: number): number {
    return this.count - this.of(point, replicate).filter((e) => e !== undefined).length;
  }

  /** What `sim.run` is told about the round (nothing when points are measured once). */
  point(round: number): { round?: Round } {
    return this.count > 1 ? { round: { index: round, count: this.count } } : {};
  }

  /** The point's final entry once every round has run: the rounds combined, their times summed. */
  final(point: string, replicate: number): CheckpointEntry | undefined {
    const got = this.of(point, replicate);
    if (this.count === 1 || got.length < this.count || got.includes(undefined)) return undefined;
    const rounds = got as CheckpointEntry[];
    const ms = roundMs(rounds.reduce((a, e) => a + (e.ms ?? 0), 0));
    return {
      point,
      replicate,
      rows: checkedRows(
        this.sim,
        this.sim.combine!(
          rounds.map((e) => e.rows),
          this.settings,
        ),
      ),
      ms,
    };
  }
}
