import seedrandom from 'seedrandom';
import { NormalRng } from './normal.js';

/**
 * The generator for one point × replicate. The state is derived from
 * (experiment seed, point id, replicate) through seedrandom's ARC4 key
 * schedule, never from execution order, so parallel, sharded and resumed runs
 * draw the same numbers.
 */
export function rngFor(seed: number, pointId: string, replicate: number): NormalRng {
  const mix = seedrandom(`attnlab/${seed}/${pointId}/${replicate}`);
  const state = new Uint32Array(4);
  for (let i = 0; i < 4; i++) state[i] = mix.int32() >>> 0;
  return new NormalRng(state);
}
