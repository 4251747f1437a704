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
    // End-to-end tests spawn the CLI; two workers match the 2-core machine.
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
  },
});
