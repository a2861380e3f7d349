/**
 * A conda installation on disk as install-conda makes it (docs/admin.md, "Upgrading conda"): the "installing"
 * marker that makes a half-finished installation from a crash recognisable (ROOT/.gitops/installing/vX.json,
 * written before the installer runs, removed when the installation is verified), the installation's `.condarc`
 * (one writer: core/install-conda.ts renders it, this writes it atomically) and the `ROOT/qa` link.
 */
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { installationLayout, installationName, layout } from '../core/layout.js';
import type { Frontend } from '../core/types.js';
import { isOlderInstallation, type CondaAt } from '../core/upgrade.js';
import { writeFileAtomic, writeJsonAtomic } from './fsutil.js';
import { readChecked } from './checked.js';
import { linkedInstallation, replaceSymlink, versionOf } from './generation.js';

export interface InstallingMarker {
  version: string;
  dir: string;
  pid: number;
  host: string;
  since: string;
  installer: string;
}

function installingPath(root: string, version: string): string {
  return join(layout(root).gitops, 'installing', `${installationName(version)}.json`);
}

/** The checked marker (CorruptStateError naming it, and the installation it is about, when it is not one). */
export function readInstalling(root: string, version: string): InstallingMarker | undefined {
  const dir = installationLayout(root, version).dir;
  return readChecked<InstallingMarker>(
    installingPath(root, version),
    'installing',
    `if no install-conda is running, ${dir} is what it left half-installed: delete that directory and this file, ` +
      'then run install-conda again (if current or qa points at it, it is in use: delete only this file)',
  );
}

export function writeInstalling(root: string, version: string, installer: string): void {
  const path = installingPath(root, version);
  mkdirSync(join(layout(root).gitops, 'installing'), { recursive: true });
  const marker: InstallingMarker = {
    version,
    dir: installationLayout(root, version).dir,
    pid: process.pid,
    host: hostname(),
    since: new Date().toISOString(),
    installer,
  };
  writeJsonAtomic(path, marker);
}

export function clearInstalling(root: string, version: string): void {
  rmSync(installingPath(root, version), { force: true });
}

/** What is at ROOT/vX: nothing, an installation (its frontend's executable is there), or something else. */
export type InstallationState =
  { kind: 'absent' } | { kind: 'installation'; exe: string } | { kind: 'other'; entries: string[] };

export function installationState(root: string, version: string, frontend: Frontend): InstallationState {
  const dir = installationLayout(root, version).dir;
  let st;
  try {
    st = lstatSync(dir);
  } catch {
    return { kind: 'absent' };
  }
  if (!st.isDirectory()) return { kind: 'other', entries: [] };
  const exe = join(dir, 'bin', frontend);
  // the frontend's executable is what builds need (a micromamba root may have no conda-meta/)
  if (existsSync(exe)) return { kind: 'installation', exe };
  return { kind: 'other', entries: readdirSync(dir).sort() };
}

/** Remove a tree install-conda itself started (a crashed or failed install, or garbage its installer wrote). */
export function removeInstallationTree(root: string, version: string): void {
  rmSync(installationLayout(root, version).dir, { recursive: true, force: true });
}

/** Write the installation's .condarc (text rendered by core/install-conda.ts). */
export function writeCondarc(root: string, version: string, text: string): string {
  const path = join(installationLayout(root, version).dir, '.condarc');
  writeFileAtomic(path, text);
  return path;
}

/**
 * The conda of installation vX on disk: its version and version line (micromamba's root has bin/micromamba and no
 * conda; conda's, with or without mamba beside it, has bin/conda); the line is unknown when neither is there.
 */
export function installationAt(root: string, version: string): CondaAt {
  const bin = join(installationLayout(root, version).dir, 'bin');
  if (existsSync(join(bin, 'conda'))) return { version, line: 'conda' };
  if (existsSync(join(bin, 'micromamba'))) return { version, line: 'micromamba' };
  return { version };
}

/** The installation a root link (`current`, `qa`) points at, as installationAt sees it; undefined without one. */
export function linkedConda(root: string, link: 'current' | 'qa'): CondaAt | undefined {
  const name = linkedInstallation(layout(root)[link]);
  return name ? installationAt(root, versionOf(name)) : undefined;
}

/**
 * Point ROOT/qa at installation vX (one rename: a reader never finds it missing), only forward: nothing is written
 * when it points there already, or at a newer installation of the same version line (it is refused: `kept` names
 * the installation ROOT/qa stays at). The one writer of ROOT/qa: an upgrade PR's qa (the new installation, for
 * people to inspect) and the deploy of a cutover (what is live now, unless ROOT/qa is already ahead).
 */
export function pointQa(root: string, version: string): { moved: boolean; kept?: string } {
  const qa = layout(root).qa;
  const target = installationName(version);
  const now = linkedInstallation(qa);
  if (now === target) return { moved: false };
  if (now && isOlderInstallation(installationAt(root, version), installationAt(root, versionOf(now))))
    return { moved: false, kept: now };
  replaceSymlink(qa, target, 'qa');
  return { moved: true };
}

/**
 * Processes on this host still running an installer into `dir` (`... -b -p DIR ...` on their command line): what a
 * killed install-conda leaves behind, since its installer is not killed with it. Read from /proc (Linux).
 */
export function runningInstallers(dir: string): Array<{ pid: number; command: string }> {
  const found: Array<{ pid: number; command: string }> = [];
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return found; // no /proc: nothing can be told
  }
  for (const pid of pids) {
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    } catch {
      continue; // gone meanwhile, or not ours to read
    }
    const p = argv.indexOf('-p');
    if (p > 0 && argv[p + 1] === dir && argv.includes('-b'))
      found.push({ pid: Number(pid), command: argv.join(' ').slice(0, 200) });
  }
  return found;
}
