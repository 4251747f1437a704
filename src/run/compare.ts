/**
 * `npm run exp -- compare <A> <B>`: two stored runs of one experiment, point by point (paired by point id and
 * replicate), as asv's `compare` and criterion's baselines do it.
 *
 *   A, B ─ a run directory, or <name>@<run-id> / <name>@latest under the results root
 *     │ both manifests and checkpoints (the final entry of every point)
 *     ▼
 *   timing rows (raw samples): ratio of medians B/A, seeded bootstrap interval widened by the noise between
 *     sessions (each run's rounds pooled over its points, moderated by the point's own) → verdict where the whole
 *     interval is beyond the threshold
 *   estimates (X with X_ci_low, X_ci_high): B − A with its interval and z, `differs` beyond |z| > 3
 *     ▼
 *   markdown on stdout, compare-<A run id>.html in B's run directory (src/run/compare-page.ts)
 */
import { existsSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import seedrandom from 'seedrandom';
import { AttnlabError } from '../errors.js';
import { msg } from '../messages.js';
import type { Cell, Row } from '../sim/types.js';
import { loadExperiment } from '../spec/load.js';
import { resolveExperiment } from '../spec/resolve.js';
import {
  bootstrapRatio,
  estimateDifference,
  mannWhitneyU,
  minimumP,
  pointNoise,
  poolNoise,
  sessionHalfWidth,
  sessionNoise,
  timingVerdict,
  type Groups,
  type SessionNoise,
  type TimingVerdict,
} from '../stats/compare.js';
import { median } from '../stats/quantile.js';
import { canonicalJson } from '../spec/grid.js';
import type { Manifest } from '../types/manifest.js';
import { entryKey, readCheckpoint, type CheckpointEntry } from './store.js';

export interface StoredRun {
  dir: string;
  manifest: Manifest;
  /** Final entries (no timing rounds) by point#replicate, in checkpoint order. */
  entries: Map<string, CheckpointEntry>;
  /** Each point's timing rounds (entries with `round`), where the checkpoint kept them (a merged run does not). */
  rounds: Map<string, CheckpointEntry[]>;
}

export type Verdict = TimingVerdict | 'new' | 'missing' | 'failed';

export interface TimingComparison {
  label: string;
  verdict: Verdict;
  /** Medians (ms); null where that run has no timing of the point. */
  a: number | null;
  b: number | null;
  ratio: number | null;
  low: number | null;
  high: number | null;
  /**
   * U test p-value of the rounds' medians, shown beside the verdict; null when the counts are too small for it or
   * nothing was compared.
   */
  p: number | null;
}

export interface EstimateComparison {
  label: string;
  column: string;
  a: number;
  b: number;
  diff: number;
  low: number;
  high: number;
  z: number;
  differs: boolean;
}

export interface Comparison {
  a: StoredRun;
  b: StoredRun;
  threshold: number;
  timing: TimingComparison[];
  estimates: EstimateComparison[];
  counts: Record<Verdict, number>;
  /** Geometric mean of the B/A ratios of the points timed in both. */
  geomean: number | null;
  /** The runs were made from experiment files with other contents. */
  filesDiffer: boolean;
  /** The noise between sessions each run's rounds show (null: that run has no rounds). */
  noise: { a: SessionNoise | null; b: SessionNoise | null };
}

/** `dir`, or `name@run-id` / `name@latest` under `outRoot` → the run directory. */
export function resolveRun(ref: string, outRoot: string): string {
  if (existsSync(join(ref, 'manifest.json'))) return resolve(ref);
  const m = /^([^@/]+)@(.+)$/.exec(ref);
  if (!m) throw new AttnlabError('COMPARE', msg.compareRef(ref));
  const [name, id] = [m[1]!, m[2]!];
  const base = join(outRoot, name);
  const runs = existsSync(base)
    ? readdirSync(base)
        .filter((d) => d !== 'latest' && existsSync(join(base, d, 'manifest.json')))
        .sort()
    : [];
  if (id === 'latest') {
    if (!existsSync(join(base, 'latest'))) throw new AttnlabError('COMPARE', msg.noRuns(name, outRoot));
    return resolve(base, readlinkSync(join(base, 'latest')));
  }
  if (!runs.includes(id)) throw new AttnlabError('COMPARE', msg.unknownRun(name, id, runs));
  return resolve(base, id);
}

export function readRun(dir: string): StoredRun {
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  if (manifest.shard)
    throw new AttnlabError('COMPARE', msg.compareShard(dir, `${manifest.shard.index}/${manifest.shard.count}`));
  const entries = new Map<string, CheckpointEntry>();
  const rounds = new Map<string, CheckpointEntry[]>();
  for (const e of readCheckpoint(dir, () => {})) {
    const key = entryKey(e.point, e.replicate);
    if (e.round === undefined) entries.set(key, e);
    else (rounds.get(key) ?? rounds.set(key, []).get(key)!)[e.round] = e;
  }
  return { dir, manifest, entries, rounds };
}

/** Raw samples of a row: numbers, or (runs made before samples stayed numbers) a `;`-separated cell. */
function samplesOf(row: Row | undefined): number[] | null {
  const s = row?.['time_samples_ms'];
  if (Array.isArray(s)) return [...s];
  if (typeof s === 'string' && s.length) return s.split(';').map(Number);
  return null;
}

/**
 * Row i's samples by round where every round of the point was kept, else as one group (the final row's pooled samples).
 */
function groupsOf(run: StoredRun, key: string, i: number, pooled: number[]): number[][] {
  const rounds = run.rounds.get(key) ?? [];
  const groups = rounds.map((e) => samplesOf(e?.rows[i]));
  return groups.length > 1 &&
    groups.every((g): g is number[] => g !== null && g.length > 0) &&
    groups.flat().length === pooled.length
    ? groups
    : [pooled];
}

const num = (c: Cell | undefined): number | null => (typeof c === 'number' && Number.isFinite(c) ? c : null);

/**
 * A point's label: the grid parameters that vary (as the run's experiment file and overrides give them), else its id.
 */
async function labeller(run: StoredRun): Promise<(pointId: string) => string> {
  const labels = new Map<string, string>();
  try {
    const m = run.manifest;
    const { points } = resolveExperiment(await loadExperiment(m.experimentFile), {
      quick: m.quick,
      sets: m.sets,
      seed: m.seed,
      ...(m.cwd ? { cwd: m.cwd } : {}),
    });
    const keys = Object.keys(points[0]?.params ?? {});
    const varying = keys.filter((k) => new Set(points.map((p) => canonicalJson(p.params[k]))).size > 1);
    for (const p of points) {
      const shown = (varying.length ? varying : keys).filter((k) => p.params[k] !== undefined);
      labels.set(
        p.id,
        shown
          .map((k) => `${k}=${typeof p.params[k] === 'object' ? canonicalJson(p.params[k]) : String(p.params[k])}`)
          .join(' '),
      );
    }
  } catch {
    // the experiment file moved or no longer loads: points are named by id
  }
  return (id) => labels.get(id) ?? id;
}

export async function compareRuns(a: StoredRun, b: StoredRun, threshold: number): Promise<Comparison> {
  if (a.manifest.experiment !== b.manifest.experiment)
    throw new AttnlabError('COMPARE', msg.compareExperiments(a.manifest.experiment, b.manifest.experiment));
  const label = await labeller(b);
  const timing: TimingComparison[] = [];
  const estimates: EstimateComparison[] = [];
  const keys = [...b.entries.keys(), ...[...a.entries.keys()].filter((k) => !b.entries.has(k))];
  const pairs: TimedPair[] = [];
  for (const key of keys) {
    const [ea, eb] = [a.entries.get(key), b.entries.get(key)];
    const rowCount = Math.max(ea?.rows.length ?? 0, eb?.rows.length ?? 0, 1);
    for (let i = 0; i < rowCount; i++) {
      const [ra, rb] = [ea?.rows[i], eb?.rows[i]];
      const entry = (eb ?? ea)!;
      const name = `${label(entry.point)}${entry.replicate ? ` (replicate ${entry.replicate})` : ''}${rowCount > 1 ? ` #${i}` : ''}`;
      const [sa, sb] = [samplesOf(ra), samplesOf(rb)];
      const blank = {
        label: name,
        a: sa && median(sa),
        b: sb && median(sb),
        ratio: null,
        low: null,
        high: null,
        p: null,
      };
      if (!ea || !eb) {
        if (sa || sb || ea?.error || eb?.error) timing.push({ ...blank, verdict: ea ? 'missing' : 'new' });
      } else if (ea.error !== undefined || eb.error !== undefined || (sa === null) !== (sb === null)) {
        timing.push({ ...blank, verdict: 'failed' });
      } else if (sa && sb && sa.length && sb.length) {
        // The verdict waits for the noise estimates, which pool the rounds of every point of each run.
        const row: TimingComparison = { ...blank, verdict: 'same' };
        timing.push(row);
        pairs.push({ row, ga: groupsOf(a, key, i, sa), gb: groupsOf(b, key, i, sb), key, i });
      }
      if (!ra || !rb) continue;
      for (const column of Object.keys(rb)) {
        const [va, vb] = [num(ra[column]), num(rb[column])];
        const [la, ha, lb, hb] = [`${column}_ci_low`, `${column}_ci_high`].flatMap((c) => [num(ra[c]), num(rb[c])]) as (
          number | null
        )[];
        if (va === null || vb === null || la == null || ha == null || lb == null || hb == null) continue;
        const d = estimateDifference({ value: va, low: la, high: ha }, { value: vb, low: lb, high: hb });
        estimates.push({ label: name, column, a: va, b: vb, ...d, differs: Math.abs(d.z) > 3 });
      }
    }
  }
  const noise = decideTimings(pairs, threshold);
  const counts = Object.fromEntries(
    (['faster', 'slower', 'same', 'inconclusive', 'new', 'missing', 'failed'] as const).map((v) => [
      v,
      timing.filter((t) => t.verdict === v).length,
    ]),
  ) as Record<Verdict, number>;
  const ratios = timing.flatMap((t) => (t.ratio !== null && t.ratio > 0 ? [t.ratio] : []));
  const geomean = ratios.length ? Math.exp(ratios.reduce((s, r) => s + Math.log(r), 0) / ratios.length) : null;
  return {
    a,
    b,
    threshold,
    timing,
    estimates,
    counts,
    geomean,
    filesDiffer: a.manifest.experimentSha256 !== b.manifest.experimentSha256,
    noise,
  };
}

/** A point timed in both runs, waiting for its verdict: its row, and each run's samples grouped by round. */
interface TimedPair {
  row: TimingComparison;
  ga: Groups;
  gb: Groups;
  key: string;
  i: number;
}

/**
 * The verdict of every pair timed in both runs, from its bootstrap interval widened by the noise between sessions:
 * each point's own noise once, then pooled per run (the pool moderates every point's). Returns the pools.
 */
function decideTimings(pairs: readonly TimedPair[], threshold: number): Comparison['noise'] {
  const own = pairs.map((p) => ({ a: sessionNoise([p.ga]), b: sessionNoise([p.gb]) }));
  const noise = { a: poolNoise(own.map((o) => o.a)), b: poolNoise(own.map((o) => o.b)) };
  for (const [at, { row, ga, gb, key, i }] of pairs.entries()) {
    const boot = bootstrapRatio(ga, gb, seedrandom(`compare:${key}:${i}`));
    const v = timingVerdict(
      boot.ratio,
      [boot.low, boot.high],
      sessionHalfWidth(pointNoise(own[at]!.a, noise.a), pointNoise(own[at]!.b, noise.b), [ga.length, gb.length]),
      threshold,
    );
    // The rank test of the rounds' medians, shown where the counts let it reach p < 0.002 (asv's guard); the interval
    // decides.
    const [ua, ub] = [ga.map((g) => median(g)), gb.map((g) => median(g))];
    const p = ga.length > 1 && gb.length > 1 && minimumP(ua.length, ub.length) < 0.002 ? mannWhitneyU(ua, ub).p : null;
    Object.assign(row, { verdict: v.verdict, ratio: boot.ratio, low: v.low, high: v.high, p });
  }
  return noise;
}
