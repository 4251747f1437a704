/**
 * The command line: `npm run exp -- <name|path.yaml|all> [options]`.
 * Only runMain touches process.argv and process.exit; runCli takes raw args and returns an exit code.
 * Exit codes: 0 done, 1 a claim failed under --check (or was inconclusive, with --strict), 2 bad input (nothing
 * written), 75 another process runs it.
 */
import { pathToFileURL } from 'node:url';
import { COMMANDS, helpText, parseCommand, withExitCode } from './commands.js';
import { AttnlabError } from './errors.js';
import { msg } from './messages.js';
import { join, resolve } from 'node:path';
import { compareRuns, readRun, resolveRun } from './run/compare.js';
import { COMPARE_THRESHOLD, comparePage } from './run/finish.js';
import { RunStore } from './run/store.js';
import { compareHtml, compareMarkdown } from './run/compare-page.js';
import { mergeShards } from './run/merge.js';
import type { Jobs } from './run/jobs.js';
import { runExperiment, type RunOutcome } from './run/runner.js';
import { checkDuration, estimateRun, totalEstimate } from './run/estimate.js';
import { shardPoints, type Shard } from './run/shard.js';
import { listExperimentNames, loadExperiment, resolveExperimentFile } from './spec/load.js';
import type { Overrides } from './spec/overrides.js';
import { resolveExperiment, type ResolvedExperiment } from './spec/resolve.js';
import {
  BACKENDS,
  isBackend,
  selectBackend,
  TFJS_BACKENDS,
  type Backend,
  type SelectedBackend,
} from './engine/backend.js';

export interface CliIo {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown; isTTY?: boolean };
  now?: () => number;
  /** Aborted on Ctrl-C: the run stops between points and writes what it has. */
  stop?: AbortSignal;
  /** Where the user typed the command: paths in --set are relative to it. @default process.cwd() */
  cwd?: string;
}

export { EXIT_LOCKED } from './commands.js';

export const HELP = helpText(['exp', 'merge', 'compare']);

const parse = (rawArgs: readonly string[]) => parseCommand('exp', rawArgs);

function parseSeed(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(Number(raw))) {
    throw new AttnlabError('BAD_OPTION', msg.badOptionValue('seed', raw, 'a non-negative integer'));
  }
  return Number(raw);
}

function parseJobs(raw: string | undefined): Jobs {
  if (raw === undefined) return 'auto';
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > 256)
    throw new AttnlabError('BAD_OPTION', msg.badOptionValue('jobs', raw, 'an integer from 1 to 256'));
  return Number(raw);
}

function parseShard(raw: string | undefined): Shard | undefined {
  if (raw === undefined) return undefined;
  const m = /^(\d+)\/(\d+)$/.exec(raw);
  const [index, count] = m ? [Number(m[1]), Number(m[2])] : [0, 0];
  if (!m || count < 1 || count > 10000 || index < 1 || index > count) {
    throw new AttnlabError('BAD_OPTION', msg.badOptionValue('shard', raw, 'I/N with 1 ≤ I ≤ N ≤ 10000, e.g. 1/4'));
  }
  return { index, count };
}

function parseBackend(raw: string | undefined): Backend | undefined {
  if (raw === undefined) return undefined;
  if (!isBackend(raw)) throw new AttnlabError('BAD_OPTION', msg.unknownBackend(raw, BACKENDS));
  return raw;
}

/**
 * What --check turns into exit 1: a claim that failed or could not be evaluated, or a point that failed; with
 * --strict, an inconclusive claim too (pyperf's and criterion's habit: noise is not a regression unless asked).
 */
const outcomeFailed = (out: RunOutcome, strict: boolean): boolean =>
  out.claims.some((c) => c.status === 'fail' || c.status === 'error' || (strict && c.status === 'inconclusive')) ||
  out.errors > 0;

/** The command line as the manifest records it. */
const commandLine = (rawArgs: readonly string[]): string => ['npm run exp --', ...rawArgs].join(' ');

function summary(name: string, out: RunOutcome, outRoot: string): string {
  if (out.shard) {
    const { index, count, points, gridPoints } = out.shard;
    const failed = out.errors ? `, ${msg.pointsFailed(out.errors)}` : '';
    return `${msg.shardDone(name, `${index}/${count}`, points, gridPoints, join(outRoot, name))}${failed}`;
  }
  const passed = out.claims.filter((c) => c.status === 'pass').length;
  const open = out.claims.filter((c) => c.status === 'inconclusive').length;
  const failed = out.claims.flatMap((c): string[] => {
    if (c.status === 'pass') return [];
    if (c.status === 'error') return [`  ERROR ${c.id}: ${c.reason} (expected ${c.expected})`];
    if (c.status === 'fail') return [`  FAIL ${c.id}: ${c.measured} (expected ${c.expected})`];
    return [`  INCONCLUSIVE ${c.id}: ${c.reason} (expected ${c.expected})`, `    cure: ${c.cure}`];
  });
  return [
    `${name}: ${out.rows.length} rows, ${msg.claimsSummary(passed, out.claims.length, open)}${out.errors ? `, ${msg.pointsFailed(out.errors)}` : ''}`,
    ...out.summary.map((s) => `  ${s}`),
    ...failed,
    ...out.warnings.map((w) => msg.unstableWarning(w)),
  ].join('\n');
}

export async function runCli(rawArgs: readonly string[], io: CliIo): Promise<number> {
  return withExitCode(io, async () => {
    if (rawArgs[0] === 'compare') return await compare(rawArgs.slice(1), io);
    const { values, positionals } = parse(rawArgs);
    if (values.help) {
      io.stdout.write(HELP);
      return 0;
    }
    if (values.list) {
      for (const name of listExperimentNames()) {
        const { experiment } = await loadExperiment(resolveExperimentFile(name));
        io.stdout.write(`${name.padEnd(22)} ${experiment.title}\n`);
      }
      return 0;
    }
    const target = positionals[0];
    if (!target) throw new AttnlabError('BAD_OPTION', msg.missingExperiment());
    if (values.strict && !values.check) throw new AttnlabError('BAD_OPTION', msg.strictNeedsCheck());
    if (target === 'merge') return await merge(positionals.slice(1), values, rawArgs, io);
    const cwd = io.cwd ?? process.cwd();
    const overrides: Overrides = {
      quick: Boolean(values.quick),
      seed: parseSeed(values.seed),
      sets: values.set ?? [],
      cwd,
    };
    const requestedBackend = parseBackend(values.backend);
    const workers = parseJobs(values.jobs);
    const shard = parseShard(values.shard);
    const outRoot = values.out ?? 'results';

    // Validate everything (files, overrides, backend) before anything is written.
    const names = target === 'all' ? listExperimentNames() : [target];
    const jobs: ResolvedExperiment[] = [];
    for (const n of names) jobs.push(resolveExperiment(await loadExperiment(resolveExperimentFile(n)), overrides));
    // Checks that load the files an experiment names (models), still before anything is written.
    for (const r of jobs) await r.sim.prepare?.(r.settings, r.points, (path) => r.where.at(path));
    for (const r of jobs) for (const note of r.overrideNotes) io.stderr.write(`${note}\n`);
    const backends = new Map<string, SelectedBackend>();
    const backendOf = (r: ResolvedExperiment) => backends.get((r.sim.engines ?? TFJS_BACKENDS).join())!;
    for (const r of jobs) {
      const engines = r.sim.engines ?? TFJS_BACKENDS;
      const key = engines.join();
      if (!backends.has(key)) backends.set(key, await selectBackend(requestedBackend, engines, r.sim.kind));
    }
    // Every job's cost before any work: an unreasonably long total needs --yes.
    const estimates = jobs.map((r) => estimateRun(r, shardPoints(r.points, shard), workers, backendOf(r).name));
    checkDuration(target, totalEstimate(estimates), Boolean(values.yes));

    let failed = false;
    for (const [i, resolved] of jobs.entries()) {
      const estimate = estimates[i];
      const name = resolved.experiment.name;
      if (estimate) io.stderr.write(`${msg.estimate(name, estimate)}\n`);
      const out = await runExperiment(
        {
          resolved,
          backend: backendOf(resolved),
          outRoot,
          command: commandLine(rawArgs),
          resumeRequested: Boolean(values.resume),
          wait: Boolean(values.wait),
          jobs: workers,
          ...(shard ? { shard } : {}),
          ...(io.stop ? { stop: io.stop } : {}),
        },
        { stderr: io.stderr, now: io.now ?? (() => performance.now()) },
      );
      failed ||= outcomeFailed(out, Boolean(values.strict));
      io.stdout.write(`${summary(name, out, outRoot)}\n${out.reportPath}\n`);
      if (out.interrupted) {
        io.stderr.write(`${msg.interrupted(out.dir)}\n`);
        return 130;
      }
    }
    return values.check && failed ? 1 : 0;
  });
}

/** `merge <name> <dirs...>`: the shards of one run combined, with the report a one-process run would write. */
async function merge(
  args: readonly string[],
  values: ReturnType<typeof parse>['values'],
  rawArgs: readonly string[],
  io: CliIo,
): Promise<number> {
  const [name, ...dirs] = args;
  if (!name || !dirs.length) throw new AttnlabError('BAD_OPTION', msg.mergeUsage());
  for (const opt of Object.keys(values))
    if (!Object.hasOwn(COMMANDS.merge.options, opt)) throw new AttnlabError('BAD_OPTION', msg.mergeOption(opt));
  const outRoot = values.out ?? 'results';
  const out = await mergeShards(
    { loaded: await loadExperiment(resolveExperimentFile(name)), dirs, outRoot, command: commandLine(rawArgs) },
    io,
  );
  io.stdout.write(`${summary(name, out, outRoot)}\n${out.reportPath}\n`);
  return values.check && outcomeFailed(out, Boolean(values.strict)) ? 1 : 0;
}

/** `compare <A> <B>`: the markdown table on stdout, compare-<A run id>.html in B's run directory, its path last. */
async function compare(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommand('compare', args);
  const [refA, refB, ...extra] = positionals;
  if (!refA || !refB || extra.length) throw new AttnlabError('BAD_OPTION', msg.compareUsage());
  const factor = (name: 'threshold' | 'fail-slower', raw: string | undefined) => {
    if (raw === undefined) return undefined;
    if (!(Number(raw) >= 1))
      throw new AttnlabError('BAD_OPTION', msg.badOptionValue(name, raw, 'a factor ≥ 1, e.g. 1.10'));
    return Number(raw);
  };
  const threshold = factor('threshold', values.threshold) ?? COMPARE_THRESHOLD;
  const failSlower = factor('fail-slower', values['fail-slower']);
  const outRoot = resolve(values.out ?? 'results');
  const [a, b] = [readRun(resolveRun(refA, outRoot)), readRun(resolveRun(refB, outRoot))];
  const c = await compareRuns(a, b, threshold);
  io.stdout.write(compareMarkdown(c));
  const page = new RunStore(b.dir).writeAtomic(comparePage(a.manifest), await compareHtml(c));
  const slower =
    failSlower === undefined
      ? []
      : c.timing.filter((t) => t.verdict === 'slower' && t.ratio !== null && t.ratio > failSlower);
  if (slower.length) io.stderr.write(`${msg.compareFailSlower(slower.length, failSlower!)}\n`);
  io.stdout.write(`${page}\n`);
  return slower.length ? 1 : 0;
}

export async function runMain(): Promise<void> {
  // First Ctrl-C: finish the current point, write the outputs as incomplete, exit 130. Second: exit now.
  // SIGTERM (scancel, a preempted or requeued Slurm task, kill) is handled the same way.
  const stop = new AbortController();
  const onSignal = () => {
    if (stop.signal.aborted) process.exit(130);
    process.stderr.write(`\n${msg.stopping()}\n`);
    stop.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    process.exitCode = await runCli(process.argv.slice(2), {
      stdout: process.stdout,
      stderr: process.stderr,
      stop: stop.signal,
      // Paths in --set are the user's: relative to where they typed the command (npm run moves to the package root).
      cwd: process.env['INIT_CWD'] ?? process.cwd(),
    });
  } catch (e) {
    // A bug, not bad input: say so plainly (an uncaught error would make the wasm runtime print its whole source).
    process.stderr.write(`internal error (please report): ${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await runMain();
