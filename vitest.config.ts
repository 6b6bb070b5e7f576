import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

/**
 * Two projects: `unit` (pure logic, parallel) and `integration` (`*.int.test.ts`, against the real
 * lab: started by the global setup if it is not up, files run one at a time because they share it).
 */
export default defineConfig({
  test: {
    // Unit files at least two at a time (vitest's default is one fewer than the cores: one here): many
    // of them wait on a bin/lifeboat child process, so one file's CPU fills the other's wait. The
    // integration files still run one at a time (singleFork below), after the unit files.
    maxWorkers: Math.max(2, availableParallelism() - 1),
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
          setupFiles: ['test/support/ensureLab.ts'],
          testTimeout: 180_000,
          hookTimeout: 300_000,
          pool: 'forks',
          poolOptions: { forks: { singleFork: true } },
        },
      },
    ],
  },
});
