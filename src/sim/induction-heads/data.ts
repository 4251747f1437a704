/**
 * The data of induction-heads: sequences of uniform random tokens in which a segment recurs at a random offset,
 * drawn fresh every step from the point's generator, and the held-out batch of repeated random tokens the head
 * scores are measured on.
 */
import { msg } from '../../messages.js';
import type { NormalRng } from '../../random/normal.js';

/** What a position's next-token target is: the first copy or other text, a predictable repeat, or neither. */
export const Target = { none: 0, first: 1, repeated: 2 } as const;

export interface Batch {
  /** Token ids, row-major [size, T]. */
  tokens: Int32Array;
  /** Per position: the kind of its next token (Target), [size, T]. */
  kind: Uint8Array;
  size: number;
}

const draw = (rng: NormalRng, k: number) => Math.min(k - 1, Math.floor(rng.uniform() * k));

/**
 * `size` sequences of T random tokens; in each, the segment at a (length `segment`) recurs at b ≥ a + segment, a and
 * b drawn afresh per sequence. The targets t_{b+1} … t_{b+segment−1} are repeated (the token before them has occurred
 * before, followed by them); t_b is neither (its recurrence starts the copy but nothing announces it); every target
 * outside the second copy is a first occurrence (of the segment, or of other random text).
 */
export function repeatedSegments(size: number, n: number, vocab: number, segment: number, rng: NormalRng): Batch {
  if (2 * segment > n) throw new Error(msg.segmentTooLong(segment, n));
  const tokens = new Int32Array(size * n);
  const kind = new Uint8Array(size * n);
  for (let s = 0; s < size; s++) {
    const o = s * n;
    for (let i = 0; i < n; i++) tokens[o + i] = draw(rng, vocab);
    const a = draw(rng, n - 2 * segment + 1);
    const b = a + segment + draw(rng, n - segment - (a + segment) + 1);
    for (let i = 0; i < segment; i++) tokens[o + b + i] = tokens[o + a + i]!;
    // kind[i] describes target t_{i+1}.
    for (let i = 0; i < n - 1; i++) {
      const t = i + 1;
      kind[o + i] = t > b && t < b + segment ? Target.repeated : t >= b && t < b + segment ? Target.none : Target.first;
    }
  }
  return { tokens, kind, size };
}

/**
 * `size` sequences of a random segment of length n/2 followed by itself: the batch the prefix-matching score is
 * measured on. The segment's tokens are distinct where the vocabulary allows (a permutation's first n/2), so that
 * every token's earlier occurrence, and the key a prefix-matching head should attend to, is unique.
 */
export function repeatedRandom(size: number, n: number, vocab: number, rng: NormalRng): Batch {
  const period = Math.floor(n / 2);
  const tokens = new Int32Array(size * n);
  const kind = new Uint8Array(size * n);
  for (let s = 0; s < size; s++) {
    const o = s * n;
    const pool = Array.from({ length: vocab }, (_, i) => i);
    for (let i = 0; i < period; i++) {
      if (vocab >= period) {
        const j = i + draw(rng, vocab - i);
        [pool[i], pool[j]] = [pool[j]!, pool[i]!];
        tokens[o + i] = pool[i]!;
      } else tokens[o + i] = draw(rng, vocab);
    }
    for (let i = period; i < n; i++) tokens[o + i] = tokens[o + i - period]!;
    for (let i = 0; i < n - 1; i++)
      kind[o + i] = i + 1 > period ? Target.repeated : i + 1 === period ? Target.none : Target.first;
  }
  return { tokens, kind, size };
}
