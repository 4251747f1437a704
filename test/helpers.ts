import { existsSync, mkdtempSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..');

/** Run the CLI in-process; returns its exit code and what it wrote. */
export async function cli(
  args: string[],
  opts: { cwd?: string } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  // Imported here: a test file that only needs tmp() or ROOT does not load the whole command line (1.5 s of CPU).
  const { runCli } = await import('../src/cli.js');
  const code = await runCli(args, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
  });
  return { code, stdout, stderr };
}

/** The run directory that <out>/<name>/latest points at. */
export function latestRun(out: string, name: string): string {
  return join(out, name, readlinkSync(join(out, name, 'latest')));
}

export function tmp(prefix = 'attnlab-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Every file under dir, relative, sorted (for "nothing written" checks). */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p, join(rel, f));
      else out.push(join(rel, f));
    }
  };
  try {
    walk(dir, '');
  } catch {
    return [];
  }
  return out.sort();
}

/** results.csv without the measured columns (timings vary run to run). */
export function stripColumns(csv: string, drop: readonly string[]): string {
  const lines = csv.trimEnd().split('\n');
  const header = lines[0]!.split(',');
  const keep = header.map((h, i) => (drop.includes(h) ? -1 : i)).filter((i) => i >= 0);
  return lines.map((l) => keep.map((i) => l.split(',')[i]).join(',')).join('\n');
}

/**
 * Whether a system tool that some tests need is here. Missing, its tests skip with the printed reason
 * (a fresh clone passes `npm test` without it); under ATTNLAB_REQUIRE_TOOLS=1 (.ci/run) a missing tool fails.
 */
export function hasTool(name: string, commands: readonly string[], install: string): boolean {
  const missing = commands.filter((c) => !commandExists(c));
  if (!missing.length) return true;
  const reason = `${name} tests need ${missing.join(', ')} (${install})`;
  if (process.env['ATTNLAB_REQUIRE_TOOLS'] === '1') throw new Error(`ATTNLAB_REQUIRE_TOOLS=1 but ${reason}`);
  process.stderr.write(`skipping: ${reason}\n`);
  return false;
}

function commandExists(command: string): boolean {
  if (command.startsWith('/')) return existsSync(command);
  return (process.env['PATH'] ?? '').split(delimiter).some((d) => d && existsSync(join(d, command)));
}
