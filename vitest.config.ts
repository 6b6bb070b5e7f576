import { defineConfig } from 'vitest/config';
import { TEST_LABS } from './test/support/labSlots';

/**
 * Two projects: `unit` (pure logic) and `integration` (`*.int.test.ts`, against the real lab: the
 * global setup starts it where it is not up). Files of both run side by side in one pool of workers.
 */
export default defineConfig({
  test: {
    // Two files at a time (vitest's default is one fewer than the cores: one here). Most files wait
    // more than they compute (on brokers, Temporal timers, CLI child processes), so one file's CPU
    // fills the other's wait. Each integration file needs a lab of its own: as many workers as labs.
    maxWorkers: TEST_LABS,
    // CI also writes a JSON report, from which .ci/run prints a plain "N passed, N failed" line.
    reporters: process.env.CI ? ['default', ['json', { outputFile: '.ci/test-results.json' }]] : ['default'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/**/*.int.test.ts', 'node_modules/**'],
          globalSetup: ['test/support/cliBundleSetup.ts'],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.int.test.ts'],
          globalSetup: ['test/support/cliBundleSetup.ts', 'test/support/labSetup.ts'],
          // labSlot.ts first: it picks the worker's lab before anything reads the lab's settings.
          setupFiles: ['test/support/labSlot.ts', 'test/support/ensureLab.ts'],
          testTimeout: 180_000,
          hookTimeout: 300_000,
          pool: 'forks',
        },
      },
    ],
  },
});
