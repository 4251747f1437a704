import { existsSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Graph } from '../../../src/engine/onnx/graph.js';
import { msg } from '../../../src/messages.js';
import { headScores } from '../../../src/sim/attention-maps/scores.js';
import { decodeModel, summarize } from '../../../src/sim/attention-maps/graphs.js';
import { openModel } from '../../../src/sim/attention-maps/engines.js';
import { probeSequences } from '../../../src/sim/attention-maps/probes.js';
import { NormalRng } from '../../../src/random/normal.js';
import { gpt2Tokenizer } from '../../../src/sim/attention-maps/tokenizers.js';
import { parse as parseYaml } from 'yaml';
import { Claim } from '../../../src/spec/schema.js';
import { evaluateClaim } from '../../../src/spec/claims.js';
import { expectGolden } from '../../golden.js';
import { cli, latestRun, stripColumns, tmp } from '../../helpers.js';

/** A derived table of a run (no quoted cells): numbers, booleans, and null for empty cells. */
function readTable(path: string): Record<string, string | number | boolean | null>[] {
  const [head, ...lines] = readFileSync(path, 'utf8').trimEnd().split('\n');
  const cell = (v: string) =>
    v === '' ? null : v === 'true' ? true : v === 'false' ? false : isNaN(Number(v)) ? v : Number(v);
  return lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [head!.split(',')[i]!, cell(v)])));
}

const FIXTURES = join(import.meta.dirname, '../../fixtures/attention-maps');
const PLANTED = join(FIXTURES, 'planted.onnx');

/** A causal map: row i spreads `weights(i)` over keys 0…i. */
function causal(T: number, row: (i: number) => number[]): Float32Array {
  const a = new Float32Array(T * T);
  for (let i = 0; i < T; i++) row(i).forEach((w, j) => (a[i * T + j] = w));
  return a;
}
/** Logits of a causal mask: 0 where a key is seen (or `value(i, j)`), −∞ where it is hidden. */
function causalLogits(T: number, value: (i: number, j: number) => number = () => 0): Float32Array {
  const l = new Float32Array(T * T);
  for (let i = 0; i < T; i++) for (let j = 0; j < T; j++) l[i * T + j] = j <= i ? value(i, j) : -Infinity;
  return l;
}
const uniform = (T: number) => causal(T, (i) => Array<number>(i + 1).fill(1 / (i + 1)));

describe('attention-maps scores, checked by hand', () => {
  it('a perfect previous-token head scores 1; its first-token mass is 1/3 at T = 4 (only query 1 looks at key 0)', () => {
    const T = 4;
    const map = causal(T, (i) => (i === 0 ? [1] : Array.from({ length: i + 1 }, (_, j) => (j === i - 1 ? 1 : 0))));
    const s = headScores(map, causalLogits(T), 0, T, [1, 2, 3, 4], null);
    expect(s.previous_token_score, 'previous').toBe(1);
    expect(s.first_token_mass, 'first').toBeCloseTo(1 / 3, 12);
    expect(s.entropy_ratio, 'entropy').toBe(0);
    expect(s.max_weight, 'max').toBe(1);
    expect(s.induction_score, 'not a repeated probe').toBeNull();
  });

  it('uniform causal attention: A[i, i−1] = 1/(i+1), so the mean over i = 1…3 is (1/2 + 1/3 + 1/4)/3 = 13/36; entropy ratio 1; logit variance 0', () => {
    const s = headScores(uniform(4), causalLogits(4), 0, 4, [1, 2, 3, 4], null);
    expect(s.previous_token_score).toBeCloseTo(13 / 36, 6);
    expect(s.first_token_mass).toBeCloseTo(13 / 36, 6);
    expect(s.max_weight).toBeCloseTo(13 / 36, 6);
    expect(s.entropy_ratio).toBeCloseTo(1, 6);
    expect(s.logit_var).toBe(0);
  });

  it('duplicate tokens [1, 2, 1, 2] under uniform attention: query 2 puts 1/3 on key 0, query 3 puts 1/4 on key 1: (1/3 + 1/4)/2 = 7/24', () => {
    const s = headScores(uniform(4), causalLogits(4), 0, 4, [1, 2, 1, 2], null);
    expect(s.duplicate_token_score).toBeCloseTo(7 / 24, 6);
  });

  it('induction on [5, 6, 7, 5, 6, 7]: a head attending from i to i − L + 1 = i − 2 scores 1, a previous-token head 0', () => {
    const T = 6;
    const repeat = { start: 0, length: 3 };
    const induction = causal(T, (i) =>
      Array.from({ length: i + 1 }, (_, j) => (i >= 3 ? (j === i - 2 ? 1 : 0) : j === 0 ? 1 : 0)),
    );
    const previous = causal(T, (i) => Array.from({ length: i + 1 }, (_, j) => (j === Math.max(0, i - 1) ? 1 : 0)));
    expect(headScores(induction, causalLogits(T), 0, T, [5, 6, 7, 5, 6, 7], repeat).induction_score).toBe(1);
    expect(headScores(previous, causalLogits(T), 0, T, [5, 6, 7, 5, 6, 7], repeat).induction_score).toBe(0);
  });

  it('logit variance: a query whose two keys have logits 0 and 2 has variance 2 (n − 1 denominator); masks of −10⁴ and the float minimum hide keys like −∞', () => {
    const T = 2;
    const withLogits = (hidden: number) => new Float32Array([0, hidden, 0, 2]);
    const probs = new Float32Array([1, 0, 1 / (1 + Math.E ** 2), Math.E ** 2 / (1 + Math.E ** 2)]);
    for (const hidden of [-Infinity, -1e4, -3.4028234663852886e38]) {
      const s = headScores(probs, withLogits(hidden), 0, T, [1, 2], null);
      expect(s.logit_var, `mask ${hidden}`).toBe(2);
      expect(s.entropy_ratio).toBeCloseTo(
        (-(probs[2]! * Math.log(probs[2]!)) - probs[3]! * Math.log(probs[3]!)) / Math.log(2),
        6,
      );
    }
  });

  it('bidirectional uniform attention over 3 keys: next-token score 1/3 (queries 0 and 1), previous-token 1/3; causal maps have no next-token score', () => {
    const s = headScores(new Float32Array(9).fill(1 / 3), new Float32Array(9), 0, 3, [1, 2, 3], null);
    expect(s.next_token_score).toBeCloseTo(1 / 3, 6);
    expect(s.previous_token_score).toBeCloseTo(1 / 3, 6);
    expect(headScores(uniform(3), causalLogits(3), 0, 3, [1, 2, 3], null).next_token_score).toBeNull();
  });

  it('without logits, a key of weight exactly 0 counts as hidden, and logit_var is null', () => {
    const s = headScores(uniform(3), null, 0, 3, [1, 2, 3], null);
    expect(s.entropy_ratio).toBeCloseTo(1, 6);
    expect(s.logit_var).toBeNull();
  });
});

describe('attention-maps probes', () => {
  it('repeated: a prefix, a segment of ⌊(T − prefix)/2⌋ tokens twice, one random token when odd', () => {
    const b = probeSequences('repeated', 12, 3, 50, new NormalRng(Uint32Array.of(1, 2, 3, 4)), [49], []);
    expect(b.repeat).toEqual({ start: 1, length: 5 });
    for (const s of b.sequences) {
      expect(s).toHaveLength(12);
      expect(s[0]).toBe(49);
      expect(s.slice(1, 6)).toEqual(s.slice(6, 11));
    }
  });
  it('tokens: each list behind the prefix, cut to T', () => {
    const b = probeSequences(
      'tokens',
      4,
      99,
      50,
      new NormalRng(Uint32Array.of(1, 2, 3, 4)),
      [0],
      [
        [1, 2, 3, 4, 5],
        [6, 7, 8],
      ],
    );
    expect(b.sequences).toEqual([
      [0, 1, 2, 3],
      [0, 6, 7, 8],
    ]);
  });
  it("GPT-2's byte-pair encoding (gpt-tokenizer): 'The cat sat on the mat.' is 464 3797 3332 319 262 2603 13", async () => {
    const tok = await gpt2Tokenizer();
    expect(tok.encode('The cat sat on the mat.')).toEqual([464, 3797, 3332, 319, 262, 2603, 13]);
    expect(tok.label(3797)).toBe('·cat');
  });
});

describe('attention-maps graph surgery on a torch.onnx.export model', () => {
  it('finds one Softmax → MatMul per layer, in order, with 4 heads each, and the logits beside them', async () => {
    const summary = summarize(decodeModel(readFileSync(PLANTED)));
    expect(summary.softmaxes).toEqual(['/blocks.0/Softmax_output_0', '/blocks.1/Softmax_output_0']);
    expect(summary.candidates.map((c) => c.logits)).toEqual(['/blocks.0/Where_output_0', '/blocks.1/Where_output_0']);
    expect(summary.embeddingRows['input_ids'], 'vocab from the embedding table').toBe(50);
    const m = await openModel({ file: PLANTED, idsInput: 'input_ids' });
    expect(m.layers.map((l) => l.heads)).toEqual([4, 4]);
    const out = await m.run([[1, 2, 3, 4, 5, 6, 7, 8]]);
    // L0H0 on query 5 puts (nearly) all its weight on key 4.
    expect(out[0]!.probs[0 * 64 + 5 * 8 + 4]).toBeGreaterThan(0.999);
    expect(out[0]!.logits).not.toBeNull();
    // PyTorch's own nn.TransformerEncoderLayer writes its attention as [batch·heads, T, T]: 2 sequences × 4 heads.
    const enc = await openModel({ file: join(FIXTURES, 'encoder.onnx'), idsInput: 'input_ids' });
    expect(enc.layers.map((l) => [l.probs, l.heads])).toEqual([
      ['/enc/layers.0/self_attn/Softmax_output_0', 4],
      ['/enc/layers.1/self_attn/Softmax_output_0', 4],
    ]);
    const [first] = await enc.run([
      [1, 2, 3, 4, 5, 6],
      [7, 8, 9, 10, 11, 12],
    ]);
    const row = (b: number, h: number, i: number) =>
      Array.from(first!.probs.subarray(((b * 4 + h) * 6 + i) * 6, ((b * 4 + h) * 6 + i + 1) * 6));
    expect(row(1, 3, 2).reduce((a, x) => a + x, 0)).toBeCloseTo(1, 6);
    expect(row(1, 3, 2).slice(3), 'causal: keys after the query hidden').toEqual([0, 0, 0]);
    // Named instead of found: the same tensors, the logits found as the Softmax's input.
    const named = await openModel({ file: PLANTED, idsInput: 'input_ids', attention: ['/blocks.1/Softmax_output_0'] });
    expect(named.layers).toEqual([
      { probs: '/blocks.1/Softmax_output_0', logits: '/blocks.1/Where_output_0', heads: 4 },
    ]);
  });
});

describe('attention-maps: a model whose batch axis is fixed to 1', () => {
  it('runs one sequence per call and gives the same maps as the dynamic model', async () => {
    const model = decodeModel(readFileSync(PLANTED));
    const ids = model.graph!.input!.find((i) => i.name === 'input_ids')!;
    ids.type!.tensorType!.shape!.dim![0] = { dimValue: 1 };
    const dir = tmp();
    const file = join(dir, 'batch1.onnx');
    writeFileSync(file, (await import('onnx-proto')).default.onnx.ModelProto.encode(model).finish());
    const fixed = await openModel({ file, idsInput: 'input_ids' });
    const dynamic = await openModel({ file: PLANTED, idsInput: 'input_ids' });
    expect(fixed.maxBatch).toBe(1);
    const seqs = [
      [1, 2, 3, 4, 5, 6],
      [7, 8, 9, 10, 11, 12],
      [1, 1, 1, 2, 2, 2],
    ];
    const [a, b] = [await fixed.run(seqs), await dynamic.run(seqs)];
    expect(a[1]!.probs.length).toBe(3 * 4 * 36);
    expect(Array.from(a[1]!.probs)).toEqual(Array.from(b[1]!.probs));
  });
});

describe('attention-maps: inputs filled by rule (a BERT-like graph with attention_mask, token_type_ids, position_ids)', () => {
  it('ones, zeros and 0…T−1 go in: the maps equal softmax(x xᵀ) with x = E[id] + P[position] + S[0], computed here', async () => {
    const d = 4;
    const table = (rows: number, seed: number) =>
      Array.from({ length: rows * d }, (_, i) => Math.sin(seed * 7.1 + i * 1.3) * 0.8);
    const [E, P, S] = [table(10, 1), table(8, 2), table(2, 3)];
    const g = new Graph('bert-like');
    const ids = g.input('input_ids', ['B', 'T'], 'int64');
    const mask = g.input('attention_mask', ['B', 'T'], 'int64');
    const types = g.input('token_type_ids', ['B', 'T'], 'int64');
    const pos = g.input('position_ids', ['B', 'T'], 'int64');
    const x = g.op('Add', [
      g.op('Add', [g.op('Gather', [g.floats(E, [10, d]), ids]), g.op('Gather', [g.floats(P, [8, d]), pos])]),
      g.op('Gather', [g.floats(S, [2, d]), types]),
    ]);
    const logits = g.op('Unsqueeze', [g.op('MatMul', [x, g.op('Transpose', [x], { perm: [0, 2, 1] })]), g.ints([1])]);
    const hidden = g.op('Mul', [g.op('Sub', [g.floats([1]), g.op('Cast', [mask], { to: 1 })]), g.floats([-1e4])]);
    const probs = g.op('Softmax', [g.op('Add', [logits, g.op('Unsqueeze', [hidden, g.ints([1, 2])])])], { axis: -1 });
    g.output(g.op('MatMul', [probs, g.op('Unsqueeze', [x, g.ints([1])])]), 'y', ['B', 1, 'T', d]);
    const dir = tmp();
    writeFileSync(join(dir, 'bert-like.onnx'), g.encode());
    const m = await openModel({ file: join(dir, 'bert-like.onnx'), idsInput: 'input_ids' });
    expect(m.vocab, 'from the embedding table').toBe(10);
    expect(m.layers.map((l) => l.heads)).toEqual([1]);
    const seq = [3, 1, 4, 1, 5, 9];
    const T = seq.length;
    const [out] = await m.run([seq]);
    const xs = seq.map((id, t) => Array.from({ length: d }, (_, k) => E[id * d + k]! + P[t * d + k]! + S[k]!));
    for (let i = 0; i < T; i++) {
      const l = xs.map((xj) => xj.reduce((a, v, k) => a + v * xs[i]![k]!, 0));
      const z = l.reduce((a, v) => a + Math.exp(v), 0);
      for (let j = 0; j < T; j++) expect(out!.probs[i * T + j], `A[${i}, ${j}]`).toBeCloseTo(Math.exp(l[j]!) / z, 5);
    }
    // Bidirectional: every key is visible, so the next-token score exists; position 8 is past the table.
    const s = headScores(out!.probs, out!.logits, 0, T, seq, null);
    expect(s.next_token_score).not.toBeNull();
    expect(await m.tryLength(8)).toBeNull();
    expect(await m.tryLength(9)).not.toBeNull();
  });
});

const yaml = (settings: string, grid = 'probe: [random, repeated]\n  T: [32]', extra = '') =>
  `name: am\ntitle: t\ndescription: d\nsimulation: attention-maps\nseed: 7\ngrid:\n  ${grid}\nsettings:\n${settings}\n${extra}charts:\n  - { id: c, title: C, spec: { mark: rect, encoding: { x: { field: head, type: ordinal }, y: { field: layer, type: ordinal } } } }\n`;

describe('attention-maps on the hand-planted model (L0H0 previous token, L0H1 first token)', () => {
  let dir: string;
  let csv: string;
  let report: string;
  beforeAll(async () => {
    dir = tmp();
    copyFileSync(PLANTED, join(dir, 'planted.onnx'));
    writeFileSync(join(dir, 'e.yaml'), yaml('  model: planted.onnx\n  sequences: 16\n  baseline: untrained'));
    const r = await cli([join(dir, 'e.yaml'), '--out', join(dir, 'out')]);
    expect(r.code, r.stderr).toBe(0);
    const run = latestRun(join(dir, 'out'), 'am');
    csv = readFileSync(join(run, 'results.csv'), 'utf8');
    report = readFileSync(join(run, 'report.html'), 'utf8');
  }, 60_000);

  const rows = () => {
    const [head, ...lines] = csv.trimEnd().split('\n');
    const cols = head!.split(',');
    return lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [cols[i], v])));
  };

  it('the planted heads score ≥ 0.95 and no other head reaches 0.5 on any score of attention to a token', () => {
    const trained = rows().filter((r) => r['model'] === 'trained');
    expect(trained).toHaveLength(2 * 8);
    for (const r of trained) {
      const L0H0 = r['layer'] === '0' && r['head'] === '0';
      const L0H1 = r['layer'] === '0' && r['head'] === '1';
      if (L0H0) expect(Number(r['previous_token_score'])).toBeGreaterThanOrEqual(0.95);
      else expect(Number(r['previous_token_score'])).toBeLessThan(0.5);
      if (L0H1) expect(Number(r['first_token_mass'])).toBeGreaterThanOrEqual(0.95);
      else expect(Number(r['first_token_mass'])).toBeLessThan(0.5);
      for (const score of ['duplicate_token_score', 'induction_score'])
        if (r[score]) expect(Number(r[score]), `${score} of L${r['layer']}H${r['head']}`).toBeLessThan(0.5);
    }
  });

  it('the findings name them', () => {
    expect(report).toMatch(/L0H0 is a previous-token head: 1\.000 \[/);
    expect(report).toMatch(/L0H1 is a sink head \(first-token mass above 0\.3\): 1\.000 \[/);
  });

  it('golden: the columns of results.csv and of the derived tables, and the findings', () => {
    const run = latestRun(join(dir, 'out'), 'am');
    const headers = ['results', 'heads', 'top_heads', 'maps', 'ablation', 'composition'].map(
      (t) => readFileSync(join(run, `${t}.csv`), 'utf8').split('\n')[0],
    );
    expectGolden('attention-maps.header.csv', `${headers.join('\n')}\n`);
    const findings = [...report.match(/<ul class="findings">(.*?)<\/ul>/)![1]!.matchAll(/<li>(.*?)<\/li>/g)].map((m) =>
      m[1]!.replace(/&#39;/g, "'"),
    );
    expectGolden('attention-maps.findings.txt', `${findings.join('\n')}\n`);
  });

  it('the untrained baseline (weights permuted) loses both heads', () => {
    const untrained = rows().filter((r) => r['model'] === 'untrained' && r['layer'] === '0');
    expect(untrained).toHaveLength(2 * 4);
    expect(untrained.find((r) => r['head'] === '0' && r['probe'] === 'random')!['previous_token_score']).not.toMatch(
      /^0\.9/,
    );
    expect(Math.max(...untrained.map((r) => Number(r['first_token_mass'])))).toBeLessThan(0.95);
  });

  it('the same seed gives the same results.csv (time aside)', async () => {
    const again = await cli([join(dir, 'e.yaml'), '--out', join(dir, 'again')]);
    expect(again.code).toBe(0);
    const second = readFileSync(join(latestRun(join(dir, 'again'), 'am'), 'results.csv'), 'utf8');
    expect(stripColumns(second, ['time_ms'])).toBe(stripColumns(csv, ['time_ms']));
  });
});

describe('attention-maps: bad input is refused before any work (exit 2, the file, line and key, the model; nothing written)', () => {
  let dir: string;
  beforeAll(() => {
    dir = tmp();
    copyFileSync(PLANTED, join(dir, 'planted.onnx'));
  });

  async function refused(name: string, text: string): Promise<{ err: string; file: string }> {
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, text);
    const out = join(dir, `out-${name}`);
    const r = await cli([file, '--out', out]);
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(existsSync(out), 'nothing written').toBe(false);
    return { err: r.stderr, file };
  }
  const model = (name: string, build: (g: Graph) => void) => {
    const g = new Graph(name);
    build(g);
    writeFileSync(join(dir, name), g.encode());
    return name;
  };

  it('a missing file', async () => {
    const { err, file } = await refused('missing', yaml('  model: nowhere.onnx'));
    expect(err).toContain(`${file}:10:`);
    expect(err).toContain(msg.fileMissing('settings.model', join(dir, 'nowhere.onnx')));
  });

  it('a file that is not ONNX', async () => {
    writeFileSync(join(dir, 'junk.onnx'), 'this is not a model\n');
    const { err, file } = await refused('junk', yaml('  model: junk.onnx'));
    expect(err).toContain(`${file}:10:`);
    expect(err).toMatch(/settings\.model: .*junk\.onnx is not an ONNX model ONNX Runtime can load/);
  });

  it('no int64 token-id input', async () => {
    model('float-input.onnx', (g) => g.output(g.op('Softmax', [g.input('x', [1, 'T'])]), 'y', [1, 'T']));
    const { err } = await refused('float', yaml('  model: float-input.onnx'));
    expect(err).toContain(msg.noIdsInput(join(dir, 'float-input.onnx'), 'input_ids', 'x (float [1, T])'));
  });

  it('ids outside the vocabulary', async () => {
    const { err, file } = await refused(
      'vocab',
      yaml('  model: planted.onnx\n  tokens:\n    - [1, 2, 3, 4, 5, 6, 7, 50]', 'probe: [tokens]\n  T: [8]'),
    );
    expect(err).toContain(`${file}:12:`);
    expect(err).toContain(msg.idsOutOfVocab('settings.tokens[0]', join(dir, 'planted.onnx'), 50, 50));
  });

  it("T beyond the model's positions: the largest T that works", async () => {
    const { err, file } = await refused('long', yaml('  model: planted.onnx', 'probe: [random]\n  T: [16, 40]'));
    expect(err).toContain(`${file}:8:`);
    expect(err).toMatch(/grid\.T: .*planted\.onnx fails at T=40 \(.*\); the largest T it runs is 32/);
  });

  it('no attention found: says what was searched', async () => {
    model('no-attention.onnx', (g) =>
      g.output(
        g.op('Gather', [g.floats(new Array(20).fill(0.5), [10, 2]), g.input('input_ids', [1, 'T'], 'int64')]),
        'y',
        [1, 'T', 2],
      ),
    );
    const { err } = await refused('none', yaml('  model: no-attention.onnx'));
    expect(err).toMatch(
      /settings\.model: no attention found in .*no-attention\.onnx: searched its 2 nodes for a Softmax over the last axis whose output is multiplied \(MatMul\) by the values, and found 0 Softmax nodes/,
    );
    expect(err).toContain('[BAD_MODEL]');
  });

  it('a named tensor that does not exist', async () => {
    const { err, file } = await refused(
      'named',
      yaml('  model: planted.onnx\n  attention: [/blocks.0/Softmax_output_0, nope]'),
    );
    expect(err).toContain(`${file}:11:`);
    expect(err).toContain('settings.attention: ');
    expect(err).toContain(
      'has no tensor named "nope"; expected the outputs of its attention Softmax nodes, which are: /blocks.0/Softmax_output_0, /blocks.1/Softmax_output_0',
    );
  });

  it('ablations: a head set naming a head the model lacks, and a logits output that is not there', async () => {
    const bad = await refused(
      'badset',
      yaml('  model: planted.onnx\n  ablation: zero\n  head_sets: [{ name: s, heads: [L0H1, L2H0] }]'),
    );
    expect(bad.err).toContain(
      msg.noSuchHead('settings.head_sets[0].heads[1]', join(dir, 'planted.onnx'), 'L2H0', [4, 4]),
    );
    const none = await refused('nologits', yaml('  model: planted.onnx\n  ablation: [mean]\n  logits_output: nope'));
    expect(none.err).toContain(`${none.file}:12:`);
    expect(none.err).toContain(
      msg.ablationUnavailable(join(dir, 'planted.onnx'), '"nope" is not a float value of the model'),
    );
  });

  it("the text probe on a model without GPT-2's vocabulary and no tokenizer", async () => {
    const { err } = await refused(
      'notok',
      yaml('  model: planted.onnx\n  texts: ["the cat sat on the mat"]', 'probe: [text]\n  T: [6]'),
    );
    expect(err).toContain(msg.noTokenizer(join(dir, 'planted.onnx'), 50));
  });

  it('a tokenizer.json that does not load, and a text shorter than T', async () => {
    writeFileSync(join(dir, 'bad-tokenizer.json'), '{"model": {"type": "Nonesuch"}}');
    const bad = await refused(
      'badtok',
      yaml(
        '  model: planted.onnx\n  tokenizer: bad-tokenizer.json\n  texts: ["the cat sat on the mat"]',
        'probe: [text]\n  T: [6]',
      ),
    );
    expect(bad.err).toContain(`${bad.file}:11:`);
    expect(bad.err).toContain('settings.tokenizer: ');
    copyFileSync(join(FIXTURES, 'tokenizer.json'), join(dir, 'tokenizer.json'));
    const short = await refused(
      'short',
      yaml(
        '  model: planted.onnx\n  tokenizer: tokenizer.json\n  texts: ["the cat sat on the mat"]',
        'probe: [text]\n  T: [12]',
      ),
    );
    expect(short.err).toContain(msg.probeTooShort('settings.texts[0]', 8, 12)); // [CLS] + 6 words + [SEP]
  });

  it('a model whose sequence axis is fixed: T must be that length', async () => {
    const model = decodeModel(readFileSync(PLANTED));
    model.graph!.input!.find((i) => i.name === 'input_ids')!.type!.tensorType!.shape!.dim![1] = { dimValue: 16 };
    writeFileSync(
      join(dir, 'fixed16.onnx'),
      (await import('onnx-proto')).default.onnx.ModelProto.encode(model).finish(),
    );
    const { err } = await refused('fixed', yaml('  model: fixed16.onnx', 'probe: [random]\n  T: [16, 24]'));
    expect(err).toContain(msg.fixedLengthGrid(join(dir, 'fixed16.onnx'), 24, 16));
    const ok = await cli([join(dir, 'fixed.yaml'), '--set', 'T=[16]', '--out', join(dir, 'out-fixed-ok')]);
    expect(ok.code, ok.stderr).toBe(0);
  });

  it('no model at all', async () => {
    const { err } = await refused('nomodel', yaml('  sequences: 4'));
    expect(err).toContain('settings.model: missing');
  });
});

describe('attention-maps: the text probe with a tokenizer.json (@huggingface/tokenizers)', () => {
  it('tokenizes [CLS] the cat sat … [SEP], scores duplicates of "the", and labels the maps with the tokens', async () => {
    const dir = tmp();
    copyFileSync(PLANTED, join(dir, 'planted.onnx'));
    copyFileSync(join(FIXTURES, 'tokenizer.json'), join(dir, 'tokenizer.json'));
    const text = 'The cat sat on the mat, and the dog ran to the park.'; // 17 tokens with [CLS] and [SEP]
    writeFileSync(
      join(dir, 'e.yaml'),
      yaml(
        `  model: planted.onnx\n  tokenizer: tokenizer.json\n  texts: ["${text}", "${text}"]`,
        'probe: [text]\n  T: [16]',
      ),
    );
    const r = await cli([join(dir, 'e.yaml'), '--out', join(dir, 'out')]);
    expect(r.code, r.stderr).toBe(0);
    const run = latestRun(join(dir, 'out'), 'am');
    const csv = readFileSync(join(run, 'results.csv'), 'utf8');
    expect(csv).toContain('"[""[CLS]"",""the"",""cat"",""sat""');
    const [header, ...lines] = csv.trimEnd().split('\n');
    const dup = header!.split(',').indexOf('duplicate_token_score');
    // "the" occurs 4 times in the first 16 tokens: every head has a duplicate-token score.
    expect(lines.filter((l) => l.startsWith('trained,')).every((l) => l.split(',')[dup] !== '')).toBe(true);
    const maps = readFileSync(join(run, 'maps.csv'), 'utf8');
    expect(maps).toContain('previous_token_score,"previous_token_score: L0H0 (1.00, text, T=16)",2,1,1,2 cat,1 the');
    // The head view shows the decoded text of the sequence (WordPiece pieces joined by spaces).
    const report = readFileSync(join(run, 'report.html'), 'utf8');
    expect(report).toContain('"text":"[CLS] the cat sat on the mat , and the dog ran to the park');
  }, 60_000);
});

describe("attention-maps: the induction-heads experiment's model (examples/attention-maps/induction-heads.yaml --quick)", () => {
  it('finds its two layers and its claims, which name L0H0 and L1H1, pass', async () => {
    const dir = tmp();
    const r = await cli([
      join(import.meta.dirname, '../../../examples/attention-maps/induction-heads.yaml'),
      '--quick',
      '--check',
      '--out',
      join(dir, 'out'),
    ]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('claims: 4/4 passed');
    expect(r.stdout).toMatch(/induction_score \(repeated, T=24\): L1H1 0\.6/);
    // The wrong variant: the planted model has L0H0 but no induction head, and fails exactly that claim.
    const text = readFileSync(
      join(import.meta.dirname, '../../../examples/attention-maps/induction-heads.yaml'),
      'utf8',
    ).replace('../induction-heads/model-2L.onnx', PLANTED);
    writeFileSync(join(dir, 'wrong.yaml'), text);
    const wrong = await cli([join(dir, 'wrong.yaml'), '--quick', '--check', '--out', join(dir, 'wrong')]);
    expect(wrong.code, wrong.stdout).toBe(1);
    expect(wrong.stdout).toContain('claims: 3/4 passed');
    expect(wrong.stdout).toContain('FAIL induction-head-l1h1');
  }, 60_000);
});

describe('attention-maps: the committed example (experiments/attention-maps.yaml --quick)', () => {
  it('its claims pass on the trained model, and fail when the same claims are read against a model without induction heads (planted.onnx)', async () => {
    const dir = tmp();
    const r = await cli(['attention-maps', '--quick', '--check', '--out', join(dir, 'out')]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/claims: (\d+)\/\1 passed/);
    // The ablation claims, read against the untrained baseline's rows of the same run (relabelled), fail.
    const run = latestRun(join(dir, 'out'), 'attention-maps');
    const file = parseYaml(
      readFileSync(join(import.meta.dirname, '../../../experiments/attention-maps.yaml'), 'utf8'),
    ) as {
      claims: unknown[];
    };
    const claims = file.claims
      .map((c) => Claim.parse(c))
      .filter((c) => c.table === 'ablation' || c.table === 'composition');
    expect(claims.map((c) => c.id)).toEqual(['circuit-carries-the-copy', 'previous-token-heads-feed-induction']);
    for (const claim of claims) {
      const rows = readTable(join(run, `${claim.table}.csv`));
      expect(evaluateClaim(claim, rows).status, `${claim.id}, trained`).toBe('pass');
      const untrained = rows.filter((x) => x['model'] === 'untrained').map((x) => ({ ...x, model: 'trained' }));
      const verdict = evaluateClaim(claim, untrained);
      expect(verdict.status, `${claim.id}, untrained: ${JSON.stringify(verdict)}`).toBe('fail');
    }
    // The wrong variant: the same file and claims, pointed at the planted model (a previous-token head, no induction head).
    const text = readFileSync(join(import.meta.dirname, '../../../experiments/attention-maps.yaml'), 'utf8').replace(
      '../examples/attention-maps/induction-2L.onnx',
      PLANTED,
    );
    writeFileSync(join(dir, 'wrong.yaml'), text);
    const wrong = await cli([
      join(dir, 'wrong.yaml'),
      '--quick',
      '--set',
      'T=[32]',
      '--check',
      '--out',
      join(dir, 'wrong'),
    ]);
    expect(wrong.code, wrong.stdout).toBe(1);
    expect(wrong.stdout).toContain('FAIL induction-head-l1h0');
    expect(wrong.stdout).toContain('FAIL previous-token-heads'); // planted.onnx's L0H1 attends to the first token, not the previous one
  }, 120_000);
});
