import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/** What both test runs share (this suite, and the real-timing comparisons of vitest.timing.config.ts). */
export const shared = {
  // In-process tests load simulation modules through vite: `from 'attnlab'` resolves as the CLI's hook does it
  // (src/spec/attnlab-hook.mjs), to the public entry.
  resolve: { alias: { attnlab: fileURLToPath(new URL('./src/index.ts', import.meta.url)) } },
  test: { testTimeout: 60_000, hookTimeout: 60_000, pool: 'forks' as const },
};

export default defineConfig({
  ...shared,
  test: {
    ...shared.test,
    include: ['test/**/*.test.ts'],
    // Real-timing comparisons run alone, after this suite (vitest.timing.config.ts).
    exclude: ['test/timing/**', '**/node_modules/**'],
    // Three workers on the 2-core machine: many tests wait on child processes (the CLI, Slurm jobs, Chromium), and a
    // third worker uses that time (the suite: 170 s against 196 – 220 s with two, here). Timing claims run alone anyway.
    poolOptions: { forks: { maxForks: 3, minForks: 1 } },
  },
});
