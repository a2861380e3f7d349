/**
 * The real-conda lane's fixtures: where conda's source archives are, whether this machine can run them, and
 * installations of real conda (installer.sh) cached per version for one test run.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeChannel, type ChannelRecord } from '../fake-conda/index.js';
import { hostPythonInfo, makeRealChannel, type HostPython } from './channel.js';

const HERE = dirname(fileURLToPath(import.meta.url));
/** The repository root, from test/real-conda or dist/test/real-conda. */
export const REPO = ((): string => {
  let dir = HERE;
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
})();
export const INSTALLER = join(REPO, 'test', 'real-conda', 'installer.sh');

/** The 13 versions ../shared/real-conda holds (design.md section 12). */
export const ALL_VERSIONS = [
  '4.3.22',
  '4.3.31',
  '4.6.10',
  '4.6.14',
  '4.7.12',
  '4.8.5',
  '4.9.2',
  '4.12.0',
  '22.11.1',
  '23.11.0',
  '24.1.2',
  '24.11.3',
  '25.11.1',
];

/**
 * The directory of conda-V.tar.gz: $CONDA_GITOPS_REAL_CONDA_DIR, else ../shared/real-conda beside the repository
 * (for a git worktree, also beside its main checkout). Undefined when none exists. Same search as install.py.
 */
export function realCondaDir(): string | undefined {
  const env = process.env.CONDA_GITOPS_REAL_CONDA_DIR;
  if (env) return existsSync(env) ? resolve(env) : undefined;
  const candidates = [join(REPO, '..', 'shared', 'real-conda')];
  const dotgit = join(REPO, '.git');
  try {
    const m = /^gitdir:\s*(.+)$/m.exec(readFileSync(dotgit, 'utf8'));
    if (m) candidates.push(join(dirname(resolve(m[1]!, '..', '..')), '..', 'shared', 'real-conda'));
  } catch {
    // .git is a directory (a plain checkout) or absent
  }
  return candidates.map((c) => resolve(c)).find((c) => existsSync(c));
}

/** Modules conda imports that Debian packages provide (README.md here). */
const MODULES = [
  'pycosat',
  'ruamel.yaml',
  'boltons',
  'jsonpatch',
  'conda_package_handling',
  'conda_package_streaming',
  'zstandard',
  'platformdirs',
  'pluggy',
  'tqdm',
  'requests',
  'packaging',
  'distro',
  'charset_normalizer',
  'toolz',
  'pip',
];

export const PYTHON = process.env.REAL_CONDA_PYTHON ?? '/usr/bin/python3';

/** What this machine lacks to run real conda (empty: nothing). */
export function missingPrerequisites(): string[] {
  const missing: string[] = [];
  if (!existsSync(PYTHON)) return [`${PYTHON} (Debian's python3)`];
  const code =
    'import importlib.util, sys\n' + "print(' '.join(m for m in sys.argv[1:] if importlib.util.find_spec(m) is None))";
  const r = spawnSync(PYTHON, ['-c', code, ...MODULES], { encoding: 'utf8' });
  const absent = (r.stdout ?? '').trim();
  if (r.status !== 0) missing.push(`${PYTHON} does not run`);
  else if (absent) missing.push(...absent.split(' ').map((m) => `python module ${m}`));
  for (const tool of ['bzip2', 'tar', 'git'])
    if (spawnSync('sh', ['-c', 'command -v "$1"', 'sh', tool]).status !== 0) missing.push(tool);
  return missing;
}

export interface RealConda {
  prefix: string;
  conda: string;
  version: string;
  /** the installer's output */
  log: string;
  seconds: number;
}

/**
 * Install real conda `version` at `prefix` by running installer.sh through a version-named symlink, as the
 * inventory's `installer = …/Miniconda3-{version}-Linux-x86_64.sh` does. Throws with the installer's output.
 */
export function installRealConda(
  prefix: string,
  version: string,
  installersDir: string,
  env: NodeJS.ProcessEnv = process.env,
): RealConda {
  mkdirSync(installersDir, { recursive: true });
  const link = join(installersDir, `Miniconda3-${version}-Linux-x86_64.sh`);
  if (!existsSync(link)) symlinkSync(INSTALLER, link);
  const t0 = Date.now();
  const r = spawnSync('bash', [link, '-b', '-p', prefix], { encoding: 'utf8', env });
  const log = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (r.status !== 0) throw new Error(`real conda ${version} installer failed (${r.status}):\n${log}`);
  return { prefix, conda: join(prefix, 'bin', 'conda'), version, log, seconds: (Date.now() - t0) / 1000 };
}

/**
 * Whether a file of the lane runs here: `skip` without the archives (one printed line) or without the Debian
 * packages; `fail` when they are missing under CI=true (the lane must run in CI).
 */
export function laneGate(): { skip: boolean; fail: boolean; reason: string } {
  if (!realCondaDir())
    return {
      skip: true,
      fail: false,
      reason: 'no conda source archives (../shared/real-conda or CONDA_GITOPS_REAL_CONDA_DIR)',
    };
  const missing = missingPrerequisites();
  if (!missing.length) return { skip: false, fail: false, reason: '' };
  const reason = `this machine cannot run real conda: missing ${missing.join(', ')} (apt-get install: README.md)`;
  return { skip: true, fail: process.env.CI === 'true', reason };
}

/**
 * A local channel of a real-conda test: `records` written as the fake conda's channel at ROOT/channels/fake/KEY and
 * made into real conda packages at ROOT/channels/real/KEY (created, or refreshed after the records change).
 * Returns both `file://` URLs: the fake side and the real side of a probe read the same records.
 */
export function realChannelFixture(
  root: string,
  key: string,
  records: ChannelRecord[],
  host: HostPython = hostPythonInfo(),
): { fake: string; real: string } {
  const fake = join(root, 'channels', 'fake', key);
  const fakeUrl = writeChannel(fake, records);
  return { fake: fakeUrl, real: makeRealChannel(fake, join(root, 'channels', 'real', key), host) };
}

/** A real-conda test's afterAll: its temporary directory is removed, unless REAL_CONDA_KEEP=1 keeps it to look at. */
export function removeUnlessKept(dir: string | undefined): void {
  if (dir && !process.env.REAL_CONDA_KEEP) rmSync(dir, { recursive: true, force: true });
}
