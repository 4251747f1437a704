/** A uniform generator in [0, 1). */
export type Uniform = () => number;

/**
 * sfc32 (Chris Doty-Humphrey's small fast chaotic generator) seeded with four 32-bit words drawn from `seed`: for hot
 * loops that draw millions of integers, several times faster than seedrandom and still reproducible from its seed.
 * Returns `below(n)`, an integer in [0, n).
 */
export function sfc32Below(seed: Uniform): (n: number) => number {
  let [a, b, c, d] = Array.from({ length: 4 }, () => Math.floor(seed() * 2 ** 32) | 0) as [
    number,
    number,
    number,
    number,
  ];
  return (n: number): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (((c << 21) | (c >>> 11)) + t) | 0;
    return Math.floor(((t >>> 0) / 4294967296) * n);
  };
}
