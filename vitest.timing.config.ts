import { defineConfig } from 'vitest/config';
import { shared } from './vitest.config.js';

// Tests that compare real timings run before the main suite (which leaves the machine's timings unsteady for a while),
// one file at a time, with nothing else on the machine.
export default defineConfig({
  ...shared,
  test: { ...shared.test, include: ['test/timing/**/*.test.ts'], poolOptions: { forks: { maxForks: 1, minForks: 1 } } },
});
