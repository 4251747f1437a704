import type { z } from 'zod';

/** What a zod issue says was expected, worded to follow "expected" in a message. */
export function describeExpected(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_value') return `one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
  if (issue.code === 'invalid_union') {
    return 'a list of values, {geometric: {from, to, factor}} or {linear: {from, to, step}}, or another allowed form (see experiments/schema.json)';
  }
  // zod says "Invalid input: expected number, received string"; the message around it already says "expected".
  return issue.message.replace(/^Invalid input: /, '').replace(/^Too small: /, '').replace(/^Too big: /, '').replace(/^expected /, '');
}
