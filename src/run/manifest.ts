import { execFileSync } from 'node:child_process';
import { cpus, platform, release } from 'node:os';
import { version_core as tfVersion } from '@tensorflow/tfjs-core';
import { version as vegaVersion } from 'vega';
import { version as vegaLiteVersion } from 'vega-lite';
import type { Manifest } from '../types/manifest.js';

const ROOT = new URL('../..', import.meta.url);

function git(args: string[]): string | null {
  try {
    return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

/** The machine and code a run executes on. Read once per run. */
export function provenance(): Pick<Manifest, 'git' | 'versions' | 'cpu' | 'platform'> {
  const commit = git(['rev-parse', 'HEAD']);
  const status = commit === null ? null : git(['status', '--porcelain', '--untracked-files=no']);
  const cpu = cpus();
  return {
    git: commit ? { commit, dirty: Boolean(status) } : null,
    versions: {
      node: process.version,
      '@tensorflow/tfjs-core': tfVersion,
      vega: vegaVersion,
      'vega-lite': vegaLiteVersion,
    },
    cpu: { model: cpu[0]?.model ?? 'unknown', count: cpu.length },
    platform: `${platform()} ${release()}`,
  };
}
