/**
 * The end of a run, shared by a single run and a merge of shards: rows in grid order → analysis →
 * claims → every output file → manifest → `latest` link → results/index.html.
 */
import { existsSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { buildOutputs } from '../report/build.js';
import { toCsv } from '../report/csv.js';
import { renderIndex } from '../report/index-page.js';
import type { Point } from '../spec/grid.js';
import type { ResolvedExperiment } from '../spec/resolve.js';
import type { Row, SetupResult } from '../sim/types.js';
import { evaluateClaims, isTimingClaim, NO_ROWS, type ClaimResult } from '../spec/claims.js';
import { msg } from '../messages.js';
import type { Manifest } from '../types/manifest.js';
import { compareHtml } from './compare-page.js';
import { compareRuns, readRun, type StoredRun } from './compare.js';
import { stability, roundSpread } from './stability.js';
import { entryKey, readRuns, writeIndex, type CheckpointEntry, type RunStore } from './store.js';

export { entryKey } from './store.js';

export interface RunOutcome {
  dir: string;
  reportPath: string;
  claims: ClaimResult[];
  resumedFrom: number;
  rows: Row[];
  /** The simulation's own summary lines (fits, crossovers). */
  summary: string[];
  /** Points whose simulation threw. */
  errors: number;
  /** Stopped before every point was done; the outputs show what was. */
  interrupted: boolean;
  /** Warnings about the machine's steadiness (timing runs), printed with the summary and shown in the report. */
  warnings: string[];
  /** Set for a shard run: it writes its rows and checkpoint, and `merge` makes the report. */
  shard?: { index: number; count: number; points: number; gridPoints: number };
}

export interface FinishInput {
  store: RunStore;
  /** The manifest as written when the run started; the finished one extends it. */
  manifest: Manifest;
  resolved: ResolvedExperiment;
  /** The points this run covers (a shard's, or the whole grid), in grid order. */
  points: readonly Point[];
  done: ReadonlyMap<string, CheckpointEntry>;
  setup: SetupResult;
  outRoot: string;
  resumedFrom: number;
  /** Timing runs: cores' worth of CPU other processes used at the start (null: not measured). */
  busyAtStart?: number | null;
}

/**
 * Rows in grid order, replicates in order: the CSV does not depend on execution order. Points not done (an interrupted
 * run) have none.
 */
export function collectRows(
  points: readonly Point[],
  replicates: number,
  done: ReadonlyMap<string, CheckpointEntry>,
): Row[] {
  const rows: Row[] = [];
  for (const p of points) for (let r = 0; r < replicates; r++) rows.push(...(done.get(entryKey(p.id, r))?.rows ?? []));
  return rows;
}

function errorsOf(
  points: readonly Point[],
  done: ReadonlyMap<string, CheckpointEntry>,
): NonNullable<Manifest['errors']> {
  const byId = new Map(points.map((p) => [p.id, p]));
  return [...done.values()]
    .filter((e) => e.error !== undefined)
    .map((e) => ({
      point: e.point,
      replicate: e.replicate,
      params: byId.get(e.point)?.params ?? {},
      message: e.error!,
    }));
}

/** What every run's end starts from: its rows in grid order, its failed points, and the manifest marked finished. */
function closeRun(f: FinishInput): { rows: Row[]; errors: number; interrupted: boolean; manifest: Manifest } {
  const rows = collectRows(f.points, f.resolved.experiment.replicates, f.done);
  const errors = errorsOf(f.points, f.done);
  const total = f.points.length * f.resolved.experiment.replicates;
  const interrupted = f.done.size < total;
  const manifest: Manifest = {
    ...f.manifest,
    ...(f.resolved.sim.setup ? { setup: f.setup.values } : {}),
    ...(errors.length ? { errors } : {}),
    status: interrupted ? 'interrupted' : 'complete',
    finishedAt: new Date().toISOString(),
    points: { total, done: f.done.size },
  };
  return { rows, errors: errors.length, interrupted, manifest };
}

/**
 * The claims' verdicts, and the claims --quick or a --set left without rows. The quick grid, or a --set that narrows
 * the grid (one variant, say), leaves claims about the rest with nothing to decide on (mha-vs-mqa's about n ≥ 8192):
 * not evaluated, not errors. On the file's own full grid, a claim that matches nothing is a mistake in the file and
 * stays an error.
 */
function decideClaims(
  f: FinishInput,
  tables: Record<string, readonly Row[]>,
  spread: number | null,
): { claims: ClaimResult[]; skipped: string[] } {
  const { experiment: exp, sim } = f.resolved;
  const evaluated = evaluateClaims(
    exp.claims,
    tables,
    // Rows are located by the grid parameters they carry (and a seed or replicate column, where one exists).
    [...Object.keys(sim.params.shape), 'seed', 'replicate'],
    // An inconclusive timing claim is cured by a quieter machine or more rounds; any other by more samples.
    (c) => (isTimingClaim(c, sim) ? msg.cureTiming(spread) : msg.cureSampling()),
  );
  const narrowed = narrowing(f).length > 0;
  const unevaluated = (c: ClaimResult) => narrowed && c.status === 'error' && c.reason === NO_ROWS;
  return { claims: evaluated.filter((c) => !unevaluated(c)), skipped: evaluated.filter(unevaluated).map((c) => c.id) };
}

/** What narrowed the grid: --quick, and the --sets that change the grid (`variant=[gqa]`, `grid[1].N=[…]`). */
function narrowing(f: FinishInput): string[] {
  const params = f.resolved.sim.params.shape;
  const sets = f.resolved.overrides.sets.filter((s) => s.split('=')[0]!.replace(/^grid\[\d+\]\./, '') in params);
  return [...(f.resolved.overrides.quick ? ['--quick'] : []), ...sets.map((s) => `--set ${s}`)];
}

/** Analysis, claims, report and manifest for a whole grid; marks the run `latest` when every point is done. */
export async function finishRun(f: FinishInput): Promise<RunOutcome> {
  const { store } = f;
  const { experiment: exp, sim, settings } = f.resolved;
  const { rows, errors, interrupted, manifest } = closeRun(f);
  const derived = sim.analyse?.(rows, settings, f.setup) ?? { tables: {}, summary: [] };
  const analysis = { ...derived, tables: { ...f.setup.tables, ...derived.tables } };
  const tables = Object.fromEntries(Object.entries(analysis.tables).map(([k, t]) => [k, t.rows]));
  // This run's checkpoint, read at most once: its rounds say how steady the machine was, and it is compared below.
  let own: StoredRun | undefined;
  const ownRun = () => (own ??= readRun(store.dir));
  // Timing runs say when the machine was not steady: at the start, or between the rounds of the checkpoint.
  const steady =
    sim.timing && f.busyAtStart !== undefined ? stability(f.busyAtStart, roundSpread(ownRun().rounds)) : undefined;
  const { claims, skipped } = decideClaims(f, { results: rows, ...tables }, steady?.roundSpread?.sigma ?? null);
  const finished: Manifest = {
    ...manifest,
    ...(steady ? { stability: steady } : {}),
    claims: {
      passed: claims.filter((c) => c.status === 'pass').length,
      failed: claims.filter((c) => c.status === 'fail').length,
      errored: claims.filter((c) => c.status === 'error').length,
      inconclusive: claims.filter((c) => c.status === 'inconclusive').length,
      ...(skipped.length ? { notEvaluated: skipped } : {}),
    },
  };
  const files = await buildOutputs({
    experiment: exp,
    sim,
    rows,
    analysis,
    claims,
    manifest: finished,
    axes: gridAxes(f.resolved.blocks),
  });
  for (const [rel, data] of files) store.writeAtomic(rel, data);
  // Files the points attached (trained models), in grid order.
  store.writeAttachments(
    f.points.flatMap((p) =>
      Array.from({ length: exp.replicates }, (_, r) => f.done.get(entryKey(p.id, r))).filter((e) => e !== undefined),
    ),
  );
  store.writeManifest(finished);
  // Every run's manifest, this one's finished: read once, for the comparison and the index.
  const runs = readRuns(resolve(f.outRoot));
  if (!interrupted) {
    store.markLatest();
    // The comparison with the run before it (the index links it): what changed beyond noise.
    const previous = previousRun(runs, finished);
    if (previous)
      store.writeAtomic(
        comparePage(previous.manifest),
        await compareHtml(
          await compareRuns(readRun(previous.dir), { ...ownRun(), manifest: finished }, COMPARE_THRESHOLD),
        ),
      );
  }
  rebuildIndex(f.outRoot, runs);
  const reportPath = join(store.dir, 'report.html');
  return {
    dir: store.dir,
    reportPath,
    claims,
    resumedFrom: f.resumedFrom,
    rows,
    summary: skipped.length ? [...analysis.summary, msg.claimsNotEvaluated(skipped, narrowing(f))] : analysis.summary,
    errors,
    interrupted,
    warnings: steady?.warnings ?? [],
  };
}

/**
 * A shard's end: its rows (results.csv of its points only), the setup it measured (setup.json, which
 * the merge reuses) and its manifest. No analysis or report: those need the whole grid.
 */
export function finishShard(f: FinishInput): RunOutcome {
  const { store } = f;
  const { rows, errors, interrupted, manifest } = closeRun(f);
  store.writeAtomic('results.csv', toCsv(f.resolved.sim.columns, rows));
  store.writeAtomic('setup.json', `${JSON.stringify(f.setup)}\n`);
  store.writeManifest(manifest);
  rebuildIndex(f.outRoot);
  const shard = f.manifest.shard!;
  const reportPath = join(store.dir, 'results.csv');
  return {
    dir: store.dir,
    reportPath,
    claims: [],
    resumedFrom: f.resumedFrom,
    rows,
    summary: [],
    errors,
    interrupted,
    warnings: [],
    shard: { ...shard, points: f.points.length, gridPoints: f.resolved.points.length },
  };
}

/** `compare`'s default noise threshold (asv's factor), also used for the comparison with the previous run. */
export const COMPARE_THRESHOLD = 1.1;

/** The page comparing a run with run A, in the run's directory. */
export const comparePage = (a: Pick<Manifest, 'runId'>): string => `compare-${a.runId}.html`;

/** The run `m` follows: the newest complete whole run of the same experiment that started before it. */
function previousRun<T extends { manifest: Manifest }>(runs: readonly T[], m: Manifest): T | undefined {
  return runs
    .filter(
      (r) =>
        r.manifest.experiment === m.experiment &&
        !r.manifest.shard &&
        r.manifest.status === 'complete' &&
        r.manifest.runId !== m.runId &&
        r.manifest.startedAt < m.startedAt,
    )
    .sort((x, y) => x.manifest.startedAt.localeCompare(y.manifest.startedAt))
    .at(-1);
}

/**
 * results/index.html from every run's manifest, each linked to its comparison with the run before it; returns its path.
 */
export function rebuildIndex(outRoot: string, runs = readRuns(resolve(outRoot))): string {
  const root = resolve(outRoot);
  const entries = runs.map(({ dir, manifest }) => {
    const previous = previousRun(runs, manifest);
    const page = previous && join(dir, comparePage(previous.manifest));
    return {
      manifest,
      reportHref: relative(root, join(dir, 'report.html')),
      ...(page && existsSync(page) ? { compareHref: relative(root, page), previousId: previous.manifest.runId } : {}),
    };
  });
  return writeIndex(root, renderIndex(entries));
}

/** Each grid axis with the values it takes, labelled by block when the grid has several. */
function gridAxes(blocks: ResolvedExperiment['blocks']): Record<string, readonly unknown[]> {
  return Object.fromEntries(
    blocks.flatMap((b, i) => Object.entries(b).map(([k, v]) => [blocks.length > 1 ? `block ${i + 1}: ${k}` : k, v])),
  );
}
