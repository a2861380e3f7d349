/**
 * The deploy planner (pure): desired builds + what is live + build records -> what to link, what is missing,
 * what is held back because a rollback marked it bad. No I/O: the deploy use case gathers the inputs and
 * applies the plan (scripts/app/deploy.ts).
 */
import type { BuildStatus, StampedBuildRecord } from './types.js';
import { diffLinks, nextGenerationNumber, sameLinks } from './generation.js';
import type { GenerationRef, LinkDiff, LinkMap } from './generation.js';
import { installationName } from './layout.js';
import { inputsBuildId } from './buildid.js';
import { planKernels } from './kernel.js';
import type { KernelEntry } from './kernel.js';

/** What deploy needs from `desiredState(repo)` (structurally a subset of desired.ts's Desired). */
export interface DesiredInput {
  condaVersion: string;
  envs: Array<{ name: string; buildId: string }>;
  kernels: Array<{ name: string; displayName: string }>;
}

export interface LiveInput {
  /** what users see now: the installation `ROOT/current` points at and its live generation */
  current?: GenerationRef;
  currentLinks: LinkMap;
  /** the desired installation's live generation (same as current unless a conda upgrade is being deployed) */
  target?: number;
  targetLinks: LinkMap;
  /** generation numbers present in the desired installation */
  targetGenerations: number[];
}

export type RecordLookup = (env: string, buildId: string) => StampedBuildRecord | undefined;

export interface MissingBuild {
  name: string;
  buildId: string;
  /** `absent`: never built; otherwise the record's status */
  status: 'absent' | Exclude<BuildStatus, 'tested'>;
  /** failure class of a failed build, when recorded */
  failure?: string;
}

export interface HeldBack {
  name: string;
  buildId: string;
  bad: { at: string; reason: string };
  /** the build that stays linked instead (undefined: the env stays out of the generation) */
  keeping?: string;
}

export interface DeployPlan {
  installation: string;
  from?: GenerationRef;
  /** link map of the generation that will be live */
  links: LinkMap;
  /** generation to write; undefined when the desired installation already has exactly these links live */
  newGeneration?: number;
  /** `ROOT/current` must be pointed at `installation` (a conda upgrade being deployed, or a first deploy) */
  switchCurrent: boolean;
  /** against what users see now */
  diff: LinkDiff;
  missing: MissingBuild[];
  heldBack: HeldBack[];
  /** bad builds deployed anyway because of --force (their mark is cleared) */
  forced: Array<{ name: string; buildId: string }>;
  kernels: KernelEntry[];
  /** kernels whose env is not in the generation, and kernel naming problems */
  kernelProblems: string[];
  /** anything to do at all (a new generation or a current switch) */
  changes: boolean;
}

export function planDeploy(
  desired: DesiredInput,
  live: LiveInput,
  lookup: RecordLookup,
  opts: {
    force?: boolean;
    /** env -> a fresh repair build (`<id>.rN`, deploy --repair) to link instead of the desired id */
    repairs?: Record<string, string>;
  } = {},
): DeployPlan {
  const installation = installationName(desired.condaVersion);
  const missing: MissingBuild[] = [];
  const heldBack: HeldBack[] = [];
  const forced: DeployPlan['forced'] = [];
  const links: LinkMap = {};
  for (const desiredEnv of desired.envs) {
    const liveRepair = live.targetLinks[desiredEnv.name];
    // a live repair build `<id>.rN` of the desired `<id>` (same inputs, fresh prefix) stays; so does a new repair
    const repairedId =
      opts.repairs?.[desiredEnv.name] ??
      (liveRepair !== undefined &&
      liveRepair !== desiredEnv.buildId &&
      inputsBuildId(liveRepair) === desiredEnv.buildId &&
      lookup(desiredEnv.name, liveRepair)?.status === 'tested'
        ? liveRepair
        : undefined);
    const env = repairedId ? { ...desiredEnv, buildId: repairedId } : desiredEnv;
    const rec = lookup(env.name, env.buildId);
    if (!rec || rec.status !== 'tested') {
      missing.push({
        name: env.name,
        buildId: env.buildId,
        status: rec ? (rec.status as MissingBuild['status']) : 'absent',
        ...(rec?.failure ? { failure: rec.failure.class } : {}),
      });
      continue;
    }
    const liveId = live.targetLinks[env.name];
    if (rec.bad && liveId !== env.buildId) {
      if (!opts.force) {
        heldBack.push({ name: env.name, buildId: env.buildId, bad: rec.bad, ...(liveId ? { keeping: liveId } : {}) });
        if (liveId) links[env.name] = liveId;
        continue;
      }
      forced.push({ name: env.name, buildId: env.buildId });
    }
    links[env.name] = env.buildId;
  }
  const sameInstallation = live.current?.installation === installation;
  const targetUpToDate = live.target !== undefined && sameLinks(links, live.targetLinks);
  const newGeneration = targetUpToDate ? undefined : nextGenerationNumber(live.targetGenerations);
  const { entries, problems } = planKernels(desired.kernels);
  const kernels = entries.filter((k) => k.env in links);
  for (const k of entries) {
    if (!(k.env in links))
      problems.push(`kernel '${k.kernel}': env ${k.env} is not in the generation, kernelspec not written`);
  }
  return {
    installation,
    ...(live.current ? { from: live.current } : {}),
    links,
    ...(newGeneration !== undefined ? { newGeneration } : {}),
    switchCurrent: !sameInstallation,
    diff: diffLinks(live.currentLinks, links),
    missing,
    heldBack,
    forced,
    kernels,
    kernelProblems: problems,
    changes: newGeneration !== undefined || !sameInstallation,
  };
}

/** Human lines describing a plan (used by --dry-run and by the deploy report). */
export function describePlan(plan: DeployPlan): string[] {
  const lines: string[] = [];
  const to =
    plan.newGeneration !== undefined
      ? `${plan.installation}/generations/${plan.newGeneration} (new)`
      : `${plan.installation} (live generation kept)`;
  const from = plan.from ? `${plan.from.installation}/generations/${plan.from.generation}` : undefined;
  if (!plan.changes) lines.push(`nothing to deploy: ${from ?? 'live'} already matches the repository`);
  else lines.push(`deploy ${from ?? '(nothing live)'} -> ${to}`);
  if (plan.switchCurrent) lines.push(`  switch ROOT/current -> ${plan.installation}`);
  for (const a of plan.diff.added) lines.push(`  + ${a.name} ${a.build}`);
  for (const c of plan.diff.changed) lines.push(`  ~ ${c.name} ${c.from} -> ${c.to}`);
  for (const r of plan.diff.removed) lines.push(`  - ${r.name} ${r.build}`);
  for (const h of plan.heldBack) {
    lines.push(
      `  ! ${h.name}: main asks for build ${h.buildId}, rolled back at ${h.bad.at} (${h.bad.reason}); ` +
        `${h.keeping ? `keeping ${h.keeping}` : 'left out'}. Revert or fix in git (or deploy --force)`,
    );
  }
  for (const f of plan.forced) lines.push(`  ! ${f.name}: deploying rolled-back build ${f.buildId} because of --force`);
  for (const p of plan.kernelProblems) lines.push(`  ! ${p}`);
  return lines;
}

export function describeMissing(missing: MissingBuild[]): string {
  return missing
    .map(
      (m) =>
        `  ${m.name} ${m.buildId}: ${m.status === 'absent' ? 'not built' : m.status}` +
        (m.failure ? ` (${m.failure})` : ''),
    )
    .join('\n');
}
