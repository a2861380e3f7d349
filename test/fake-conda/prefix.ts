/** An environment prefix on disk: conda-meta records, history, the real python, package files, pip dists. */
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  chmodSync,
  rmdirSync,
  lstatSync,
  accessSync,
  constants as fsConstants,
} from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { canonicalName, configuredPkgsDirs, type ChannelConfig } from './channels.js';
import { atLeast, cmpVersion, fakeDir, libmambaCli, userHome, type Ctx } from './context.js';
import { CondaError } from './errors.js';
import type { IndexedRecord } from './repodata.js';
import { oldPythonFiles } from './oldpython.js';

/** conda-meta/<name>-<version>-<build>.json */
export interface PrefixRecord {
  name: string;
  version: string;
  build: string;
  build_number: number;
  /** channel URL with subdir, as modern conda stores it */
  channel: string;
  subdir: string;
  fn: string;
  url: string;
  depends: string[];
  constrains: string[];
  noarch?: unknown;
  files: string[];
  requested_spec: string;
  [k: string]: unknown;
}

export const isEnv = (prefix: string): boolean => existsSync(join(prefix, 'conda-meta'));
export const distName = (r: { name: string; version: string; build: string }): string =>
  `${r.name}-${r.version}-${r.build}`;

export function readRecords(prefix: string): PrefixRecord[] {
  const dir = join(prefix, 'conda-meta');
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as PrefixRecord)
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** Channel base URL of a record (its `channel` without the subdir). */
export const recordChannelUrl = (r: PrefixRecord): string => r.channel.replace(/\/(linux-64|noarch)$/, '');
export const recordChannelName = (r: PrefixRecord, cfg: ChannelConfig): string =>
  r.channel === 'pypi' ? 'pypi' : canonicalName(recordChannelUrl(r), cfg);

/** "3.11" from "3.11.7" */
export const pyMinor = (ctx: Ctx): string => ctx.config.pythonVersion.split('.').slice(0, 2).join('.');
export const sitePackages = (ctx: Ctx): string => `lib/python${pyMinor(ctx)}/site-packages`;

function write(prefix: string, rel: string, text: string, mode?: number): void {
  const p = join(prefix, rel);
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, text);
  if (mode) chmodSync(p, mode);
}

/**
 * A venv layout written directly (what `python3 -m venv --without-pip --symlinks` makes, in ~1 ms
 * instead of ~350 ms): bin/python links to the host interpreter, pyvenv.cfg makes sys.prefix = PREFIX.
 */
export function makePython(ctx: Ctx, prefix: string, recordVersion?: string): string[] {
  const py = ctx.config.python;
  const minor = pyMinor(ctx);
  mkdirSync(join(prefix, 'bin'), { recursive: true });
  mkdirSync(join(prefix, sitePackages(ctx)), { recursive: true });
  write(
    prefix,
    'pyvenv.cfg',
    `home = ${dirname(py)}\ninclude-system-site-packages = false\nversion = ${ctx.config.pythonVersion}\n` +
      `executable = ${py}\ncommand = ${py} -m venv --without-pip ${prefix}\n`,
  );
  const links: Array<[string, string]> = [
    ['bin/python3', py],
    ['bin/python', 'python3'],
    [`bin/python${minor}`, 'python3'],
  ];
  for (const [rel, target] of links) {
    rmSync(join(prefix, rel), { force: true });
    symlinkSync(target, join(prefix, rel));
  }
  if (!existsSync(join(prefix, 'lib64'))) symlinkSync('lib', join(prefix, 'lib64'));
  const old = oldPythonFiles(ctx, recordVersion);
  for (const [rel, text] of old) write(prefix, rel, text);
  return ['pyvenv.cfg', ...links.map(([rel]) => rel), ...old.map(([rel]) => rel)];
}

const moduleName = (name: string): string => name.toLowerCase().replace(/[-.]+/g, '_');

/** Files a package leaves in an env that has python: an importable module, or the pip shim. */
function packageFiles(ctx: Ctx, prefix: string, rec: IndexedRecord): Array<[string, string, number?]> {
  const sp = sitePackages(ctx);
  if (rec.name === 'pip') {
    // real pip, without a 4 s install per env: the host's pip, told to act on this env's interpreter
    const main =
      `import os, sys\nhost = ${JSON.stringify(ctx.config.python)}\n` +
      `os.execv(host, [host, '-m', 'pip', '--python', sys.executable] + sys.argv[1:])\n`;
    const script =
      `#!${prefix}/bin/python\nimport runpy\n` + "runpy.run_module('pip', run_name='__main__', alter_sys=True)\n";
    return [
      [`${sp}/pip/__init__.py`, `__version__ = "${rec.version}"\n`],
      [`${sp}/pip/__main__.py`, main],
      ['bin/pip', script, 0o755],
      ['bin/pip3', script, 0o755],
    ];
  }
  if (rec.fake_conda_module === false) return [];
  // libmamba does not run the pre-link script that moves a legacy noarch_python package's files into place
  if (rec.fake_conda_prelink && libmambaCli(ctx)) return [[`bin/.${rec.name}-pre-link.sh`, legacyPreLink(), 0o755]];
  const mod = moduleName(rec.name);
  const info = `${sp}/${mod}-${rec.version}.dist-info`;
  const files: Array<[string, string, number?]> = [
    [`${sp}/${mod}/__init__.py`, `__version__ = "${rec.version}"\n`],
    [`${info}/METADATA`, `Metadata-Version: 2.1\nName: ${rec.name}\nVersion: ${rec.version}\n`],
    // conda-built python packages say who installed them; pip then leaves them to conda in `pip list` logic
    [`${info}/INSTALLER`, 'conda\n'],
  ];
  const record =
    [...files.map(([p]) => `${p.slice(sp.length + 1)},,`), `${mod}-${rec.version}.dist-info/RECORD,,`].join('\n') +
    '\n';
  files.push([`${info}/RECORD`, record]);
  // a legacy noarch_python package: the pre-link script that runs its bundled link.py (conda_build/noarch_python.py)
  if (rec.fake_conda_prelink) files.push([`bin/.${rec.name}-pre-link.sh`, legacyPreLink(), 0o755]);
  return files;
}

function legacyPreLink(): string {
  // conda_build/noarch_python.py's text, which conda's run_script recognises as old noarch (conda/core/link.py)
  return '#!/bin/bash\n$PREFIX/bin/python $SOURCE_DIR/link.py\n';
}

/**
 * What a legacy noarch_python package holds beside its pre-link script (conda_build/noarch_python.py): its module
 * under a top-level `site-packages/` and `link.py`, which the pre-link runs with the env's python to copy them
 * into the env's site-packages (conda_build/_link.py `link_files`) and write `conda-meta/<dist>.files`.
 */
function legacySource(rec: IndexedRecord): Array<[string, string, number?]> {
  const mod = moduleName(rec.name);
  const linkPy = [
    'import os, shutil, sys',
    'THIS_DIR = os.path.dirname(os.path.abspath(__file__))',
    "SITE_PACKAGES = 'lib/python%d.%d/site-packages' % sys.version_info[:2]",
    'PREFIX = os.path.normpath(sys.prefix)',
    `DIST = ${JSON.stringify(distName(rec))}`,
    'FILES = []',
    "src_root = os.path.join(THIS_DIR, 'site-packages')",
    'for dirpath, _, names in os.walk(src_root):',
    '    for n in names:',
    '        rel = os.path.relpath(os.path.join(dirpath, n), src_root)',
    '        dst = os.path.join(PREFIX, SITE_PACKAGES, rel)',
    '        os.makedirs(os.path.dirname(dst), exist_ok=True)',
    '        shutil.copy2(os.path.join(dirpath, n), dst)',
    "        FILES.append(SITE_PACKAGES + '/' + rel)",
    "with open(os.path.join(PREFIX, 'conda-meta', DIST + '.files'), 'w') as fo:",
    "    fo.write(''.join(f + '\\n' for f in FILES))",
    '',
  ].join('\n');
  return [
    ['link.py', linkPy],
    [`site-packages/${mod}/__init__.py`, `__version__ = "${rec.version}"\n`],
    [
      `site-packages/${mod}-${rec.version}.dist-info/METADATA`,
      `Metadata-Version: 2.1\nName: ${rec.name}\nVersion: ${rec.version}\n`,
    ],
  ];
}

/** One `paths_data` entry as modern conda writes it: sha256 and size of the linked file (softlinks: no hash). */
function pathData(prefix: string, rel: string): Record<string, unknown> {
  const path = join(prefix, rel);
  const st = lstatSync(path, { throwIfNoEntry: false });
  if (!st) return { _path: rel, path_type: 'hardlink' };
  if (st.isSymbolicLink()) return { _path: rel, path_type: 'softlink' };
  const sha256 = createHash('sha256').update(readFileSync(path)).digest('hex');
  return { _path: rel, path_type: 'hardlink', sha256, size_in_bytes: st.size };
}

/** Link one package: its files, its conda-meta record, its package-cache entry. */
export function linkPackage(
  ctx: Ctx,
  prefix: string,
  rec: IndexedRecord,
  requested: string | undefined,
  withPython: boolean,
): PrefixRecord {
  let files: string[] = [];
  // like conda: the package is extracted into the first writable package cache unless a cache has it already,
  // and its files are linked from there (a changed file in the cache is what the env gets)
  // (pip's files name the prefix: the fake writes them fresh instead of relocating them as conda does)
  const cacheable = withPython && rec.name !== 'pip';
  const content = (): Array<[string, string, number?]> =>
    cacheable ? [...packageFiles(ctx, prefix, rec), ...(rec.fake_conda_prelink ? legacySource(rec) : [])] : [];
  const extracted = findExtracted(ctx, rec) ?? extract(ctx, rec, content());
  if (rec.name === 'python') files = makePython(ctx, prefix, rec.version);
  else if (withPython) {
    const pf = packageFiles(ctx, prefix, rec);
    for (const [rel, text, mode] of pf) write(prefix, rel, (cacheable && cachedText(extracted, rel)) || text, mode);
    files = pf.map(([rel]) => rel);
  }
  const { channel, url, fake_conda_module: _m, fake_conda_prelink: _p, ...repo } = rec;
  const pr: PrefixRecord = {
    ...repo,
    name: rec.name,
    version: rec.version,
    build: rec.build,
    build_number: rec.build_number,
    channel: `${channel.url}/${rec.subdir}`,
    subdir: rec.subdir,
    fn: rec.fn,
    url,
    depends: rec.depends,
    constrains: rec.constrains ?? [],
    files,
    paths_data: { paths_version: 1, paths: files.map((f) => pathData(prefix, f)) },
    link: { source: extracted, type: 1 },
    requested_spec: requested ?? 'None',
    extracted_package_dir: extracted,
    package_tarball_full_path: `${extracted}.tar.bz2`,
  };
  if (rec.noarch === 'python' || rec.noarch === 'generic') pr.noarch = rec.noarch;
  else if (rec.noarch === true) pr.noarch = true;
  mkdirSync(join(prefix, 'conda-meta'), { recursive: true });
  writeFileSync(join(prefix, 'conda-meta', `${distName(rec)}.json`), JSON.stringify(pr, null, 2) + '\n');
  return pr;
}

/**
 * The package caches, in order, as conda's `pkgs_dirs`: $CONDA_PKGS_DIRS (comma-separated), else the rc files'
 * `pkgs_dirs`, else ROOT/pkgs.
 */
export function pkgsDirs(ctx: Ctx): string[] {
  const fromEnv = (ctx.env.CONDA_PKGS_DIRS ?? '').split(',').map((d) => d.trim());
  const dirs = fromEnv.filter(Boolean);
  if (dirs.length) return dirs;
  const configured = configuredPkgsDirs(ctx);
  return configured.length ? configured : [join(ctx.root, 'pkgs')];
}

/** The extracted package in the first cache that has it. */
function findExtracted(ctx: Ctx, rec: IndexedRecord): string | undefined {
  return pkgsDirs(ctx)
    .map((d) => join(d, distName(rec)))
    .find((d) => existsSync(join(d, 'info', 'index.json')));
}

/** A file of an extracted package, if the cache still has it (a concurrent `conda clean` may remove it). */
function cachedText(extracted: string, rel: string): string | undefined {
  try {
    return readFileSync(join(extracted, rel), 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * pkgs/<dist>/info/index.json, its files and pkgs/urls.txt, as conda's package cache keeps them, in the first
 * cache that can be written (conda skips read-only ones). Returns where it went.
 */
function extract(ctx: Ctx, rec: IndexedRecord, files: Array<[string, string, number?]>): string {
  const { channel: _c, url: _u, fn: _f, ...index } = rec;
  const dirs = pkgsDirs(ctx);
  // conda 4.6+: PackageCacheData.first_writable() (conda/core/package_cache_data.py) uses only the configured
  // caches, creating a missing one; none writable -> NoWritablePkgsDirError
  if (atLeast(ctx, '4.6') && !dirs.some((d) => writableDir(d)))
    throw new CondaError(
      'NoWritablePkgsDirError',
      `No writeable pkgs directories configured.\n${dirs.map((d) => `  - ${d}`).join('\n')}\n`,
    );
  for (const dir of dirs) {
    const extracted = join(dir, distName(rec));
    try {
      mkdirSync(join(extracted, 'info'), { recursive: true });
      for (const [rel, text] of files) write(extracted, rel, text);
      writeFileSync(join(extracted, 'info', 'index.json'), JSON.stringify(index, null, 2) + '\n');
      appendFileSync(join(dir, 'urls.txt'), `${rec.url}\n`);
      return extracted;
    } catch {
      // read-only, or a concurrent `conda clean` removed it under us: the next cache, or the record's own files
    }
  }
  return join(dirs[0]!, distName(rec));
}

export function unlinkPackage(prefix: string, rec: PrefixRecord): void {
  for (const f of rec.files) rmSync(join(prefix, f), { force: true });
  // drop directories the package's files leave empty (module dirs, dist-info)
  for (const d of [...new Set(rec.files.map((f) => dirname(f)))].sort((a, b) => b.length - a.length)) {
    try {
      rmdirSync(join(prefix, d));
    } catch {
      /* not empty or gone */
    }
  }
  rmSync(join(prefix, 'conda-meta', `${distName(rec)}.json`), { force: true });
}

export interface PypiDist {
  name: string;
  version: string;
}

/** Distributions pip installed in site-packages (conda >= 4.6 lists them with channel `pypi`). */
export function pypiDists(ctx: Ctx, prefix: string, records: PrefixRecord[]): PypiDist[] {
  const sp = sitePackages(ctx);
  let entries: string[];
  try {
    entries = readdirSync(join(prefix, sp));
  } catch {
    return [];
  }
  const condaFiles = new Set(records.flatMap((r) => r.files));
  const out: PypiDist[] = [];
  for (const e of entries) {
    const meta = e.endsWith('.dist-info') ? 'METADATA' : e.endsWith('.egg-info') ? 'PKG-INFO' : null;
    if (!meta || condaFiles.has(`${sp}/${e}/${meta}`)) continue;
    let text: string;
    try {
      text = readFileSync(join(prefix, sp, e, meta), 'utf8');
    } catch {
      continue;
    }
    const installer = (() => {
      try {
        return readFileSync(join(prefix, sp, e, 'INSTALLER'), 'utf8').trim();
      } catch {
        return '';
      }
    })();
    if (installer === 'conda') continue;
    const name = text.match(/^Name:\s*(.+)$/m)?.[1].trim();
    const version = text.match(/^Version:\s*(.+)$/m)?.[1].trim();
    if (name && version) out.push({ name: name.replace(/[._]/g, '-').toLowerCase(), version });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** Python's repr() of a list of strings, as conda writes it in history and pip messages. */
export const pyList = (xs: string[]): string =>
  `[${xs.map((x) => (x.includes("'") ? JSON.stringify(x) : `'${x}'`)).join(', ')}]`;

/** A history line for a dist: `channel/subdir::name-ver-build` (4.4+), `channel::name-ver-build` before. */
export function historyDist(ctx: Ctx, r: PrefixRecord, cfg: ChannelConfig): string {
  const ch = recordChannelName(r, cfg);
  return atLeast(ctx, '4.4') ? `${ch}/${r.subdir}::${distName(r)}` : `${ch}::${distName(r)}`;
}

export function appendHistory(
  ctx: Ctx,
  prefix: string,
  cfg: ChannelConfig,
  args: string[],
  linked: PrefixRecord[],
  unlinked: PrefixRecord[],
  specs: string[],
  what: 'update' | 'remove' = 'update',
): void {
  const now = new Date();
  const p2 = (n: number) => String(n).padStart(2, '0');
  const day = `${now.getFullYear()}-${p2(now.getMonth() + 1)}-${p2(now.getDate())}`;
  const stamp = `${day} ${p2(now.getHours())}:${p2(now.getMinutes())}:${p2(now.getSeconds())}`;
  const lines = [
    `==> ${stamp} <==`,
    `# cmd: ${join(ctx.root, 'bin', 'conda')} ${args.join(' ')}`,
    `# conda version: ${ctx.config.version}`,
  ];
  lines.push(
    ...unlinked.map((r) => `-${historyDist(ctx, r, cfg)}`),
    ...linked.map((r) => `+${historyDist(ctx, r, cfg)}`),
  );
  lines.push(
    atLeast(ctx, '4.4')
      ? `# ${what} specs: ${pyList(specs)}`
      : `# ${what === 'update' ? 'install' : what} specs: ${specs.join(',')}`,
  );
  mkdirSync(join(prefix, 'conda-meta'), { recursive: true });
  appendFileSync(join(prefix, 'conda-meta', 'history'), lines.join('\n') + '\n');
}

/** Specs the user asked for over the env's life, from `# update specs` / `# install specs` lines. */
export function historySpecs(prefix: string): string[] {
  let text = '';
  try {
    text = readFileSync(join(prefix, 'conda-meta', 'history'), 'utf8');
  } catch {
    return [];
  }
  const byName = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = line.match(/^# (update|install|create|remove) specs: (.*)$/);
    if (!m) continue;
    const specs = m[2].startsWith('[')
      ? [...m[2].matchAll(/'([^']*)'|"([^"]*)"/g)].map((x) => x[1] ?? x[2])
      : m[2].split(',');
    for (const s of specs.map((x) => x.trim()).filter(Boolean)) {
      const name = s.split(/[\s=<>!~[]/)[0].replace(/^.*::/, '');
      if (m[1] === 'remove') byName.delete(name);
      else byName.set(name, s);
    }
  }
  return [...byName.values()];
}

// The registry of envs created by path: conda's ~/.conda/environments.txt (conda/core/envs_manager.py, conda >= 4.4)
const registry = (ctx: Ctx): string => join(userHome(ctx), '.conda', 'environments.txt');

/** Every prefix this installation linked packages into: stands for the hard-link counts `clean` looks at. */
const linkedPrefixes = (ctx: Ctx): string => join(fakeDir(ctx.root), 'linked-prefixes.txt');

/** Prefixes that may use this installation's package cache (what `clean` must keep), whatever `env list` says. */
export function cacheUsers(ctx: Ctx): string[] {
  let extra: string[] = [];
  try {
    extra = readFileSync(linkedPrefixes(ctx), 'utf8').split('\n').filter(Boolean);
  } catch {
    /* none yet */
  }
  return [...new Set([...knownEnvs(ctx), ctx.root, ...extra])].filter((p) => isEnv(p));
}

/** The directory itself or its nearest existing parent can be written (a read-only mount cannot: EROFS). */
function writableDir(dir: string): boolean {
  let d = dir;
  while (!existsSync(d) && dirname(d) !== d) d = dirname(d);
  try {
    accessSync(d, fsConstants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** libmamba's version: micromamba's own, or mamba 2's. */
const libmambaVersion = (ctx: Ctx): string =>
  ctx.frontend === 'micromamba' ? ctx.config.version : (ctx.config.mambaVersion ?? '2');

/**
 * The verify step of a conda transaction (RegisterEnvironmentLocationAction.verify): `touch(~/.conda/
 * environments.txt, mkdir=True)`. conda 4.4.0–4.6.8 do it unguarded (conda/core/path_actions.py, tag 4.6.8 line
 * 921): a home that cannot be written fails the transaction with NotWritableError before anything is linked;
 * 4.6.9 catches it and warns (conda/conda#8451, #8453). Only the failing case is modelled for 4.6.9+.
 */
export function verifyRegistry(ctx: Ctx): void {
  if (libmambaCli(ctx) || !atLeast(ctx, '4.4')) return;
  const file = registry(ctx);
  if (!writableDir(dirname(file)) || (existsSync(file) && !writableDir(file))) {
    if (atLeast(ctx, '4.6.9')) {
      ctx.err(
        'WARNING conda.core.path_actions:verify(): Unable to create environments file. Path not writable.\n' +
          `  environment location: ${file}\n\n`,
      );
      return;
    }
    const uid = process.getuid?.() ?? 0;
    const gid = process.getgid?.() ?? 0;
    throw new CondaError(
      'NotWritableError',
      'The current user does not have write permissions to a required path.\n' +
        `  path: ${file}\n  uid: ${uid}\n  gid: ${gid}\n\n` +
        'If you feel that permissions on this path are set incorrectly, you can manually\n' +
        'change them by executing\n\n' +
        `  $ sudo chown ${uid}:${gid} ${file}\n\nIn general, it's not advisable to use 'sudo conda'.\n`,
    );
  }
  if (!atLeast(ctx, '4.6.9')) {
    mkdirSync(dirname(file), { recursive: true });
    appendFileSync(file, '');
  }
}

/**
 * libmamba 2.x (EnvironmentsManager::register_env, libmamba/src/core/environments_manager.cpp, 2.0.0–2.8.1): try
 * to create ~/.conda/environments.txt, ignore a failure, then read_lines() it (util.cpp), which throws when it is
 * missing: every create fails in a home where the file neither exists nor can be made.
 */
function registerLibmamba(ctx: Ctx, prefix: string): void {
  if (cmpVersion(libmambaVersion(ctx), '2') < 0) return;
  const file = registry(ctx);
  if (!existsSync(file)) {
    try {
      mkdirSync(dirname(file), { recursive: true });
      appendFileSync(file, '');
    } catch {
      /* libmamba: catch (...) {} */
    }
  }
  if (!existsSync(file)) throw new CondaError('libmamba', `failed to open ${file}: No such file or directory`);
  if (readRegistry(ctx).includes(prefix)) return;
  try {
    appendFileSync(file, `${prefix}\n`);
  } catch {
    ctx.err(`error    libmamba Could not register environment. ${file} not writeable or missing?\n`);
  }
}

export function registerEnv(ctx: Ctx, prefix: string): void {
  try {
    appendFileSync(linkedPrefixes(ctx), `${prefix}\n`);
  } catch {
    /* fake-only bookkeeping */
  }
  if (libmambaCli(ctx)) return registerLibmamba(ctx, prefix);
  if (!atLeast(ctx, '4.4')) return; // 4.3 keeps no registry
  const known = readRegistry(ctx);
  if (known.includes(prefix)) return;
  try {
    // conda 4.4–23.x open ~/.conda/environments.txt for appending without creating ~/.conda: no ~/.conda, no
    // registration (a warning); 24.1 creates it (envs_manager.py register_env; real conda 23.11.0, probe create)
    if (atLeast(ctx, '24.1')) mkdirSync(dirname(registry(ctx)), { recursive: true });
    appendFileSync(registry(ctx), `${prefix}\n`);
  } catch (e) {
    // conda's register_env: an unwritable registry (a read-only home, a sandbox) is a warning, not an error
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EACCES' && code !== 'EROFS' && code !== 'ENOENT' && code !== 'EPERM') throw e;
    ctx.err(
      'WARNING conda.core.envs_manager:register_env(): Unable to register environment. ' +
        `Path not writable or missing.\n  environment location: ${prefix}\n  registry file: ${registry(ctx)}\n`,
    );
  }
}

function readRegistry(ctx: Ctx): string[] {
  try {
    return readFileSync(registry(ctx), 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

/** conda's envs_dirs: ROOT/envs, then ~/.conda/envs. */
export const envsDirs = (ctx: Ctx): string[] => [join(ctx.root, 'envs'), join(userHome(ctx), '.conda', 'envs')];

/**
 * Every env conda knows (envs_manager.py list_all_known_prefixes, conda >= 4.4): the registered prefixes (any
 * installation's, any place), every env in envs_dirs and the root, sorted. conda 4.3: envs_dirs only, no root.
 */
export function knownEnvs(ctx: Ctx): string[] {
  const found = new Set<string>();
  for (const dir of envsDirs(ctx)) {
    let names: string[] = [];
    try {
      names = readdirSync(dir);
    } catch {
      /* no envs dir */
    }
    for (const n of names) if (isEnv(join(dir, n))) found.add(join(dir, n));
  }
  if (!atLeast(ctx, '4.4')) return [...found].sort();
  for (const p of readRegistry(ctx)) if (isEnv(p)) found.add(p);
  found.add(ctx.root);
  return [...found].sort();
}
