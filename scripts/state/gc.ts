/**
 * gc on disk: reads installations and builds, removes what core/gc.ts planned. Each item is first renamed into
 * `ROOT/.gitops/trash/` (atomic), so a kill -9 mid-gc never leaves a half-deleted generation or build that
 * looks whole; a build's record goes before its prefix for the same reason.
 */
import { lstatSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { StampedBuildRecord } from '../core/types.js';
import { listGenerations, liveGenerationNumber, readGenerationLinks, readManifest } from './generation.js';
import { layout } from '../core/layout.js';
import { readJsonIfExists } from './fsutil.js';
import { isOrphaned } from './record.js';
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

/** Installation directories under ROOT: `v<version>` holding a conda base (bin/ or conda-meta/) or our builds/. */
export function listInstallations(root: string): string[] {
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return [];
  }
  return names
    .filter((n) => {
      if (!/^v\d[\w.+-]*$/.test(n)) return false;
      try {
        const st = lstatSync(join(root, n));
        return st.isDirectory() && !st.isSymbolicLink();
      } catch {
        return false;
      }
    })
    .sort();
}

function recordTime(rec: StampedBuildRecord | undefined): number | undefined {
  const t = Date.parse(rec?.finishedAt ?? rec?.startedAt ?? '');
  return Number.isFinite(t) ? t : undefined;
}

function readBuilds(instDir: string): BuildOnDisk[] {
  const buildsDir = join(instDir, 'builds');
  const out: BuildOnDisk[] = [];
  let envs: string[];
  try {
    envs = readdirSync(buildsDir);
  } catch {
    return out;
  }
  for (const env of envs.sort()) {
    const dir = join(buildsDir, env);
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
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
        rec = readJsonIfExists<StampedBuildRecord>(join(dir, `${id}.json`));
      } catch {
        rec = undefined;
      }
      let time = recordTime(rec);
      if (time === undefined) {
        try {
          time = statSync(join(dir, has(id) ? id : has(`${id}.json`) ? `${id}.json` : `${id}.log`)).mtimeMs;
        } catch {
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
        hasRecord: has(`${id}.json`),
        hasLog: has(`${id}.log`),
      });
    }
  }
  return out;
}

export function readInstallation(root: string, name: string): InstallationOnDisk {
  const dir = join(root, name);
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
  } catch {
    /* none */
  }
  return { name, ...(live !== undefined ? { live } : {}), generations, builds: readBuilds(dir), hasPkgs };
}

/** Bytes used by a file tree (allocated blocks, like du), not following symlinks. */
function diskUsage(path: string): number {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return 0;
  }
  let total = st.blocks * 512;
  if (st.isDirectory()) {
    let entries: string[] = [];
    try {
      entries = readdirSync(path);
    } catch {
      /* unreadable: count the dir only */
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
    const paths = [`${base}.json`, base, `${base}.log`];
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
      what: `${name}/pkgs (package cache of a retired installation)`,
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
    items.push({
      kind: 'installation',
      what: `${name} (installation referenced by nothing)`,
      paths: [p],
      bytes: diskUsage(p),
    });
  }
  return items;
}

/** Remove everything in a previous gc's trash (left there by a crash). */
export async function emptyTrash(root: string): Promise<void> {
  await rm(join(layout(root).gitops, 'trash'), { recursive: true, force: true });
}

/** Remove the items: rename each path into the trash (atomic), then delete the trash asynchronously. */
export async function applyGc(root: string, items: GcItem[], onItem?: (item: GcItem) => void): Promise<void> {
  const trash = join(layout(root).gitops, 'trash');
  mkdirSync(trash, { recursive: true });
  let seq = 0;
  for (const item of items) {
    for (const p of item.paths) {
      let isDir = false;
      try {
        isDir = lstatSync(p).isDirectory();
      } catch {
        continue;
      }
      if (!isDir) {
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
      // async removal keeps the event loop free, so the lock's mtime keeps being refreshed
      await rm(dest, { recursive: true, force: true });
    }
    onItem?.(item);
  }
  await emptyTrash(root);
}
