/**
 * attnlab's public entry: what a simulation in the user's own file may import (`import { defineSimulation, z } from
 * 'attnlab'`). Everything else under src/ is internal and may change without notice.
 */
export { z } from 'zod';
export { defineSimulation } from './sim/types.js';
export type {
  Analysis,
  Cell,
  Row,
  RowOf,
  SetupResult,
  SimContext,
  SimPoint,
  Simulation,
  SimulationDefinition,
  Table,
} from './sim/types.js';
export type { NormalRng } from './random/normal.js';
// Estimators and intervals, as the built-in simulations use them.
export { moments, normalInterval, zScore, type Interval, type Moments } from './stats/moments.js';
export { median, medianInterval } from './stats/quantile.js';
export { normalQuantile, zCritical } from './stats/normal.js';
export { fitLine, logLogSlope, type LineFit } from './stats/fit.js';
export { crossover, crossoverInterval, rankClasses, GrowthClass, type ClassFit } from './stats/complexity.js';
// Timing a call the way the timing simulations do (tinybench, median with a distribution-free interval).
export {
  combineRounds,
  roundOptions,
  Samples,
  summarise,
  timeCall,
  timingColumns,
  timingSettings,
  timingWindow,
  type Round,
  type Timing,
  type TimingSettings,
} from './sim/timing.js';
