import { defineConfig } from 'vitest/config';

/**
 * Two projects: `unit` (pure logic, parallel) and `integration` (`*.int.test.ts`, against the real
 * lab: started by the global setup if it is not up, files run one at a time because they share it).
 */
export default defineConfig({
  test: {
    // CI also writes a JSON report, from which .ci/run prints a plain "N passed, N failed" line.
    reporters: process.env.CI ? ['default', ['json', { outputFile: '.ci/test-results.json' }]] : ['default'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/**/*.int.test.ts', 'node_modules/**'],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.int.test.ts'],
          globalSetup: ['test/support/labSetup.ts'],
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
