import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isAttnlabError } from '../../src/errors.js';
import { msg } from '../../src/messages.js';
import { loadExperiment, resolveExperimentFile } from '../../src/spec/load.js';
import { configHash, resolveExperiment } from '../../src/spec/resolve.js';
import { ROOT, tmp } from '../helpers.js';

const mha = await loadExperiment(resolveExperimentFile('mha-vs-mqa'));
const pointsWith = (sets: string[], quick = false) => {
  return resolveExperiment(mha, { quick, sets }).points.map(
    (p) =>
      p.params as { variant: string; groups: number; d: number; h: number; dtype_bytes: number; n: number; b: number },
  );
};
const errorOf = (sets: string[]): string => {
  try {
    resolveExperiment(mha, { quick: false, sets });
  } catch (e) {
    if (isAttnlabError(e)) return e.format();
    throw e;
  }
  throw new Error('expected an error');
};

describe('--set as a whole', () => {
  it('applies every --set before validating: groups=8 before d and h is accepted, in any order', () => {
    const sets = ['groups=8', 'd=[8192]', 'h=[64]', 'n=[1024]', 'b=[1]'];
    const points = pointsWith(sets);
    // The file's six blocks at one shape: 3 variants × 2 kernels (6), × int8 and int4 (6), in float16 on 2 kernels (6),
    // MLA (1), under a window on 2 kernels (6), and the b = 8 block, now block 0's graph points (the same ids, once).
    expect(points).toHaveLength(25);
    expect(points.find((p) => p.variant === 'gqa')).toMatchObject({ groups: 8, d: 8192, h: 64, n: 1024, b: 1 });
    expect(pointsWith([...sets].reverse())).toEqual(points);
  });

  it('names the --set that holds a bad value, also when the combination is what is bad', () => {
    // 3 does not divide h = 8 or 16: the custom rule points at the groups key, and so at its --set.
    expect(errorOf(['d=[512]', 'groups=3'])).toContain('error: --set groups=3: ');
    expect(errorOf(['groups=3', 'd=[512]'])).toContain('gqa groups must divide h and be below it');
    expect(errorOf(['b=[1]', 'time_budget_ms=-1'])).toBe(
      `error: ${msg.badSetType('time_budget_ms=-1', 'time_budget_ms', -1, 'a number above 0')} [BAD_SET]`,
    );
    // A later --set of the same key wins, and the error names that one.
    expect(errorOf(['groups=2', 'groups=5'])).toContain('--set groups=5: ');
  });

  it('a grid parameter applies to every grid block, also those that did not name it', () => {
    // The file's first block has no dtype_bytes (4 by default); the third names [2].
    const before = pointsWith([]);
    expect(new Set(before.map((p) => p.dtype_bytes))).toEqual(new Set([4, 2]));
    const fp16 = pointsWith(['dtype_bytes=[2]']);
    expect(fp16.every((p) => p.dtype_bytes === 2)).toBe(true);
    // Block 2's points (float16 on both kernels at n = 8192, 32768) are now block 0's: the union is block 0's 3·2·4 = 24,
    // block 1's 12, MLA's 4, the windows' 18 and block 5's 6 at b = 8: 64 points.
    expect(fp16).toHaveLength(64);
    // `grid[i].key=` keeps the old scope: one block only.
    const scoped = pointsWith(['grid[2].dtype_bytes=[4]']);
    expect(scoped.every((p) => p.dtype_bytes === 4)).toBe(true);
    expect(errorOf(['grid[6].n=[1]'])).toContain(msg.badSetBlock('grid[6].n=[1]', 'n', 6));
    expect(errorOf(['grid[0].rounds=2'])).toContain(msg.badSetBlock('grid[0].rounds=2', 'rounds', 6));
  });
});

describe('--set over several grid blocks drops the parameters that no longer apply, with a note', () => {
  const resolved = (sets: string[], quick = true) => resolveExperiment(mha, { quick, sets });

  it("--quick --set variant=[gqa]: the MLA block loses d_latent and d_rope and its points are block 0's", () => {
    const r = resolved(['variant=[gqa]']);
    expect(r.overrideNotes).toEqual([msg.gridAxesDropped('grid[3]', ['d_latent', 'd_rope'], ['variant=[gqa]'], 2, 2)]);
    const points = r.points.map((p) => p.params as Record<string, unknown>);
    // Quick blocks: 2 kernels × n 256, 2048 (4); int8, int4 at 2048 (2); float16 on 2 kernels (2); MLA's 2, now block
    // 0's graph points (0 new); the window's 2 kernels × 2 n (4); b = 8 (1): 13, every one gqa, none with a latent.
    expect(points).toHaveLength(13);
    expect(points.every((p) => p['variant'] === 'gqa' && !('d_latent' in p) && !('d_rope' in p))).toBe(true);
  });

  it("LLaMA-2-70B-like sizing: 3 variants × the file's blocks at d = 8192, h = 64, 8 groups, float16", () => {
    const sets = ['variant=[mha,gqa,mqa]', 'd=[8192]', 'h=[64]', 'groups=8', 'dtype_bytes=[2]'];
    const r = resolved(sets);
    expect(r.overrideNotes).toEqual([msg.gridAxesDropped('grid[3]', ['d_latent', 'd_rope'], sets, 6, 6)]);
    const points = r.points.map((p) => p.params as Record<string, unknown>);
    // Per variant: block 0's 2 kernels × 2 n (4), int8 and int4 (2), the window's 4, b = 8 (1); block 2 (float16, now
    // everywhere) and block 3 (MLA, now graph) coincide with block 0: 11 × 3 = 33.
    expect(points).toHaveLength(33);
    for (const v of ['mha', 'gqa', 'mqa']) expect(points.filter((p) => p['variant'] === v)).toHaveLength(11);
    expect(points.every((p) => p['d'] === 8192 && p['h'] === 64 && p['groups'] === 8 && p['dtype_bytes'] === 2)).toBe(
      true,
    );
    // The full grid resolves too: 3 variants × (8 + 4 + 6 + 2), block 2 and 3 once more inside block 0.
    expect(resolved(sets, false).points).toHaveLength(60);
  });

  it('--set kernel=[graph]: the quantized block loses kv_dtype (no quantized product on the graph) and joins block 0', () => {
    const r = resolved(['kernel=[graph]']);
    expect(r.overrideNotes).toEqual([msg.gridAxesDropped('grid[1]', ['kv_dtype'], ['kernel=[graph]'], 6, 6)]);
    const points = r.points.map((p) => p.params as Record<string, unknown>);
    expect(points.every((p) => p['kernel'] === 'graph' && p['kv_dtype'] === undefined)).toBe(true);
    // Per variant: block 0's 2 n, block 2's float16 point, the window's 2 n, b = 8: 6; MLA's 2 points: 20.
    expect(points).toHaveLength(20);
  });

  it('a parameter the --set gives itself is never dropped, and the file alone still refuses the combination', () => {
    const err = (() => {
      try {
        resolved(['variant=[gqa]', 'd_latent=[512]']);
      } catch (e) {
        if (isAttnlabError(e)) return e.format();
      }
      return '';
    })();
    expect(err).toContain('error: --set d_latent=[512]: ');
    expect(err).toContain(msg.decodeLatentWithout('d_latent', 'gqa'));
    // Without a --set, no block of the file is rewritten: grid[3]'s points keep d_latent.
    const plain = resolved([]);
    expect(plain.overrideNotes).toEqual([]);
    expect(plain.points.filter((p) => (p.params as { d_latent?: number }).d_latent === 512)).toHaveLength(2);
  });
});

describe('tests that need system tools', () => {
  it('skip with a reason when the tool is absent, and fail under ATTNLAB_REQUIRE_TOOLS=1', async () => {
    const { hasTool } = await import('../helpers.js');
    const saved = process.env['ATTNLAB_REQUIRE_TOOLS'];
    try {
      delete process.env['ATTNLAB_REQUIRE_TOOLS'];
      expect(hasTool('demo', ['sh'], 'x')).toBe(true);
      expect(hasTool('demo', ['sh', 'no-such-tool-attnlab'], 'apt-get install nothing')).toBe(false);
      process.env['ATTNLAB_REQUIRE_TOOLS'] = '1';
      expect(() => hasTool('demo', ['no-such-tool-attnlab'], 'apt-get install nothing')).toThrow(
        'ATTNLAB_REQUIRE_TOOLS=1 but demo tests need no-such-tool-attnlab (apt-get install nothing)',
      );
    } finally {
      if (saved === undefined) delete process.env['ATTNLAB_REQUIRE_TOOLS'];
      else process.env['ATTNLAB_REQUIRE_TOOLS'] = saved;
    }
  });
});

const scaling = await loadExperiment(resolveExperimentFile('scaling'));
describe('--set values checked against their parameter before the grid is built', () => {
  const scalingError = (sets: string[]): string => {
    try {
      resolveExperiment(scaling, { quick: false, sets });
    } catch (e) {
      if (isAttnlabError(e)) return e.message;
      throw e;
    }
    throw new Error('expected an error');
  };
  it('D=abc names D and what it takes, not the zip the grid would then trip over', () => {
    expect(scalingError(['D=abc'])).toBe('--set D=abc: D must be an integer from 1 to 256, got "abc"');
    expect(scalingError(['D=abc'])).toBe(msg.badSetType('D=abc', 'D', 'abc', 'an integer from 1 to 256'));
  });
  it('each element of a list, the ends of a range, booleans, enums and settings', () => {
    expect(scalingError(['D=[16,300]'])).toBe(msg.badSetType('D=[16,300]', 'D', 300, 'an integer from 1 to 256'));
    expect(scalingError(['N={geometric: {from: 1, to: 8, factor: 2}}'])).toContain(
      'N must be an integer from 2 to 1048576, got 1',
    );
    expect(scalingError(['causal=maybe'])).toBe(msg.badSetType('causal=maybe', 'causal', 'maybe', 'true or false'));
    expect(scalingError(['method=[softmaxx]'])).toContain(
      'method must be one of "softmax", "flash", "quadratic-kernel"',
    );
    expect(scalingError(['rounds=0'])).toBe(msg.badSetType('rounds=0', 'rounds', 0, 'an integer from 1 to 20'));
  });
  it('a value the parameter takes passes on to the structural checks (control)', () => {
    expect(scalingError(['D=[16, 32]'])).toContain('zip');
  });
});

describe('the configuration hash of an experiment that names a file', () => {
  const hashIn = async (dir: string, model: Buffer) => {
    mkdirSync(dir, { recursive: true });
    copyFileSync(join(ROOT, 'test/fixtures/attention-maps/planted.yaml'), join(dir, 'planted.yaml'));
    writeFileSync(join(dir, 'planted.onnx'), model);
    const resolved = resolveExperiment(await loadExperiment(join(dir, 'planted.yaml')), { quick: false, sets: [] });
    return { hash: configHash(resolved, 'onnx'), model: (resolved.settings as { model: string }).model };
  };
  const onnx = readFileSync(join(ROOT, 'test/fixtures/attention-maps/planted.onnx'));

  it('counts the file by its content, not where it lies: two clones in different folders resume each other', async () => {
    const root = tmp();
    const [a, b] = [await hashIn(join(root, 'one'), onnx), await hashIn(join(root, 'elsewhere/two'), onnx)];
    // The settings still hold the resolved path the simulation opens.
    expect(a.model).toBe(join(root, 'one', 'planted.onnx'));
    expect(b.model).toBe(join(root, 'elsewhere/two', 'planted.onnx'));
    expect(a.hash).toBe(b.hash);
  });

  it('a changed file changes the hash (control)', async () => {
    const root = tmp();
    const changed = Buffer.from(onnx);
    changed[changed.length - 1] = changed[changed.length - 1]! ^ 1;
    expect((await hashIn(join(root, 'one'), onnx)).hash).not.toBe((await hashIn(join(root, 'two'), changed)).hash);
  });
});
