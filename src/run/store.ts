import {
  accessSync,
  appendFileSync,
  constants,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { AttnlabError } from '../errors.js';
import { msg } from '../messages.js';
import type { Row } from '../sim/types.js';
import type { Manifest } from '../types/manifest.js';

/**
 * The run directory on disk: the only module that writes files.
 * results/<name>/<run-id>/{points.jsonl, manifest.json, results.csv, charts/, figures/, report.html}
 */

/** One finished point × replicate, one line of points.jsonl. */
export interface CheckpointEntry {
  point: string;
  replicate: number;
  rows: Row[];
  /** Wall-clock milliseconds the point took (a measurement: it calibrates the cost model, never enters results.csv). */
  ms?: number;
  /** Set when the simulation threw on this point: it has no rows, and the run went on. */
  error?: string;
  /** Set on one timing round of a point measured in rounds (0-based); the point's final entry has none. */
  round?: number;
  /** Files the point attached (SimContext.attach): path under the run directory → base64 contents. */
  files?: Record<string, string>;
}

/** The run's own output folders, which attached files may not write into. */
const RESERVED = new Set(['charts', 'figures', 'vendor']);

/**
 * A point's `attach` and what it collected: paths are checked here (a folder, plain names, not the run's own
 * outputs), contents kept as base64 so that the checkpoint line stays JSON.
 */
export function attachments(kind: string): {
  attach: (path: string, data: Uint8Array) => void;
  files: Record<string, string>;
} {
  const files: Record<string, string> = {};
  const attach = (path: string, data: Uint8Array) => {
    const parts = path.split('/');
    if (
      parts.length < 2 ||
      RESERVED.has(parts[0]!) ||
      !parts.every((p) => /^[A-Za-z0-9_.-]+$/.test(p) && p !== '.' && p !== '..')
    )
      throw new Error(msg.attachPath(kind, path));
    files[path] = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64');
  };
  return { attach, files };
}

/** An entry with its attached files, where it has any. */
export const withFiles = (entry: CheckpointEntry, files: Record<string, string>): CheckpointEntry =>
  Object.keys(files).length ? { ...entry, files } : entry;

/** A point × replicate's key in the checkpoint. */
export const entryKey = (point: string, replicate: number): string => `${point}#${replicate}`;

/** Milliseconds to 0.1 ms, as the checkpoint keeps them. */
export const roundMs = (ms: number): number => Math.round(ms * 10) / 10;

/** Fail before any work when the results root cannot be created or written. */
export function checkWritable(root: string): void {
  try {
    let dir = root;
    while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
    if (!statSync(dir).isDirectory()) throw new Error(msg.notADirectory(dir));
    accessSync(dir, constants.W_OK);
  } catch (e) {
    throw new AttnlabError('OUTPUT', msg.outputUnwritable(root, (e as Error).message));
  }
}

/**
 * A new run's directory in `experimentDir`: `id`, or `id-2`, `id-3` … where that is taken (a run of the same
 * configuration started in the same second, e.g. a quick one just before: its finished work must not be written over).
 * The suffix sorts after the plain id, so the newer run still sorts last.
 */
export function freshRunDir(experimentDir: string, id: string): string {
  for (let n = 1; ; n++) {
    const dir = join(experimentDir, n === 1 ? id : `${id}-${n}`);
    if (!existsSync(dir)) return dir;
  }
}

/** Unfinished (running when killed, or interrupted) runs of this configuration and shard, newest first. */
export function findUnfinished(
  experimentDir: string,
  configHash: string,
  shard?: { index: number; count: number },
): string[] {
  if (!existsSync(experimentDir)) return [];
  return readdirSync(experimentDir)
    .filter((d) => d !== 'latest' && existsSync(join(experimentDir, d, 'manifest.json')))
    .filter((d) => {
      try {
        const m = JSON.parse(readFileSync(join(experimentDir, d, 'manifest.json'), 'utf8')) as Manifest;
        return (
          m.status !== 'complete' &&
          m.configHash === configHash &&
          m.shard?.index === shard?.index &&
          m.shard?.count === shard?.count
        );
      } catch {
        return false;
      }
    })
    .sort()
    .reverse()
    .map((d) => join(experimentDir, d));
}

/** The status in a run directory's manifest (undefined when it has none or it is unreadable). */
export function readManifestStatus(dir: string): Manifest['status'] | undefined {
  try {
    return (JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest).status;
  } catch {
    return undefined;
  }
}

/** Every run under the results root with its manifest (runs whose manifest is unreadable are left out). */
export function readRuns(root: string): { dir: string; manifest: Manifest }[] {
  if (!existsSync(root)) return [];
  const runs: { dir: string; manifest: Manifest }[] = [];
  for (const name of readdirSync(root)) {
    const expDir = join(root, name);
    if (!existsSync(expDir) || !lstatSync(expDir).isDirectory()) continue;
    for (const run of readdirSync(expDir)) {
      const file = join(expDir, run, 'manifest.json');
      if (run === 'latest' || !existsSync(file)) continue;
      try {
        runs.push({ dir: join(expDir, run), manifest: JSON.parse(readFileSync(file, 'utf8')) as Manifest });
      } catch {
        // a manifest being rewritten right now; the next index build picks it up
      }
    }
  }
  return runs;
}

/** Write a file via a temporary name, so readers never see half a file. */
function writeFileAtomic(file: string, data: string | Buffer): string {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
  return file;
}

/** Write results/index.html atomically. */
export function writeIndex(root: string, html: string): string {
  return writeFileAtomic(join(root, 'index.html'), html);
}

/** Read points.jsonl; an unfinished last line (a crash mid-write) is dropped with a warning. */
export function readCheckpoint(runDir: string, warn: (line: string) => void): CheckpointEntry[] {
  const file = join(runDir, 'points.jsonl');
  if (!existsSync(file)) return [];
  const lines = readFileSync(file, 'utf8').split('\n');
  const out: CheckpointEntry[] = [];
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    try {
      out.push(JSON.parse(line) as CheckpointEntry);
    } catch {
      warn(msg.checkpointTruncated(file, i + 1));
    }
  });
  return out;
}

export class RunStore {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  create(): void {
    mkdirSync(this.dir, { recursive: true });
  }

  /** Append one finished point; a single write of one line, so a crash leaves at most one torn line. */
  appendPoint(entry: CheckpointEntry): void {
    appendFileSync(join(this.dir, 'points.jsonl'), `${JSON.stringify(entry)}\n`);
  }

  /** Drop torn lines so later appends start on a fresh line. */
  rewriteCheckpoint(entries: readonly CheckpointEntry[]): void {
    this.writeAtomic('points.jsonl', entries.map((e) => `${JSON.stringify(e)}\n`).join(''));
  }

  writeManifest(m: Manifest): void {
    this.writeAtomic('manifest.json', `${JSON.stringify(m, null, 2)}\n`);
  }

  /** Write a file under the run directory via a temporary name, so readers never see half a file. */
  writeAtomic(rel: string, data: string | Buffer): string {
    return writeFileAtomic(join(this.dir, rel), data);
  }

  /** Write every file the points attached, in the order given (a later point's file of the same path wins). */
  writeAttachments(entries: Iterable<CheckpointEntry>): void {
    for (const e of entries)
      for (const [rel, b64] of Object.entries(e.files ?? {})) this.writeAtomic(rel, Buffer.from(b64, 'base64'));
  }

  /** Point results/<name>/latest at this run (relative link, so the tree can move). */
  markLatest(): void {
    const link = join(dirname(this.dir), 'latest');
    const tmp = `${link}.tmp-${process.pid}`;
    rmSync(tmp, { force: true });
    symlinkSync(this.dir.split('/').pop()!, tmp);
    renameSync(tmp, link);
  }
}
