/**
 * One process per run: a lock per configuration (and shard) in the experiment's results folder,
 * taken before the runner picks or creates a run directory, so a second identical command can
 * neither resume the first one's run nor start a twin. proper-lockfile makes the lock a directory
 * (atomic mkdir, also on NFS) whose mtime the holder refreshes; a lock not refreshed for STALE_MS
 * is stale and taken over. Who holds it (pid, host, start, run) sits in a file beside it.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { AttnlabError } from '../errors.js';
import { msg } from '../messages.js';
import { shardDirSuffix, type Shard } from './shard.js';

/** A holder that stopped refreshing its lock this long ago is gone (a killed process, a lost node). */
export const STALE_MS = 10_000;

export interface LockHolder {
  pid: number;
  host: string;
  startedAt: string;
  command: string;
  /** The run directory it works on, once chosen. */
  run?: string;
}

export interface RunLock {
  /** Who held the lock before us, when we waited for it (--wait). */
  waitedFor?: LockHolder;
  /** Record the run directory in the holder file. */
  setRun(dir: string): void;
  release(): Promise<void>;
}

/**
 * `<experiment dir>/.run-<hash8>[-shardIofN]`: the lock of one configuration is `<that>.lock`, its holder
 * `<that>.holder.json`.
 */
export function lockPath(expDir: string, configHash: string, shard?: Shard): string {
  return join(expDir, `.run-${configHash.slice(0, 8)}${shard ? `-${shardDirSuffix(shard)}` : ''}`);
}

const holderFile = (path: string) => `${path}.holder.json`;
const lockDir = (path: string) => `${path}.lock`;

export function readHolder(path: string): LockHolder | undefined {
  try {
    return JSON.parse(readFileSync(holderFile(path), 'utf8')) as LockHolder;
  } catch {
    return undefined;
  }
}

/** A holder on this host whose process is gone: no need to wait out STALE_MS. */
function deadHere(h: LockHolder | undefined): boolean {
  if (!h || h.host !== hostname() || h.pid === process.pid) return false;
  try {
    process.kill(h.pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Whether a live process holds the lock at `path` now. */
export function isLocked(path: string): boolean {
  if (!existsSync(lockDir(path))) return false;
  if (deadHere(readHolder(path))) return false;
  return lockfile.checkSync(path, { realpath: false, stale: STALE_MS });
}

/**
 * Take the lock, or fail at once with LOCKED (exit 75) naming the holder; with `wait`, wait for it.
 * A stale lock (its holder is gone) is taken over with a warning.
 */
export async function acquireRunLock(
  path: string,
  me: Omit<LockHolder, 'run'>,
  opts: { wait: boolean; warn: (s: string) => void },
): Promise<RunLock> {
  mkdirSync(join(path, '..'), { recursive: true });
  const before = readHolder(path);
  if (existsSync(lockDir(path)) && !isLocked(path)) {
    opts.warn(msg.lockStale(before, lockDir(path)));
    rmSync(lockDir(path), { recursive: true, force: true });
  }
  let waitedFor: LockHolder | undefined;
  let release: () => Promise<void>;
  const take = (retries: number | object) =>
    lockfile.lock(path, {
      realpath: false,
      stale: STALE_MS,
      update: 2000,
      retries,
      onCompromised: (e) => opts.warn(msg.lockCompromised(path, e.message)),
    });
  try {
    release = await take(0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ELOCKED') throw e;
    const holder = readHolder(path);
    if (!opts.wait) throw new AttnlabError('LOCKED', msg.runLocked(holder, lockDir(path)));
    opts.warn(msg.lockWaiting(holder));
    waitedFor = holder;
    release = await take({ forever: true, minTimeout: 100, maxTimeout: 1000, factor: 1.5 });
  }
  let holder: LockHolder = { ...me };
  const write = () => {
    const tmp = `${holderFile(path)}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(holder)}\n`);
    renameSync(tmp, holderFile(path));
  };
  write();
  return {
    ...(waitedFor ? { waitedFor } : {}),
    setRun(dir) {
      holder = { ...holder, run: dir };
      write();
    },
    async release() {
      rmSync(holderFile(path), { force: true });
      await release();
    },
  };
}
