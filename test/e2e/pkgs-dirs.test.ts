/**
 * Conda uses only the configured package caches (`pkgs_dirs`: the inventory's `pkgs-dirs`,
 * written into the installation's .condarc) and raises NoWritablePkgsDirError when none can be written
 * (conda/core/package_cache_data.py first_writable, 4.6+). The sandbox must make writable the caches the
 * configuration names (core/pkgcache.ts packageCaches), not a hard-coded ROOT/vX/pkgs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Context } from '../../scripts/app/context.js';
import { memoryOutput } from '../../scripts/cli/output.js';
import { packageCaches } from '../../scripts/core/pkgcache.js';
import { installFakeConda, runConda, writeChannel, type FakeConda } from '../fake-conda/index.js';
import { runCommand } from '../fixtures/command.js';
import { inventoryText, specText } from '../fixtures/repo.js';

const BWRAP = '/usr/bin/bwrap';
const hasBwrap = existsSync(BWRAP) && runConda(BWRAP, ['--dev-bind', '/', '/', '/bin/true']).code === 0;

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
    const repo = join(tmp, 'repo');
    mkdirSync(join(repo, 'env-specs'), { recursive: true });
    const inventory = inventoryText({ envs: { small: 'REPLICATE' }, version: VERSION, channels: [channel] }).replace(
      '[environments]',
      `pkgs-dirs = ${cache}\n\n[environments]`,
    );
    writeFileSync(join(repo, 'inventory.ini'), inventory.replace(`\n\npkgs-dirs`, `\npkgs-dirs`));
    writeFileSync(join(repo, 'env-specs', 'small.yml'), specText('small', { channels: [channel], deps: ['zlib'] }));
    const out = memoryOutput(true);
    const saved = process.env.CONDA_GITOPS_SANDBOX;
    process.env.CONDA_GITOPS_SANDBOX = 'bwrap';
    let code: number;
    try {
      code = await runCommand('build', {
        options: { root: join(tmp, 'root'), json: true },
        positionals: [],
        out,
        repo,
        env: process.env,
      } as Context);
    } finally {
      if (saved === undefined) delete process.env.CONDA_GITOPS_SANDBOX;
      else process.env.CONDA_GITOPS_SANDBOX = saved;
    }
    expect(code, out.lines.join('\n') + out.errors.join('\n')).toBe(0);
    expect(readdirSync(cache).join(' ')).toMatch(/zlib-1\.2\.13/);
  });
});
