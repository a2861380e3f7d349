/**
 * Fixture builders for tests and the sandbox (pure Node, no network): channels, wheels, git packages,
 * fake conda installations. See README.md in this directory.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { constants } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { zip } from './zip.js';

/** The repository root (works from test/fake-conda/*.ts and from dist/test/fake-conda/*.js). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && JSON.parse(readFileSync(pkg, 'utf8')).name === 'conda-gitops') return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('fake-conda fixtures: repository root not found');
    dir = up;
  }
}

export const installerPath = (): string => join(repoRoot(), 'test', 'fake-conda', 'installer.sh');

/**
 * Make sure dist/test/fake-conda is compiled from the current sources (npm test compiles first;
 * a lone `npx vitest run` may not have). Serialised with a lock directory across test workers.
 */
export function ensureBuilt(): void {
  const root = repoRoot();
  const src = join(root, 'test', 'fake-conda');
  const dist = join(root, 'dist', 'test', 'fake-conda');
  const stale = () =>
    readdirSync(src)
      .filter((f) => f.endsWith('.ts'))
      .some((f) => {
        const js = join(dist, f.replace(/\.ts$/, '.js'));
        return !existsSync(js) || statSync(js).mtimeMs < statSync(join(src, f)).mtimeMs;
      });
  if (!stale()) return;
  const lock = join(root, 'dist', '.fake-conda-build.lock');
  mkdirSync(dirname(lock), { recursive: true });
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`fake-conda fixtures: build lock ${lock} held too long`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
    }
  }
  try {
    // another worker may have built while we waited; tsc emits even when other files have type errors
    if (stale())
      spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', root], {
        stdio: 'ignore',
      });
    if (stale()) throw new Error('fake-conda fixtures: `npx tsc -p .` did not produce dist/test/fake-conda');
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** A package in a fixture channel (what one repodata.json entry says). */
export interface ChannelRecord {
  name: string;
  version: string;
  /** default: a conda-like hash build, `h<7 hex>_0` (`pyh..._0` for noarch) */
  build?: string;
  build_number?: number;
  depends?: string[];
  constrains?: string[];
  /** repodata's `noarch`; the boolean `true` means *generic* to conda (old font packages, ...) */
  noarch?: 'python' | 'generic' | true;
  /**
   * A legacy `noarch_python` package (conda-build 1.x / 2.0): NO `noarch` key in repodata, in the platform subdir,
   * build `py_0` by default; it ships `bin/.NAME-pre-link.sh` (which runs its bundled `link.py`), listed in its
   * files, the env's conda-meta record and the package cache. conda >= 4.7 runs every pre-link before linking
   * anything, so `create`/`env create` fail with `LinkError: pre-link script failed`; 4.4–4.6 (and `install`
   * into an env that has python) link it fine. Repodata carries the fake-only `fake_conda_prelink: true` for it:
   * what the real package's `info/files` would tell conda.
   */
  legacyNoarchPython?: boolean;
  /** default: noarch when noarch is set, else linux-64 */
  subdir?: 'linux-64' | 'noarch';
  /** false: not a Python module (the fake writes nothing importable for it) */
  module?: boolean;
}

/** Write DIR/linux-64/repodata.json and DIR/noarch/repodata.json; returns the channel's file:// URL. */
export function writeChannel(dir: string, records: ChannelRecord[]): string {
  const abs = resolve(dir);
  const subdirs: Record<string, Record<string, unknown>> = { 'linux-64': {}, noarch: {} };
  for (const r of records) {
    const subdir = r.subdir ?? (r.noarch ? 'noarch' : 'linux-64');
    const hash = createHash('sha1').update(`${r.name}-${r.version}`).digest('hex');
    const build_number = r.build_number ?? Number(r.build?.match(/_(\d+)$/)?.[1] ?? 0);
    const build =
      r.build ??
      (r.legacyNoarchPython ? `py_${build_number}` : `${r.noarch ? 'pyh' : 'h'}${hash.slice(0, 7)}_${build_number}`);
    const fn = `${r.name}-${r.version}-${build}.tar.bz2`;
    subdirs[subdir][fn] = {
      name: r.name,
      version: r.version,
      build,
      build_number,
      depends: r.depends ?? [],
      constrains: r.constrains ?? [],
      subdir,
      license: 'BSD-3-Clause',
      md5: createHash('md5').update(fn).digest('hex'),
      sha256: createHash('sha256').update(fn).digest('hex'),
      size: 1024,
      timestamp: 1700000000000,
      ...(r.noarch !== undefined ? { noarch: r.noarch } : {}),
      ...(r.module === false ? { fake_conda_module: false } : {}),
      ...(r.legacyNoarchPython ? { fake_conda_prelink: true } : {}),
    };
  }
  for (const [subdir, packages] of Object.entries(subdirs)) {
    mkdirSync(join(abs, subdir), { recursive: true });
    writeFileSync(
      join(abs, subdir, 'repodata.json'),
      JSON.stringify({ info: { subdir }, packages, 'packages.conda': {}, repodata_version: 1 }, null, 1) + '\n',
    );
  }
  return pathToFileURL(abs).href;
}

const sha256b64 = (data: string | Buffer): string => createHash('sha256').update(data).digest('base64url');
const distNorm = (name: string): string => name.replace(/[-.]+/g, '_');

/** The import name fixture packages get: `Data-Tools` -> `data_tools`. */
export const moduleOf = (name: string): string => name.toLowerCase().replace(/[-.]+/g, '_');

/** A valid py3-none-any wheel with a module (moduleOf(name)) that has `__version__`; returns its path. */
export function writeWheel(wheelhouseDir: string, name: string, version: string): string {
  const dist = distNorm(name);
  const info = `${dist}-${version}.dist-info`;
  const files: Array<[string, string]> = [
    [`${moduleOf(name)}/__init__.py`, `__version__ = "${version}"\n`],
    [`${info}/METADATA`, `Metadata-Version: 2.1\nName: ${name}\nVersion: ${version}\nSummary: fixture wheel\n`],
    [
      `${info}/WHEEL`,
      'Wheel-Version: 1.0\nGenerator: conda-gitops-fixtures\nRoot-Is-Purelib: true\nTag: py3-none-any\n',
    ],
  ];
  const record =
    [...files.map(([p, d]) => `${p},sha256=${sha256b64(d)},${Buffer.byteLength(d)}`), `${info}/RECORD,,`].join('\n') +
    '\n';
  files.push([`${info}/RECORD`, record]);
  mkdirSync(wheelhouseDir, { recursive: true });
  const path = join(resolve(wheelhouseDir), `${dist}-${version}-py3-none-any.whl`);
  writeFileSync(path, zip(files));
  return path;
}

/** The wheel's WHEEL file, as a Python bytes literal's body (the backend below writes it). */
const WHEEL_FILE =
  String.raw`Wheel-Version: 1.0\nGenerator: fixture-backend\n` + String.raw`Root-Is-Purelib: true\nTag: py3-none-any\n`;

/** An in-tree PEP 517 backend with no build requirements, so pip builds it offline even with build isolation. */
function backendSource(name: string, version: string): string {
  return `"""In-tree PEP 517 backend (conda-gitops fixture): builds a pure wheel with no build requirements."""
import base64, hashlib, io, os, tarfile, zipfile

NAME = ${JSON.stringify(name)}
VERSION = ${JSON.stringify(version)}
DIST = ${JSON.stringify(distNorm(name))}
MODULE = ${JSON.stringify(moduleOf(name))}
HERE = os.path.dirname(os.path.abspath(__file__))


def _metadata():
    return f"Metadata-Version: 2.1\\nName: {NAME}\\nVersion: {VERSION}\\n".encode()


def _package_files():
    out = {}
    for root, _, names in os.walk(os.path.join(HERE, MODULE)):
        for n in sorted(names):
            if not n.endswith(".pyc"):
                full = os.path.join(root, n)
                with open(full, "rb") as f:
                    out[os.path.relpath(full, HERE)] = f.read()
    return out


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    info = f"{DIST}-{VERSION}.dist-info"
    os.makedirs(os.path.join(metadata_directory, info), exist_ok=True)
    with open(os.path.join(metadata_directory, info, "METADATA"), "wb") as f:
        f.write(_metadata())
    return info


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    info = f"{DIST}-{VERSION}.dist-info"
    files = _package_files()
    files[f"{info}/METADATA"] = _metadata()
    files[f"{info}/WHEEL"] = b"${WHEEL_FILE}"
    record = []
    name = f"{DIST}-{VERSION}-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as z:
        for path, data in files.items():
            z.writestr(path, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append(f"{path},sha256={digest},{len(data)}")
        record.append(f"{info}/RECORD,,")
        z.writestr(f"{info}/RECORD", "\\n".join(record) + "\\n")
    return name


def build_sdist(sdist_directory, config_settings=None):
    name = f"{DIST}-{VERSION}"
    with tarfile.open(os.path.join(sdist_directory, f"{name}.tar.gz"), "w:gz") as t:
        for rel in ["pyproject.toml", "_fixture_backend.py", *_package_files()]:
            t.add(os.path.join(HERE, rel), arcname=f"{name}/{rel}")
        pkg_info = _metadata()
        ti = tarfile.TarInfo(f"{name}/PKG-INFO")
        ti.size = len(pkg_info)
        t.addfile(ti, io.BytesIO(pkg_info))
    return f"{name}.tar.gz"
`;
}

const git = (cwd: string, args: string[]): void => {
  execFileSync(
    'git',
    ['-c', 'user.name=fixture', '-c', 'user.email=fixture@example.invalid', '-c', 'commit.gpgsign=false', ...args],
    {
      cwd,
      stdio: 'ignore',
      env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1' },
    },
  );
};

/** A committed git repo of a pip-installable package; `url` is what an env file's pip: list takes. */
export function makeGitPackage(dir: string, name: string, version: string): { dir: string; url: string } {
  const abs = resolve(dir);
  mkdirSync(join(abs, moduleOf(name)), { recursive: true });
  writeFileSync(join(abs, moduleOf(name), '__init__.py'), `__version__ = "${version}"\n`);
  writeFileSync(join(abs, '_fixture_backend.py'), backendSource(name, version));
  writeFileSync(
    join(abs, 'pyproject.toml'),
    `[build-system]\nrequires = []\nbuild-backend = "_fixture_backend"\nbackend-path = ["."]\n\n` +
      `[project]\nname = "${name}"\nversion = "${version}"\n`,
  );
  git(abs, ['init', '-q', '-b', 'main']);
  git(abs, ['add', '-A']);
  git(abs, ['commit', '-q', '-m', `${name} ${version}`]);
  return { dir: abs, url: `git+${pathToFileURL(abs).href}` };
}

/**
 * The symlink attack of a pull request's build: a local pip package copied to `dest` (a spec's `./NAME` pip entry,
 * made at `source` first) whose build backend, when the env's build runs it, plants
 * `$PREFIX/etc/conda/activate.d -> <liveLib>/pythonX.Y/site-packages` (a live env's). Returns the planting code.
 */
export function makePlantingPackage(source: string, dest: string, liveLib: string): string {
  const pkg = makeGitPackage(source, 'varpkg', '1.0');
  cpSync(pkg.dir, dest, { recursive: true, filter: (p) => basename(p) !== '.git' });
  const plant = [
    'import glob, os, sys',
    `for _live in glob.glob(${JSON.stringify(liveLib)} + '/python*/site-packages'):`,
    '    _etc = os.path.join(os.path.dirname(os.path.dirname(sys.executable)), "etc", "conda")',
    '    os.makedirs(_etc, exist_ok=True)',
    '    if not os.path.lexists(os.path.join(_etc, "activate.d")):',
    '        os.symlink(_live, os.path.join(_etc, "activate.d"))',
    '',
  ].join('\n');
  const backend = join(dest, '_fixture_backend.py');
  writeFileSync(backend, plant + readFileSync(backend, 'utf8'));
  return plant;
}

export interface InstallOptions {
  /** written to ROOT/.condarc `channels:` (names, URLs or paths); default `defaults` (unreachable offline) */
  channels?: string[];
  /** .condarc channel_alias: names not in custom_channels resolve to <alias>/<name> */
  channelAlias?: string;
  /** .condarc custom_channels: name -> base URL (the channel is <base>/<name>) */
  customChannels?: Record<string, string>;
  /** where the version-named installer symlinks go; default: a directory under the prefix's parent */
  installersDir?: string;
  /** pass -u: update an existing installation in place */
  update?: boolean;
  /**
   * the runner user's home the fake reads (`~/.condarc`, `~/.conda/environments.txt`): default
   * PREFIX/.fake-conda/home (hermetic); `'$HOME'`: the `$HOME` of each conda run, as real conda does
   */
  home?: string;
  /** a directory standing for `/etc` in conda's rc search path (`/etc/conda/.condarc`…); default none */
  sysconfdir?: string;
  /**
   * `mamba`: a Miniforge-like installation, conda `version` plus `bin/mamba` (`mambaVersion`, default 2.0.5);
   * `micromamba`: the single binary `bin/micromamba` and no conda, `version` being micromamba's (mamba.ts)
   */
  frontend?: 'conda' | 'mamba' | 'micromamba';
  /** mamba's version when `frontend` is `mamba` ("1.5.8", "2.0.5", "2.1.0") */
  mambaVersion?: string;
}

export interface FakeConda {
  prefix: string;
  /** absolute path of PREFIX/bin/conda (PREFIX/bin/micromamba for a micromamba installation) */
  conda: string;
  version: string;
  /** the frontend's executable: PREFIX/bin/conda, PREFIX/bin/mamba or PREFIX/bin/micromamba */
  exe: string;
}

/** Write ROOT/.condarc (channels, channel_alias, custom_channels). */
export function writeCondarc(
  prefix: string,
  opts: Pick<InstallOptions, 'channels' | 'channelAlias' | 'customChannels'>,
): void {
  const lines: string[] = [];
  if (opts.channels) lines.push('channels:', ...opts.channels.map((c) => `  - ${c}`));
  if (opts.channelAlias) lines.push(`channel_alias: ${opts.channelAlias}`);
  if (opts.customChannels)
    lines.push('custom_channels:', ...Object.entries(opts.customChannels).map(([k, v]) => `  ${k}: ${v}`));
  writeFileSync(join(prefix, '.condarc'), lines.join('\n') + '\n');
}

let host: { python: string; version: string } | undefined;

/** The real host interpreter behind `python3` (resolved through pyenv shims) and its version; once per process. */
export function hostPython(): { python: string; version: string } {
  if (!host) {
    const out = execFileSync(
      process.env.FAKE_CONDA_PYTHON ?? 'python3',
      ['-c', 'import os, sys, platform; print(os.path.realpath(sys.executable)); print(platform.python_version())'],
      { encoding: 'utf8' },
    );
    const [python, version] = out.trim().split('\n');
    host = { python, version };
  }
  return host;
}

/** Install a fake conda of `version` at `prefix` by running the installer through a version-named symlink. */
export function installFakeConda(prefix: string, version: string, opts: InstallOptions = {}): FakeConda {
  ensureBuilt();
  const abs = resolve(prefix);
  const dir = opts.installersDir ?? join(dirname(abs), '.fake-conda-installers');
  const template = installerTemplate(dir, [version]);
  const installer = template.replace('{version}', version);
  const r = spawnSync('bash', [installer, '-b', ...(opts.update ? ['-u'] : []), '-p', abs], {
    encoding: 'utf8',
    env: {
      ...process.env,
      FAKE_CONDA_NODE: process.execPath,
      FAKE_CONDA_PYTHON: hostPython().python,
      FAKE_CONDA_PYTHON_VERSION: hostPython().version,
      ...(opts.home ? { FAKE_CONDA_HOME: opts.home } : {}),
      ...(opts.sysconfdir ? { FAKE_CONDA_SYSCONFDIR: opts.sysconfdir } : {}),
      FAKE_CONDA_FRONTEND: opts.frontend ?? 'conda',
      FAKE_MAMBA_VERSION: opts.mambaVersion ?? (opts.frontend === 'micromamba' ? version : '2.0.5'),
    },
  });
  if (r.status !== 0) throw new Error(`fake conda installer failed (${r.status}):\n${r.stdout}${r.stderr}`);
  if (opts.channels || opts.channelAlias || opts.customChannels) writeCondarc(abs, opts);
  const frontend = opts.frontend ?? 'conda';
  const exe = join(abs, 'bin', frontend);
  return { prefix: abs, conda: frontend === 'micromamba' ? exe : join(abs, 'bin', 'conda'), version, exe };
}

/** Versions installerTemplate links by default: the account's 4.3.22 and 4.8.5, and the family boundaries. */
export const FIXTURE_VERSIONS = [
  '4.3.22',
  '4.3.31',
  '4.6.14',
  '4.7.12',
  '4.8.5',
  '4.14.0',
  '22.11.1',
  '23.9.0',
  '23.11.0',
  '24.1.2',
];

/**
 * A path template with `{version}`, like the inventory's `installer = .../Miniconda3-{version}-Linux-x86_64.sh`:
 * DIR gets a Miniconda3-<v>-Linux-x86_64.sh symlink to installer.sh for each version.
 */
export function installerTemplate(dir: string, versions: string[] = FIXTURE_VERSIONS): string {
  const abs = resolve(dir);
  mkdirSync(abs, { recursive: true });
  for (const v of versions) {
    const link = join(abs, `Miniconda3-${v}-Linux-x86_64.sh`);
    if (!existsSync(link)) {
      try {
        symlinkSync(installerPath(), link);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
    }
  }
  return join(abs, 'Miniconda3-{version}-Linux-x86_64.sh');
}

export interface CondaResult {
  code: number;
  stdout: string;
  stderr: string;
  signal: NodeJS.Signals | null;
}

/** Run a fake conda (PREFIX/bin/conda or a FakeConda) and collect its output, without blocking. */
export function runCondaAsync(
  conda: string | FakeConda,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<CondaResult> {
  const exe = typeof conda === 'string' ? conda : conda.conda;
  return new Promise((res) => {
    const child = spawn(exe, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => {
      stdout += b.toString();
    });
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    child.on('error', (e) => res({ code: 127, stdout, stderr: stderr + String(e), signal: null }));
    child.on('close', (code, signal) =>
      res({ code: code ?? 128 + (signal ? constants.signals[signal] : 0), stdout, stderr, signal }),
    );
  });
}

/** Run a fake conda (PREFIX/bin/conda or a FakeConda) and collect its output. */
export function runConda(
  conda: string | FakeConda,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): CondaResult {
  const exe = typeof conda === 'string' ? conda : conda.conda;
  const r = spawnSync(exe, args, {
    encoding: 'utf8',
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    maxBuffer: 64 * 1024 * 1024,
  });
  const code = r.status ?? 128 + (r.signal ? constants.signals[r.signal] : 0);
  return { code, stdout: r.stdout ?? '', stderr: r.stderr ?? '', signal: r.signal };
}
