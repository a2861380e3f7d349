/**
 * The deploy planner (pure): the env plan (core/envplan.ts) + what is live -> what to link, what is missing,
 * what is held back because a rollback marked it bad, which kernelspecs change. No I/O: the deploy use case
 * gathers the inputs and
 * applies the plan (scripts/app/deploy.ts).
 */
import type { StampedBuildRecord } from './types.js';
import { deployStep, type EnvPlan } from './envplan.js';
import { diffLinks, nextGenerationNumber, sameLinks } from './generation.js';
import type { GenerationRef, LinkDiff, LinkMap } from './generation.js';
import { installationName } from './layout.js';
import { kernelSpec, planKernels, renderKernelSpec } from './kernel.js';
import type { KernelEntry } from './kernel.js';

/** What deploy needs from `desiredState(repo)` (structurally a subset of desired.ts's Desired). */
export interface DesiredInput {
  condaVersion: string;
  envs: Array<{ name: string; buildId: string; kernel: boolean; verdictKey: string; coveredBy?: string[] }>;
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
  /** `absent`: never built; `untested`: built, no verdict for the tests main has; otherwise the build's state */
  status: 'absent' | 'building' | 'built' | 'failed' | 'aborted' | 'untested';
  /** failure class of a failed build or test, when recorded */
  failure?: string;
  /** the env plan's reason, for humans */
  reason: string;
}

export interface HeldBack {
  name: string;
  buildId: string;
  bad: { at: string; reason: string };
  /** the build that stays linked instead (undefined: the env stays out of the generation) */
  keeping?: string;
}

/** Kernelspecs a deploy writes or removes, against the managed kernelspec files on disk. */
export interface KernelChanges {
  added: string[];
  removed: string[];
  /** display name (or env path) differs from what is written */
  changed: string[];
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
  kernelChanges: KernelChanges;
  /** kernels whose env is not in the generation, and kernel naming problems */
  kernelProblems: string[];
  /** anything to do at all (a new generation, a current switch, or kernelspecs to write or remove) */
  changes: boolean;
}

export interface KernelsOnDisk {
  root: string;
  /** managed kernelspec dir name -> kernel.json text */
  files: Map<string, string>;
}

/** The deploy rendering of the env plan (core/envplan.ts, decided against the target installation's links). */
export function planDeploy(
  desired: DesiredInput,
  live: LiveInput,
  envPlan: EnvPlan,
  kernelsOnDisk: KernelsOnDisk = { root: '', files: new Map() },
): DeployPlan {
  const installation = installationName(desired.condaVersion);
  const missing: MissingBuild[] = [];
  const heldBack: HeldBack[] = [];
  const forced: DeployPlan['forced'] = [];
  const links: LinkMap = {};
  for (const d of envPlan.envs) {
    const step = deployStep(d);
    if (step === 'missing') {
      missing.push({
        name: d.name,
        buildId: d.buildId,
        status: d.build === 'built' ? (d.verdict === 'fail' ? 'failed' : 'untested') : d.build,
        ...(d.failure ? { failure: d.failure } : {}),
        reason: d.reason,
      });
      continue;
    }
    const liveId = live.targetLinks[d.name];
    if (step === 'hold') {
      heldBack.push({ name: d.name, buildId: d.buildId, bad: d.bad!, ...(liveId ? { keeping: liveId } : {}) });
      if (liveId) links[d.name] = liveId;
      continue;
    }
    if (d.forced) forced.push({ name: d.name, buildId: d.buildId });
    links[d.name] = d.buildId;
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
  const kernelChanges: KernelChanges = { added: [], removed: [], changed: [] };
  for (const k of kernels) {
    const text = kernelsOnDisk.files.get(k.kernel);
    if (text === undefined) kernelChanges.added.push(k.kernel);
    else if (text !== renderKernelSpec(kernelSpec(kernelsOnDisk.root, k.env, k.displayName)))
      kernelChanges.changed.push(k.kernel);
  }
  const wantedKernels = new Set(kernels.map((k) => k.kernel));
  for (const k of [...kernelsOnDisk.files.keys()].sort()) if (!wantedKernels.has(k)) kernelChanges.removed.push(k);
  const kernelWork = kernelChanges.added.length + kernelChanges.removed.length + kernelChanges.changed.length > 0;
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
    kernelChanges,
    kernelProblems: problems,
    changes: newGeneration !== undefined || !sameInstallation || kernelWork,
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
  else if (plan.newGeneration === undefined && !plan.switchCurrent) lines.push(`deploy kernelspecs only (${to})`);
  else lines.push(`deploy ${from ?? '(nothing live)'} -> ${to}`);
  if (plan.switchCurrent) lines.push(`  switch ROOT/current -> ${plan.installation}`);
  for (const a of plan.diff.added) lines.push(`  + ${a.name} ${a.build}`);
  for (const c of plan.diff.changed) lines.push(`  ~ ${c.name} ${c.from} -> ${c.to}`);
  for (const r of plan.diff.removed) lines.push(`  - ${r.name} ${r.build}`);
  const kc = plan.kernelChanges;
  for (const k of kc.added) lines.push(`  + kernel ${k}`);
  for (const k of kc.changed) lines.push(`  ~ kernel ${k} (display name or env changed)`);
  for (const k of kc.removed) lines.push(`  - kernel ${k}`);
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
  return missing.map((m) => `  ${m.name} ${m.buildId}: ${m.reason}`).join('\n');
}
