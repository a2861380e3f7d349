/**
 * install-conda: the installer [conda] installer names runs as `bash INSTALLER -b -p ROOT/vV`, the
 * installation is verified and gets its .condarc from the inventory; failures of every kind leave ROOT/current
 * and ROOT/qa untouched and say what happened.
 */
import { execFileSync } from 'node:child_process';
import { runningInstallers } from '../../scripts/state/installation.js';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { load } from 'js-yaml';
import { memoryOutput } from '../../scripts/cli/output.js';
import { runCommand } from '../fixtures/command.js';
import { builtCli, runCli } from '../fixtures/repo.js';
import { hostPython, installerPath, installerTemplate, writeChannel } from '../fake-conda/index.js';
import { acquireLock } from '../../scripts/state/lock.js';
import { INSTALLATION_MARKER } from '../../scripts/core/layout.js';

const NEW = '24.1.2';
let base: string;
let template: string;
const DIST = join(installerPath(), '..', '..', '..', 'dist', 'test', 'fake-conda');

/** the fake installer finds node, python and its code through these (given to it by [conda] pass-env) */
const PASS = ['FAKE_CONDA_PYTHON', 'FAKE_CONDA_PYTHON_VERSION', 'FAKE_CONDA_DIST'];

function inventory(o: { installer: string; extra?: string[]; channels?: string }): string {
  return [
    '[conda]',
    `version = ${NEW}`,
    `channels = ${o.channels ?? 'conda-forge'}`,
    `installer = ${o.installer}`,
    `pass-env = ${PASS.join(', ')}`,
    ...(o.extra ?? []),
    '',
    '[environments]',
    'a = REPLICATE',
    '',
  ].join('\n');
}

/** a ROOT with current and qa pointing at an (empty) older installation */
function makeCase(name: string, inv: Parameters<typeof inventory>[0]) {
  const dir = join(base, name);
  const root = join(dir, 'root');
  const repo = join(dir, 'repo');
  mkdirSync(join(root, 'v23.11.0'), { recursive: true });
  symlinkSync('v23.11.0', join(root, 'current'));
  symlinkSync('v23.11.0', join(root, 'qa'));
  mkdirSync(join(repo, 'env-specs'), { recursive: true });
  writeFileSync(join(repo, 'inventory.ini'), inventory(inv));
  writeFileSync(join(repo, 'env-specs', 'a.yml'), 'name: a\nchannels:\n  - conda-forge\ndependencies:\n  - zlib\n');
  const links = () => [readlinkSync(join(root, 'current')), readlinkSync(join(root, 'qa'))];
  return { dir, root, repo, links, inst: join(root, `v${NEW}`) };
}

async function installConda(c: { root: string; repo: string }, options: Record<string, unknown> = {}) {
  const out = memoryOutput(true);
  const code = await runCommand('install-conda', {
    options: { root: c.root, json: true, ...options },
    positionals: [],
    out,
    repo: c.repo,
    env: process.env,
  });
  return { code, out, result: out.results[0] as Record<string, unknown>, text: out.errors.join('\n') };
}

/** an installer template: `bash SCRIPT -b -p PREFIX` runs BODY with $3 = PREFIX */
function script(name: string, body: string): string {
  writeFileSync(join(base, 'installers', name.replace('{version}', NEW)), `#!/bin/bash\nset -eu\n${body}\n`);
  return join(base, 'installers', name);
}

beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), 'cg-install-conda-'));
  template = installerTemplate(join(base, 'installers'), [NEW, '23.11.0']);
  process.env.FAKE_CONDA_PYTHON = hostPython().python;
  process.env.FAKE_CONDA_PYTHON_VERSION = hostPython().version;
  process.env.FAKE_CONDA_DIST = DIST;
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

/** Kill what still runs an installer into `dir` (what an admin does after a killed install-conda), and wait. */
function killInstallers(dir: string): void {
  for (const { pid } of runningInstallers(dir)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone already */
    }
  }
  const until = Date.now() + 10_000;
  while (runningInstallers(dir).length && Date.now() < until) execFileSync('sleep', ['0.1']);
}

describe('install-conda', () => {
  test('installs the inventory version with its .condarc, marks it, and a second run leaves it alone', async () => {
    const c = makeCase('ok', {
      installer: template,
      channels: 'mpc, conda-forge',
      extra: ['custom-channels = mpc=file:///srv/internal', 'solver = libmamba'],
    });
    const first = await installConda(c);
    expect(first.code).toBe(0);
    expect(first.result).toMatchObject({ ok: true, status: 'installed', version: NEW, dir: c.inst });
    expect(existsSync(first.result.log as string)).toBe(true);
    expect(load(readFileSync(join(c.inst, '.condarc'), 'utf8'))).toMatchObject({
      channels: ['mpc', 'conda-forge'],
      custom_channels: { mpc: 'file:///srv/internal' },
      solver: 'libmamba',
    });
    expect(existsSync(join(c.inst, INSTALLATION_MARKER))).toBe(true);
    expect(c.links()).toEqual(['v23.11.0', 'v23.11.0']);
    const again = await installConda(c);
    expect(again.code).toBe(0);
    expect(again.result).toMatchObject({ ok: true, status: 'present' });
    expect(again.text).toMatch(/already installed .*left alone/);
  });

  test('a custom_channels .condarc makes an env on the internal channel build in the new installation', async () => {
    const c = makeCase('internal', {
      installer: template,
      channels: 'mpc',
      extra: [`custom-channels = mpc=file://${join(base, 'internal-chan')}`],
    });
    writeChannel(join(base, 'internal-chan', 'mpc'), [{ name: 'zlib', version: '1.2.13', module: false }]);
    writeFileSync(join(c.repo, 'env-specs', 'a.yml'), 'name: a\nchannels:\n  - mpc\ndependencies:\n  - zlib\n');
    expect((await installConda(c)).code).toBe(0);
    const out = memoryOutput(true);
    const code = await runCommand('build', {
      options: { root: c.root, json: true },
      positionals: [],
      out,
      repo: c.repo,
      env: process.env,
    });
    expect(out.errors.join('\n')).not.toMatch(/FAILED/);
    expect(code).toBe(0);
    const built = out.results[0] as {
      envs: Array<{ env: string; status: string; packages?: Array<{ name: string }> }>;
    };
    expect(built.envs[0]!.packages?.map((p) => p.name)).toContain('zlib');
  });

  test('build on a version without an installation installs it first (the same use case)', async () => {
    const c = makeCase('build-installs', {
      installer: template,
      channels: 'mpc',
      extra: [`custom-channels = mpc=file://${join(base, 'internal2')}`],
    });
    writeChannel(join(base, 'internal2', 'mpc'), [{ name: 'zlib', version: '1.2.13', module: false }]);
    writeFileSync(join(c.repo, 'env-specs', 'a.yml'), 'name: a\nchannels:\n  - mpc\ndependencies:\n  - zlib\n');
    const out = memoryOutput(true);
    const code = await runCommand('build', {
      options: { root: c.root, json: true },
      positionals: [],
      out,
      repo: c.repo,
      env: process.env,
    });
    expect(out.errors.join('\n')).toMatch(/installed conda 24\.1\.2/);
    expect(code).toBe(0);
    expect(existsSync(join(c.inst, 'builds', 'a'))).toBe(true);
    expect(c.links()).toEqual(['v23.11.0', 'v23.11.0']);
  });

  test('a failing installer: exit 1, output shown and logged, nothing installed, current + qa unchanged', async () => {
    const c = makeCase('fails', { installer: script('fail-{version}.sh', 'echo "ERROR: disk quota" >&2; exit 3') });
    const r = await installConda(c);
    expect(r.code).toBe(1);
    expect(r.result).toMatchObject({ ok: false, status: 'failed' });
    expect(r.result.message).toMatch(/failed \(exit 3\)/);
    expect(r.text).toContain('ERROR: disk quota');
    expect(readFileSync(r.result.log as string, 'utf8')).toContain('ERROR: disk quota');
    expect(existsSync(c.inst)).toBe(false);
    expect(c.links()).toEqual(['v23.11.0', 'v23.11.0']);
  });

  test('an installer that writes a tree that is not conda: refused and removed', async () => {
    const c = makeCase('garbage', {
      installer: script('garbage-{version}.sh', 'mkdir -p "$3"; echo hello > "$3/README"'),
    });
    const r = await installConda(c);
    expect(r.code).toBe(1);
    expect(r.result.message).toMatch(/exited 0 but .* is not a conda installation/);
    expect(existsSync(c.inst)).toBe(false);
    expect(c.links()).toEqual(['v23.11.0', 'v23.11.0']);
  });

  test('an installer whose conda says another version: refused and removed', async () => {
    const other = join(base, 'installers', 'Miniconda3-23.11.0-Linux-x86_64.sh');
    const c = makeCase('wrongversion', { installer: script('wrong-{version}.sh', `exec bash ${other} "$@"`) });
    const r = await installConda(c);
    expect(r.code).toBe(1);
    expect(r.result.message).toMatch(/says conda 23\.11\.0, not 24\.1\.2/);
    expect(existsSync(c.inst)).toBe(false);
  });

  test('an existing ROOT/vV that is not a conda installation is refused and never deleted', async () => {
    const c = makeCase('occupied', { installer: template });
    mkdirSync(c.inst);
    writeFileSync(join(c.inst, 'notes.txt'), 'mine\n');
    const r = await installConda(c);
    expect(r.code).toBe(1);
    expect(r.text).toMatch(/exists and is not a conda installation .*notes\.txt.*never|nothing was changed or deleted/);
    expect(readFileSync(join(c.inst, 'notes.txt'), 'utf8')).toBe('mine\n');
  });

  test('the lock is held: a concurrent run gets exit 3 and installs nothing', async () => {
    const c = makeCase('busy', { installer: template });
    const lock = await acquireLock(c.root, { waitSeconds: 0, command: 'test' });
    try {
      const r = await installConda(c);
      expect(r.code).toBe(3);
      expect(r.text).toMatch(/held by/);
      expect(existsSync(c.inst)).toBe(false);
    } finally {
      await lock.release();
    }
  });

  describe('a URL installer', () => {
    let server: Server;
    let url: string;
    const bytes = readFileSync(installerPath());
    beforeAll(async () => {
      server = createServer((req, res) => {
        res.writeHead(200, { 'content-length': bytes.length });
        res.end(bytes);
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const port = (server.address() as { port: number }).port;
      url = `http://127.0.0.1:${port}/dl/Miniconda3-{version}-Linux-x86_64.sh`;
    });
    afterAll(() => new Promise<void>((r) => server.close(() => r())));

    test('is downloaded with a progress line, checked against installer-sha256 and installed', async () => {
      const sha = createHash('sha256').update(bytes).digest('hex');
      const c = makeCase('http-ok', { installer: url, extra: [`installer-sha256 = ${sha}`] });
      const r = await installConda(c);
      expect(r.text).toMatch(/downloading http:\/\/127\.0\.0\.1/);
      expect(r.code).toBe(0);
      expect(r.result).toMatchObject({ status: 'installed', sha256: sha });
      // the downloaded copy is not kept
      expect(existsSync(r.result.installer as string)).toBe(false);
    });

    test('a checksum mismatch: exit 1, clear message, nothing installed', async () => {
      const c = makeCase('http-bad', { installer: url, extra: [`installer-sha256 = ${'0'.repeat(64)}`] });
      const r = await installConda(c);
      expect(r.code).toBe(1);
      expect(r.result.message).toMatch(/has SHA-256 [0-9a-f]{64}, but \[conda\] installer-sha256 says 0{64}/);
      expect(existsSync(c.inst)).toBe(false);
      expect(c.links()).toEqual(['v23.11.0', 'v23.11.0']);
    });
  });

  /** install-conda (the CLI, its own process group) with an installer that writes half a tree and sleeps */
  const slowInstall = async (name: string) => {
    const slow = join(base, `slow-flag-${name}`);
    writeFileSync(slow, '');
    const real = template.replace('{version}', NEW);
    const c = makeCase(name, {
      installer: script(
        `${name}-{version}.sh`,
        `if [ -e ${slow} ]; then mkdir -p "$3/bin" "$3/conda-meta"; echo half > "$3/bin/half"; sleep 60; fi\n` +
          `exec bash ${real} "$@"`,
      ),
    });
    const cli = await builtCli();
    const child = spawn(process.execPath, [cli, 'install-conda', '--root', c.root], {
      cwd: c.repo,
      detached: true,
      stdio: 'ignore',
      env: process.env,
    });
    const deadline = Date.now() + 60_000;
    while (!existsSync(join(c.inst, 'bin', 'half')) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    expect(existsSync(join(c.inst, 'bin', 'half'))).toBe(true);
    return { c, child, slow };
  };

  test('kill -9 in the middle of install-conda: the next run removes the half-finished tree and finishes', async () => {
    const { c, child, slow } = await slowInstall('killed');
    process.kill(-child.pid!, 'SIGKILL');
    await new Promise((r) => child.once('exit', r));
    // the installer runs in a process group of its own: it outlives the CLI's; killed here, as an admin would
    killInstallers(c.inst);
    expect(c.links()).toEqual(['v23.11.0', 'v23.11.0']);
    rmSync(slow);

    const r = await runCli(['install-conda', '--root', c.root, '--json'], { cwd: c.repo });
    expect(r.stderr).toMatch(/did not finish: removing .* and installing again/);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, status: 'installed', recovered: true });
    expect(existsSync(join(c.inst, 'bin', 'half'))).toBe(false);
    expect(existsSync(join(c.inst, 'bin', 'conda'))).toBe(true);
    expect(c.links()).toEqual(['v23.11.0', 'v23.11.0']);
  }, 180_000);

  test('kill -9 of install-conda: its orphaned installer runs on; the next run waits for it (exit 3)', async () => {
    const { c, child, slow } = await slowInstall('orphaned');
    process.kill(-child.pid!, 'SIGKILL'); // the CLI: its installer is orphaned, still writing ROOT/vX
    await new Promise((r) => child.once('exit', r));
    try {
      const busy = await runCli(['install-conda', '--root', c.root], { cwd: c.repo });
      expect(busy.code).toBe(3);
      expect(busy.stderr).toMatch(/is still running into .*: pid \d+/);
      expect(existsSync(join(c.inst, 'bin', 'half'))).toBe(true); // its tree is left to it
    } finally {
      killInstallers(c.inst);
      rmSync(slow, { force: true });
    }
    const r = await runCli(['install-conda', '--root', c.root, '--json'], { cwd: c.repo });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, status: 'installed', recovered: true });
  }, 180_000);

  test('a full disk while the install log is written: exit 4 naming it, no marker and no half tree left', async () => {
    const c = makeCase('enospc', { installer: template });
    const r = await runCli(['install-conda', '--root', c.root], {
      cwd: c.repo,
      env: { CONDA_GITOPS_FAULT: 'log-append:ENOSPC' },
    });
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toMatch(/install-conda-24\.1\.2\.log/);
    expect(r.stderr).not.toMatch(/^\s+at /m); // a message, not a stack
    expect(existsSync(join(c.root, '.gitops', 'installing', 'v24.1.2.json'))).toBe(false);
    expect(existsSync(c.inst)).toBe(false);
    expect(c.links()).toEqual(['v23.11.0', 'v23.11.0']);
  }, 120_000);
});
