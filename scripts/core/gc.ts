/**
 * gc's planner (pure): keep the last K generations (over all installations, newest first) plus the live and the
 * previous one, and the builds they reference; everything else under ROOT/v* goes: other generations, builds
 * and their records and logs, and the package caches (`pkgs/`) of former installations kept for rollback.
 * Installations go only by retention (`planInstallations`): the `keepInstallations` most recently live stay,
 * and so does any installation that is `current`, `qa`, holds a kept generation (rollback can reach it), has a
 * build in progress or younger than the grace period, or is the one the repository names. Only what this tool
 * wrote: a build without its record stays, and so does an installation it never wrote into (`foreign`, e.g. the
 * adopted one) unless named with `--retire`.
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
/** Installations kept by default, counted by when they were last live (the current one counts). */
export const DEFAULT_KEEP_INSTALLATIONS = 2;
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
  /** ms since epoch: when its base was installed or last changed (conda-meta/history), else the directory's mtime */
  installedAt?: number;
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
  /** installations kept by retention, most recently live first (default DEFAULT_KEEP_INSTALLATIONS) */
  keepInstallations?: number;
  /** ms since epoch each installation was last live, from the cutover history (`lastLiveFromHistory`) */
  lastLive?: ReadonlyMap<string, number>;
  /** installations kept whatever happens (the one the repository at HEAD names) */
  protectInstallations?: Set<string>;
}

/** Why gc keeps or retires one installation (printed one line each, and in --json). */
export interface InstallationVerdict {
  name: string;
  /** `retire`: removed whole (by --yes; the dry run only lists it) */
  verdict: 'keep' | 'retire';
  why:
    | 'current'
    | 'qa'
    | 'rollback-target'
    | 'kept-generation'
    | 'in-progress'
    | 'repository'
    | 'recent-builds'
    | 'adopted'
    | 'retention'
    | 'named'
    | 'beyond-retention';
  /** the text after "kept, " / "retired, " */
  reason: string;
  /** ISO time it was last live (history or its generations); absent: never live */
  lastLive?: string;
  /** ISO time it was last used when never live (newest build, or when it was installed) */
  lastUsed?: string;
}

type HistoryLike = { at: string; from?: GenerationRef; to: GenerationRef };

/**
 * When each installation was last live, from the cutover history: an entry switching `from` X `to` Y means X
 * was live until then and Y from then on. (The live installation is live now: the planner says so itself.)
 */
export function lastLiveFromHistory(entries: readonly HistoryLike[]): Map<string, number> {
  const last = new Map<string, number>();
  for (const e of entries) {
    const at = Date.parse(e.at);
    if (!Number.isFinite(at)) continue;
    for (const name of [e.from?.installation, e.to.installation]) {
      if (name && at > (last.get(name) ?? -Infinity)) last.set(name, at);
    }
  }
  return last;
}

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

export interface GcPlan {
  keepGenerations: GenerationRef[];
  removeGenerations: GenerationRef[];
  removeBuilds: Array<{ installation: string; env: string; id: string; status?: BuildStatus }>;
  keptRecent: number;
  removeInstallations: string[];
  /** unreferenced installations kept because conda-gitops did not install them */
  keptForeign: string[];
  removeCaches: string[];
  /** every installation under ROOT: kept or retired, and why (newest first) */
  installations: InstallationVerdict[];
  keepInstallations: number;
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
  const keepInstallations = Math.max(1, input.keepInstallations ?? DEFAULT_KEEP_INSTALLATIONS);
  const installations = planInstallations(input, kept, keepInstallations);
  const referenced = new Set(installations.filter((v) => v.verdict === 'keep').map((v) => v.name));
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
  const removeInstallations = unreferenced.map((i) => i.name).sort();
  const keptForeign = installations
    .filter((v) => v.why === 'adopted')
    .map((v) => v.name)
    .sort();
  // the package cache of a former installation kept only so rollback can go back to it: not needed for that
  const cacheGoes = new Set<InstallationVerdict['why']>(['rollback-target', 'kept-generation', 'retention']);
  const removeCaches = input.installations
    .filter((i) => {
      const v = installations.find((x) => x.name === i.name);
      return !!v && cacheGoes.has(v.why) && v.lastLive !== undefined && i.hasPkgs && !i.foreign;
    })
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
    installations,
    keepInstallations,
    ...runs,
  };
}

/**
 * Which installations stay and why, newest first. They are ranked by when they were last live (the history,
 * or their newest generation; `current` is live now; one never live by when it was last used); the first
 * `keep` stay by retention. Whatever its rank, an installation stays while it is `current` or `qa`, holds a
 * generation gc keeps (rollback can reach it), has a build in progress, is the one the repository names, or
 * has builds younger than the grace period; and the adopted one (`foreign`) stays unless named (`retire`).
 * Naming an installation retires it regardless of retention and adoption, never past the first four reasons.
 */
export function planInstallations(
  input: GcInput,
  keptGenerations: ReadonlySet<string>,
  keep: number,
): InstallationVerdict[] {
  const info = input.installations.map((i) => {
    const newestGen = i.generations.reduce((m, g) => Math.max(m, g.createdAt), -Infinity);
    // the history says when it was last live; without a history line, its newest generation (deploy wrote it live)
    const live = input.lastLive?.get(i.name) ?? newestGen;
    const used = i.builds.reduce((m, b) => Math.max(m, b.time), i.installedAt ?? 0);
    return {
      inst: i,
      lastLive: Number.isFinite(live) ? live : undefined,
      lastUsed: used,
      rank: i.name === input.current ? Infinity : Number.isFinite(live) ? live : used,
    };
  });
  info.sort((a, b) => b.rank - a.rank || (a.inst.name < b.inst.name ? -1 : a.inst.name > b.inst.name ? 1 : 0));
  return info.map(({ inst, lastLive, lastUsed }, rank) => {
    const name = inst.name;
    const when =
      lastLive !== undefined
        ? `last live ${day(lastLive)}`
        : `never live, last used ${lastUsed > 0 ? day(lastUsed) : 'unknown'}`;
    const times = {
      ...(lastLive !== undefined ? { lastLive: new Date(lastLive).toISOString() } : {}),
      ...(lastLive === undefined && lastUsed > 0 ? { lastUsed: new Date(lastUsed).toISOString() } : {}),
    };
    const keepIt = (why: InstallationVerdict['why'], reason: string): InstallationVerdict => ({
      name,
      verdict: 'keep',
      why,
      reason,
      ...times,
    });
    const gens = inst.generations.filter((g) => keptGenerations.has(refKey({ installation: name, generation: g.n })));
    if (name === input.current) return keepIt('current', 'live (current)');
    if (name === input.qa) return keepIt('qa', 'the qa installation (ROOT/qa)');
    if (input.previous?.installation === name)
      return keepIt(
        'rollback-target',
        `rollback target (generation ${input.previous.generation}: where rollback goes)`,
      );
    if (gens.length)
      return keepIt(
        'kept-generation',
        `rollback can reach it (generation ${gens.map((g) => g.n).join(', ')} within --keep ${input.keep})`,
      );
    if (inst.builds.some((b) => b.inProgress)) return keepIt('in-progress', 'a build in progress');
    if (input.protectInstallations?.has(name))
      return keepIt('repository', 'the repository at HEAD names it ([conda] version)');
    const named = !!input.retire?.has(name);
    if (named) return { name, verdict: 'retire', why: 'named', reason: `named with --retire, ${when}`, ...times };
    if (inst.builds.some((b) => b.hasRecord && b.time >= input.graceBefore))
      return keepIt('recent-builds', `builds younger than --grace (${when})`);
    if (inst.foreign) return keepIt('adopted', `adopted: name it with --retire ${name}`);
    if (rank < keep) return keepIt('retention', `${when}, within keep-installations = ${keep}`);
    const reason = `${when}, beyond keep-installations = ${keep}`;
    return { name, verdict: 'retire', why: 'beyond-retention', reason, ...times };
  });
}
