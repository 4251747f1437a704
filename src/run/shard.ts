/**
 * Shards: a grid split across processes or machines (`--shard i/n`), merged back later.
 * A point's shard depends only on its own id (a hash of its parameters), so the split is the same on
 * every machine, and adding a point to the grid never moves the others.
 */

/** Shard `index` of `count`, counted from 1 (`--shard 1/4` … `--shard 4/4`). */
export interface Shard {
  index: number;
  count: number;
}

/** The shard (1-based) a point id belongs to. */
export function shardOf(pointId: string, count: number): number {
  return (Number.parseInt(pointId.slice(0, 8), 16) % count) + 1;
}

/** `1/4` */

/** The suffix of a shard's run directory: `shard1of4`. */
export const shardDirSuffix = (s: Shard): string => `shard${s.index}of${s.count}`;

/** The points of `shard` in grid order (all of them without a shard). */
export function shardPoints<T extends { id: string }>(points: readonly T[], shard: Shard | undefined): T[] {
  return shard ? points.filter((p) => shardOf(p.id, shard.count) === shard.index) : [...points];
}
