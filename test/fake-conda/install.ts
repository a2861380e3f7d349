/**
 * The node half of installer.sh: lays out a Miniconda-like root for the fake conda.
 * Usage (from installer.sh only): node install.js PREFIX VERSION [--update]
 */
import { execFileSync } from 'node:child_process';
import {
  appendFileSync,
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Ctx, FakeConfig } from './context.js';
import { fakeDir } from './context.js';
import { distName, linkPackage, pyList } from './prefix.js';
import type { IndexedRecord } from './repodata.js';

/** The conda version whose texts and flags the conda code plays inside a micromamba (libmamba era). */
const MICROMAMBA_CONDA = '24.1.2';

const sh = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** bin/conda: a tiny sh wrapper that works from any cwd with a minimal environment (node path recorded now). */
function wrapper(root: string, node: string, condaJs: string, as?: 'mamba' | 'micromamba'): string {
  return (
    `#!/bin/sh\n# fake ${as ?? 'conda'} (conda-gitops tests), written by test/fake-conda/installer.sh\n` +
    `FAKE_CONDA_ROOT=${sh(root)}\nexport FAKE_CONDA_ROOT\nexec ${sh(node)} ${sh(condaJs)}${as ? ` ${as}` : ''} "$@"\n`
  );
}

/** The host python, resolved through shims (pyenv) to the real interpreter, and its version. */
function hostPython(): { python: string; pythonVersion: string } {
  const { FAKE_CONDA_PYTHON: given, FAKE_CONDA_PYTHON_VERSION: givenVersion } = process.env;
  // fixtures resolve the interpreter once per test run: a pyenv shim costs ~0.2 s per call
  if (given && givenVersion) return { python: given, pythonVersion: givenVersion };
  const exe = given ?? 'python3';
  const out = execFileSync(
    exe,
    ['-c', 'import os, sys, platform; print(os.path.realpath(sys.executable)); print(platform.python_version())'],
    { encoding: 'utf8' },
  );
  const [python, pythonVersion] = out.trim().split('\n');
  return { python, pythonVersion };
}

/** The checkout whose node_modules has rattler (dist/test/fake-conda -> the repo root). */
function findRepo(dist: string): string {
  for (let dir = dist; dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'node_modules', '@conda-org', 'rattler', 'package.json'))) return dir;
  }
  throw new Error(`no node_modules/@conda-org/rattler above ${dist}`);
}

/**
 * The installation runs its own copy of the compiled fake, like a real conda carries its own code:
 * rebuilding dist/ (tsc truncates and rewrites files) never breaks a conda that is running or installed.
 */
function copyFake(dist: string, lib: string): string {
  rmSync(lib, { recursive: true, force: true });
  mkdirSync(lib, { recursive: true });
  for (const f of readdirSync(dist).filter((x) => x.endsWith('.js'))) {
    // a file being rewritten by a concurrent tsc reads short: wait until two reads agree
    let text = '';
    for (let i = 0; i < 100 && !text; i++) {
      const a = readFileSync(join(dist, f), 'utf8');
      if (a && a === readFileSync(join(dist, f), 'utf8')) text = a;
      else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    }
    if (!text) throw new Error(`${join(dist, f)} stays empty or keeps changing: is tsc still writing dist/?`);
    writeFileSync(join(lib, f), text);
  }
  writeFileSync(join(lib, 'package.json'), '{ "type": "module" }\n');
  return join(lib, 'conda.js');
}

function main(): void {
  const [prefix, version, ...flags] = process.argv.slice(2);
  if (!prefix || !version) {
    process.stderr.write('usage: node install.js PREFIX VERSION [--update]\n');
    process.exit(2);
  }
  const update = flags.includes('--update');
  const dist = dirname(fileURLToPath(import.meta.url));
  // mamba.ts: FAKE_CONDA_FRONTEND=mamba adds bin/mamba beside conda (Miniforge); micromamba is bin/micromamba
  // alone, VERSION being micromamba's, and the conda code it shares plays a libmamba-era conda
  const frontend = (process.env.FAKE_CONDA_FRONTEND ?? 'conda') as NonNullable<FakeConfig['frontend']>;
  const micro = frontend === 'micromamba';
  const mambaVersion = micro ? version : process.env.FAKE_MAMBA_VERSION || '2.0.5';
  const config: FakeConfig = {
    version: micro ? MICROMAMBA_CONDA : version,
    node: realpathSync(process.execPath),
    ...hostPython(),
    repo: findRepo(dist),
    ...(frontend !== 'conda' ? { frontend, mambaVersion } : {}),
  };
  // the user's home and /etc of conda's rc search path; FAKE_CONDA_HOME=$HOME (the literal) means "at run time"
  const home = process.env.FAKE_CONDA_HOME ?? join(fakeDir(prefix), 'home');
  if (home && home !== '$HOME') config.home = home;
  // the default hermetic home stands for a user who has run conda before: it has ~/.conda and its registry (conda
  // < 24.1 registers envs only where ~/.conda exists; libmamba 2.x fails a create without the file where it cannot
  // make it, e.g. in the sandbox, which keeps this home read-only: prefix.ts registerEnv)
  if (!process.env.FAKE_CONDA_HOME) {
    mkdirSync(join(home, '.conda'), { recursive: true });
    appendFileSync(join(home, '.conda', 'environments.txt'), '');
  }
  if (process.env.FAKE_CONDA_SYSCONFDIR) config.sysconfdir = process.env.FAKE_CONDA_SYSCONFDIR;

  for (const d of [...(micro ? [] : ['condabin', 'conda-meta']), 'bin', 'envs', 'pkgs', '.fake-conda'])
    mkdirSync(join(prefix, d), { recursive: true });
  const condaJs = copyFake(dist, join(fakeDir(prefix), 'lib'));
  writeFileSync(join(fakeDir(prefix), 'config.json'), JSON.stringify(config, null, 2) + '\n');
  for (const bin of micro ? [] : ['bin/conda', 'condabin/conda']) {
    writeFileSync(join(prefix, bin), wrapper(prefix, config.node, condaJs));
    chmodSync(join(prefix, bin), 0o755);
  }
  if (frontend !== 'conda') {
    const bin = join(prefix, 'bin', frontend);
    writeFileSync(bin, wrapper(prefix, config.node, join(dirname(condaJs), 'mamba.js'), frontend));
    chmodSync(bin, 0o755);
  }
  const channels = (process.env.FAKE_CONDA_CHANNELS ?? '')
    .split(',')
    .map((c) => c.trim())
    .filter(Boolean);
  if (!update || !existsSync(join(prefix, '.condarc'))) {
    const rc = channels.length
      ? `channels:\n${channels.map((c) => `  - ${c}`).join('\n')}\n`
      : 'channels:\n  - defaults\n';
    writeFileSync(join(prefix, '.condarc'), rc);
  }

  // the base env's own packages, as Miniconda ships them: python (the host's) and conda
  const ctx: Ctx = { root: prefix, config, env: process.env, cwd: process.cwd(), out: () => {}, err: () => {} };
  const defaults = { name: 'defaults', url: 'https://repo.anaconda.com/pkgs/main' };
  const pkg = (name: string, v: string, build: string, subdir: string): IndexedRecord => ({
    name,
    version: v,
    build,
    build_number: 0,
    depends: [],
    subdir,
    fn: `${name}-${v}-${build}.tar.bz2`,
    channel: defaults,
    url: `${defaults.url}/${subdir}/${name}-${v}-${build}.tar.bz2`,
    fake_conda_module: false,
  });
  // micromamba's root has no base env at all
  const base = micro
    ? []
    : [
        pkg('python', config.pythonVersion, 'h955ad1f_0', 'linux-64'),
        pkg('conda', version, 'py_0', 'linux-64'),
        ...(frontend === 'mamba' ? [pkg('mamba', mambaVersion, 'py_0', 'linux-64')] : []),
      ];
  if (micro) {
    process.stdout.write(`installation finished.\n`);
    return;
  }
  // -u replaces the base packages (a new conda version means a new conda record)
  for (const f of readdirSync(join(prefix, 'conda-meta')))
    if (/^(conda|python|mamba)-\d.*\.json$/.test(f)) rmSync(join(prefix, 'conda-meta', f));
  const linked = base.map((r) => linkPackage(ctx, prefix, r, undefined, true));
  const stamp = new Date().toISOString().replace('T', ' ').slice(0, 19);
  appendFileSync(
    join(prefix, 'conda-meta', 'history'),
    `==> ${stamp} <==\n# cmd: constructor ${prefix}${update ? ' -u' : ''}\n# conda version: ${version}\n` +
      linked.map((r) => `+defaults/${r.subdir}::${distName(r)}`).join('\n') +
      `\n# update specs: ${pyList(base.map((r) => `${r.name}=${r.version}`))}\n`,
  );
  process.stdout.write(`installation finished.\n`);
}

main();
