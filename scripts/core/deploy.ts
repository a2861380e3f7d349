/**
 * The deploy planner (pure): the env plan (core/envplan.ts) + what is live -> what to link, what is missing,
 * what is held back because a rollback marked it bad, which kernelspecs change. No I/O: the deploy use case
 * gathers the inputs and
 * applies the plan (scripts/app/deploy.ts).
 */
import type { StampedBuildRecord } from './types.js';
import { deployStep, type EnvDecision, type EnvPlan } from './envplan.js';
import { join } from 'node:path';
import { diffLines, diffLinks, nextGenerationNumber, sameLinks } from './generation.js';
import type { GenerationRef, LinkDiff, LinkMap } from './generation.js';
import { buildPaths, installationName } from './layout.js';
import { kernelSpec, planKernels, renderKernelSpec } from './kernel.js';
import type { KernelEntry } from './kernel.js';
import { OK, refused, type Outcome } from './outcome.js';

/** What deploy needs from `desiredState(repo)` (structurally a subset of desired.ts's Desired). */
export interface DesiredInput {
  condaVersion: string;
  envs: Array<{ name: string; buildId: string; kernel: boolean; verdictKey: string; coveredBy?: string[] }>;
  kernels: Array<{ name: string; displayName: string; spec?: string; line?: number }>;
  /** `[conda] allow-failures`: envs the deploy may leave out when they have no passing build */
  allowFailures?: string[];
}

/** A rollback switched `ROOT/current` away from `installation` (state/installation-marks.ts). */
export interface InstallationMark {
  installation: string;
  at: string;
  reason: string;
  /** the generation of `installation` that was live when it was rolled back, and its links */
  generation: number;
  links: LinkMap;
  commit?: string;
}

export interface LiveInput {
  /** what users see now: the installation `ROOT/current` points at and its live generation */
  current?: GenerationRef;
  /** nothing deployed is live: `ROOT/current` points at this adopted installation (its own envs directory) */
  adopted?: string;
  currentLinks: LinkMap;
  /** the desired installation's live generation (same as current unless a conda upgrade is being deployed) */
  target?: number;
  targetLinks: LinkMap;
  /** generation numbers present in the desired installation */
  targetGenerations: number[];
  /**
   * the installations that still serve envs, nearest first (the one `current` points at when the deploy leaves it,
   * then the ones it and the desired installation were deployed from), each with the envs it serves: an env left
   * out stays served by the first one that has it
   */
  serving?: Array<{ installation: string; links: LinkMap }>;
  /** the desired installation was rolled back (`rollback --installation`) and not made current since */
  installationMark?: InstallationMark;
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

/** An env of `[conda] allow-failures` without a passing build: the deploy goes live without it. */
export interface LeftOut {
  name: string;
  buildId: string;
  /** failure class of its build or test, when recorded */
  failure?: string;
  /** the env plan's reason, for humans */
  reason: string;
  /** its build live in the target installation, kept (undefined: the env is not in the new generation) */
  keeping?: string;
  /** where users still find it: the previous installation's live generation (`ROOT/vOLD/envs/NAME`) */
  servedFrom?: { installation: string; build: string; path: string };
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
  /** nothing deployed is live: users are on this adopted installation (the first cutover leaves it) */
  fromAdopted?: string;
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
  /** allowed failures (`[conda] allow-failures`) the deploy goes live without */
  leftOut: LeftOut[];
  /**
   * set when the deploy must not happen: it would make an installation current again that a rollback marked bad,
   * with the very links it had then (the repository has not changed them); deploy --force overrides
   */
  blockedBy?: InstallationMark;
  /** the desired installation's mark is lifted by this deploy (--force, or the repository changed its builds) */
  clearsMark?: InstallationMark;
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
  /**
   * attach the kernelspecs `ENV:SPEC` entries publish, read from the prefix each kernel will run (the build the
   * plan links); throws InputError for a SPEC the env does not ship (state/kernel.ts withShippedSpecs)
   */
  attach?: (entries: KernelEntry[], prefixOf: (e: KernelEntry) => string) => KernelEntry[];
}

/** What the env loop decides per env: the links of the new generation and the envs that do not get theirs. */
interface PlacedEnvs {
  links: LinkMap;
  missing: MissingBuild[];
  heldBack: HeldBack[];
  leftOut: LeftOut[];
  forced: DeployPlan['forced'];
}

/** The deploy rendering of the env plan (core/envplan.ts, decided against the target installation's links). */
export function planDeploy(
  desired: DesiredInput,
  live: LiveInput,
  envPlan: EnvPlan,
  kernelsOnDisk: KernelsOnDisk = { root: '', files: new Map() },
  opts: { force?: boolean } = {},
): DeployPlan {
  const installation = installationName(desired.condaVersion);
  const sameInstallation = live.current?.installation === installation;
  const placed = placeEnvs(desired, live, envPlan, kernelsOnDisk.root);
  const { links } = placed;
  const targetUpToDate = live.target !== undefined && sameLinks(links, live.targetLinks);
  const newGeneration = targetUpToDate ? undefined : nextGenerationNumber(live.targetGenerations);
  const { kernels, problems } = kernelsFor(desired, links, placed.leftOut, kernelsOnDisk);
  const kernelChanges = kernelChangesOf(kernels, kernelsOnDisk);
  return {
    installation,
    ...(live.current ? { from: live.current } : {}),
    ...(!live.current && live.adopted ? { fromAdopted: live.adopted } : {}),
    links,
    ...(newGeneration !== undefined ? { newGeneration } : {}),
    switchCurrent: !sameInstallation,
    diff: diffLinks(live.currentLinks, links),
    missing: placed.missing,
    heldBack: placed.heldBack,
    leftOut: placed.leftOut,
    ...installationGate(live, links, sameInstallation, opts.force === true),
    forced: placed.forced,
    kernels,
    kernelChanges,
    kernelProblems: problems,
    changes: newGeneration !== undefined || !sameInstallation || kernelChangeCount(kernelChanges) > 0,
  };
}

/**
 * Each env's deploy step: linked (its passing build, or --force's rolled-back one), held back (a rollback marked
 * its build bad: the live build stays), left out (allow-failures) or missing (the deploy is refused).
 */
function placeEnvs(desired: DesiredInput, live: LiveInput, envPlan: EnvPlan, root: string): PlacedEnvs {
  const placed: PlacedEnvs = { links: {}, missing: [], heldBack: [], leftOut: [], forced: [] };
  const { links } = placed;
  const allowed = new Set(desired.allowFailures ?? []);
  const servedBy = servingElsewhere(live, installationName(desired.condaVersion));
  for (const d of envPlan.envs) {
    const step = deployStep(d);
    const liveId = live.targetLinks[d.name];
    if (step === 'missing' && allowed.has(d.name)) {
      // allowed to fail: keep its live build in the target installation, else leave it out of the generation
      if (liveId) links[d.name] = liveId;
      placed.leftOut.push(leftOutEnv(d, liveId, servedBy(d.name), root));
    } else if (step === 'missing') {
      placed.missing.push(missingBuild(d));
    } else if (step === 'hold') {
      placed.heldBack.push({ name: d.name, buildId: d.buildId, bad: d.bad!, ...(liveId ? { keeping: liveId } : {}) });
      if (liveId) links[d.name] = liveId;
    } else {
      if (d.forced) placed.forced.push({ name: d.name, buildId: d.buildId });
      links[d.name] = d.buildId;
    }
  }
  return placed;
}

/** Where an env left out stays served: the nearest other installation that serves it, the one users are on first. */
function servingElsewhere(
  live: LiveInput,
  installation: string,
): (name: string) => { installation: string; links: LinkMap } | undefined {
  const sameInstallation = live.current?.installation === installation;
  const candidates = [
    ...(live.current && !sameInstallation
      ? [{ installation: live.current.installation, links: live.currentLinks }]
      : []),
    ...(live.serving ?? []),
  ];
  return (name) => candidates.find((s) => s.installation !== installation && name in s.links);
}

/** An allowed failure: kept at its live build in the target installation, or served from another one. */
function leftOutEnv(
  d: EnvDecision,
  keeping: string | undefined,
  by: { installation: string; links: LinkMap } | undefined,
  root: string,
): LeftOut {
  return {
    name: d.name,
    buildId: d.buildId,
    ...(d.failure ? { failure: d.failure } : {}),
    reason: d.reason,
    ...(keeping ? { keeping } : {}),
    ...(!keeping && by
      ? {
          servedFrom: {
            installation: by.installation,
            build: by.links[d.name]!,
            path: join(root, by.installation, 'envs', d.name),
          },
        }
      : {}),
  };
}

function missingBuild(d: EnvDecision): MissingBuild {
  return {
    name: d.name,
    buildId: d.buildId,
    status: d.build === 'built' ? (d.verdict === 'fail' ? 'failed' : 'untested') : d.build,
    ...(d.failure ? { failure: d.failure } : {}),
    reason: d.reason,
  };
}

/**
 * The kernelspecs of the generation: one per kernel whose env it links; an env left out of a conda upgrade keeps
 * its kernel, run from the installation that still serves it. The others are problems (kernelspec not written).
 */
function kernelsFor(
  desired: DesiredInput,
  links: LinkMap,
  leftOut: LeftOut[],
  kernelsOnDisk: KernelsOnDisk,
): { kernels: KernelEntry[]; problems: string[] } {
  const { entries, problems } = planKernels(desired.kernels);
  const servedFrom = new Map(leftOut.flatMap((l) => (l.servedFrom ? [[l.name, l.servedFrom.path] as const] : [])));
  const planned = entries.flatMap((k) =>
    k.env in links ? [k] : servedFrom.has(k.env) ? [{ ...k, prefix: servedFrom.get(k.env)! }] : [],
  );
  const kernels = kernelsOnDisk.attach
    ? kernelsOnDisk.attach(
        planned,
        (e) => e.prefix ?? buildPaths(kernelsOnDisk.root, desired.condaVersion, e.env, links[e.env]!).prefix,
      )
    : planned;
  for (const k of entries) {
    if (!(k.env in links) && !servedFrom.has(k.env))
      problems.push(`kernel '${k.kernel}': env ${k.env} is not in the generation, kernelspec not written`);
  }
  return { kernels, problems };
}

/** How many kernelspecs a plan writes or removes. */
export function kernelChangeCount(kc: KernelChanges): number {
  return kc.added.length + kc.removed.length + kc.changed.length;
}

/** The kernelspecs to write (added, changed) and to remove, against the managed kernelspec files on disk. */
function kernelChangesOf(kernels: KernelEntry[], kernelsOnDisk: KernelsOnDisk): KernelChanges {
  const kernelChanges: KernelChanges = { added: [], removed: [], changed: [] };
  for (const k of kernels) {
    const text = kernelsOnDisk.files.get(k.kernel);
    if (text === undefined) kernelChanges.added.push(k.kernel);
    else if (text !== renderKernelSpec(kernelSpec(kernelsOnDisk.root, k))) kernelChanges.changed.push(k.kernel);
  }
  const wantedKernels = new Set(kernels.map((k) => k.kernel));
  for (const k of [...kernelsOnDisk.files.keys()].sort()) if (!wantedKernels.has(k)) kernelChanges.removed.push(k);
  return kernelChanges;
}

/**
 * Deploy refuses to make an installation current again after a rollback switched away from it, while the
 * repository asks for the very builds that were live there then: "the repository changed" means a deploy would
 * link other builds in it (a spec fixed, an env added or removed, allow-failures changed). --force goes anyway.
 * Either way, once the installation is current again its mark is lifted.
 */
function installationGate(
  live: LiveInput,
  links: LinkMap,
  sameInstallation: boolean,
  force: boolean,
): { blockedBy?: InstallationMark; clearsMark?: InstallationMark } {
  const mark = live.installationMark;
  if (!mark || sameInstallation) return {};
  if (!force && sameLinks(links, mark.links)) return { blockedBy: mark };
  return { clearsMark: mark };
}

/** Why a blocked deploy refuses, and the ways out (exit 1). */
export function describeBlocked(mark: InstallationMark): string {
  return (
    `refusing to switch ROOT/current to ${mark.installation}: it was rolled back at ${mark.at} (${mark.reason}), ` +
    `and the repository still asks for the builds of ${mark.installation}/generations/${mark.generation} ` +
    'that were live then. Nothing was changed. Fix the failing envs in git (a commit that changes their builds ' +
    'deploys), or deploy --force to switch anyway (clears the mark).'
  );
}

/** The line a report, the history and status give an env left out by allow-failures. */
export function describeLeftOut(l: LeftOut): string {
  const why = l.failure ? `failed: ${l.failure}` : l.reason;
  if (l.keeping) return `left out: ${l.name} (${why}), keeping its live build ${l.keeping}`;
  if (l.servedFrom)
    return `left out: ${l.name} (${why}), still served from ${l.servedFrom.installation} at ${l.servedFrom.path}`;
  return `left out: ${l.name} (${why}), not live anywhere`;
}

/** Human lines describing a plan (used by --dry-run and by the deploy report). */
export function describePlan(plan: DeployPlan): string[] {
  const lines: string[] = [];
  const to =
    plan.newGeneration !== undefined
      ? `${plan.installation}/generations/${plan.newGeneration} (new)`
      : `${plan.installation} (live generation kept)`;
  const from = plan.from
    ? `${plan.from.installation}/generations/${plan.from.generation}`
    : plan.fromAdopted
      ? `${plan.fromAdopted} (adopted)`
      : undefined;
  if (!plan.changes)
    lines.push(
      `nothing to deploy: ${from ?? 'live'} already matches the repository` +
        (plan.heldBack.length ? ', but for the held-back builds below' : ''),
    );
  else if (plan.newGeneration === undefined && !plan.switchCurrent) lines.push(`deploy kernelspecs only (${to})`);
  else lines.push(`deploy ${from ?? '(nothing live)'} -> ${to}`);
  if (plan.switchCurrent) lines.push(`  switch ROOT/current -> ${plan.installation}`);
  lines.push(...diffLines(plan.diff));
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
  for (const l of plan.leftOut) lines.push(`  ! ${describeLeftOut(l)} (allow-failures)`);
  if (plan.clearsMark) lines.push(`  ! ${plan.installation} was rolled back at ${plan.clearsMark.at}: mark cleared`);
  for (const f of plan.forced) lines.push(`  ! ${f.name}: deploying rolled-back build ${f.buildId} because of --force`);
  for (const p of plan.kernelProblems) lines.push(`  ! ${p}`);
  return lines;
}

export function describeMissing(missing: MissingBuild[]): string {
  return missing.map((m) => `  ${m.name} ${m.buildId}: ${m.reason}`).join('\n');
}

/** On a conda upgrade, the way to go live with what passed. */
function missingHint(plan: DeployPlan): string {
  if (!plan.switchCurrent || !plan.from) return '';
  const names = plan.missing.map((m) => m.name).join(', ');
  return (
    `\nTo switch to ${plan.installation} with the envs that passed and leave these out (they stay served from ` +
    `${plan.from.installation} at ROOT/${plan.from.installation}/envs/NAME): add \`allow-failures = ${names}\` ` +
    'to [conda] in inventory.ini'
  );
}

/**
 * How a deploy of this plan ends, decided from the plan alone: the dry run and the real run both call it, so the
 * dry run refuses exactly where the real run does. Refused: an installation a rollback switched away from (nothing
 * changes), envs without a passing build (nothing changes), or builds a rollback marked bad (the rest deploys,
 * they are held back).
 */
export function deployOutcome(plan: DeployPlan): Outcome {
  if (plan.blockedBy) return refused(describeBlocked(plan.blockedBy));
  if (plan.missing.length) {
    return refused(
      "refusing to deploy: these envs have no build that passed the repository's tests" +
        ` (run QA on the PR, or deploy --build-missing):\n${describeMissing(plan.missing)}${missingHint(plan)}`,
    );
  }
  if (plan.heldBack.length) {
    return refused(
      `held back: ${plan.heldBack.map((h) => h.name).join(', ')}: main asks for builds a rollback marked bad; ` +
        'the other envs go live without them. Revert or fix them in git, or deploy --force',
    );
  }
  return OK;
}

/** Whether a deploy of this plan changes anything at all (a held-back build does not stop the rest). */
export function deployGoesAhead(plan: DeployPlan): boolean {
  return !plan.blockedBy && plan.missing.length === 0;
}
