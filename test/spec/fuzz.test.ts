import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import seedrandom from 'seedrandom';
import { describe, expect, it } from 'vitest';
import { isAttnlabError } from '../../src/errors.js';
import { EXPERIMENTS_DIR, listExperimentNames, parseExperiment } from '../../src/spec/load.js';
import { resolveExperiment } from '../../src/spec/resolve.js';

const CASES = 1200;
const JUNK = [
  ':',
  '-',
  '- ',
  '[',
  ']',
  '{',
  '}',
  '"',
  "'",
  '#',
  '&a',
  '*a',
  '!!str ',
  '\t',
  '\n',
  '  ',
  '0',
  '-1',
  'NaN',
  '.nan',
  '1e309',
  '1e9',
  'null',
  '~',
  'é',
  '√',
  '😀',
  '\u0000',
  '<<: *a',
];
const NUMBERS = ['-1', '0', 'NaN', '.nan', '.inf', '-.inf', '1e309', '99999999999', '1.5', '"12"', '[]', '{}', 'true'];

/** One random damage: delete, insert, replace a number, swap or duplicate lines, truncate. */
function mutate(text: string, rnd: () => number): string {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
  const at = Math.floor(rnd() * text.length);
  switch (Math.floor(rnd() * 6)) {
    case 0:
      return text.slice(0, at) + text.slice(at + 1 + Math.floor(rnd() * 20));
    case 1:
      return text.slice(0, at) + pick(JUNK) + text.slice(at);
    case 2: {
      const nums = [...text.matchAll(/-?\d+(\.\d+)?(e\d+)?/g)];
      if (!nums.length) return text;
      const m = pick(nums);
      return text.slice(0, m.index) + pick(NUMBERS) + text.slice(m.index! + m[0].length);
    }
    case 3: {
      const lines = text.split('\n');
      const i = Math.floor(rnd() * lines.length);
      const j = Math.floor(rnd() * lines.length);
      [lines[i], lines[j]] = [lines[j]!, lines[i]!];
      return lines.join('\n');
    }
    case 4: {
      const lines = text.split('\n');
      const i = Math.floor(rnd() * lines.length);
      lines.splice(i, 0, lines[i]!);
      return lines.join('\n');
    }
    default:
      return text.slice(0, at);
  }
}

describe('fuzzed experiment files', () => {
  it(`${CASES} seeded mutations of every experiment file end in a coded error or a valid experiment`, async () => {
    const rnd = seedrandom('attnlab-fuzz-1');
    const sources = listExperimentNames().map((n) => readFileSync(join(EXPERIMENTS_DIR, `${n}.yaml`), 'utf8'));
    const outcomes = { valid: 0, coded: 0 };
    for (let c = 0; c < CASES; c++) {
      let text = sources[c % sources.length]!;
      const damage = 1 + Math.floor(rnd() * 3);
      for (let k = 0; k < damage; k++) text = mutate(text, rnd);
      try {
        const loaded = await parseExperiment(text, 'fuzz.yaml');
        resolveExperiment(loaded, { quick: true, sets: ['seed=3'] });
        outcomes.valid++;
      } catch (e) {
        if (!isAttnlabError(e)) throw new Error(`case ${c}: ${(e as Error).stack}\n--- input ---\n${text}`);
        expect(e.format()).toMatch(/^error: .+ \[[A-Z_]+\]$/s);
        outcomes.coded++;
      }
    }
    // Both kinds occur: the mutations are neither all fatal nor all harmless.
    expect(outcomes.valid).toBeGreaterThan(CASES / 20);
    expect(outcomes.coded).toBeGreaterThan(CASES / 4);
  }, 120_000);
});
