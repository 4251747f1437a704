/**
 * "Did you mean …?": the allowed name closest to a mistyped one. Closeness is the edit distance (a typo:
 * `scalng` → `scaling`), or a synonym other tools use for the same thing (`columns` → `row`), so the
 * suggestion is one a user would recognise; a name far from every allowed one gets no suggestion.
 */

/** Names users bring from other tools, and the attnlab name each means. */
const SYNONYMS: Record<string, string> = {
  columns: 'row',
  schema: 'row',
  fields: 'row',
  name: 'kind',
  parameters: 'params',
  grid: 'params',
  options: 'settings',
  config: 'settings',
  simulate: 'run',
  analyze: 'analyse',
  experiment: 'name',
  trials: 'replicates',
  reps: 'replicates',
};

/** Levenshtein distance (insertions, deletions, substitutions), case-insensitive. */
export function editDistance(a: string, b: string): number {
  const [s, t] = [a.toLowerCase(), b.toLowerCase()];
  let prev = Array.from({ length: t.length + 1 }, (_, j) => j);
  for (let i = 1; i <= s.length; i++) {
    const cur = [i];
    for (let j = 1; j <= t.length; j++)
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (s[i - 1] === t[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[t.length]!;
}

/** The allowed name `name` most likely meant, or undefined: within max(2, ⌊length/3⌋) edits, or a known synonym. */
export function closest(name: string, allowed: readonly string[]): string | undefined {
  const synonym = SYNONYMS[name.toLowerCase()];
  if (synonym !== undefined && allowed.includes(synonym)) return synonym;
  let best: { name: string; d: number } | undefined;
  for (const a of allowed) {
    const d = editDistance(name, a);
    if (!best || d < best.d) best = { name: a, d };
  }
  return best && best.d > 0 && best.d <= Math.max(2, Math.floor(name.length / 3)) ? best.name : undefined;
}

/** ` (did you mean "x"?)` where a close allowed name exists, else nothing. */
export function didYouMean(name: string, allowed: readonly string[]): string {
  const c = closest(name, allowed);
  return c === undefined ? '' : ` (did you mean ${JSON.stringify(c)}?)`;
}
