import { z } from 'zod';

/** What a zod issue says was expected, worded to follow "expected" in a message. */
export function describeExpected(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_value') return `one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
  if (issue.code === 'invalid_union') {
    return 'a list of values, {geometric: {from, to, factor}} or {linear: {from, to, step}}, or another allowed form (see experiments/schema.json)';
  }
  // zod says "Invalid input: expected number, received string"; the message around it already says "expected".
  return issue.message
    .replace(/^Invalid input: /, '')
    .replace(/^Too small: /, '')
    .replace(/^Too big: /, '')
    .replace(/^expected /, '');
}

/** The schema under its wrappers (default, optional, nullable, prefault, readonly): the type it checks. */
function unwrap(schema: z.core.$ZodType): z.core.$ZodTypes {
  let s = schema as z.core.$ZodTypes;
  for (;;) {
    const def = s._zod.def;
    if (!['default', 'optional', 'nullable', 'prefault', 'readonly'].includes(def.type) || !('innerType' in def))
      return s;
    s = def.innerType as z.core.$ZodTypes;
  }
}

/**
 * A schema's allowed values in words ("an integer from 1 to 256", `one of "a", "b"`), or undefined where it has no
 * short wording.
 */
export function describeSchema(schema: z.ZodType): string | undefined {
  const s = unwrap(schema);
  const def = s._zod.def;
  switch (def.type) {
    case 'boolean':
      return 'true or false';
    case 'string':
      return 'a string';
    case 'enum':
      return `one of ${Object.values(def.entries)
        .map((v) => JSON.stringify(v))
        .join(', ')}`;
    case 'number': {
      const bounds = (def.checks ?? []).map((c) => c._zod.def);
      const low = bounds.find((b): b is z.core.$ZodCheckGreaterThanDef => b.check === 'greater_than');
      const high = bounds.find((b): b is z.core.$ZodCheckLessThanDef => b.check === 'less_than');
      const from = low ? (low.inclusive ? `from ${low.value}` : `above ${low.value}`) : '';
      const to = high ? (high.inclusive ? `to ${high.value}` : `below ${high.value}`) : '';
      const range = low && high && !low.inclusive ? `${from} and ${to}` : [from, to].filter(Boolean).join(' ');
      return [s instanceof z.ZodNumber && s.isInt ? 'an integer' : 'a number', range].filter(Boolean).join(' ');
    }
    default:
      return undefined;
  }
}
