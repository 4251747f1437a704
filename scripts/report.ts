/** `npm run report [-- --out DIR]`: rebuild results/index.html from every stored run's manifest. */
import { parseArgs } from 'node:util';
import { rebuildIndex } from '../src/run/runner.js';

const { values } = parseArgs({ options: { out: { type: 'string' } } });
console.log(rebuildIndex(values.out ?? 'results'));
