import { defineConfig } from 'vitest/config';

/**
 * Two projects: `unit` (pure and in-process suites, fast: `npm run test:unit`) and `e2e` (the compiled CLI,
 * the fake conda, crash and concurrency suites). `npm test` runs both.
 */
const shared = {
  exclude: ['node_modules', 'dist', '.sandbox'],
  pool: 'forks' as const,
};

export default defineConfig({
  test: {
    maxWorkers: 2,
    projects: [
      {
        test: {
          ...shared,
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'test/architecture.test.ts'],
          testTimeout: 30_000,
        },
      },
      // end-to-end suites spawn the CLI and the fake conda: give them room on a 2-core machine
      {
        test: { ...shared, name: 'e2e', include: ['test/e2e/**/*.test.ts'], testTimeout: 60_000, hookTimeout: 60_000 },
      },
    ],
  },
});
