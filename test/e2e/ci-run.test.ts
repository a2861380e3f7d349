/**
 * `.ci/run` (the CI entry point) under CI=true: bubblewrap is required, so the isolation tests can never skip
 * silently in CI (it once installed bubblewrap best-effort). Played on a copy of the script with a
 * PATH holding neither bwrap nor apt-get.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

describe('.ci/run requires bubblewrap under CI=true', () => {
  let dir: string;
  let bin: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cg-ci-run-'));
    mkdirSync(join(dir, '.ci'));
    copyFileSync(join(process.cwd(), '.ci', 'run'), join(dir, '.ci', 'run'));
    // only what the script's first lines use: no bwrap, no apt-get, no npm
    bin = join(dir, 'bin');
    mkdirSync(bin);
    for (const tool of ['bash', 'dirname', 'id'])
      for (const d of ['/usr/bin', '/bin'])
        try {
          symlinkSync(join(d, tool), join(bin, tool));
          break;
        } catch {
          /* not there, or already linked */
        }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const run = (env: Record<string, string>) =>
    spawnSync(join(bin, 'bash'), [join(dir, '.ci', 'run')], {
      env: { PATH: bin, HOME: dir, ...env },
      encoding: 'utf8',
      timeout: 30_000,
    });

  test('with CI=true and no way to install bwrap it stops before the tests, with a workflow error', () => {
    const r = run({ CI: 'true' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/::error::bubblewrap \(bwrap\) could not be installed: the sandbox tests cannot run/);
  });

  test('outside CI it goes on (the isolation tests skip with a reason there)', () => {
    const r = run({});
    expect(r.stderr).not.toMatch(/::error::bubblewrap/);
    expect(r.status).not.toBe(0); // it got as far as npm, which this PATH lacks
  });
});

/**
 * `npm test` (scripts/run-tests.mjs) runs vitest with TMPDIR pointing at a fresh directory and fails a step naming
 * whatever a test left there. Played on a copy of the driver in a throwaway project whose one test leaks a directory
 * (the typecheck, lint and format steps are stubbed to pass there).
 */
describe('npm test fails when a test leaves a temp dir behind', () => {
  let dir: string;
  let outer: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cg-leak-project-'));
    outer = join(dir, 'tmp');
    mkdirSync(outer);
    mkdirSync(join(dir, 'scripts'));
    for (const f of ['run-tests.mjs', 'test-tmpdir.mjs'])
      copyFileSync(join(process.cwd(), 'scripts', f), join(dir, 'scripts', f));
    for (const f of ['lint-workflows.mjs', 'check-format.mjs']) writeFileSync(join(dir, 'scripts', f), '');
    symlinkSync(join(process.cwd(), 'node_modules'), join(dir, 'node_modules'));
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({ files: ['stub.ts'], compilerOptions: { noEmit: true } }),
    );
    writeFileSync(join(dir, 'stub.ts'), 'export {};\n');
    const leak = (name: string, leaks: boolean) =>
      writeFileSync(
        join(dir, name),
        [
          "import { mkdtempSync } from 'node:fs';",
          "import { tmpdir } from 'node:os';",
          "import { join } from 'node:path';",
          "import { test } from 'vitest';",
          `test('${name}', () => { ${leaks ? "mkdtempSync(join(tmpdir(), 'cg-leaked-'));" : ''} });`,
          '',
        ].join('\n'),
      );
    leak('leaks.test.ts', true);
    leak('clean.test.ts', false);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const npmTest = (file: string) =>
    spawnSync(process.execPath, ['scripts/run-tests.mjs', file], {
      cwd: dir,
      env: { ...process.env, TMPDIR: outer, CI: '' },
      encoding: 'utf8',
      timeout: 140_000,
    });

  test('a leaking test fails the run with the step naming the directory; the summary line stays last', () => {
    const r = npmTest('leaks.test.ts');
    expect(r.stdout).toMatch(/^✗ temp dirs left behind: cg-leaked-\w+$/m);
    expect(r.stdout.trim().split('\n').at(-1)).toBe('4 passed, 1 failed');
    expect(r.status).toBe(1);
    expect(readdirSync(outer)).toEqual([]); // the run's directories are gone, the leak with them
  }, 150_000);

  test('a clean run passes the step', () => {
    const r = npmTest('clean.test.ts');
    expect(r.stdout).toMatch(/^✓ no temp dirs left behind$/m);
    expect(r.stdout.trim().split('\n').at(-1)).toBe('5 passed, 0 failed');
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(readdirSync(outer)).toEqual([]);
  }, 150_000);
});
