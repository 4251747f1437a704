import { loadExperiment, resolveExperimentFile } from '../src/spec/load.js';
import { applyOverrides } from '../src/spec/overrides.js';
import { expandGrid } from '../src/spec/grid.js';
const [name, ...sets] = process.argv.slice(2) as [string, ...string[]];
const loaded = loadExperiment(resolveExperimentFile(name));
const exp = applyOverrides(loaded.experiment, loaded.sim, { quick: process.env.QUICK === '1', sets });
for (const p of expandGrid(exp, loaded.sim)) console.log(JSON.stringify(p.params), Math.round(loaded.sim.estimateMs!(p.params as never, exp.settings as never, 'onnx')));
