/** `npm run report [-- --out DIR]`: rebuild results/index.html from every stored run's manifest. */
import { parseCommand, withExitCode } from '../src/commands.js';
import { rebuildIndex } from '../src/run/runner.js';

process.exitCode = await withExitCode(process, async () => {
  const { values } = parseCommand('report', process.argv.slice(2));
  console.log(rebuildIndex(values.out ?? 'results'));
  return 0;
});
