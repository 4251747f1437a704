/**
 * The files a run reads (a model, an ONNX method, a tokenizer): each named in the experiment file or by a --set,
 * resolved against where it was named (the experiment file's folder; the directory the command ran in, for a --set),
 * checked to exist and hashed by content. The hashes join the configuration hash, so a changed file is a new run,
 * never a resumed one, and the manifest lists the files that actually ran. A file that a --set replaces is never
 * opened, so it need not exist.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { AttnlabError } from '../errors.js';
import { msg } from '../messages.js';
import type { Simulation } from '../sim/types.js';
import { formatPath, type Locator } from './locate.js';

/** A file a run reads, as the manifest records it. */
export interface InputFile {
  /** The setting that names it (`settings.model`, `settings.methods.m.onnx`). */
  key: string;
  /** Resolved, absolute. */
  path: string;
  sha256: string;
  /** Where it was named: the experiment file, or the --set that named it. */
  namedIn: string;
}

/** Where the settings' files were named: the experiment file's folder, and each --set's directory. */
export interface FileOrigins {
  file: string;
  dir: string;
  /** The directory --set paths are relative to (where the command was typed). */
  cwd: string;
  /** The last --set of a setting, where one set it (`model=other.onnx`). */
  setOf: (setting: string) => string | undefined;
}

/** The files the settings name: each resolved (in place) where it was named, checked to exist, and hashed. */
export function resolveInputFiles(
  settings: Record<string, unknown>,
  sim: Simulation,
  origins: FileOrigins,
  locator: Locator,
): InputFile[] {
  return (sim.files?.(settings) ?? []).map((path) => {
    const parent = path
      .slice(0, -1)
      .reduce<Record<string | number, unknown>>((o, k) => o[k] as Record<string | number, unknown>, settings);
    const key = path.at(-1)!;
    const set = origins.setOf(String(path[0]));
    const full = resolve(set === undefined ? origins.dir : origins.cwd, String(parent[key]));
    const name = formatPath(['settings', ...path]);
    if (!existsSync(full) || !statSync(full).isFile())
      throw new AttnlabError(
        'BAD_MODEL',
        set === undefined ? msg.fileMissing(name, full) : msg.setFileMissing(name, full, origins.cwd),
        set === undefined ? locator.at(['settings', ...path]) : { file: `--set ${set}` },
      );
    parent[key] = full;
    const sha256 = createHash('sha256').update(readFileSync(full)).digest('hex');
    return { key: name, path: full, sha256, namedIn: set === undefined ? origins.file : `--set ${set}` };
  });
}
