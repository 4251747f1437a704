/**
 * A simulation module's default export, checked field by field before anything reads it (src/spec/plugin.ts):
 * every required field missing, every field of the wrong type, and a field another tool would use, each named.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { isAttnlabError } from '../../src/errors.js';
import { msg } from '../../src/messages.js';
import { checkSimulation } from '../../src/spec/plugin.js';
import { defineSimulation } from '../../src/sim/types.js';
import { closest, editDistance } from '../../src/suggest.js';

const FILE = '/tmp/my-sim.ts';
const GOOD = {
  kind: 'my-sim',
  summary: 'one line',
  params: z.object({ d: z.number() }),
  settings: z.object({ trials: z.number().default(10) }),
  row: z.object({ d: z.number(), mean: z.number(), time_ms: z.number() }),
  measuredColumns: ['time_ms'],
  timing: false,
  run: () => [],
};
const ROW_EXPECTED =
  'a zod object whose keys, in order, are the columns of results.csv (z.object({ d: z.number(), ... }))';
const ALL_FIELDS = [
  'kind',
  'summary',
  'params',
  'settings',
  'row',
  'measuredColumns',
  'timing',
  'run',
  'paramsFor',
  'files',
  'prepare',
  'rounds',
  'combine',
  'setup',
  'estimateMs',
  'analyse',
  'engines',
  'tables',
];

/** The message checkSimulation throws for a module whose default export is defineSimulation(def). */
function problem(def: Record<string, unknown>): string {
  try {
    checkSimulation({ default: defineSimulation(def as never) }, FILE);
  } catch (e) {
    if (isAttnlabError(e)) return e.message;
    throw e;
  }
  return 'accepted';
}

describe('a simulation module checked field by field', () => {
  it('accepts the good definition (control)', () => {
    expect(problem(GOOD)).toBe('accepted');
  });

  const required: [field: string, expected: string, wrong: unknown][] = [
    ['kind', 'a lowercase name: letters, digits, dashes', 'My Sim'],
    ['summary', 'a one-line string', 42],
    ['params', 'a zod object of the grid axes (z.object({ ... }))', { d: 'number' }],
    ['settings', 'a zod object of the settings (z.object({ ... }))', z.number()],
    ['row', ROW_EXPECTED, z.object({ d: 'number' } as never)],
    ['measuredColumns', 'a list of column names (timings, excluded from determinism checks)', 'time_ms'],
    ['timing', 'true or false', 'no'],
    ['run', 'a function (point, ctx) => rows', 'run'],
  ];
  it.each(required)('%s missing, then of the wrong type', (field, expected, wrong) => {
    const without: Record<string, unknown> = { ...GOOD };
    delete without[field];
    expect(problem(without)).toBe(msg.pluginField(FILE, field, 'missing', expected));
    expect(problem({ ...GOOD, [field]: wrong })).toBe(msg.pluginField(FILE, field, 'wrong', expected));
  });

  it.each(['paramsFor', 'files', 'prepare', 'rounds', 'combine', 'setup', 'estimateMs', 'analyse'])(
    'optional %s: absent is fine, a non-function is named',
    (field) => {
      expect(problem({ ...GOOD, [field]: undefined })).toBe('accepted');
      expect(problem({ ...GOOD, [field]: 3 })).toBe(msg.pluginField(FILE, field, 'wrong', 'a function'));
    },
  );

  it('a measured column that is not a column is named with the columns', () => {
    expect(problem({ ...GOOD, measuredColumns: ['wall_ms'] })).toBe(
      msg.pluginField(FILE, 'measuredColumns', 'wrong', 'columns of its row (wall_ms is not one: d, mean, time_ms)'),
    );
  });

  it('`columns` instead of `row` (the shape other tools use): the unknown field is named, with what row must be', () => {
    const noRow: Record<string, unknown> = { ...GOOD };
    delete noRow['row'];
    const m = problem({ ...noRow, columns: ['d', 'mean', 'time_ms'] });
    expect(m).toBe(msg.pluginUnknownField(FILE, 'columns', ALL_FIELDS, { field: 'row', expected: ROW_EXPECTED }));
    expect(m).toContain(
      'it has no field "columns" (did you mean "row"? row must be a zod object whose keys, in order, are the columns',
    );
  });

  it('a misspelt field suggests the field it is closest to; a name far from all gets the list only', () => {
    expect(problem({ ...GOOD, analyze: () => ({}) })).toContain(
      'no field "analyze" (did you mean "analyse"? analyse must be a function)',
    );
    expect(problem({ ...GOOD, setings: GOOD.settings })).toContain('no field "setings" (did you mean "settings"?');
    expect(problem({ ...GOOD, colour: 'red' })).toBe(msg.pluginUnknownField(FILE, 'colour', ALL_FIELDS, undefined));
  });

  it('defineSimulation itself never throws on a malformed definition (no TypeError reaches the user)', () => {
    expect(() => defineSimulation({} as never)).not.toThrow();
    expect(() => defineSimulation({ row: null } as never)).not.toThrow();
    expect(problem({})).toBe(msg.pluginField(FILE, 'kind', 'missing', 'a lowercase name: letters, digits, dashes'));
  });
});

describe('did you mean', () => {
  it('edit distance by hand: kitten → sitting is 3; scalng → scaling is 1', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('scalng', 'scaling')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
  });
  it('suggests within max(2, length/3) edits, or a synonym; nothing for a name far from all', () => {
    expect(closest('scalng', ['qk-variance', 'scaling', 'softmax-saturation'])).toBe('scaling');
    expect(closest('columns', ['kind', 'row', 'run'])).toBe('row');
    expect(closest('banana', ['kind', 'row', 'run'])).toBeUndefined();
    expect(closest('scaling', ['scaling'])).toBeUndefined();
  });
  it('unknown experiment names and options say it', () => {
    expect(msg.unknownExperiment('scalng', ['qk-variance', 'scaling'])).toContain(
      'unknown experiment "scalng" (did you mean "scaling"?)',
    );
    expect(msg.unknownOption('--sed', ['--seed', '--set', '--quick'])).toContain('(did you mean "--seed"?)');
    expect(msg.unknownKey('settings', 'time_budget', ['time_budget_ms', 'rounds'])).toContain(
      '(did you mean "time_budget_ms"?)',
    );
  });
});
