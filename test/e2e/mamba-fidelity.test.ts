/**
 * The fake's micromamba / mamba 2 against mamba's source: mamba-org/mamba is the
 * reference, file and line cited in test/fake-conda/README.md ("mamba and micromamba").
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Conda } from '../../scripts/engine/conda.js';
import { variablesNeedScripts } from '../../scripts/core/activation.js';
import { installFakeConda, runCondaAsync, writeChannel } from '../fake-conda/index.js';

let tmp: string;
let channel: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'cg-mambafid-'));
  channel = writeChannel(join(tmp, 'chan'), [
    { name: 'python', version: '3.11.4', module: false },
    { name: 'zlib', version: '1.2.13', module: false },
    { name: 'ipums_utils', version: '2.1', legacyNoarchPython: true },
  ]);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const micro = (name: string, version: string) =>
  installFakeConda(join(tmp, name), version, { channels: [channel], frontend: 'micromamba' });

function envFile(name: string, body: string): string {
  const file = join(tmp, `${name}.yml`);
  writeFileSync(file, `name: ${name}\ndependencies:\n${body}`);
  return file;
}

describe("a spec's variables: are read by libmamba from 2.2.0 only", () => {
  test('micromamba 2.1.0 ignores them (no conda-meta/state), 2.2.0 stores them; the product: scripts', async () => {
    const file = envFile('vars', '  - zlib\nvariables:\n  CG_MODE: strict\n');
    for (const [version, stored] of [
      ['2.1.0', false],
      ['2.2.0', true],
    ] as const) {
      const inst = micro(`vars-${version}`, version);
      const prefix = join(tmp, `vars-env-${version}`);
      const r = await Conda.forInstallation(inst.prefix, 'micromamba').createFromFile(file, prefix);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const state = join(prefix, 'conda-meta', 'state');
      expect(existsSync(state) ? JSON.parse(readFileSync(state, 'utf8')) : null, version).toEqual(
        stored ? { env_vars: { CG_MODE: 'strict' } } : null,
      );
      // the product: activation scripts wherever the frontend would drop them
      expect(variablesNeedScripts(version, 'micromamba'), version).toBe(!stored);
    }
    // mamba's own version is not in the inventory: mamba 2.0-2.1 drop them, so mamba always gets scripts
    expect(variablesNeedScripts('24.1.2', 'mamba')).toBe(true);
  }, 120_000);
});

describe('libmamba never runs pre-link scripts', () => {
  test('a legacy noarch_python package links "fine" on micromamba, without its files', async () => {
    const inst = micro('legacy', '2.0.5');
    const prefix = join(tmp, 'legacy-env');
    const r = await Conda.forInstallation(inst.prefix, 'micromamba').createFromFile(
      envFile('legacy', '  - python=3.11\n  - ipums_utils=2.1\n'),
      prefix,
    );
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/LinkError/);
    expect(existsSync(join(prefix, 'bin', '.ipums_utils-pre-link.sh'))).toBe(true);
    const meta = readFileSync(join(prefix, 'conda-meta', 'ipums_utils-2.1-py_0.json'), 'utf8');
    expect(meta).toContain('ipums_utils');
    // what the pre-link script would have moved into site-packages is not there
    expect(existsSync(join(prefix, 'lib', 'python3.11', 'site-packages', 'ipums_utils'))).toBe(false);
  }, 120_000);
});

describe('libmamba exit codes and prefix handling by version', () => {
  test('micromamba 2.0-2.1 refuse an existing empty prefix directory; 2.2 uses it', async () => {
    for (const [version, code] of [
      ['2.1.0', 1],
      ['2.2.0', 0],
    ] as const) {
      const inst = micro(`empty-${version}`, version);
      const prefix = join(tmp, `empty-env-${version}`);
      mkdirSync(prefix);
      const r = await Conda.forInstallation(inst.prefix, 'micromamba').create(prefix, ['zlib'], [channel]);
      expect(r.code, `${version}: ${r.stdout}${r.stderr}`).toBe(code);
      if (code) expect(r.stderr).toMatch(/Non-conda folder exists at prefix/);
    }
  }, 120_000);

  test("CLI11's exit code per error: 109 an unexpected argument, 114 an option without its value", async () => {
    const inst = micro('cli11', '2.0.5');
    const unexpected = await runCondaAsync(inst, ['create', '--frobnicate', '-p', join(tmp, 'x')]);
    expect(unexpected.code).toBe(109);
    expect(unexpected.stderr).toMatch(/The following argument was not expected: --frobnicate/);
    const noValue = await runCondaAsync(inst, ['create', '-y', '-p']);
    expect(noValue.code).toBe(114);
    expect(noValue.stderr).toMatch(/-p: 1 required TEXT missing/);
  }, 120_000);

  test('mamba >= 2.6 exits 0 on Ctrl-C; 2.5 does not', async () => {
    for (const [version, zero] of [
      ['2.5.0', false],
      ['2.6.0', true],
    ] as const) {
      const inst = micro(`sigint-${version}`, version);
      const child = spawn(inst.exe, ['info'], {
        env: { ...process.env, FAKE_CONDA_DELAY_MS: '5000' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
      await new Promise((r) => setTimeout(r, 1500));
      child.kill('SIGINT');
      const [code, signal] = await new Promise<[number | null, string | null]>((r) =>
        child.on('close', (c, s) => r([c, s])),
      );
      if (zero) {
        expect([code, signal], stderr).toEqual([0, null]);
        expect(stderr).toMatch(/Interrupted by user/);
      } else expect(code === 0 && signal === null, `${version}: ${code} ${signal}`).toBe(false);
    }
  }, 120_000);
});
