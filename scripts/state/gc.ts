/**
 * `gc`: keep the last K generations (over all installations, newest first) plus the live and the previous one,
 * and the builds they reference; everything else under ROOT/v* goes: other generations, builds and their
 * records and logs, installations referenced by neither `current`, `qa` nor a kept generation, and the
 * package caches (`pkgs/`) of retired installations that are still kept for rollback.
 *
 * planGc is pure. gatherGc reads the disk, applyGc removes: each item is first renamed into
 * `ROOT/.gitops/trash/` (atomic), so a kill -9 mid-gc never leaves a half-deleted generation or build
 * that looks whole; a build's record goes before its prefix for the same reason.
 */
import { lstatSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { BuildStatus, StampedBuildRecord } from '../core/types.js';
import { listGenerations, liveGenerationNumber, readGenerationLinks, readManifest } from './generation.js';
import type { GenerationRef, LinkMap } from './generation.js';
import { layout } from '../core/layout.js';
import { readJsonIfExists } from './fsutil.js';
import { isOrphaned } from './record.js';

export const DEFAULT_KEEP = 5;

export interface BuildOnDisk {
  env: string;
  id: string;
  status?: BuildStatus;
  /** a `building` record whose owner still runs (or runs on another host): never touched */
  inProgress: boolean;
  /** ms since epoch: record finishedAt/startedAt, else the prefix's mtime */
  time: number;
  hasPrefix: boolean;
  hasRecord: boolean;
  hasLog: boolean;
}

export interface InstallationOnDisk {
  name: string;
  live?: number;
  generations: Array<{ n: number; createdAt: number; links: LinkMap }>;
  builds: BuildOnDisk[];
  hasPkgs: boolean;
}

export interface GcInput {
  installations: InstallationOnDisk[];
  current?: string;
  qa?: string;
  /** where a rollback of the live generation would go (never removed) */
  previous?: GenerationRef;
  keep: number;
  /** builds newer than this (ms since epoch) stay: they may be QA builds waiting for their PR to merge */
  graceBefore: number;
  /** `installation/env/id` of builds to keep whatever happens (e.g. wanted by the repository) */
  protect?: Set<string>;
}

export interface GcPlan {
  keepGenerations: GenerationRef[];
  removeGenerations: GenerationRef[];
  removeBuilds: Array<{ installation: string; env: string; id: string; status?: BuildStatus }>;
  keptRecent: number;
  removeInstallations: string[];
  removeCaches: string[];
}

const refKey = (r: GenerationRef) => `${r.installation}/${r.generation}`;
export const buildKey = (installation: string, env: string, id: string) => `${installation}/${env}/${id}`;

export function planGc(input: GcInput): GcPlan {
  const byName = new Map(input.installations.map((i) => [i.name, i]));
  const all = input.installations.flatMap((i) => i.generations.map((g) => ({ ref: { installation: i.name, generation: g.n }, createdAt: g.createdAt, links: g.links })));
  all.sort((a, b) => a.createdAt - b.createdAt || (a.ref.installation < b.ref.installation ? -1 : a.ref.installation > b.ref.installation ? 1 : 0) || a.ref.generation - b.ref.generation);
  const kept = new Set(all.slice(Math.max(0, all.length - Math.max(0, input.keep))).map((g) => refKey(g.ref)));

  // never the live or the previous generation (what `rollback` would go to)
  const cur = input.current ? byName.get(input.current) : undefined;
  if (cur?.live !== undefined) kept.add(refKey({ installation: cur.name, generation: cur.live }));
  if (input.previous) kept.add(refKey(input.previous));
  const referenced = new Set<string>([input.current, input.qa].filter((x): x is string => !!x));
  for (const g of all) if (kept.has(refKey(g.ref))) referenced.add(g.ref.installation);
  // a kept installation's own live generation stays too, or its `envs` link would dangle
  for (const name of referenced) {
    const inst = byName.get(name);
    if (inst?.live !== undefined && inst.generations.some((g) => g.n === inst.live)) kept.add(refKey({ installation: name, generation: inst.live }));
  }

  const keepGenerations: GenerationRef[] = [];
  const removeGenerations: GenerationRef[] = [];
  const usedBuilds = new Set<string>();
  for (const g of all) {
    if (!referenced.has(g.ref.installation)) continue; // goes with its installation
    if (kept.has(refKey(g.ref))) {
      keepGenerations.push(g.ref);
      for (const [env, id] of Object.entries(g.links)) usedBuilds.add(buildKey(g.ref.installation, env, id));
    } else {
      removeGenerations.push(g.ref);
    }
  }
  const removeBuilds: GcPlan['removeBuilds'] = [];
  let keptRecent = 0;
  for (const inst of input.installations) {
    if (!referenced.has(inst.name)) continue;
    // `qa` ahead of `current` is a conda upgrade under review: its replicated builds wait for the merge
    if (inst.name === input.qa && input.qa !== input.current) continue;
    for (const b of inst.builds) {
      const key = buildKey(inst.name, b.env, b.id);
      if (usedBuilds.has(key) || b.inProgress || input.protect?.has(key)) continue;
      if (b.time >= input.graceBefore) { keptRecent++; continue; }
      removeBuilds.push({ installation: inst.name, env: b.env, id: b.id, ...(b.status ? { status: b.status } : {}) });
    }
  }
  const removeInstallations = input.installations.map((i) => i.name).filter((n) => !referenced.has(n)).sort();
  const removeCaches = input.installations
    .filter((i) => referenced.has(i.name) && i.name !== input.current && i.name !== input.qa && i.hasPkgs)
    .map((i) => i.name)
    .sort();
  return { keepGenerations, removeGenerations, removeBuilds, keptRecent, removeInstallations, removeCaches };
}

// ---------------------------------------------------------------- executors

/** Installation directories under ROOT: `v<version>` holding a conda base (bin/ or conda-meta/) or our builds/. */
export function listInstallations(root: string): string[] {
  let names: string[];
  try { names = readdirSync(root); } catch { return []; }
  return names.filter((n) => {
    if (!/^v\d[\w.+-]*$/.test(n)) return false;
    try {
      const st = lstatSync(join(root, n));
      return st.isDirectory() && !st.isSymbolicLink();
    } catch { return false; }
  }).sort();
}

function recordTime(rec: StampedBuildRecord | undefined): number | undefined {
  const t = Date.parse(rec?.finishedAt ?? rec?.startedAt ?? '');
  return Number.isFinite(t) ? t : undefined;
}

function readBuilds(instDir: string): BuildOnDisk[] {
  const buildsDir = join(instDir, 'builds');
  const out: BuildOnDisk[] = [];
  let envs: string[];
  try { envs = readdirSync(buildsDir); } catch { return out; }
  for (const env of envs.sort()) {
    const dir = join(buildsDir, env);
    let entries: string[];
    try { entries = readdirSync(dir); } catch { continue; }
    const ids = new Set<string>();
    for (const e of entries) {
      const m = /^([0-9a-f]{6,64})(\.json|\.log)?$/.exec(e);
      if (m) ids.add(m[1]);
    }
    for (const id of [...ids].sort()) {
      const has = (p: string) => entries.includes(p);
      let rec: StampedBuildRecord | undefined;
      try { rec = readJsonIfExists<StampedBuildRecord>(join(dir, `${id}.json`)); } catch { rec = undefined; }
      let time = recordTime(rec);
      if (time === undefined) {
        try { time = statSync(join(dir, has(id) ? id : has(`${id}.json`) ? `${id}.json` : `${id}.log`)).mtimeMs; } catch { time = 0; }
      }
      out.push({
        env, id,
        ...(rec ? { status: rec.status } : {}),
        inProgress: rec?.status === 'building' && !isOrphaned(rec),
        time,
        hasPrefix: has(id), hasRecord: has(`${id}.json`), hasLog: has(`${id}.log`),
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
  try { hasPkgs = statSync(join(dir, 'pkgs')).isDirectory(); } catch { /* none */ }
  return { name, ...(live !== undefined ? { live } : {}), generations, builds: readBuilds(dir), hasPkgs };
}

/** Bytes used by a file tree (allocated blocks, like du), not following symlinks. */
export function diskUsage(path: string): number {
  let st;
  try { st = lstatSync(path); } catch { return 0; }
  let total = st.blocks * 512;
  if (st.isDirectory()) {
    let entries: string[] = [];
    try { entries = readdirSync(path); } catch { /* unreadable: count the dir only */ }
    for (const e of entries) total += diskUsage(join(path, e));
  }
  return total;
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

export interface GcItem {
  kind: 'generation' | 'build' | 'installation' | 'cache';
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
    items.push({ kind: 'generation', what: `${g.installation}/generations/${g.generation}`, paths: [p], bytes: diskUsage(p) });
  }
  for (const b of plan.removeBuilds) {
    const base = join(root, b.installation, 'builds', b.env, b.id);
    // record first: a build without its record is never linked by deploy, whatever is left of its prefix
    const paths = [`${base}.json`, base, `${base}.log`];
    items.push({ kind: 'build', what: `${b.installation}/builds/${b.env}/${b.id}${b.status ? ` (${b.status})` : ''}`, paths, bytes: paths.reduce((s, p) => s + diskUsage(p), 0) });
  }
  for (const name of plan.removeCaches) {
    const p = join(root, name, 'pkgs');
    items.push({ kind: 'cache', what: `${name}/pkgs (package cache of a retired installation)`, paths: [p], bytes: diskUsage(p) });
  }
  for (const name of plan.removeInstallations) {
    const p = join(root, name);
    items.push({ kind: 'installation', what: `${name} (installation referenced by nothing)`, paths: [p], bytes: diskUsage(p) });
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
      try { isDir = lstatSync(p).isDirectory(); } catch { continue; }
      if (!isDir) { unlinkSync(p); continue; }
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
