/**
 * Messages about a model file keep the part that helps (issue 34): a file that is not ONNX says what it looks like
 * before the parser's detail, and ONNX Runtime's message is kept whole where it names an axis and the size it
 * expected, then translated.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { beforeAll, describe, expect, it } from 'vitest';
import { describeNonOnnx } from '../../src/engine/onnx/model-file.js';
import { msg } from '../../src/messages.js';
import { decodeModel } from '../../src/sim/attention-maps/graphs.js';
import { ROOT, cli, tmp } from '../helpers.js';

const PLANTED = join(ROOT, 'test/fixtures/attention-maps/planted.onnx');
const LFS =
  'version https://git-lfs.github.com/spec/v1\noid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 204613\n';
const HTML = '<!DOCTYPE html>\n<html lang="en"><head><title>Sign in</title></head><body></body></html>\n';
const bytes = (s: string) => new TextEncoder().encode(s);

describe('what a file that is not ONNX looks like', () => {
  it('empty, a Git LFS pointer, an HTML page, a zip (torch.save), a pickle, text; a binary it cannot name', () => {
    expect(describeNonOnnx(new Uint8Array(0))).toBe(msg.looksEmpty());
    expect(describeNonOnnx(bytes(LFS))).toBe(msg.looksLfsPointer());
    expect(describeNonOnnx(bytes(HTML))).toBe(msg.looksHtml());
    expect(describeNonOnnx(Uint8Array.of(0x50, 0x4b, 0x03, 0x04, 0x14, 0))).toBe(msg.looksZip());
    expect(describeNonOnnx(Uint8Array.of(0x80, 0x02, 0x7d, 0x71, 0x00))).toBe(msg.looksPickle());
    expect(describeNonOnnx(bytes('this is not a model\nsecond line\n'))).toBe(msg.looksText('this is not a model'));
    // An ONNX file's own first bytes (a protobuf: field 1, the IR version) are none of these.
    expect(describeNonOnnx(readFileSync(PLANTED).subarray(0, 512))).toBeNull();
  });
});

describe('attention-maps refuses a file that is not a model, saying what it is (exit 2, nothing written)', () => {
  let dir: string;
  beforeAll(() => {
    dir = tmp();
    writeFileSync(
      join(dir, 'e.yaml'),
      `name: m\ntitle: t\ndescription: d\nsimulation: attention-maps\nseed: 1\ngrid:\n  probe: [random]\n  T: [8]\nsettings:\n  model: model.onnx\n  sequences: 2\ncharts:\n  - { id: c, title: C, spec: { mark: rect, encoding: { x: { field: head, type: ordinal }, y: { field: layer, type: ordinal } } } }\n`,
    );
  });
  const refused = async (content: string | Uint8Array) => {
    writeFileSync(join(dir, 'model.onnx'), content);
    const r = await cli([join(dir, 'e.yaml'), '--out', join(dir, 'out')]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`${join(dir, 'e.yaml')}:10:`);
    return r.stderr;
  };
  const file = () => join(dir, 'model.onnx');

  it('a text file renamed .onnx: text, then the parser\'s "invalid wire type"', async () => {
    const err = await refused('this is not a model\n');
    expect(err).toMatch(
      new RegExp(
        `is not an ONNX model ONNX Runtime can load: it is ${escape(msg.looksText('this is not a model'))} \\(`,
      ),
    );
  });

  it('a Git LFS pointer, an HTML page, an empty file', async () => {
    expect(await refused(LFS)).toContain(
      `${file()} is not an ONNX model ONNX Runtime can load: it is ${msg.looksLfsPointer()} (`,
    );
    expect(await refused(HTML)).toContain(`it is ${msg.looksHtml()} (`);
    expect(await refused('')).toContain(`it is ${msg.looksEmpty()} (`);
  });

  it('a scaling method from a file that is an LFS pointer says so too', async () => {
    writeFileSync(join(dir, 'm.onnx'), LFS);
    writeFileSync(
      join(dir, 's.yaml'),
      `name: s\ntitle: t\ndescription: d\nsimulation: scaling\nseed: 1\ngrid:\n  method: [m]\n  N: [64]\n  D: [16]\n  M: [16]\nsettings:\n  methods:\n    m: { onnx: m.onnx, exact: none }\ncharts:\n  - { id: c, title: C, spec: { mark: point, encoding: { x: { field: N, type: quantitative } } } }\n`,
    );
    const r = await cli([join(dir, 's.yaml'), '--out', join(dir, 'out-s')]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(
      `method m: ${join(dir, 'm.onnx')} is not an ONNX model ONNX Runtime can load: it is ${msg.looksLfsPointer()} (`,
    );
  });
});

describe("ONNX Runtime's message about a fixed axis, kept whole and translated", () => {
  it('a batch axis fixed at 2: the indices line, then what it means and the export that fixes it', async () => {
    const dir = tmp();
    const model = decodeModel(readFileSync(PLANTED));
    model.graph!.input!.find((i) => i.name === 'input_ids')!.type!.tensorType!.shape!.dim![0] = { dimValue: 2 };
    writeFileSync(join(dir, 'batch2.onnx'), onnxProto.onnx.ModelProto.encode(model).finish());
    writeFileSync(join(dir, 'planted.onnx'), readFileSync(PLANTED));
    const yaml = readFileSync(join(ROOT, 'test/fixtures/attention-maps/planted.yaml'), 'utf8');
    writeFileSync(join(dir, 'p.yaml'), yaml);
    const r = await cli([join(dir, 'p.yaml'), '--set', 'model=batch2.onnx', '--out', join(dir, 'out')], { cwd: dir });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(
      `error: --set model=batch2.onnx: ${msg.firstCallFailed(
        join(dir, 'batch2.onnx'),
        6,
        'Got invalid dimensions for input: input_ids for the following indices; index: 0 Got: 1 Expected: 2; ' +
          `Please fix either the inputs/outputs or the model. — ${msg.fixedAxis('input_ids', 0, 2, 'one sequence per call')}`,
      )}`,
    );
    expect(msg.fixedAxis('input_ids', 0, 2, 'one sequence per call')).toBe(
      "input_ids: axis 0 is fixed at 2 in this model, and attention-maps feeds one sequence per call; export with dynamic_axes={'input_ids': {0: 'batch', 1: 'T'}}",
    );
  });
});

/** A string as a literal in a regular expression. */
function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
