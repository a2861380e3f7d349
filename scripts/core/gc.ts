/**
 * gc's planner (pure): keep the last K generations (over all installations, newest first) plus the live and the
 * previous one, and the builds they reference; everything else under ROOT/v* goes: other generations, builds
 * and their records and logs, installations referenced by neither `current`, `qa` nor a kept generation, and
 * the package caches (`pkgs/`) of retired installations that are still kept for rollback. Only what this tool wrote:
 * a build without its record stays, and so does an installation it never wrote into (`foreign`) unless retired.
 * Old run directories (`.gitops/runs/<run-id>/`: reports and logs of qa, repairs, deploys) go by retention
 * (`planRuns`).
 * Reading the disk and removing are state/gc.ts.
 */
import type { BuildStatus } from './types.js';
import type { GenerationRef, LinkMap } from './generation.js';

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

export const DEFAULT_KEEP = 5;
/** Run directories kept by default: the last 20, and any younger than 14 days. */
export const DEFAULT_KEEP_RUNS = 20;
export const DEFAULT_RUNS_GRACE_DAYS = 14;
/** A run directory without report.json younger than this may still be running: never removed. */
export const RUN_IN_PROGRESS_MS = 24 * 3600 * 1000;

/** One `.gitops/runs/<id>/` directory. */
export interface RunOnDisk {
  id: string;
  /** ms since epoch: its report.json's mtime, else the directory's */
  time: number;
  hasReport: boolean;
}

/**
 * Which run directories go: all but the last `keep` (newest first), those younger than `graceBefore` and runs
 * in progress (no report.json, younger than a day). Sorted by id.
 */
export function planRuns(
  runs: RunOnDisk[],
  opts: { keep: number; graceBefore: number; now: number },
): { removeRuns: string[]; keptRuns: number } {
  const newest = [...runs].sort((a, b) => b.time - a.time || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  const removeRuns = newest
    .filter((r, i) => i >= Math.max(0, opts.keep))
    .filter((r) => r.time < opts.graceBefore)
    .filter((r) => r.hasReport || opts.now - r.time >= RUN_IN_PROGRESS_MS)
    .map((r) => r.id)
    .sort();
  return { removeRuns, keptRuns: runs.length - removeRuns.length };
}

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
  /** not written by conda-gitops (no installation marker, or hand-made envs in a real `envs/`): kept whole */
  foreign?: boolean;
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
  /** installations to remove although conda-gitops did not install them (`gc --retire NAME`) */
  retire?: Set<string>;
  /** run directories, and their retention: the last `keepRuns`, those newer than `runsGraceBefore` */
  runs?: RunOnDisk[];
  keepRuns?: number;
  runsGraceBefore?: number;
  /** ms since epoch (runs in progress are judged against it) */
  now?: number;
}

export interface GcPlan {
  keepGenerations: GenerationRef[];
  removeGenerations: GenerationRef[];
  removeBuilds: Array<{ installation: string; env: string; id: string; status?: BuildStatus }>;
  keptRecent: number;
  removeInstallations: string[];
  /** unreferenced installations kept because conda-gitops did not install them */
  keptForeign: string[];
  removeCaches: string[];
  /** run ids under .gitops/runs/ that go */
  removeRuns: string[];
  keptRuns: number;
}

const refKey = (r: GenerationRef) => `${r.installation}/${r.generation}`;
export const buildKey = (installation: string, env: string, id: string) => `${installation}/${env}/${id}`;

export function planGc(input: GcInput): GcPlan {
  const byName = new Map(input.installations.map((i) => [i.name, i]));
  const all = input.installations.flatMap((i) =>
    i.generations.map((g) => ({
      ref: { installation: i.name, generation: g.n },
      createdAt: g.createdAt,
      links: g.links,
    })),
  );
  all.sort(
    (a, b) =>
      a.createdAt - b.createdAt ||
      (a.ref.installation < b.ref.installation ? -1 : a.ref.installation > b.ref.installation ? 1 : 0) ||
      a.ref.generation - b.ref.generation,
  );
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
    if (inst?.live !== undefined && inst.generations.some((g) => g.n === inst.live))
      kept.add(refKey({ installation: name, generation: inst.live }));
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
      if (!b.hasRecord) continue; // no record of ours: not a build this tool made (or a half-removed one)
      if (b.time >= input.graceBefore) {
        keptRecent++;
        continue;
      }
      removeBuilds.push({ installation: inst.name, env: b.env, id: b.id, ...(b.status ? { status: b.status } : {}) });
    }
  }
  const unreferenced = input.installations.filter((i) => !referenced.has(i.name));
  const removable = (i: InstallationOnDisk) => !i.foreign || !!input.retire?.has(i.name);
  const removeInstallations = unreferenced
    .filter(removable)
    .map((i) => i.name)
    .sort();
  const keptForeign = unreferenced
    .filter((i) => !removable(i))
    .map((i) => i.name)
    .sort();
  const removeCaches = input.installations
    .filter((i) => referenced.has(i.name) && i.name !== input.current && i.name !== input.qa && i.hasPkgs && !i.foreign)
    .map((i) => i.name)
    .sort();
  const now = input.now ?? input.graceBefore;
  const runs = planRuns(input.runs ?? [], {
    keep: input.keepRuns ?? DEFAULT_KEEP_RUNS,
    graceBefore: input.runsGraceBefore ?? now - DEFAULT_RUNS_GRACE_DAYS * 86_400_000,
    now,
  });
  return {
    keepGenerations,
    removeGenerations,
    removeBuilds,
    keptRecent,
    removeInstallations,
    keptForeign,
    removeCaches,
    ...runs,
  };
}
