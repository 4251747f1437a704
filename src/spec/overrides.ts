import { parse as parseYaml } from 'yaml';
import { AttnlabError } from '../errors.js';
import { msg } from '../messages.js';
import type { Simulation } from '../sim/types.js';
import { expandGrid } from './grid.js';
import { validate } from './load.js';
import { Locator } from './locate.js';
import { experimentSchema, overlayGrid, type Experiment, type GridValues } from './schema.js';

export interface Overrides {
  /** Use the experiment's quick grid and settings. */
  quick: boolean;
  seed?: number | undefined;
  /** Raw `key=value` strings from --set, applied in order after --quick. */
  sets: readonly string[];
}

const TOP_LEVEL = ['seed', 'replicates'] as const;

/** The experiment a command actually runs: --quick, then each --set, then --seed; validated again after each. */
export function applyOverrides(base: Experiment, sim: Simulation, o: Overrides): Experiment {
  const schema = experimentSchema(sim);
  let exp: Experiment = structuredClone(base);
  if (o.quick) {
    exp = { ...exp, grid: overlayGrid(exp.grid, exp.quick.grid), settings: { ...exp.settings, ...exp.quick.settings } };
  }
  const settable = [...Object.keys(sim.params.shape), ...Object.keys(sim.settings.shape), ...TOP_LEVEL];
  for (const raw of o.sets) {
    const eq = raw.indexOf('=');
    if (eq <= 0) throw new AttnlabError('BAD_SET', msg.badSet(raw));
    const key = raw.slice(0, eq).trim();
    const text = raw.slice(eq + 1);
    if (!settable.includes(key)) throw new AttnlabError('BAD_SET', msg.badSetKey(key, settable));
    let value: unknown;
    try {
      value = parseYaml(text);
    } catch (e) {
      throw new AttnlabError('BAD_SET', msg.badSetValue(key, text, (e as Error).message.split('\n')[0]!));
    }
    if (key in sim.params.shape) {
      const isRange = value !== null && typeof value === 'object' && !Array.isArray(value) && ('geometric' in value || 'linear' in value);
      exp = { ...exp, grid: overlayGrid(exp.grid, { [key]: (Array.isArray(value) || isRange ? value : [value]) as GridValues }) };
    } else if (key in sim.settings.shape) {
      exp = { ...exp, settings: { ...exp.settings, [key]: value } };
    } else {
      exp = { ...exp, [key]: value };
    }
    const where = new Locator(`--set ${raw}`);
    exp = validate(schema, exp, where) as Experiment;
    expandGrid(exp, sim, where);
  }
  if (o.seed !== undefined) exp = validate(schema, { ...exp, seed: o.seed }, new Locator('--seed')) as Experiment;
  return exp;
}
