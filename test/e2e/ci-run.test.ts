/**
 * `.ci/run` (the CI entry point) under CI=true: bubblewrap is required, so the isolation tests can never skip
 * silently in CI (issue 18, "`.ci/run` installs bubblewrap best-effort"). Played on a copy of the script with a
 * PATH holding neither bwrap nor apt-get.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
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
