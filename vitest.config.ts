import { defineConfig } from 'vitest/config';
import { execFileSync } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * The sandbox of builds and tests hides the runner's home (docs/security.md): the host interpreter the fake
 * conda's envs link to, node and this checkout may live there (pyenv, nvm, a CI workspace), so the suites expose
 * them read-only, as an administrator would with CONDA_GITOPS_SANDBOX_EXPOSE.
 */
function sandboxExpose(): string {
  const dirs = [process.cwd(), dirname(dirname(realpathSync(process.execPath)))];
  try {
    const py = execFileSync(process.env.FAKE_CONDA_PYTHON ?? 'python3', [
      '-c',
      'import os,sys; print(os.path.realpath(sys.base_prefix))',
    ]);
    dirs.push(py.toString().trim());
  } catch {
    // no python: the suites that need one say so
  }
  return [...(process.env.CONDA_GITOPS_SANDBOX_EXPOSE ?? '').split(':').filter(Boolean), ...dirs].join(':');
}

/**
 * Three projects: `unit` (pure and in-process suites, fast: `npm run test:unit`), `e2e` (the compiled CLI,
 * the fake conda, crash and concurrency suites) and `real-conda` (real conda from ../shared/real-conda against the
 * fake, test/real-conda/: `npm run test:real-conda`; it skips with one line where the archives are absent).
 * `npm test` runs all three.
 */
const shared = {
  exclude: ['node_modules', 'dist', '.sandbox'],
  pool: 'forks' as const,
};

export default defineConfig({
  test: {
    maxWorkers: 2,
    env: { CONDA_GITOPS_SANDBOX_EXPOSE: sandboxExpose() },
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
      // real conda is slow (minutes per version on 2 cores): one file at a time, long timeouts
      {
        test: {
          ...shared,
          name: 'real-conda',
          include: ['test/real-conda/**/*.test.ts'],
          testTimeout: 15 * 60_000,
          hookTimeout: 15 * 60_000,
          fileParallelism: false,
          // prints the lane's summary line once per run (versions, probes compared, product scenarios)
          globalSetup: ['test/real-conda/summary.ts'],
        },
      },
    ],
  },
});
