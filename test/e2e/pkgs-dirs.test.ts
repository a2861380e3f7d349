/**
 * Conda uses only the configured package caches (`pkgs_dirs`: the inventory's `pkgs-dirs`,
 * written into the installation's .condarc) and raises NoWritablePkgsDirError when none can be written
 * (conda/core/package_cache_data.py first_writable, 4.6+). The sandbox must make writable the caches the
 * configuration names (core/pkgcache.ts packageCaches), not a hard-coded ROOT/vX/pkgs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageCaches } from '../../scripts/core/pkgcache.js';
import { installFakeConda, runConda, writeChannel, type FakeConda } from '../fake-conda/index.js';
import { BWRAP, buildWithProcessEnv, hasBwrap } from '../fixtures/command.js';
import { writeRepo } from '../fixtures/qa-world.js';
import { specText } from '../fixtures/repo.js';

let tmp: string;
let channel: string;
let fake: FakeConda;
let cache: string;
const VERSION = '24.11.3';

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'cg-pkgsdirs-'));
  channel = writeChannel(join(tmp, 'channel'), [{ name: 'zlib', version: '1.2.13', module: false }]);
  cache = join(tmp, 'shared-cache');
  mkdirSync(cache);
  fake = installFakeConda(join(tmp, 'root', `v${VERSION}`), VERSION, { channels: [channel] });
  // what install-conda writes for `pkgs-dirs = …`
  appendFileSync(join(fake.prefix, '.condarc'), `pkgs_dirs:\n  - ${cache}\n`);
}, 120_000);
afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('pkgs-dirs', () => {
  it('one place decides the caches: the configured ones, else ROOT/vX/pkgs', () => {
    expect(packageCaches('/pkg/conda/v24.11.3')).toEqual(['/pkg/conda/v24.11.3/pkgs']);
    expect(packageCaches('/pkg/conda/v24.11.3', ['/cache/a/', '/cache/b'])).toEqual(['/cache/a', '/cache/b']);
  });

  it.skipIf(!hasBwrap)('the fake, like conda 4.6+, fails with NoWritablePkgsDirError when no cache is writable', () => {
    const env = { PATH: '/usr/bin:/bin', HOME: tmp, CONDARC: join(fake.prefix, '.condarc') };
    const args = ['--dev-bind', '/', '/', '--ro-bind', cache, cache, fake.exe, 'create', '-y', '-p'];
    const r = runConda(BWRAP, [...args, join(tmp, 'ro-env'), 'zlib'], { env });
    expect(r.code).toBe(1);
    expect(r.stderr + r.stdout).toContain(
      `NoWritablePkgsDirError: No writeable pkgs directories configured.\n  - ${cache}`,
    );
  });

  it.skipIf(!hasBwrap)('a sandboxed build writes the configured cache (not ROOT/vX/pkgs)', async () => {
    const repo = writeRepo(
      join(tmp, 'repo'),
      { envs: { small: 'REPLICATE' }, version: VERSION, channels: [channel], pkgsDirs: [cache] },
      { small: specText('small', { channels: [channel], deps: ['zlib'] }) },
    );
    const { code, text } = await buildWithProcessEnv(join(tmp, 'root'), repo, { CONDA_GITOPS_SANDBOX: 'bwrap' });
    expect(code, text).toBe(0);
    expect(readdirSync(cache).join(' ')).toMatch(/zlib-1\.2\.13/);
  });
});
