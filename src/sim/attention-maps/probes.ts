/**
 * The sequences a point runs through the model (grid axis `probe`), drawn from the point's generator:
 * - random: uniform random token ids;
 * - repeated: a random segment of L = ⌊(T − prefix)/2⌋ tokens, then the same segment again (one random token after
 *   it when T − prefix is odd): the induction test of Olsson et al. 2022;
 * - tokens, text: the lists of settings.tokens, or settings.texts tokenized, each cut to its first T tokens.
 * The prefix (settings.prefix: a BOS or [CLS] id) opens every sequence and counts within T.
 */
import type { NormalRng } from '../../random/normal.js';
import type { Repeat } from './scores.js';

export const PROBES = ['random', 'repeated', 'tokens', 'text'] as const;
export type Probe = (typeof PROBES)[number];

export interface ProbeBatch {
  sequences: number[][];
  /** Where the repeated probe's copies lie (null for the others). */
  repeat: Repeat | null;
}

const draw = (rng: NormalRng, vocab: number, n: number) =>
  Array.from({ length: n }, () => Math.min(vocab - 1, Math.floor(rng.uniform() * vocab)));

/** `count` sequences of length T (for tokens and text: one per list, whatever `count`). */
export function probeSequences(
  probe: Probe,
  T: number,
  count: number,
  vocab: number,
  rng: NormalRng,
  prefix: readonly number[],
  lists: readonly (readonly number[])[],
): ProbeBatch {
  const p = prefix.length;
  if (probe === 'tokens' || probe === 'text')
    return { sequences: lists.map((l) => [...prefix, ...l].slice(0, T)), repeat: null };
  if (probe === 'random')
    return { sequences: Array.from({ length: count }, () => [...prefix, ...draw(rng, vocab, T - p)]), repeat: null };
  const L = Math.floor((T - p) / 2);
  return {
    sequences: Array.from({ length: count }, () => {
      const seg = draw(rng, vocab, L);
      return [...prefix, ...seg, ...seg, ...draw(rng, vocab, T - p - 2 * L)];
    }),
    repeat: { start: p, length: L },
  };
}
