/**
 * How long a run will take, from the simulation's cost model (`estimateMs`, fitted on the reference
 * machine), before any work: printed first, and the gate that asks for --yes when a grid is unreasonably long.
 */
import { AttnlabError } from '../errors.js';
import { msg } from '../messages.js';
import { canonicalJson, type Point } from '../spec/grid.js';
import type { ResolvedExperiment } from '../spec/resolve.js';
import type { Backend } from '../engine/backend.js';
import { pointThreads, type Jobs } from './jobs.js';

/** Longer than this asks for --yes. */
export const LONG_RUN_MS = 60 * 60 * 1000;

export interface Estimate {
  /** Predicted wall-clock ms of the whole run. */
  ms: number;
  points: number;
  /** The grid value that takes the largest share of the time, e.g. { key: 'N', value: 32768, share: 0.6 }. */
  heaviest?: { key: string; value: unknown; share: number };
  /** The slowest single point and its predicted ms. */
  slowest?: { params: string; ms: number };
}

/** The cost of `points` (× replicates), spread over the threads the runner gives them (pointThreads). */
export function estimateRun(
  resolved: ResolvedExperiment,
  points: readonly Point[],
  jobs: Jobs,
  engine: Backend,
): Estimate | undefined {
  const { sim, settings, experiment: exp } = resolved;
  const cost = sim.estimateMs;
  if (!cost) return undefined;
  const costs = points.map((p) => ({ p, ms: cost(p.params, settings, engine) * exp.replicates }));
  const sum = costs.reduce((a, c) => a + c.ms, 0);
  const ms = sum / Math.max(1, Math.min(pointThreads(resolved, jobs, sum), points.length));
  const shares = new Map<string, { key: string; value: unknown; ms: number }>();
  for (const { p, ms: m } of costs) {
    for (const [key, value] of Object.entries(p.params)) {
      const k = `${key}=${canonicalJson(value)}`;
      shares.set(k, { key, value, ms: (shares.get(k)?.ms ?? 0) + m });
    }
  }
  // Only axes that vary say something about where the time goes.
  const varying = new Set(
    Object.keys(points[0]?.params ?? {}).filter((k) => new Set(points.map((p) => canonicalJson(p.params[k]))).size > 1),
  );
  const top = [...shares.values()].filter((s) => varying.has(s.key)).sort((a, b) => b.ms - a.ms)[0];
  const slow = [...costs].sort((a, b) => b.ms - a.ms)[0];
  return {
    ms,
    points: points.length,
    ...(top && sum > 0 ? { heaviest: { key: top.key, value: top.value, share: top.ms / sum } } : {}),
    ...(slow && slow.ms > 0 ? { slowest: { params: canonicalJson(slow.p.params), ms: slow.ms } } : {}),
  };
}

/** Several experiments run one after another (`all`): their times add up; one keeps its details. */
export function totalEstimate(list: readonly (Estimate | undefined)[]): Estimate | undefined {
  const known = list.filter((e): e is Estimate => e !== undefined);
  if (known.length <= 1) return known[0];
  return { ms: known.reduce((a, e) => a + e.ms, 0), points: known.reduce((a, e) => a + e.points, 0) };
}

/** Refuse (exit 2, nothing written) a run predicted to take longer than LONG_RUN_MS, unless --yes. */
export function checkDuration(name: string, estimate: Estimate | undefined, yes: boolean, limitMs = LONG_RUN_MS): void {
  if (!estimate || yes || estimate.ms <= limitMs) return;
  throw new AttnlabError('TOO_LONG', msg.tooLong(name, estimate, limitMs));
}
