/**
 * Hermetic builds (docs/security.md, "Hermetic builds"): the fake models what real conda and libmamba do
 * with the runner user's home, and builds get a private, writable home of their own.
 *
 * - No conda reads CONDA_RESTRICT_RC_SEARCH_PATH (conda/base/constants.py SEARCH_PATH is unconditional, 24.9 to
 *   26.x; real conda: test/real-conda/hermetic.test.ts).
 * - conda 4.4.0–4.6.8: RegisterEnvironmentLocationAction.verify touches ~/.conda/environments.txt unguarded
 *   (conda/core/path_actions.py, tag 4.6.8 line 921): a transaction in a read-only home fails with
 *   NotWritableError; 4.6.9 catches it (conda/conda#8451, #8453) and warns.
 * - libmamba 2.0–2.8.1: EnvironmentsManager::register_env tries to create ~/.conda/environments.txt and ignores a
 *   failure, then read_lines() of the missing file throws "failed to open …" (libmamba/src/core/
 *   environments_manager.cpp, util.cpp read_lines): every create fails in a read-only home without that file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { installFakeConda, runConda, writeChannel, type FakeConda } from '../fake-conda/index.js';
import { BWRAP, buildWithProcessEnv, hasBwrap } from '../fixtures/command.js';
import { writeRepo } from '../fixtures/qa-world.js';
import { specText } from '../fixtures/repo.js';

let tmp: string;
let channel: string;
const fakes: Record<string, FakeConda> = {};
const fake = (key: string, version: string, o: { frontend?: 'micromamba' | 'mamba'; mambaVersion?: string } = {}) =>
  (fakes[key] ??= installFakeConda(join(tmp, key, `v${version}`), version, {
    channels: [channel],
    home: '$HOME',
    ...o,
  }));

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'cg-hermetic-'));
  channel = writeChannel(join(tmp, 'channel'), [
    { name: 'python', version: '3.11.4', module: false },
    { name: 'zlib', version: '1.2.13', module: false },
  ]);
}, 120_000);
afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** The fake run with its home read-only (a bind mount: root ignores file modes). */
function readOnlyHome(f: FakeConda, home: string, args: string[]) {
  const env = { PATH: '/usr/bin:/bin', HOME: home, CONDARC: join(f.prefix, '.condarc') };
  return runConda(BWRAP, ['--dev-bind', '/', '/', '--ro-bind', home, home, f.exe, ...args], { env });
}

describe('the fake, like conda, reads the runner user rc files whatever CONDA_RESTRICT_RC_SEARCH_PATH says', () => {
  for (const version of ['23.11.0', '24.11.3', '25.11.1']) {
    it(`conda ${version}`, () => {
      const f = fake(`rc-${version}`, version);
      const home = join(tmp, `home-rc-${version}`);
      mkdirSync(home, { recursive: true });
      writeFileSync(join(home, '.condarc'), 'channels:\n  - https://example.invalid/runnerchan\n');
      const env = {
        PATH: '/usr/bin:/bin',
        HOME: home,
        CONDARC: join(f.prefix, '.condarc'),
        CONDA_RESTRICT_RC_SEARCH_PATH: '1',
      };
      const r = runConda(f, ['info', '--json'], { env });
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.stringify(JSON.parse(r.stdout).channels)).toContain('example.invalid/runnerchan');
    });
  }
});

describe.skipIf(!hasBwrap)('a read-only home (the fake models conda and libmamba)', () => {
  it('conda 4.6.8 fails the transaction with NotWritableError; 4.6.9 warns and creates', () => {
    const home = join(tmp, 'home-ro-46');
    mkdirSync(home, { recursive: true });
    const old = readOnlyHome(fake('c468', '4.6.8'), home, ['create', '-y', '-p', join(tmp, 'e468'), 'zlib']);
    expect(old.code).toBe(1);
    expect(old.stderr + old.stdout).toContain('NotWritableError: The current user does not have write permissions');
    expect(old.stderr + old.stdout).toContain(`path: ${join(home, '.conda', 'environments.txt')}`);
    expect(existsSync(join(tmp, 'e468', 'conda-meta', 'zlib-1.2.13-0.json'))).toBe(false);
    const fixed = readOnlyHome(fake('c469', '4.6.9'), home, ['create', '-y', '-p', join(tmp, 'e469'), 'zlib']);
    expect(fixed.code, fixed.stderr).toBe(0);
    expect(fixed.stderr).toContain('Unable to create environments file. Path not writable.');
  });

  it('micromamba 2.0.5 fails every create without ~/.conda/environments.txt; with the file it works', () => {
    const f = fake('mm205', '2.0.5', { frontend: 'micromamba' });
    const home = join(tmp, 'home-ro-mm');
    mkdirSync(home, { recursive: true });
    const args = (p: string) => ['create', '-y', '-r', f.prefix, '-p', join(tmp, p), '-c', channel, 'zlib'];
    const r = readOnlyHome(f, home, args('emm1'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`failed to open ${join(home, '.conda', 'environments.txt')}`);
    mkdirSync(join(home, '.conda'));
    writeFileSync(join(home, '.conda', 'environments.txt'), '');
    const ok = readOnlyHome(f, home, args('emm2'));
    expect(ok.code, ok.stderr).toBe(0);
  });
});

describe.skipIf(!hasBwrap)('builds have a private, writable home', () => {
  // a service user's HOME that does not exist: in the sandbox it is read-only (nothing to hide)
  for (const [key, version, frontend] of [
    ['b468', '4.6.8', 'conda'],
    ['bmm205', '2.0.5', 'micromamba'],
  ] as const) {
    it(`${frontend} ${version}: a build succeeds with the runner's HOME read-only`, async () => {
      const f = fake(key, version, frontend === 'micromamba' ? { frontend } : {});
      const repo = writeRepo(
        join(tmp, `repo-${key}`),
        { envs: { small: 'REPLICATE' }, version, frontend, channels: [channel] },
        { small: specText('small', { channels: [channel], deps: ['zlib'] }) },
      );
      const { code, text } = await buildWithProcessEnv(join(f.prefix, '..'), repo, {
        HOME: '/nonexistent-cg-runner-home',
        CONDA_GITOPS_SANDBOX: 'bwrap',
      });
      expect(code, text).toBe(0);
      expect(existsSync('/nonexistent-cg-runner-home')).toBe(false);
    });
  }
});
