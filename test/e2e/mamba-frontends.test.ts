/**
 * The adapter (engine/conda.ts) against the fake's mamba 1.x / 2.x and micromamba (commands,
 * micromamba clean). The whole QA + deploy with each frontend is in qa-scenario.test.ts.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Conda } from '../../scripts/engine/conda.js';
import { installFakeConda, writeChannel, type FakeConda } from '../fake-conda/index.js';

let tmp: string;
let full: string;
let empty: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'cg-mamba-'));
  full = writeChannel(join(tmp, 'full'), [
    { name: 'python', version: '3.11.4', module: false },
    { name: 'numpy', version: '1.26.4', depends: ['python'] },
  ]);
  empty = writeChannel(join(tmp, 'empty'), [{ name: 'zlib', version: '1.2.13', module: false }]);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const install = (name: string, version: string, o: { frontend: 'mamba' | 'micromamba'; mambaVersion?: string }) =>
  installFakeConda(join(tmp, name), version, { channels: [name.startsWith('other') ? empty : full], ...o });

function envFile(): string {
  const file = join(tmp, 'numpy.yml');
  writeFileSync(file, 'name: numpy\ndependencies:\n  - python=3.11\n  - numpy=1.26\n');
  return file;
}

/** A package in an installation's cache that no env uses: what `clean --all` removes. */
function stalePackage(inst: FakeConda): string {
  const dir = join(inst.prefix, 'pkgs', 'stale-1.0-h0_0');
  mkdirSync(join(dir, 'info'), { recursive: true });
  writeFileSync(
    join(dir, 'info', 'index.json'),
    JSON.stringify({ name: 'stale', version: '1.0', build: 'h0_0', build_number: 0 }),
  );
  return dir;
}

describe('mamba 2 and micromamba work on the installation they belong to', () => {
  test('mamba 2.0.5 builds into its own installation when another mamba comes first on PATH', async () => {
    const ours = install('ours-205', '24.1.2', { frontend: 'mamba', mambaVersion: '2.0.5' });
    // the runner's own Miniforge, first on PATH: mamba 2.0.0-2.0.5 would take their root prefix from it
    const other = install('other-205', '24.1.2', { frontend: 'mamba', mambaVersion: '2.0.5' });
    const conda = Conda.forInstallation(ours.prefix, 'mamba', {
      env: { PATH: `${join(other.prefix, 'bin')}:${process.env.PATH}` },
    });
    const prefix = join(ours.prefix, 'builds', 'numpy', 'b1');
    const r = await conda.createFromFile(envFile(), prefix);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(existsSync(join(prefix, 'conda-meta'))).toBe(true);
    // and the package cache used is the installation's own
    expect(readFileSync(join(ours.prefix, 'pkgs', 'urls.txt'), 'utf8')).toMatch(/numpy-1\.26\.4/);
    expect(readFileSync(join(other.prefix, 'pkgs', 'urls.txt'), 'utf8')).not.toMatch(/numpy/);
  }, 120_000);

  test('an inherited MAMBA_ROOT_PREFIX does not make mamba 2 clean another installation', async () => {
    const ours = install('ours-210', '24.1.2', { frontend: 'mamba', mambaVersion: '2.1.0' });
    const other = install('other-210', '24.1.2', { frontend: 'mamba', mambaVersion: '2.1.0' });
    const theirs = stalePackage(other);
    const mine = stalePackage(ours);
    const saved = process.env.MAMBA_ROOT_PREFIX;
    process.env.MAMBA_ROOT_PREFIX = other.prefix; // the runner user's shell set it up for their own mamba
    try {
      const r = await Conda.forInstallation(ours.prefix, 'mamba').clean();
      expect(r.code, r.stdout + r.stderr).toBe(0);
    } finally {
      if (saved === undefined) delete process.env.MAMBA_ROOT_PREFIX;
      else process.env.MAMBA_ROOT_PREFIX = saved;
    }
    expect(existsSync(theirs)).toBe(true);
    expect(existsSync(mine)).toBe(false);
  }, 120_000);

  test('micromamba clean prunes the installation`s cache (micromamba clean refuses -r)', async () => {
    const micro = install('micro', '2.0.5', { frontend: 'micromamba' });
    const stale = stalePackage(micro);
    const r = await Conda.forInstallation(micro.prefix, 'micromamba').clean();
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(existsSync(stale)).toBe(false);
  }, 120_000);

  test('mamba 1.x keeps conda`s command line (no -r, which its argparse would refuse)', async () => {
    const m1 = install('mamba1', '23.11.0', { frontend: 'mamba', mambaVersion: '1.5.8' });
    const conda = Conda.forInstallation(m1.prefix, 'mamba');
    const prefix = join(m1.prefix, 'builds', 'numpy', 'b1');
    const r = await conda.createFromFile(envFile(), prefix);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect((await conda.list(prefix)).value?.map((p) => p.name)).toEqual(['numpy', 'python']);
    expect((await conda.version()).value).toEqual({ frontend: 'mamba', version: '1.5.8', conda: '23.11.0' });
  }, 120_000);
});
