/**
 * Every file that feeds a run is bound to it (issue 34): resolved where it was named (the experiment file's folder, or
 * the directory the command ran in for --set), listed in the manifest with its sha256, counted in the configuration
 * hash by content; a changed file is a new run, never a resume; a file a --set replaces need not exist.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli.js';
import { msg } from '../../src/messages.js';
import { ROOT, cli, latestRun, stripColumns, tmp } from '../helpers.js';

const FIXTURES = join(ROOT, 'test/fixtures/attention-maps');
const PLANTED = join(FIXTURES, 'planted.onnx');
const EXAMPLE = join(ROOT, 'examples/attention-maps/induction-2L.onnx');
const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const manifestOf = (run: string) => JSON.parse(readFileSync(join(run, 'manifest.json'), 'utf8'));
const runsOf = (out: string, name: string) =>
  existsSync(join(out, name)) ? readdirSync(join(out, name)).filter((d) => d !== 'latest') : [];

/** The one interrupted run under `out`. */
function stoppedRun(out: string): string {
  const dirs = runsOf(out, 'bound').filter((d) => manifestOf(join(out, 'bound', d)).status === 'interrupted');
  expect(dirs).toHaveLength(1);
  return join(out, 'bound', dirs[0]!);
}

/** An experiment whose own model is `model` (relative to its folder): 2 points, 4 sequences, no baseline. */
const experiment = (dir: string, model: string) => {
  const file = join(dir, 'exp.yaml');
  writeFileSync(
    file,
    `name: bound\ntitle: t\ndescription: d\nsimulation: attention-maps\nseed: 3\ngrid:\n  probe: [random]\n  T: [8, 12]\nsettings:\n  model: ${model}\n  sequences: 4\n  map_T: 0\ncharts:\n  - { id: c, title: C, spec: { mark: rect, encoding: { x: { field: head, type: ordinal }, y: { field: layer, type: ordinal } } } }\n`,
  );
  return file;
};

/** Run the CLI in-process, stopped (as by Ctrl-C) once `after` points have finished. */
async function interrupted(args: string[], cwd: string, after: number) {
  const stop = new AbortController();
  let stderr = '';
  let calls = 0;
  const code = await runCli(args, {
    stdout: { write: () => true },
    stderr: { write: (s: string) => (stderr += s) },
    cwd,
    stop: stop.signal,
    // The runner reads the clock once as a point starts and once as it ends: the 2·after-th reading ends point `after`.
    now: () => {
      if (++calls === 2 * after) stop.abort();
      return performance.now();
    },
  });
  return { code, stderr };
}

describe('a model named by --set is the one that runs, is recorded and decides resuming', () => {
  let dir: string;
  let work: string;
  let out: string;
  let file: string;
  beforeAll(() => {
    dir = tmp();
    work = join(dir, 'work');
    mkdirSync(work);
    out = join(dir, 'out');
    // The experiment's own model does not exist: the --set replaces it, so it is never needed.
    file = experiment(dir, 'never-there.onnx');
    copyFileSync(PLANTED, join(work, 'swap.onnx'));
  });
  const args = () => [file, '--set', 'model=swap.onnx', '--out', out];

  it('resolves against the directory the command ran in, and the manifest names that file and its sha256', async () => {
    const r = await cli(args(), { cwd: work });
    expect(r.code, r.stderr).toBe(0);
    const m = manifestOf(latestRun(out, 'bound'));
    expect(m.inputs).toEqual([
      {
        key: 'settings.model',
        path: join(work, 'swap.onnx'),
        sha256: sha(PLANTED),
        namedIn: '--set model=swap.onnx',
      },
    ]);
    expect(m.cwd).toBe(work);
    // The report's provenance says the same.
    const report = readFileSync(join(latestRun(out, 'bound'), 'report.html'), 'utf8');
    expect(report).toContain(
      `${join(work, 'swap.onnx')} (sha256 ${sha(PLANTED).slice(0, 16)}…, named in --set model=swap.onnx)`,
    );
  });

  it('interrupted, then rerun with the same file: resumes (control)', async () => {
    const first = await interrupted(args(), work, 1);
    expect(first.code, first.stderr).toBe(130);
    const dirs = runsOf(out, 'bound');
    const stopped = stoppedRun(out);
    expect(manifestOf(stopped).points.done).toBe(1);
    const again = await cli(args(), { cwd: work });
    expect(again.code, again.stderr).toBe(0);
    // SIGINT lets the point in flight finish: one or both points may be in the checkpoint, never a new run.
    expect([msg.resuming(stopped, 1, 2), msg.resuming(stopped, 2, 2)].some((m) => again.stderr.includes(m))).toBe(true);
    expect(runsOf(out, 'bound')).toEqual(dirs);
  });

  it('interrupted, the file replaced by another model, rerun: a new run with its own id, never a resume', async () => {
    const first = await interrupted(args(), work, 1);
    expect(first.code, first.stderr).toBe(130);
    const before = manifestOf(stoppedRun(out));
    copyFileSync(EXAMPLE, join(work, 'swap.onnx'));
    const again = await cli(args(), { cwd: work });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).not.toContain('resuming');
    const after = manifestOf(latestRun(out, 'bound'));
    expect(after.runId).not.toBe(before.runId);
    expect(after.configHash).not.toBe(before.configHash);
    expect(after.inputs[0].sha256).toBe(sha(EXAMPLE));
    expect(before.points.done).toBe(1);
    // Every row is the new model's: the same as a run of the example model named directly.
    const direct = join(dir, 'direct');
    expect((await cli([file, '--set', `model=${EXAMPLE}`, '--out', direct], { cwd: work })).code).toBe(0);
    const csv = (run: string) => stripColumns(readFileSync(join(run, 'results.csv'), 'utf8'), ['time_ms']);
    expect(csv(latestRun(out, 'bound'))).toBe(csv(latestRun(direct, 'bound')));
  });

  it('the same file given by an absolute path, or from another folder by a relative one, is the same run', async () => {
    const elsewhere = join(dir, 'elsewhere');
    mkdirSync(elsewhere);
    const a = await cli([file, '--set', `model=${join(work, 'swap.onnx')}`, '--out', join(dir, 'o2')], { cwd: dir });
    const b = await cli([file, '--set', 'model=../work/swap.onnx', '--out', join(dir, 'o3')], { cwd: elsewhere });
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    expect(manifestOf(latestRun(join(dir, 'o2'), 'bound')).configHash).toBe(
      manifestOf(latestRun(join(dir, 'o3'), 'bound')).configHash,
    );
  });
});

describe('errors about a file named by --set point at that --set, not at the experiment file', () => {
  it('a missing file: the --set, the path resolved against the directory the command ran in', async () => {
    const dir = tmp();
    const file = experiment(dir, 'planted.onnx');
    copyFileSync(PLANTED, join(dir, 'planted.onnx'));
    const r = await cli([file, '--set', 'model=nowhere.onnx', '--out', join(dir, 'out')], { cwd: join(dir, 'x') });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      `error: --set model=nowhere.onnx: ${msg.setFileMissing('settings.model', join(dir, 'x/nowhere.onnx'), join(dir, 'x'))}`,
    );
    expect(r.stderr).not.toContain(`${file}:`);
    expect(existsSync(join(dir, 'out'))).toBe(false);
  });

  it('a file the model cannot be read from, and a T beyond its positions: the --set that named each', async () => {
    const dir = tmp();
    const file = experiment(dir, 'planted.onnx');
    copyFileSync(PLANTED, join(dir, 'planted.onnx'));
    writeFileSync(join(dir, 'junk.onnx'), 'not a model\n');
    const junk = await cli([file, '--set', 'model=junk.onnx', '--out', join(dir, 'out')], { cwd: dir });
    expect(junk.code).toBe(2);
    expect(junk.stderr).toMatch(/^error: --set model=junk\.onnx: settings\.model: .*junk\.onnx is not an ONNX model/m);
    // planted.onnx has 32 positions.
    const long = await cli([file, '--set', 'T=[16,40]', '--out', join(dir, 'out')], { cwd: dir });
    expect(long.code).toBe(2);
    expect(long.stderr).toMatch(/^error: --set T=\[16,40\]: grid\.T: .*planted\.onnx fails at T=40/m);
    // A setting no --set touched keeps its line in the file.
    const vocab = await cli([file, '--set', 'sequences=2', '--set', 'ids_input=nope', '--out', join(dir, 'out')]);
    expect(vocab.stderr).toMatch(/^error: --set ids_input=nope: settings\.ids_input/m);
  });
});
