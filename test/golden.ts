import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';

const DIR = join(import.meta.dirname, 'golden');

/**
 * Compare `actual` with test/golden/<name>. On mismatch write <name>-changed
 * beside it (for a diff); UPDATE_GOLDEN=1 rewrites the golden file instead.
 */
export function expectGolden(name: string, actual: string): void {
  const file = join(DIR, name);
  if (process.env['UPDATE_GOLDEN'] === '1' || !existsSync(file)) {
    writeFileSync(file, actual);
    if (process.env['UPDATE_GOLDEN'] !== '1')
      throw new Error(`golden file ${name} was missing and has been written; check it in`);
    return;
  }
  const expected = readFileSync(file, 'utf8');
  // variance-vs-d.vl.json → variance-vs-d-changed.vl.json
  const changed = name.replace(/^([^.]+)/, '$1-changed');
  if (expected !== actual) writeFileSync(join(DIR, changed), actual);
  expect(actual, `golden ${name} (see test/golden/${changed})`).toBe(expected);
}
