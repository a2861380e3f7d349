/**
 * gc on disk: reads installations and builds, removes what core/gc.ts planned. Each item is first renamed into
 * `ROOT/.gitops/trash/` (atomic), so a kill -9 mid-gc never leaves a half-deleted generation or build that
 * looks whole; a build's record goes before its prefix for the same reason.
 */
import { lstatSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { StampedBuildRecord } from '../core/types.js';
import { listGenerations, liveGenerationNumber, readGenerationLinks, readManifest } from './generation.js';
import { layout } from '../core/layout.js';
import { CorruptStateError, EnvironmentError, environmentError } from '../core/errors.js';
import { faultPoint } from './fsutil.js';
import { crashPoint } from './generation.js';
import { readChecked } from './checked.js';
import { isOrphaned } from './record.js';
import { isMarked } from './marker.js';
import type { BuildOnDisk, InstallationOnDisk, GcPlan, RunOnDisk } from '../core/gc.js';

/** The run directories under ROOT/.gitops/runs/ (none when it does not exist). */
export function listRuns(root: string): RunOnDisk[] {
  const dir = layout(root).runs;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const runs: RunOnDisk[] = [];
  for (const id of names.sort()) {
    const st = lstatSync(join(dir, id));
    if (!st.isDirectory()) continue;
    let report;
    try {
      report = statSync(join(dir, id, 'report.json'));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    runs.push({ id, time: report?.mtimeMs ?? st.mtimeMs, hasReport: !!report });
  }
  return runs;
}

/** Rethrow unless `e` is an OS error with one of `codes` (gc expects some paths to vanish; nothing else). */
function expect(e: unknown, ...codes: string[]): void {
  if (!codes.includes((e as NodeJS.ErrnoException)?.code ?? '')) throw e;
}

/** Installation directories under ROOT: `v<version>` holding a conda base (bin/ or conda-meta/) or our builds/. */
export function listInstallations(root: string): string[] {
  let names: string[];
  try {
    names = readdirSync(root);
  } catch (e) {
    expect(e, 'ENOENT');
    return [];
  }
  return names
    .filter((n) => {
      if (!/^v\d[\w.+-]*$/.test(n)) return false;
      try {
        const st = lstatSync(join(root, n));
        return st.isDirectory() && !st.isSymbolicLink();
      } catch (e) {
        expect(e, 'ENOENT');
        return false;
      }
    })
    .sort();
}

function recordTime(rec: StampedBuildRecord | undefined): number | undefined {
  const t = Date.parse(rec?.finishedAt ?? rec?.startedAt ?? '');
  return Number.isFinite(t) ? t : undefined;
}

/** What lstat says a path is: gc never looks through a symlink. */
function kindOf(path: string): 'dir' | 'file' | 'symlink' | 'other' | 'none' {
  try {
    const st = lstatSync(path);
    return st.isSymbolicLink() ? 'symlink' : st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other';
  } catch {
    return 'none';
  }
}

/** Warnings gc prints: things it found and left alone (symlinks where its directories should be). */
export type Warn = (text: string) => void;

function readBuilds(root: string, instDir: string, warn: Warn): BuildOnDisk[] {
  const buildsDir = join(instDir, 'builds');
  const out: BuildOnDisk[] = [];
  const shown = (p: string) => relative(root, p);
  const kind = kindOf(buildsDir);
  if (kind === 'symlink') warn(`${shown(buildsDir)} is a symlink: skipped (gc never follows symlinks)`);
  if (kind !== 'dir') return out;
  let envs: string[];
  try {
    envs = readdirSync(buildsDir);
  } catch (e) {
    expect(e, 'ENOENT');
    return out;
  }
  for (const env of envs.sort()) {
    const dir = join(buildsDir, env);
    const k = kindOf(dir);
    if (k === 'symlink') warn(`${shown(dir)} is a symlink: skipped (gc never follows symlinks)`);
    if (k !== 'dir') continue;
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch (e) {
      expect(e, 'ENOENT', 'ENOTDIR'); // vanished, or a stray file in builds/
      continue;
    }
    const ids = new Set<string>();
    for (const e of entries) {
      const m = /^([0-9a-f]{6,64}(?:\.r[1-9]\d*)?)(\.json|\.log)?$/.exec(e); // <id>, or a repair <id>.rN
      if (m) ids.add(m[1]);
    }
    for (const id of [...ids].sort()) {
      const has = (p: string) => entries.includes(p);
      let rec: StampedBuildRecord | undefined;
      try {
        const recPath = join(dir, `${id}.json`);
        rec = kindOf(recPath) === 'file' ? readChecked<StampedBuildRecord>(recPath, 'build-record') : undefined;
      } catch (e) {
        // a corrupt record is planned like a build without one: gc removing an unused one is the remedy
        if (!(e instanceof CorruptStateError)) throw e;
        rec = undefined;
      }
      let time = recordTime(rec);
      if (time === undefined) {
        try {
          time = lstatSync(join(dir, has(id) ? id : has(`${id}.json`) ? `${id}.json` : `${id}.log`)).mtimeMs;
        } catch (e) {
          expect(e, 'ENOENT');
          time = 0;
        }
      }
      out.push({
        env,
        id,
        ...(rec ? { status: rec.status } : {}),
        inProgress: rec?.status === 'building' && !isOrphaned(rec),
        time,
        hasPrefix: has(id),
        hasRecord: has(`${id}.json`) && kindOf(join(dir, `${id}.json`)) === 'file',
        hasLog: has(`${id}.log`),
      });
    }
  }
  return out;
}

/** An installation's `envs/` as a real directory with entries: envs made by hand, never conda-gitops's link. */
function hasHandMadeEnvs(dir: string): boolean {
  if (kindOf(join(dir, 'envs')) !== 'dir') return false;
  try {
    return readdirSync(join(dir, 'envs')).length > 0;
  } catch {
    return true;
  }
}

export function readInstallation(root: string, name: string, warn: Warn = () => {}): InstallationOnDisk {
  const dir = join(root, name);
  const foreign = !isMarked(dir) || hasHandMadeEnvs(dir);
  if (kindOf(join(dir, 'generations')) === 'symlink') {
    warn(`${name}/generations is a symlink: skipped (gc never follows symlinks)`);
    return { name, generations: [], builds: readBuilds(root, dir, warn), hasPkgs: false, foreign: true };
  }
  const live = liveGenerationNumber(dir);
  const generations = listGenerations(dir).map((n) => {
    const created = Date.parse(readManifest(dir, n)?.createdAt ?? '');
    return {
      n,
      createdAt: Number.isFinite(created) ? created : statSync(join(dir, 'generations', String(n))).mtimeMs,
      links: readGenerationLinks(dir, n),
    };
  });
  let hasPkgs = false;
  try {
    hasPkgs = statSync(join(dir, 'pkgs')).isDirectory();
  } catch (e) {
    expect(e, 'ENOENT');
  }
  hasPkgs &&= kindOf(join(dir, 'pkgs')) === 'dir';
  // when its base was installed or last changed by conda (conda-meta/history), else the directory's own time
  let installedAt: number | undefined;
  for (const p of [join(dir, 'conda-meta', 'history'), dir]) {
    try {
      installedAt = lstatSync(p).mtimeMs;
      break;
    } catch (e) {
      expect(e, 'ENOENT', 'ENOTDIR');
    }
  }
  return {
    name,
    ...(live !== undefined ? { live } : {}),
    generations,
    builds: readBuilds(root, dir, warn),
    hasPkgs,
    ...(installedAt !== undefined ? { installedAt } : {}),
    ...(foreign ? { foreign } : {}),
  };
}

/** Bytes used by a file tree (allocated blocks, like du), not following symlinks. */
function diskUsage(path: string): number {
  let st;
  try {
    st = lstatSync(path);
  } catch (e) {
    expect(e, 'ENOENT');
    return 0;
  }
  let total = st.blocks * 512;
  if (st.isDirectory()) {
    let entries: string[] = [];
    try {
      entries = readdirSync(path);
    } catch (e) {
      expect(e, 'ENOENT', 'EACCES'); // gone, or unreadable: count the dir only
    }
    for (const e of entries) total += diskUsage(join(path, e));
  }
  return total;
}

export interface GcItem {
  kind: 'generation' | 'build' | 'installation' | 'cache' | 'run';
  what: string;
  /** paths removed, in order */
  paths: string[];
  bytes: number;
}

/** The plan as concrete paths with sizes (what the dry run lists and `--yes` removes). */
export function gcItems(root: string, plan: GcPlan): GcItem[] {
  const items: GcItem[] = [];
  for (const g of plan.removeGenerations) {
    const p = join(root, g.installation, 'generations', String(g.generation));
    items.push({
      kind: 'generation',
      what: `${g.installation}/generations/${g.generation}`,
      paths: [p],
      bytes: diskUsage(p),
    });
  }
  for (const b of plan.removeBuilds) {
    const base = join(root, b.installation, 'builds', b.env, b.id);
    // record first: a build without its record is never linked by deploy, whatever is left of its prefix
    const paths = [
      `${base}.json`,
      base,
      `${base}.log`,
      `${base}.verdicts`,
      `${base}.manifest.json`,
      `${base}.bad.json`,
    ];
    items.push({
      kind: 'build',
      what: `${b.installation}/builds/${b.env}/${b.id}${b.status ? ` (${b.status})` : ''}`,
      paths,
      bytes: paths.reduce((s, p) => s + diskUsage(p), 0),
    });
  }
  for (const name of plan.removeCaches) {
    const p = join(root, name, 'pkgs');
    items.push({
      kind: 'cache',
      what: `${name}/pkgs (package cache of a former installation)`,
      paths: [p],
      bytes: diskUsage(p),
    });
  }
  for (const id of plan.removeRuns) {
    const p = join(layout(root).runs, id);
    items.push({ kind: 'run', what: `.gitops/runs/${id}`, paths: [p], bytes: diskUsage(p) });
  }
  for (const name of plan.removeInstallations) {
    const p = join(root, name);
    const why = plan.installations.find((v) => v.name === name)?.reason;
    items.push({
      kind: 'installation',
      what: `${name} (retired installation${why ? `: ${why}` : ''})`,
      paths: [p],
      bytes: diskUsage(p),
    });
  }
  return items;
}

/**
 * A removal the machine refused (permission, a read-only directory, I/O): exit 4, saying what was being removed,
 * that it is out of ROOT's way already (moved to the trash), and that the next `gc --yes` finishes it.
 */
function removalError(root: string, what: string, e: unknown): unknown {
  if (!environmentError(e)) return e;
  const { code, path } = e as NodeJS.ErrnoException;
  const trash = join(layout(root).gitops, 'trash');
  return new EnvironmentError(
    `gc could not delete ${what}: ${code}${path ? ` at ${path}` : ''}: something in it cannot be deleted ` +
      `(permissions, a read-only or immutable file, a read-only filesystem). It was moved to ${trash} first, so ` +
      `nothing half-deleted is left in use. Fix the cause (e.g. chmod -R u+w ${trash}; chattr -i for an ` +
      'immutable file) and run gc --yes again: it empties the trash first and finishes the rest',
  );
}

/** Remove everything in a previous gc's trash (left there by a crash or a removal the machine refused). */
export async function emptyTrash(root: string): Promise<void> {
  const trash = join(layout(root).gitops, 'trash');
  try {
    await rm(trash, { recursive: true, force: true });
  } catch (e) {
    throw removalError(root, `${relative(root, trash)} (left by an earlier gc)`, e);
  }
}

/**
 * Why a path must not be removed, or undefined when it may: it must lie inside ROOT and neither it nor any
 * directory between ROOT and it may be a symlink (a planted link would make gc delete outside ROOT).
 */
export function unsafeToRemove(root: string, path: string): string | undefined {
  const rel = relative(root, path);
  if (!rel || rel.startsWith('..') || rel.startsWith(sep)) return `${path} is outside ${root}`;
  let cur = root;
  for (const part of rel.split(sep)) {
    cur = join(cur, part);
    if (kindOf(cur) === 'symlink') return `${relative(root, cur)} is a symlink: skipped (gc never follows symlinks)`;
  }
  return undefined;
}

export interface ApplyOptions {
  onItem?: (item: GcItem) => void;
  /** throws when the ROOT lock was lost: called before every removal */
  assertHeld?: () => void;
  warn?: Warn;
}

/**
 * Remove the items: rename each path into the trash (atomic), then delete the trash asynchronously. Before every
 * removal: the lock is still ours, and the path is reached without a symlink.
 */
export async function applyGc(root: string, items: GcItem[], opts: ApplyOptions = {}): Promise<void> {
  const trash = join(layout(root).gitops, 'trash');
  mkdirSync(trash, { recursive: true });
  let seq = 0;
  for (const item of items) {
    for (const p of item.paths) {
      opts.assertHeld?.();
      const kind = kindOf(p);
      if (kind === 'none') continue;
      const unsafe = unsafeToRemove(root, p);
      if (unsafe) {
        opts.warn?.(unsafe);
        continue;
      }
      if (kind !== 'dir') {
        unlinkSync(p);
        continue;
      }
      const dest = join(trash, `${process.pid}-${seq++}`);
      try {
        renameSync(p, dest);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
        rmSync(p, { recursive: true, force: true }); // trash on another filesystem: delete in place
        continue;
      }
      crashPoint(`gc-trashed-${item.kind}`); // the crash-safety tests: killed with the item in the trash
      // async removal keeps the event loop free, so the lock's mtime keeps being refreshed
      try {
        faultPoint(`gc-remove-${item.kind}`, dest);
        await rm(dest, { recursive: true, force: true });
      } catch (e) {
        throw removalError(root, `${relative(root, p)}`, e);
      }
    }
    opts.onItem?.(item);
  }
  await emptyTrash(root);
}
