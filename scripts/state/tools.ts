/**
 * The trusted copy of the tool under ROOT/tools (docs/security.md): `install-tool` copies the running tool
 * (dist/scripts, dist/schemas, package.json, package-lock.json, node_modules) into ROOT/tools/<version>-<id>/
 * (built under a dot name, then renamed: it only ever exists whole), flips ROOT/tools/current to it with one
 * rename(2), and writes the launcher ROOT/tools/bin/conda-gitops. QA on the shared runner, rollback, the
 * nightly drift check and admins on the server (GitHub down) run that launcher: the tool as it is on main,
 * never a pull request's.
 */
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UnsafePathError, UsageError } from '../core/errors.js';
import { replaceSymlink } from './generation.js';
import { writeFileAtomic } from './fsutil.js';

/** How many tool versions stay in ROOT/tools (current included): a few, to go back by hand. */
const KEEP_VERSIONS = 3;

/** The project directory of the running tool (the one with its package.json), found from source and dist/. */
export function projectDir(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (!existsSync(file)) continue;
    try {
      if ((JSON.parse(readFileSync(file, 'utf8')) as { name?: string }).name === 'conda-gitops') return dir;
    } catch {
      /* another package.json: keep looking */
    }
  }
  throw new UsageError('cannot find the running conda-gitops project (its package.json)');
}

/** Files hashed for the install id: what the tool runs (dist/scripts, dist/schemas) and its dependency lock. */
function contentId(project: string): string {
  const h = createHash('sha256');
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile())
        h.update(`${relative(project, p)}\0`)
          .update(readFileSync(p))
          .update('\0');
    }
  };
  for (const d of ['dist/scripts', 'dist/schemas']) if (existsSync(join(project, d))) walk(join(project, d));
  for (const f of ['package.json', 'package-lock.json'])
    if (existsSync(join(project, f))) h.update(`${f}\0`).update(readFileSync(join(project, f)));
  return h.digest('hex').slice(0, 12);
}

function refuseSymlink(path: string): void {
  try {
    if (lstatSync(path).isSymbolicLink())
      throw new UnsafePathError(`${path} is a symlink: refused (the trusted tool is never written through one)`);
  } catch (e) {
    if (e instanceof UnsafePathError) throw e;
  }
}

/** Single-quote for sh: the launcher's paths are data, never code. */
const shQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export interface ToolInstall {
  version: string;
  /** ROOT/tools/<version>-<id> */
  dir: string;
  launcher: string;
  /** false: that exact tool was already installed (only `current` and the launcher were checked) */
  copied: boolean;
  /** older tool directories removed (more than KEEP_VERSIONS) */
  pruned: string[];
}

export function installTool(root: string, opts: { project: string; node: string }): ToolInstall {
  const pkg = JSON.parse(readFileSync(join(opts.project, 'package.json'), 'utf8')) as { version?: string };
  const version = pkg.version ?? '0';
  if (!existsSync(root)) throw new UsageError(`${root} does not exist: install-tool needs the installation root`);
  const tools = join(root, 'tools');
  refuseSymlink(tools);
  mkdirSync(join(tools, 'bin'), { recursive: true });
  refuseSymlink(join(tools, 'bin'));
  const name = `${version}-${contentId(opts.project)}`;
  const dir = join(tools, name);
  let copied = false;
  if (!existsSync(dir)) {
    const tmp = join(tools, `.${name}.new-${process.pid}`);
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(join(tmp, 'dist'), { recursive: true });
    for (const d of ['scripts', 'schemas'])
      if (existsSync(join(opts.project, 'dist', d)))
        cpSync(join(opts.project, 'dist', d), join(tmp, 'dist', d), { recursive: true });
    for (const f of ['package.json', 'package-lock.json'])
      if (existsSync(join(opts.project, f))) cpSync(join(opts.project, f), join(tmp, f));
    // node_modules may itself be a link (a worktree's); its inner links (.bin) stay relative links
    cpSync(realpathSync(join(opts.project, 'node_modules')), join(tmp, 'node_modules'), {
      recursive: true,
      verbatimSymlinks: true,
    });
    renameSync(tmp, dir);
    copied = true;
  }
  replaceSymlink(join(tools, 'current'), name, 'tool');
  const launcher = join(tools, 'bin', 'conda-gitops');
  const main = join(tools, 'current', 'dist', 'scripts', 'cli', 'main.js');
  writeFileAtomic(
    launcher,
    '#!/bin/sh\n' +
      '# conda-gitops as installed from main by `conda-gitops install-tool` (docs/security.md).\n' +
      '# The break-glass copy: works on this server without GitHub.\n' +
      `NODE=${shQuote(opts.node)}\n` +
      '[ -x "$NODE" ] || NODE=node\n' +
      `exec "$NODE" ${shQuote(main)} "$@"\n`,
    { mode: 0o755 },
  );
  // prune: keep the newest few complete installs (never the current one)
  const installs = readdirSync(tools)
    .filter((e) => !e.startsWith('.') && e !== 'bin' && e !== 'current')
    .filter((e) => {
      const st = lstatSync(join(tools, e));
      return st.isDirectory() && !st.isSymbolicLink();
    })
    .map((e) => ({ e, t: lstatSync(join(tools, e)).mtimeMs }))
    .sort((a, b) => b.t - a.t)
    .map((x) => x.e);
  const pruned = installs.filter((e) => e !== name).slice(KEEP_VERSIONS - 1);
  for (const e of pruned) rmSync(join(tools, e), { recursive: true, force: true });
  return { version, dir, launcher, copied, pruned };
}
