/**
 * Every command of the command line in one table: its usage line, its options with their help, and one parser and
 * one error-to-exit-code mapping for all of them. `--help` is generated from the table.
 */
import { parseArgs } from 'node:util';
import { AttnlabError, isAttnlabError } from './errors.js';
import { msg } from './messages.js';
import { BACKENDS } from './engine/backend.js';

interface OptionSpec {
  type: 'boolean' | 'string';
  short?: string;
  multiple?: boolean;
  /** The value's placeholder in the help (`N`, `DIR`). */
  value?: string;
  /** One line, or several joined by \n. */
  help: string;
}

export interface Command {
  usage: string;
  /** Lines printed under the usage, before the options. */
  about?: string;
  options: Record<string, OptionSpec>;
}

const out = { type: 'string', value: 'DIR', help: 'results root (default: results)' } as const satisfies OptionSpec;
const check = {
  type: 'boolean',
  help: 'exit 1 when a claim fails or a point fails (an inconclusive claim does not: see --strict)',
} as const satisfies OptionSpec;
const strict = {
  type: 'boolean',
  help: 'with --check, an inconclusive claim (its interval straddles an edge of its range) exits 1 too',
} as const satisfies OptionSpec;

export const COMMANDS = {
  exp: {
    usage: 'npm run exp -- <name|path.yaml|all> [options]',
    options: {
      list: { type: 'boolean', help: 'list the experiments with their titles' },
      quick: { type: 'boolean', help: "the experiment's small grid (seconds)" },
      seed: { type: 'string', value: 'N', help: "base seed (default: the file's seed)" },
      set: {
        type: 'string',
        multiple: true,
        value: 'key=value',
        help: 'override a grid parameter or setting; repeatable\ne.g. --set trials=200000  --set d=[64,128]',
      },
      backend: {
        type: 'string',
        value: 'NAME',
        help: `${BACKENDS.join(' | ')} (default: the first that loads of the experiment's engines:\nonnx, then tfjs for scaling and mha-vs-mqa; tensorflow, wasm, cpu for the others)`,
      },
      out,
      check,
      strict,
      resume: { type: 'boolean', help: 'resume the unfinished run of this command (automatic anyway)' },
      jobs: {
        type: 'string',
        value: 'N',
        help: 'worker threads for Monte Carlo points (default: one per core, fewer where the\npredicted work is short: a worker costs about a second to start); timing\nexperiments always measure one point at a time',
      },
      shard: {
        type: 'string',
        value: 'I/N',
        help: 'run only shard I of N (points split by id) into a directory of its own',
      },
      yes: { type: 'boolean', short: 'y', help: 'run even when the cost model predicts more than an hour' },
      wait: { type: 'boolean', help: 'when another process runs this configuration, wait for it (default: exit 75)' },
      help: { type: 'boolean', short: 'h', help: 'this text' },
    },
  },
  merge: {
    usage: 'npm run exp -- merge <name> <shard dirs...> [--out DIR] [--check [--strict]]',
    about:
      'combine the shards of one run (their run directories, or folders above them) into one\nrun with its report, as if it had run in one process; see scripts/ for Slurm and GNU parallel',
    options: { out, check, strict },
  },
  figures: {
    usage: 'npm run figures -- <name> [options]',
    about: 're-render every chart of a stored run (no simulation) into <run>/figures/<theme>/',
    options: {
      run: { type: 'string', value: 'ID', help: 'the run (default: the one results/<name>/latest points at)' },
      theme: {
        type: 'string',
        value: 'NAME',
        help: 'slides | paper | report (default: report); slides are 16:9 whatever the chart',
      },
      where: {
        type: 'string',
        multiple: true,
        value: 'key=value',
        help: 'keep only the rows with this value (rows without the column stay); repeatable\ne.g. --where D=64: one panel of a faceted chart, for a slide with one message',
      },
      format: { type: 'string', value: 'LIST', help: 'comma-separated svg, png, pdf (default: svg,png)' },
      scale: { type: 'string', value: 'N', help: 'PNG pixels per SVG unit, in (0, 8] (default: 2)' },
      out,
    },
  },
  compare: {
    usage: 'npm run exp -- compare <A> <B> [options]',
    about:
      'compare two runs of one experiment point by point (A and B: run directories, or <name>@<run-id>,\n<name>@latest): time ratios with bootstrap intervals and U tests, estimate differences with z;\nprints a markdown table, writes compare-<A run id>.html into B and prints its path last',
    options: {
      threshold: {
        type: 'string',
        value: 'F',
        help: 'noise threshold: a ratio within [1/F, F] is "same" (default: 1.10, as asv)',
      },
      'fail-slower': { type: 'string', value: 'F', help: 'exit 1 when any point is slower by more than F (for CI)' },
      out,
    },
  },
  report: {
    usage: 'npm run report -- [--out DIR]',
    about: "rebuild results/index.html from every stored run's manifest",
    options: { out },
  },
} as const satisfies Record<string, Command>;

export type CommandName = keyof typeof COMMANDS;

/** The help of the given commands, generated from the table. */
export function helpText(names: readonly CommandName[] = ['exp', 'merge']): string {
  return names
    .map((name) => {
      const c: Command = COMMANDS[name];
      const lines = [`usage: ${c.usage}`, ''];
      if (c.about) lines.push(...c.about.split('\n').map((l) => `  ${l}`), '');
      for (const [key, o] of Object.entries(c.options)) {
        const flag = `--${key}${o.value ? ` ${o.value}` : ''}${o.short ? `, -${o.short}` : ''}`;
        const [first, ...rest] = o.help.split('\n');
        lines.push(`  ${flag.padEnd(18)}  ${first}`, ...rest.map((l) => `${' '.repeat(22)}${l}`));
      }
      return `${lines.join('\n')}\n`;
    })
    .join('\n');
}

/** Parse a command's arguments; an unknown option or a bad value is an AttnlabError that names what is allowed. */
export function parseCommand<N extends CommandName>(name: N, rawArgs: readonly string[]) {
  const options: (typeof COMMANDS)[N]['options'] = COMMANDS[name].options;
  try {
    return parseArgs<{
      args: string[];
      options: (typeof COMMANDS)[N]['options'];
      allowPositionals: true;
      strict: true;
    }>({ args: [...rawArgs], options, allowPositionals: true, strict: true });
  } catch (e) {
    const { code, message } = e as { code?: string; message: string };
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const opt = /option '([^']+)'/.exec(message)?.[1] ?? message;
      throw new AttnlabError(
        'BAD_OPTION',
        msg.unknownOption(
          opt,
          Object.keys(options).map((o) => `--${o}`),
        ),
      );
    }
    // A value that looks like an option (--seed -3) or a missing value: Node's own sentence names both.
    throw new AttnlabError('BAD_OPTION', msg.badOptionUsage(message.split('\n')[0]!));
  }
}

/** Another process holds the run (sysexits' EX_TEMPFAIL: try again later). */
export const EXIT_LOCKED = 75;

/**
 * Run a command body: a user's mistake (AttnlabError) is printed and becomes exit 2 (75 when locked); anything else is
 * a bug and propagates.
 */
export async function withExitCode(
  io: { stderr: { write(s: string): unknown } },
  body: () => Promise<number>,
): Promise<number> {
  try {
    return await body();
  } catch (e) {
    if (!isAttnlabError(e)) throw e;
    io.stderr.write(`${e.format()}\n`);
    return e.code === 'LOCKED' ? EXIT_LOCKED : 2;
  }
}
