/**
 * `npm run exp -- merge <name> <dirs...>`: shard runs (`--shard i/n`) combined into one run.
 *
 *   dirs ─ find shard manifests (a run directory, or any folder above shard runs)
 *     │ keep <name>'s shards; one configuration (file hash, seed, --quick/--set, backend) and one n
 *     │ the experiment file (and the simulation's module) must still hash the same; its effective form must give the same config hash
 *     │ every shard 1..n present and complete; every point in exactly the shard it belongs to
 *     ▼
 *   points.jsonl of the whole grid, in grid order ─ finishRun ─ report, manifest (with the shards), latest
 *
 * The result is byte-identical to a one-process run of the same command (timing columns aside).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { AttnlabError } from '../errors.js';
import { msg } from '../messages.js';
import type { LoadedExperiment } from '../spec/load.js';
import { configHash, resolveExperiment } from '../spec/resolve.js';
import { isLocked, lockPath, readHolder } from './lock.js';
import type { SetupResult } from '../sim/types.js';
import { entryKey, finishRun, type RunOutcome } from './finish.js';
import type { Manifest } from '../types/manifest.js';
import { runIdFor } from './runner.js';
import { shardPoints } from './shard.js';
import { checkWritable, freshRunDir, readCheckpoint, RunStore, type CheckpointEntry } from './store.js';

export interface MergeRequest {
  loaded: LoadedExperiment;
  /** Shard run directories, or folders holding them (searched four levels down). */
  dirs: readonly string[];
  outRoot: string;
  command: string;
}

interface ShardRun {
  dir: string;
  manifest: Manifest & { shard: { index: number; count: number } };
}

/** Shard runs under `dir` (itself a run directory, or up to four levels above some). */
function findShardRuns(dir: string, depth = 4): ShardRun[] {
  const file = join(dir, 'manifest.json');
  if (existsSync(file)) {
    try {
      const manifest = JSON.parse(readFileSync(file, 'utf8')) as Manifest;
      return manifest.shard ? [{ dir, manifest: manifest as ShardRun['manifest'] }] : [];
    } catch {
      return [];
    }
  }
  if (depth === 0 || !existsSync(dir) || !statSync(dir).isDirectory()) return [];
  return readdirSync(dir)
    .filter((d) => d !== 'latest')
    .sort()
    .flatMap((d) => findShardRuns(join(dir, d), depth - 1));
}

/** The shards to merge: one configuration, one split, every shard once (the newest complete copy of each). */
function pickShards(name: string, dirs: readonly string[], warn: (s: string) => void): ShardRun[] {
  for (const d of dirs) if (!existsSync(d)) throw new AttnlabError('MERGE', msg.mergeNoDir(d));
  const runs = dirs.flatMap((d) => findShardRuns(resolve(d))).filter((r) => r.manifest.experiment === name);
  if (!runs.length) throw new AttnlabError('MERGE', msg.mergeNoShards(name, dirs));
  const groups = new Map<string, ShardRun[]>();
  for (const r of runs) {
    const k = `${r.manifest.configHash.slice(0, 8)} split into ${r.manifest.shard.count}`;
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  if (groups.size > 1)
    throw new AttnlabError(
      'MERGE',
      msg.mergeMixed([...groups].map(([k, rs]) => `${k} (${rs.map((r) => r.dir).join(', ')})`)),
    );
  const group = [...groups.values()][0]!;
  const count = group[0]!.manifest.shard.count;
  const chosen: ShardRun[] = [];
  const missing: number[] = [];
  for (const r of group) {
    const lock = lockPath(dirname(r.dir), r.manifest.configHash, r.manifest.shard);
    if (isLocked(lock)) throw new AttnlabError('MERGE', msg.mergeLocked(r.dir, readHolder(lock)));
  }
  for (let i = 1; i <= count; i++) {
    const copies = group
      .filter((r) => r.manifest.shard.index === i)
      .sort((a, b) => b.manifest.startedAt.localeCompare(a.manifest.startedAt));
    const complete = copies.filter((r) => r.manifest.status === 'complete');
    if (complete.length) {
      if (copies.length > 1) warn(msg.mergeDuplicate(`${i}/${count}`, complete[0]!.dir, copies.length));
      chosen.push(complete[0]!);
    } else if (copies.length) {
      const m = copies[0]!.manifest;
      throw new AttnlabError(
        'MERGE',
        msg.mergeUnfinished(`${i}/${count}`, copies[0]!.dir, m.points.done, m.points.total, m.command),
      );
    } else missing.push(i);
  }
  if (missing.length) {
    const example = group[0]!.manifest.command.replace(/--shard[= ]\S+/, `--shard ${missing[0]}/${count}`);
    throw new AttnlabError('MERGE', msg.mergeMissing(missing, count, example));
  }
  return chosen;
}

export async function mergeShards(
  req: MergeRequest,
  io: { stderr: { write(s: string): unknown } },
): Promise<RunOutcome> {
  const { loaded } = req;
  const name = loaded.experiment.name;
  const shards = pickShards(name, req.dirs, (s) => io.stderr.write(`${s}\n`));
  const first = shards[0]!.manifest;
  // The same experiment file (by content) and the same effective configuration as every shard ran.
  if (first.experimentSha256 !== loaded.sha256)
    throw new AttnlabError('MERGE', msg.mergeFileChanged(loaded.file, first.experimentSha256, loaded.sha256));
  const [was, now] = [first.simulationModule?.sha256 ?? '', loaded.module?.sha256 ?? ''];
  if (was !== now)
    throw new AttnlabError(
      'MERGE',
      msg.mergeModuleChanged(loaded.module?.path ?? first.simulationModule?.path ?? loaded.file, was, now),
    );
  const resolved = resolveExperiment(loaded, {
    quick: first.quick,
    sets: first.sets,
    seed: first.seed,
    ...(first.cwd ? { cwd: first.cwd } : {}),
  });
  if (configHash(resolved, first.backend.name) !== first.configHash)
    throw new AttnlabError('MERGE', msg.mergeConfig(loaded.file));
  const outRoot = resolve(req.outRoot);
  checkWritable(outRoot);

  const { points: grid, experiment: exp } = resolved;
  const done = new Map<string, CheckpointEntry>();
  for (const s of shards) {
    const mine = new Set(shardPoints(grid, s.manifest.shard).map((p) => p.id));
    for (const e of readCheckpoint(s.dir, (w) => io.stderr.write(`${w}\n`))) {
      if (!mine.has(e.point))
        throw new AttnlabError(
          'CHECKPOINT',
          msg.mergeForeignPoint(s.dir, e.point, `${s.manifest.shard.index}/${s.manifest.shard.count}`),
        );
      if (e.round !== undefined) continue; // one timing round; the point's final entry follows it
      done.set(entryKey(e.point, e.replicate), e);
    }
  }
  const total = grid.length * exp.replicates;
  if (done.size !== total) throw new AttnlabError('CHECKPOINT', msg.mergeIncomplete(done.size, total));

  // Setup probes (machine bandwidth, correctness checks) come from shard 1, as it measured them.
  const setupFile = join(shards[0]!.dir, 'setup.json');
  const setup: SetupResult = existsSync(setupFile)
    ? (JSON.parse(readFileSync(setupFile, 'utf8')) as SetupResult)
    : { values: {}, tables: {} };

  const store = new RunStore(freshRunDir(join(outRoot, name), runIdFor(first.configHash, new Date())));
  store.create();
  store.rewriteCheckpoint(
    grid.flatMap((p) => Array.from({ length: exp.replicates }, (_, r) => done.get(entryKey(p.id, r))!)),
  );
  const base: Manifest = { ...first };
  delete base.shard; // the merged run is whole
  const manifest: Manifest = {
    ...base,
    status: 'running',
    runId: store.dir.split('/').pop()!,
    command: req.command,
    startedAt: shards.map((s) => s.manifest.startedAt).sort()[0]!,
    points: { total, done: total },
    shards: shards.map(({ dir, manifest: m }) => ({
      shard: `${m.shard.index}/${m.shard.count}`,
      dir,
      cpu: m.cpu,
      platform: m.platform,
      git: m.git,
      startedAt: m.startedAt,
      finishedAt: m.finishedAt ?? '',
    })),
  };
  return finishRun({ store, manifest, resolved, points: grid, done, setup, outRoot, resumedFrom: 0 });
}
