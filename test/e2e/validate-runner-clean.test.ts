/** `validate --runner` says so when this runner user's environment is clean (silence read as "did it run?"). */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { execute } from '../../scripts/cli/dispatch.js';
import { memoryOutput } from '../../scripts/cli/output.js';
import { tempDir, writeRepo } from '../fixtures/installation.js';

const dir = tempDir('cg-runner-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('validate --runner with no rc file that would leak: says it is clean', async () => {
  const repo = join(dir, 'repo');
  const home = join(dir, 'home');
  mkdirSync(home);
  mkdirSync(join(dir, 'root'));
  await writeRepo(repo, { envs: { a: 1 } });
  const out = memoryOutput();
  const env = { PATH: process.env.PATH, HOME: home, XDG_CONFIG_HOME: join(home, '.config') };
  const code = await execute(['validate', '--runner', '--root', join(dir, 'root')], { out, cwd: repo, env });
  expect(code).toBe(0);
  expect(out.lines.join('\n')).toMatch(/runner: clean: no rc file of this user would leak into builds/);
});
