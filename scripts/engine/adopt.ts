/**
 * adopt / export: from an existing, unmanaged conda installation to inventory.ini + env-specs/NAME.yml.
 * The text functions are pure (builds, prefix, pip sources, inventory rendering); the rest executes:
 * the adapter for conda, git for editable checkouts, the file system for site-packages.
 */
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Conda, type Call } from './conda.js';
import { UsageError } from '../core/errors.js';
import { gitLine } from './git.js';
import { compareCondaVersions } from '../core/conda-version.js';
import type { AdoptedKernel, FoundKernelspec } from '../core/kernel.js';
import { normalizePipName } from '../core/pip.js';
import type { InstalledDist } from '../core/sitepackages.js';
import { readInstalledDists } from './sitepackages.js';

// ---- builds and prefix (pure) ----------------------------------------------------------------------------

/** conda 4.3.0 .. 4.3.30 ignored `--no-builds` (fixed in 4.3.31, conda/conda#6220). */
export function ignoresNoBuilds(condaVersion: string): boolean {
  return compareCondaVersions(condaVersion, '4.3.0') >= 0 && compareCondaVersions(condaVersion, '4.3.31') < 0;
}

/** Line ranges of the top-level `dependencies:` block and of its `- pip:` sub-list (0-based, end exclusive). */
function sections(lines: string[]) {
  let deps: [number, number] | undefined;
  let pip: [number, number] | undefined;
  for (let i = 0; i < lines.length; i++) {
    if (/^dependencies:\s*$/.test(lines[i]!)) {
      let j = i + 1;
      while (j < lines.length && !/^[A-Za-z_][\w-]*:/.test(lines[j]!)) j++;
      deps = [i + 1, j];
      break;
    }
  }
  if (deps) {
    for (let i = deps[0]; i < deps[1]; i++) {
      const m = /^(\s*)-\s+pip:\s*$/.exec(lines[i]!);
      if (!m) continue;
      const dashIndent = m[1]!.length;
      let j = i + 1;
      // the pip entries are indented deeper than the `- pip:` dash (or are further `- ` items at a deeper column)
      while (j < deps[1] && (lines[j]!.trim() === '' || lines[j]!.search(/\S/) > dashIndent)) j++;
      pip = [i + 1, j];
      break;
    }
  }
  return { deps, pip };
}

/**
 * Strip build strings from `name=version=build` conda dependencies (what 4.3.x wrote despite --no-builds).
 * pip entries (`name==version`) are left alone. Returns the new text and how many builds went.
 */
export function stripBuilds(text: string): { text: string; stripped: number } {
  const lines = text.split('\n');
  const { deps, pip } = sections(lines);
  if (!deps) return { text, stripped: 0 };
  let stripped = 0;
  for (let i = deps[0]; i < deps[1]; i++) {
    if (pip && i >= pip[0] && i < pip[1]) continue;
    const m = /^(\s*-\s+)([A-Za-z0-9_][A-Za-z0-9_.+-]*(?:::[A-Za-z0-9_.+-]+)?)=([^=\s]+)=([^=\s]+)(\s*(?:#.*)?)$/.exec(
      lines[i]!.replace(/\r$/, ''),
    );
    if (!m) continue;
    const cr = lines[i]!.endsWith('\r') ? '\r' : '';
    lines[i] = `${m[1]}${m[2]}=${m[3]}${m[5]}${cr}`;
    stripped++;
  }
  return { text: lines.join('\n'), stripped };
}

/** Drop top-level `prefix:` lines: a build's prefix is chosen by the tool, never by the spec. */
export function dropPrefix(text: string): { text: string; dropped: string | undefined } {
  let dropped: string | undefined;
  const lines = text.split('\n').filter((l) => {
    const m = /^prefix:\s*(.*?)\s*$/.exec(l.replace(/\r$/, ''));
    if (m) dropped = m[1];
    return !m;
  });
  while (lines.length > 1 && lines[lines.length - 1] === '' && lines[lines.length - 2]!.trim() === '') lines.pop();
  return { text: lines.join('\n'), dropped };
}

/**
 * Name the env where conda did not: conda <= 4.12 exports an env given by path (`env export -p PREFIX`) as
 * `name: null`, which the spec parser reads as the name 'null'. A name conda wrote is kept. Pure.
 */
export function nameEnv(text: string, name: string): { text: string; named: boolean } {
  const lines = text.split('\n');
  const i = lines.findIndex((l) => /^name:/.test(l));
  if (i < 0) return { text: `name: ${name}\n${text}`, named: true };
  const raw = lines[i]!.replace(/\r$/, '');
  if (!/^name:\s*(null|~|''|"")?\s*(#.*)?$/.test(raw)) return { text, named: false };
  lines[i] = `name: ${name}${lines[i]!.endsWith('\r') ? '\r' : ''}`;
  return { text: lines.join('\n'), named: true };
}

/** Replace pip `name==version` entries whose (PEP 503) name has a recovered source. Pure. */
export function replacePipEntries(
  text: string,
  sources: Map<string, string>,
): { text: string; replaced: Array<{ from: string; to: string }> } {
  const lines = text.split('\n');
  const { pip } = sections(lines);
  const replaced: Array<{ from: string; to: string }> = [];
  if (!pip) return { text, replaced };
  for (let i = pip[0]; i < pip[1]; i++) {
    const raw = lines[i]!.replace(/\r$/, '');
    const m = /^(\s*-\s+)(['"]?)([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s'"]+)\2(\s*(?:#.*)?)$/.exec(raw);
    if (!m) continue;
    const to = sources.get(normalizePipName(m[3]!));
    if (!to) continue;
    const cr = lines[i]!.endsWith('\r') ? '\r' : '';
    lines[i] = `${m[1]}${to}${m[5]}${cr}`;
    replaced.push({ from: `${m[3]}==${m[4]}`, to });
  }
  return { text: lines.join('\n'), replaced };
}

/** The pip `name==version` entries of an export: the candidates for source recovery. */
export function pipPins(text: string): Array<{ name: string; version: string }> {
  const lines = text.split('\n');
  const { pip } = sections(lines);
  if (!pip) return [];
  const out: Array<{ name: string; version: string }> = [];
  for (let i = pip[0]; i < pip[1]; i++) {
    const m = /^\s*-\s+['"]?([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s'"#]+)/.exec(lines[i]!);
    if (m) out.push({ name: m[1]!, version: m[2]! });
  }
  return out;
}

/**
 * The pip section an env really has, from its site-packages: every distribution conda did not install (INSTALLER
 * `conda`, or `name==version` of a `*.dist-info`/`*.egg-info` a conda-meta record lists), as `name==version`, sorted
 * case-insensitively as `pip list` does. One entry per (PEP 503) name; a distribution without a version (an
 * `.egg-link` alone) is left out. Pure.
 */
export function pipEntriesFromDists(dists: InstalledDist[], condaOwned: Set<string>): string[] {
  const byName = new Map<string, InstalledDist>();
  for (const d of dists) {
    const key = normalizePipName(d.name);
    if (d.installer === 'conda' || condaOwned.has(`${key}==${d.version ?? ''}`)) continue;
    const seen = byName.get(key);
    if (!seen || (!seen.version && d.version)) byName.set(key, d);
  }
  return [...byName.values()]
    .filter((d) => d.version)
    .sort((a, b) => a.name.toLowerCase().localeCompare(b.name.toLowerCase()))
    .map((d) => `${d.name}==${d.version}`);
}

/**
 * Replace the export's `- pip:` list (or add one at the end of `dependencies:`) with these entries; no entries
 * drop it. The text is left as it is when the export already says the same (same names and versions). Pure.
 */
export function setPipSection(text: string, entries: string[]): { text: string; changed: boolean; had: number } {
  const lines = text.split('\n');
  const { deps, pip } = sections(lines);
  const current = pip ? lines.slice(pip[0], pip[1]).filter((l) => l.trim()) : [];
  const key = (e: string) => {
    const m = /^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s'"#]+)/.exec(e.replace(/^\s*-\s+['"]?/, ''));
    return m ? `${normalizePipName(m[1]!)}==${m[2]}` : e.trim();
  };
  const same = (a: string[], b: string[]) =>
    a.length === b.length && [...a.map(key)].sort().join('\n') === [...b.map(key)].sort().join('\n');
  if (same(current, entries)) return { text, changed: false, had: current.length };
  if (!deps) {
    if (!entries.length) return { text, changed: false, had: 0 };
    const at = lines.length && lines[lines.length - 1] === '' ? lines.length - 1 : lines.length;
    lines.splice(at, 0, 'dependencies:', '  - pip:', ...entries.map((e) => `      - ${e}`));
    return { text: lines.join('\n'), changed: true, had: 0 };
  }
  // the indent of the dependency items (modern exports indent by 2, old ones not at all)
  const item = lines.slice(deps[0], deps[1]).find((l) => /^\s*-\s/.test(l));
  const dash = item ? /^(\s*)-/.exec(item)![1]! : '  ';
  const block = entries.length ? [`${dash}- pip:`, ...entries.map((e) => `${dash}    - ${e}`)] : [];
  if (pip) {
    let end = pip[1];
    while (end > pip[0] && lines[end - 1]!.trim() === '') end--;
    lines.splice(pip[0] - 1, end - pip[0] + 1, ...block);
  } else {
    let end = deps[1];
    while (end > deps[0] && lines[end - 1]!.trim() === '') end--;
    lines.splice(end, 0, ...block);
  }
  return { text: lines.join('\n'), changed: true, had: current.length };
}

/**
 * The Python distributions conda installed in the env, as `name==version` (PEP 503 name): the `*.dist-info` /
 * `*.egg-info` its conda-meta records list. By path, not by package name: a package pip-installed over a conda
 * one (another version) is pip's.
 */
function condaOwnedDists(prefix: string): Set<string> {
  const owned = new Set<string>();
  const dir = join(prefix, 'conda-meta');
  let names: string[] = [];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.json'));
  } catch {
    return owned;
  }
  for (const n of names) {
    let r: { name?: unknown; files?: unknown };
    try {
      r = JSON.parse(readFileSync(join(dir, n), 'utf8')) as typeof r;
    } catch {
      continue;
    }
    for (const f of Array.isArray(r.files) ? r.files : []) {
      const m = typeof f === 'string' ? /site-packages\/([^/]+)\.(?:dist|egg)-info(?:\/|$)/.exec(f) : null;
      // `name-1.0`, `name-1.0-py3.6` (an old egg-info): the name ends where a version starts
      const nv = m ? /^(.+?)-(\d[^-]*)(?:-py\d+(?:\.\d+)?)?$/.exec(m[1]!) : null;
      if (nv) owned.add(`${normalizePipName(nv[1]!)}==${nv[2]}`);
    }
  }
  return owned;
}

/** The env's pip section from its site-packages (see pipEntriesFromDists). */
export function pipSectionOf(prefix: string): string[] {
  return pipEntriesFromDists(readInstalledDists(prefix), condaOwnedDists(prefix));
}

// ---- pip sources from site-packages ----------------------------------------------------------------------

export interface GitSource {
  name: string;
  /** `git+URL@commit#egg=name` */
  entry: string;
  from: 'direct_url.json' | 'egg-link' | 'editable';
}

export interface UnrecoveredSource {
  name: string;
  reason: string;
}

/** scp-like `git@host:o/r.git` -> `ssh://git@host/o/r.git`; a local path -> `file://`; URLs as they are. */
export function gitUrlForPip(remote: string, checkoutDir: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(remote)) return remote;
  const scp = /^([^@/\s]+@)?([^:/\s]+):(?!\/)(.+)$/.exec(remote);
  if (scp) return `ssh://${scp[1] ?? ''}${scp[2]}/${scp[3]}`;
  return pathToFileURL(resolve(checkoutDir, remote)).href;
}

export function gitEntry(url: string, commit: string, name: string, subdirectory?: string): string {
  const base = url.replace(/^git\+/, '');
  return `git+${base}@${commit}#egg=${name}${subdirectory ? `&subdirectory=${subdirectory}` : ''}`;
}

/** PEP 610 direct_url.json -> a git entry, a reason it cannot be one, or undefined (not a VCS/editable install). */
export function fromDirectUrl(
  name: string,
  json: unknown,
): GitSource | UnrecoveredSource | { editableDir: string } | undefined {
  const d = json as {
    url?: string;
    vcs_info?: { vcs?: string; commit_id?: string };
    dir_info?: { editable?: boolean };
    subdirectory?: string;
  };
  if (!d || typeof d.url !== 'string') return undefined;
  if (d.vcs_info) {
    if (d.vcs_info.vcs !== 'git')
      return {
        name,
        reason: `installed from ${d.vcs_info.vcs ?? 'an unknown VCS'} (${d.url}): only git sources are written`,
      };
    if (!d.vcs_info.commit_id) return { name, reason: `git install from ${d.url} without a recorded commit` };
    return { name, entry: gitEntry(d.url, d.vcs_info.commit_id, name, d.subdirectory), from: 'direct_url.json' };
  }
  if (d.dir_info?.editable && d.url.startsWith('file://')) return { editableDir: fileURLToPath(d.url) };
  return undefined;
}

function git(dir: string, args: string[]): Promise<string | undefined> {
  return gitLine(dir, args, { timeoutSeconds: 30 });
}

/** An editable checkout -> `git+<remote>@<HEAD>#egg=name`, or why not. */
export async function fromCheckout(
  name: string,
  dir: string,
  from: GitSource['from'],
): Promise<GitSource | UnrecoveredSource> {
  if (!existsSync(dir)) return { name, reason: `editable install points at ${dir}, which no longer exists` };
  const top = await git(dir, ['rev-parse', '--show-toplevel']);
  if (!top) return { name, reason: `editable install from ${dir}, which is not a git checkout` };
  const commit = await git(dir, ['rev-parse', 'HEAD']);
  if (!commit) return { name, reason: `git checkout ${top} has no commit` };
  const remotes = (await git(dir, ['remote']))?.split('\n') ?? [];
  const remote = remotes.includes('origin') ? 'origin' : remotes[0];
  const url = remote ? await git(dir, ['remote', 'get-url', remote]) : undefined;
  if (!url) return { name, reason: `git checkout ${top} has no remote to install from` };
  const dirty = await git(dir, ['status', '--porcelain', '--untracked-files=no']);
  const sub = resolve(dir) === resolve(top) ? undefined : resolve(dir).slice(resolve(top).length + 1);
  const source: GitSource = { name, entry: gitEntry(gitUrlForPip(url, top), commit, name, sub), from };
  // a dirty checkout is still written (HEAD is the best we know), but the caller hears about it
  return dirty
    ? Object.assign(source, { note: `${top} has uncommitted changes: HEAD ${commit.slice(0, 12)} written` })
    : source;
}

function sitePackages(prefix: string): string[] {
  const lib = join(prefix, 'lib');
  if (!existsSync(lib)) return [];
  return readdirSync(lib)
    .filter((d) => /^python\d/.test(d))
    .map((d) => join(lib, d, 'site-packages'))
    .filter((d) => existsSync(d));
}

function distName(distInfo: string): string {
  const meta = join(distInfo, 'METADATA');
  if (existsSync(meta)) {
    const m = /^Name:\s*(\S+)/m.exec(readFileSync(meta, 'utf8'));
    if (m) return m[1]!;
  }
  return basename(distInfo).replace(/-[^-]+\.dist-info$/, '');
}

export interface PipSources {
  recovered: Map<string, GitSource & { note?: string }>;
  unrecovered: UnrecoveredSource[];
}

/**
 * Where the env's pip packages came from, as far as site-packages records it: PEP 610 direct_url.json
 * (VCS installs; editable installs pointing at a directory) and setuptools `.egg-link` files (old editable
 * installs). Keyed by PEP 503 name.
 */
export async function pipSources(prefix: string): Promise<PipSources> {
  const recovered = new Map<string, GitSource & { note?: string }>();
  const unrecovered: UnrecoveredSource[] = [];
  const add = (r: (GitSource & { note?: string }) | UnrecoveredSource) => {
    if ('entry' in r) recovered.set(normalizePipName(r.name), r);
    else unrecovered.push(r);
  };
  for (const sp of sitePackages(prefix)) {
    for (const entry of readdirSync(sp)) {
      const path = join(sp, entry);
      if (entry.endsWith('.dist-info')) {
        const du = join(path, 'direct_url.json');
        if (!existsSync(du)) continue;
        const name = distName(path);
        let json: unknown;
        try {
          json = JSON.parse(readFileSync(du, 'utf8'));
        } catch {
          add({ name, reason: 'unreadable direct_url.json' });
          continue;
        }
        const r = fromDirectUrl(name, json);
        if (!r) continue;
        add('editableDir' in r ? await fromCheckout(name, r.editableDir, 'editable') : r);
      } else if (entry.endsWith('.egg-link')) {
        const name = entry.replace(/\.egg-link$/, '');
        if (recovered.has(normalizePipName(name))) continue;
        const target = readFileSync(path, 'utf8').split('\n')[0]!.trim();
        const dir = resolve(sp, target);
        add(
          existsSync(dir) && statSync(dir).isDirectory()
            ? await fromCheckout(name, dir, 'egg-link')
            : { name, reason: `.egg-link points at ${target}, which does not exist` },
        );
      }
    }
  }
  return { recovered, unrecovered };
}

/** A setuptools_scm version built from a git checkout (`1.2.dev3+g0123abc`) that left no source record. */
export function looksBuiltFromGit(version: string): boolean {
  return /\+g[0-9a-f]{7,}/.test(version);
}

// ---- the installation's conda ------------------------------------------------------------------------------

/** Why a conda call that had to succeed did not: what it said on stderr, or why its output did not parse. */
export function condaFailure(call: Call<unknown>): string {
  return (call.stderr || call.parseError || '').trim() || `exit ${call.code}`;
}

/** The conda of the installation adopt or export reads, and its version; one that does not run is a usage error. */
export async function openConda(exe: string): Promise<{ conda: Conda; condaVersion: string }> {
  const conda = new Conda({ frontend: 'conda', exe, defaults: { timeoutSeconds: 600 } });
  const v = await conda.version();
  if (!v.value) throw new UsageError(`cannot run ${exe} --version: ${condaFailure(v)}`);
  return { conda, condaVersion: v.value.version };
}

// ---- exporting one env -----------------------------------------------------------------------------------

export interface ExportedEnv {
  name: string;
  prefix: string;
  text: string;
  changes: string[];
  unrecovered: UnrecoveredSource[];
  /** set when conda could not export it */
  error?: string;
}

/** `env export --no-builds`, then what the tool owes the user: builds stripped, prefix dropped, git sources back. */
export async function exportOne(
  conda: Conda,
  condaVersion: string,
  name: string,
  prefix: string,
): Promise<ExportedEnv> {
  const call = await conda.exportEnv(prefix, { noBuilds: true });
  if (call.value === undefined) {
    const why =
      (call.stderr || call.stdout).trim().split('\n').filter(Boolean).slice(-3).join(' / ') || `exit ${call.code}`;
    return { name, prefix, text: '', changes: [], unrecovered: [], error: `conda env export failed: ${why}` };
  }
  const changes: string[] = [];
  let text = call.value.replace(/^\uFEFF/, '');
  const builds = stripBuilds(text);
  if (builds.stripped) {
    text = builds.text;
    changes.push(
      ignoresNoBuilds(condaVersion)
        ? `stripped ${builds.stripped} build strings (conda ${condaVersion} ignores --no-builds)`
        : `stripped ${builds.stripped} build strings left by --no-builds`,
    );
  }
  const named = nameEnv(text, name);
  if (named.named) {
    text = named.text;
    changes.push(`named it '${name}' (conda ${condaVersion} exports an env given by path without its name)`);
  }
  const prefixLine = dropPrefix(text);
  if (prefixLine.dropped !== undefined) {
    text = prefixLine.text;
    changes.push(`dropped 'prefix: ${prefixLine.dropped}'`);
  }
  // the pip section is read from site-packages: conda 4.3's export loses it with pip >= 18 and mangles editable
  // installs (`name (path)==ver`) with an older pip
  const pipEntries = pipSectionOf(prefix);
  const pipSection = setPipSection(text, pipEntries);
  if (pipSection.changed) {
    text = pipSection.text;
    const n = pipEntries.length;
    changes.push(
      `pip section read from site-packages (${n} package${n === 1 ? '' : 's'}; the export listed ${pipSection.had})`,
    );
  }
  const sources = await pipSources(prefix);
  const pins = pipPins(text);
  const pinned = new Set(pins.map((p) => normalizePipName(p.name)));
  const replaced = replacePipEntries(text, new Map([...sources.recovered].map(([k, v]) => [k, v.entry])));
  text = replaced.text;
  for (const r of replaced.replaced) changes.push(`pip ${r.from} -> ${r.to}`);
  for (const s of sources.recovered.values())
    if (s.note && pinned.has(normalizePipName(s.name))) changes.push(`note: ${s.note}`);
  const unrecovered = sources.unrecovered.filter((u) => pinned.has(normalizePipName(u.name)));
  for (const p of pins) {
    const key = normalizePipName(p.name);
    if (
      !sources.recovered.has(key) &&
      !unrecovered.some((u) => normalizePipName(u.name) === key) &&
      looksBuiltFromGit(p.version)
    ) {
      unrecovered.push({
        name: p.name,
        reason: `version ${p.version} was built from a git checkout, and site-packages does not record which`,
      });
    }
  }
  if (!text.endsWith('\n')) text += '\n';
  return { name, prefix, text, changes, unrecovered };
}

// ---- inventory.ini ---------------------------------------------------------------------------------------

export interface AdoptedInventory {
  source: string;
  condaVersion: string;
  root?: string;
  channels: string[];
  /** hosts of the git+ pip entries the adopted envs use, and their pip index URLs (the allow-list to review) */
  pipGitHosts?: string[];
  pipIndexes?: string[];
  envs: Array<{ name: string; mode: 'REPLICATE' | 'export' }>;
  legacyNoarch: string[];
  /** the kernelspecs found that point into its envs (core/kernel.ts kernelsToAdopt) */
  kernels?: AdoptedKernel[];
  /** appended as comments: envs that could not be adopted */
  skipped: Array<{ name: string; reason: string }>;
}

/** A display name as [kernels] reads it back: quoted when a `;` or `#` after a space would start a comment. */
function displayValue(name: string): string {
  return /(^|\s)[;#]|^["']/.test(name) ? JSON.stringify(name) : name;
}

function kernelLines(kernels: AdoptedKernel[]): string[] {
  const width = Math.max(8, ...kernels.map((k) => k.key.length));
  return kernels.map((k) => {
    const line = `${k.key.padEnd(width)} = ${displayValue(k.displayName)}`;
    return k.commented ? `; ${line}   ; ${k.commented}` : line;
  });
}

/**
 * The kernelspecs in `dirs` (each DIR/NAME/kernel.json), in order; unreadable or not-kernelspec entries are
 * skipped. argv[0] is resolved through the symlinks of its directory (never its own: an env's bin/python may link
 * to an interpreter elsewhere).
 */
export function findKernelspecs(dirs: string[]): FoundKernelspec[] {
  const found: FoundKernelspec[] = [];
  for (const dir of dirs) {
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch {
      continue;
    }
    for (const name of names) {
      const path = join(dir, name);
      let spec: { argv?: unknown; display_name?: unknown };
      try {
        spec = JSON.parse(readFileSync(join(path, 'kernel.json'), 'utf8'));
      } catch {
        continue;
      }
      const argv = spec.argv;
      if (!Array.isArray(argv) || !argv.length || !argv.every((a) => typeof a === 'string')) continue;
      const exe = argv[0] as string;
      let argv0Real: string | undefined;
      try {
        argv0Real = isAbsolute(exe) ? join(realpathSync(dirname(exe)), basename(exe)) : undefined;
      } catch {
        argv0Real = undefined;
      }
      found.push({
        path,
        argv: argv as string[],
        displayName: typeof spec.display_name === 'string' && spec.display_name ? spec.display_name : name,
        ...(argv0Real ? { argv0Real } : {}),
      });
    }
  }
  return found;
}

/** inventory.ini for an adopted installation. Pure. */
export function renderInventory(a: AdoptedInventory): string {
  const width = Math.max(8, ...a.envs.map((e) => e.name.length));
  const out = [
    `; Adopted from ${a.source} (conda ${a.condaVersion}) by conda-gitops adopt.`,
    '; Mark the envs to keep as REPLICATE; export envs stay in git, not deployed (docs/inventory.md).',
    '',
    '[conda]',
    a.root ? `root = ${a.root}` : '; root = /path/of/the/managed/root   ; or pass --root / set CONDA_GITOPS_ROOT',
    `version = ${a.condaVersion}`,
    'frontend = conda',
    `channels = ${a.channels.join(', ')}`,
    ...(a.pipGitHosts?.length ? [`pip-git-hosts = ${a.pipGitHosts.join(', ')}`] : []),
    ...(a.pipIndexes?.length ? [`pip-indexes = ${a.pipIndexes.join(', ')}`] : []),
    '',
    '[environments]',
    ...a.envs.map((e) => `${e.name.padEnd(width)} = ${e.mode}`),
    ...a.skipped.map((s) => `; ${s.name}: not adopted: ${s.reason}`),
    '',
    '[kernels]',
    ...kernelLines(a.kernels ?? []),
    '',
    '[legacy-noarch]',
    ...a.legacyNoarch,
    '',
  ];
  return out.join('\n');
}

/** The managed root when the adopted installation already sits at ROOT/v<version>. */
export function managedRootOf(installation: string, condaVersion: string): string | undefined {
  return basename(installation) === `v${condaVersion}` ? dirname(installation) : undefined;
}

/** `--replicate all|NAME,...` -> predicate; unknown names are returned for the caller to refuse. */
export function replicateSelector(
  value: string | undefined,
  names: string[],
): { isReplicate: (n: string) => boolean; unknown: string[] } {
  if (!value) return { isReplicate: () => false, unknown: [] };
  if (value === 'all') return { isReplicate: () => true, unknown: [] };
  const wanted = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return { isReplicate: (n) => wanted.includes(n), unknown: wanted.filter((w) => !names.includes(w)) };
}
