/**
 * Real packages for the records of a fake conda channel: `makeRealChannel(src, dest)` reads every
 * `SRC/<subdir>/repodata.json` as test/fake-conda writeChannel (and scripts/sandbox.ts through it) writes them and
 * writes a channel real conda installs from, offline: one `.tar.bz2` per record (info/index.json, info/paths.json,
 * info/files, info/link.json for noarch python) and `repodata.json` + `repodata.json.bz2` (conda 4.3 wants the .bz2)
 * in linux-64 and noarch. What each package holds mirrors what the fake conda writes into an env (README.md here):
 *
 * - `python`: `bin/python3.X` a softlink to the host's interpreter, `bin/python3`/`bin/python` links to it and a
 *   `pyvenv.cfg`, so the env's python is real with `sys.prefix == PREFIX` (a venv layout shipped as a package);
 *   a record of another version V also gets `bin/pythonV` and `lib/python3.X -> pythonV` (the host reads V's
 *   site-packages, where conda links noarch packages);
 * - `pip`: noarch python, the host's Debian pip (its dist-info, and pip itself zipped on sys.path, or as a
 *   `pip/` tree with REAL_CONDA_PIP=tree) with conda's `pip` entry points;
 * - any other record (unless `fake_conda_module: false`): `site-packages/<module>/__init__.py` with `__version__`
 *   and a `.dist-info` (INSTALLER `conda`), under `site-packages/` for noarch python, `lib/python3.X/site-packages/`
 *   otherwise;
 * - a legacy `noarch_python` record (`fake_conda_prelink`): conda-build 1.x's layout, `bin/.NAME-pre-link.sh`
 *   running `$PREFIX/bin/python $SOURCE_DIR/link.py`, which copies the package's `site-packages/` into the env;
 * - extras a record may carry for the real lane (ignored by the fake): `real_conda_post_link` (text of
 *   `bin/.NAME-post-link.sh`), `real_conda_activate` (text of `etc/conda/activate.d/NAME.sh`), `real_conda_files`
 *   (path -> text, more files).
 *
 * Deterministic: the same records give byte-identical tarballs (fixed mtimes, sorted members), so a channel can be
 * rebuilt while conda caches it. CLI: `node dist/test/real-conda/make-channel.js SRC DEST`.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { zip } from '../fake-conda/zip.js';

/**
 * How the `pip` package holds pip: `zip` (default: site-packages/pip-bundle.zip + a .pth line) or `tree` (the
 * pip/ directory as Debian has it; $REAL_CONDA_PIP=tree).
 */
const pipLayout = (): 'zip' | 'tree' => (process.env.REAL_CONDA_PIP === 'tree' ? 'tree' : 'zip');

/** A repodata.json record as the fake's channels carry it (fake-only keys included). */
export interface SourceRecord {
  name: string;
  version: string;
  build: string;
  build_number: number;
  depends?: string[];
  constrains?: string[];
  subdir?: string;
  noarch?: 'python' | 'generic' | boolean;
  license?: string;
  timestamp?: number;
  fake_conda_module?: boolean;
  fake_conda_prelink?: boolean;
  real_conda_post_link?: string;
  real_conda_activate?: string;
  real_conda_files?: Record<string, string>;
  [k: string]: unknown;
}

/** The host interpreter every env's python is (Debian's, as the installer's). */
export interface HostPython {
  /** e.g. /usr/bin/python3.11 */
  executable: string;
  /** "3.11" */
  minor: string;
  /** the directory holding Debian's pip package and its dist-info */
  pipDir: string;
  /** the python X.Y arch packages are built for: the channel's python records' (when they agree), else `minor` */
  pythonMinor?: string;
}

export function hostPythonInfo(python = process.env.REAL_CONDA_PYTHON ?? '/usr/bin/python3'): HostPython {
  const out = execFileSync(
    python,
    [
      '-c',
      'import os, sys, pip; print(os.path.realpath(sys.executable)); print("%d.%d" % sys.version_info[:2]); ' +
        'print(os.path.dirname(os.path.dirname(pip.__file__)))',
    ],
    { encoding: 'utf8' },
  );
  const [executable, minor, pipDir] = out.trim().split('\n');
  return { executable: executable!, minor: minor!, pipDir: pipDir! };
}

const moduleOf = (name: string): string => name.toLowerCase().replace(/[-.]+/g, '_');
const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');
/** 2023-11-14: every member's mtime, so tarballs are reproducible */
const MTIME = '@1700000000';

type FileSpec = { text: string; mode?: number } | { link: string };

/** The files of one package, relative to its root (the env prefix for linked paths). */
function packageContent(rec: SourceRecord, host: HostPython): { files: Map<string, FileSpec>; copyPip: boolean } {
  const files = new Map<string, FileSpec>();
  const noarchPython = rec.noarch === 'python';
  // an arch package is built for one python: the channel's (pythonMinor), as a real channel's builds are
  const sp = noarchPython ? 'site-packages' : `lib/python${host.pythonMinor ?? host.minor}/site-packages`;
  let copyPip = false;
  if (rec.name === 'python') {
    files.set(`bin/python${host.minor}`, { link: host.executable });
    files.set('bin/python3', { link: `python${host.minor}` });
    files.set('bin/python', { link: `python${host.minor}` });
    // a record of another python (3.9 for old conda, which reads `version[:3]`: 3.11 is "3.1" to conda <= 4.8):
    // conda links noarch packages into lib/python3.9/site-packages and compiles with bin/python3.9; the host
    // interpreter reads lib/python3.11/site-packages, so that is a link to the record's directory
    const minor = rec.version.split('.').slice(0, 2).join('.');
    if (/^\d+\.\d+$/.test(minor) && minor !== host.minor) {
      files.set(`bin/python${minor}`, { link: host.executable });
      files.set(`lib/python${host.minor}`, { link: `python${minor}` });
    }
    // as CPython ships it; it makes lib/pythonV/site-packages exist before any package links into it
    files.set(`lib/python${/^\d+\.\d+$/.test(minor) ? minor : host.minor}/site-packages/README.txt`, {
      text:
        'This directory exists so that 3rd party packages can be installed here.  ' +
        'Read the source for site.py for more details.\n',
    });
    files.set('pyvenv.cfg', {
      text: `home = ${dirname(host.executable)}\ninclude-system-site-packages = false\nversion = ${host.minor}\n`,
    });
  } else if (rec.name === 'pip') {
    copyPip = true; // site-packages/pip + its dist-info, added from the host in buildPackage
  } else if (rec.fake_conda_prelink) {
    // conda-build 1.x noarch_python: only the pre-link script is linked; link.py (beside it in the package, not in
    // info/files) copies the package's site-packages/ into the env's, with the env's python
    files.set(`bin/.${rec.name}-pre-link.sh`, {
      text: '#!/bin/bash\n$PREFIX/bin/python $SOURCE_DIR/link.py\n',
      mode: 0o755,
    });
  } else if (rec.fake_conda_module !== false) {
    for (const [p, text] of moduleFiles(rec)) files.set(`${sp}/${p}`, { text });
  }
  if (rec.real_conda_post_link)
    files.set(`bin/.${rec.name}-post-link.sh`, { text: rec.real_conda_post_link, mode: 0o755 });
  if (rec.real_conda_activate) files.set(`etc/conda/activate.d/${rec.name}.sh`, { text: rec.real_conda_activate });
  for (const [p, text] of Object.entries(rec.real_conda_files ?? {})) files.set(p, { text });
  return { files, copyPip };
}

/** An importable module with `__version__` and a dist-info saying conda installed it (as the fake writes them). */
function moduleFiles(rec: SourceRecord): Array<[string, string]> {
  const mod = moduleOf(rec.name);
  const info = `${mod}-${rec.version}.dist-info`;
  const files: Array<[string, string]> = [
    [`${mod}/__init__.py`, `__version__ = "${rec.version}"\n`],
    [`${info}/METADATA`, `Metadata-Version: 2.1\nName: ${rec.name}\nVersion: ${rec.version}\n`],
    [`${info}/INSTALLER`, 'conda\n'],
  ];
  files.push([`${info}/RECORD`, [...files.map(([p]) => `${p},,`), `${info}/RECORD,,`].join('\n') + '\n']);
  return files;
}

const LINK_PY = `"""conda-build 1.x noarch_python link.py (conda-gitops test package): site-packages/ into the env."""
import os, shutil, sys, sysconfig
here = os.path.dirname(os.path.abspath(__file__))
dest = sysconfig.get_paths()["purelib"]
for root, _, names in os.walk(os.path.join(here, "site-packages")):
    rel = os.path.relpath(root, os.path.join(here, "site-packages"))
    os.makedirs(os.path.join(dest, rel), exist_ok=True)
    for n in names:
        shutil.copy2(os.path.join(root, n), os.path.join(dest, rel, n))
`;

function walk(dir: string, base = dir): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory() && !e.isSymbolicLink()) out.push(...walk(p, base));
    else out.push(p.slice(base.length + 1));
  }
  return out;
}

/** Build one package's .tar.bz2 at `tarball`; returns its repodata record. */
export function buildPackage(
  rec: SourceRecord,
  subdir: string,
  tarball: string,
  host: HostPython,
): Record<string, unknown> {
  const work = mkdtempSync(join(tmpdir(), 'cg-realpkg-'));
  try {
    const { files, copyPip } = packageContent(rec, host);
    for (const [rel, spec] of files) {
      const p = join(work, rel);
      mkdirSync(dirname(p), { recursive: true });
      if ('link' in spec) symlinkSync(spec.link, p);
      else {
        writeFileSync(p, spec.text);
        if (spec.mode) chmodSync(p, spec.mode);
      }
    }
    if (copyPip) {
      const noCache = (src: string) => !src.includes('__pycache__');
      for (const e of readdirSync(host.pipDir).filter((n) => /^pip-[^/]*\.dist-info$/.test(n)))
        cpSync(join(host.pipDir, e), join(work, 'site-packages', e), { recursive: true, filter: noCache });
      if (pipLayout() === 'tree')
        cpSync(join(host.pipDir, 'pip'), join(work, 'site-packages', 'pip'), { recursive: true, filter: noCache });
      else {
        // pip's ~800 modules in one zip on sys.path (a .pth line): conda 4.3 byte-compiles a noarch package with one
        // python process per .py file (minutes for a tree of pip), and pip runs from a zip as from its pip.pyz
        const entries: Array<[string, Buffer]> = walk(join(host.pipDir, 'pip'))
          .filter(noCache)
          .sort()
          .map((rel) => [`pip/${rel}`, readFileSync(join(host.pipDir, 'pip', rel))]);
        writeFileSync(join(work, 'site-packages', 'pip-bundle.zip'), zip(entries));
        writeFileSync(join(work, 'site-packages', 'pip-bundle.pth'), 'pip-bundle.zip\n');
      }
      const installer = readdirSync(join(work, 'site-packages')).find((n) => n.endsWith('.dist-info'));
      if (installer) writeFileSync(join(work, 'site-packages', installer, 'INSTALLER'), 'conda\n');
    }
    const linked = walk(work).sort();
    if (rec.fake_conda_prelink) {
      for (const [p, text] of moduleFiles(rec)) {
        mkdirSync(dirname(join(work, 'site-packages', p)), { recursive: true });
        writeFileSync(join(work, 'site-packages', p), text);
      }
      writeFileSync(join(work, 'link.py'), LINK_PY);
    }
    const index: Record<string, unknown> = {
      name: rec.name,
      version: rec.version,
      build: rec.build,
      build_number: rec.build_number,
      depends: rec.depends ?? [],
      constrains: rec.constrains ?? [],
      license: rec.license ?? 'BSD-3-Clause',
      subdir,
      timestamp: rec.timestamp ?? 1700000000000,
      ...(subdir === 'noarch' ? {} : { arch: 'x86_64', platform: 'linux' }),
      ...(rec.noarch !== undefined && rec.noarch !== false
        ? { noarch: rec.noarch === true ? 'generic' : rec.noarch }
        : {}),
    };
    const paths = linked.map((rel) => {
      const st = lstatSync(join(work, rel));
      if (st.isSymbolicLink()) return { _path: rel, path_type: 'softlink', size_in_bytes: 0 };
      const data = readFileSync(join(work, rel));
      return { _path: rel, path_type: 'hardlink', sha256: sha256(data), size_in_bytes: data.length };
    });
    mkdirSync(join(work, 'info'), { recursive: true });
    writeFileSync(join(work, 'info', 'index.json'), JSON.stringify(index, null, 2) + '\n');
    writeFileSync(join(work, 'info', 'files'), linked.join('\n') + (linked.length ? '\n' : ''));
    writeFileSync(join(work, 'info', 'paths.json'), JSON.stringify({ paths, paths_version: 1 }, null, 2) + '\n');
    if (rec.noarch === 'python') {
      const entry_points =
        rec.name === 'pip' ? ['pip = pip._internal.cli.main:main', 'pip3 = pip._internal.cli.main:main'] : [];
      writeFileSync(
        join(work, 'info', 'link.json'),
        JSON.stringify({ noarch: { type: 'python', entry_points }, package_metadata_version: 1 }, null, 2) + '\n',
      );
    }
    const members = [
      'info',
      ...readdirSync(work)
        .filter((n) => n !== 'info')
        .sort(),
    ];
    mkdirSync(dirname(tarball), { recursive: true });
    rmSync(tarball, { force: true });
    execFileSync('tar', [
      '--sort=name',
      `--mtime=${MTIME}`,
      '--owner=0',
      '--group=0',
      '--numeric-owner',
      '-cjf',
      tarball,
      '-C',
      work,
      '--',
      ...members,
    ]);
    const data = readFileSync(tarball);
    return { ...index, md5: createHash('md5').update(data).digest('hex'), sha256: sha256(data), size: data.length };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const SUBDIRS = ['linux-64', 'noarch'];

/**
 * Turn the fake channel at `src` into a real one at `dest` (created or refreshed: the same record gives the same
 * bytes). Returns the `file://` URL of `dest`.
 */
export function makeRealChannel(src: string, dest: string, host: HostPython = hostPythonInfo()): string {
  const out = resolve(dest);
  const minors = new Set<string>();
  for (const subdir of SUBDIRS) {
    const file = join(resolve(src), subdir, 'repodata.json');
    if (!existsSync(file)) continue;
    const recs = Object.values(
      (JSON.parse(readFileSync(file, 'utf8')) as { packages?: Record<string, SourceRecord> }).packages ?? {},
    );
    for (const r of recs) if (r.name === 'python') minors.add(r.version.split('.').slice(0, 2).join('.'));
  }
  if (minors.size === 1) host = { ...host, pythonMinor: [...minors][0] };
  for (const subdir of SUBDIRS) {
    const file = join(resolve(src), subdir, 'repodata.json');
    const repodata = existsSync(file)
      ? (JSON.parse(readFileSync(file, 'utf8')) as { packages?: Record<string, SourceRecord> })
      : { packages: {} };
    const packages: Record<string, unknown> = {};
    for (const [fn, rec] of Object.entries(repodata.packages ?? {}).sort(([a], [b]) => (a < b ? -1 : 1)))
      packages[fn] = buildPackage(rec, subdir, join(out, subdir, fn), host);
    mkdirSync(join(out, subdir), { recursive: true });
    const text =
      JSON.stringify({ info: { subdir }, packages, 'packages.conda': {}, repodata_version: 1 }, null, 1) + '\n';
    writeFileSync(join(out, subdir, 'repodata.json'), text);
    rmSync(join(out, subdir, 'repodata.json.bz2'), { force: true });
    execFileSync('bzip2', ['-k', '-f', '--', join(out, subdir, 'repodata.json')]);
  }
  return pathToFileURL(out).href;
}
