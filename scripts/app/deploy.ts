/**
 * The deploy use case (merge entry): the repository at HEAD -> a new generation, swapped in atomically,
 * kernels, history (docs/deploy.md). Reads top to bottom: load repo -> check ROOT is ours -> (build missing,
 * outside the lock) -> lock -> plan -> write generation -> swap -> kernels -> history -> release.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Output } from './output.js';
import { loadRepo, resolveRoot } from '../repo/repo.js';
import type { Repo } from '../core/repo.js';
import { desiredState } from '../core/desired.js';
import { isDrift } from '../core/integrity.js';
import { verifyPrefix } from '../state/manifest.js';
import type { Desired } from '../core/desired.js';
import { withLock, type HeldLock } from '../state/lock.js';
import { recoverUnderLock } from './under-lock.js';
import {
  deployGoesAhead,
  deployOutcome,
  describeLeftOut,
  describePlan,
  kernelChangeCount,
  planDeploy,
} from '../core/deploy.js';
import type { DeployPlan, DesiredInput, InstallationMark, MissingBuild } from '../core/deploy.js';
import type { Outcome } from '../core/outcome.js';
import {
  checkManageable,
  crashPoint,
  ensureRootLinks,
  listGenerations,
  linkedInstallation,
  liveGenerationNumber,
  markBuilds,
  servingInstallations,
  adoptedCurrent,
  readGenerationLinks,
  readLive,
  readManifest,
  replaceSymlink,
  swapEnvs,
  verifyGeneration,
  writeGeneration,
} from '../state/generation.js';
import { clearInstallationMark, installationMarkOf } from '../state/installation-marks.js';
import { installationLayout, installationName, layout } from '../core/layout.js';
import { readBuildRecord, writeBuildRecord } from '../state/record.js';
import { envInputFromDisk } from '../state/verdict.js';
import { buildFacts, builtAndTested, planEnvs, type EnvInput, type EnvPlan } from '../core/envplan.js';
import type { GenerationManifest, GenerationRef, LinkMap } from '../core/generation.js';
import { checkKernelPaths, managedKernels, syncKernels, withShippedSpecs } from '../state/kernel.js';
import type { KernelSync } from '../state/kernel.js';
import { actor, appendHistory, readHistoryStamp } from '../state/history.js';
import { pointQa } from '../state/installation.js';
import { headCommit, isAncestor } from '../engine/git.js';
import { FailedError, RefusedError, UsageError } from '../core/errors.js';
import { ADOPTED, formatRef } from '../core/generation.js';
import { inputsBuildId, nextRepairId } from '../core/buildid.js';
import { handChange } from '../core/status.js';
import { didYouMean } from '../core/suggest.js';

export interface DeployOptions {
  repoDir: string;
  /** --root DIR (else $CONDA_GITOPS_ROOT, else the repository's [conda] root) */
  rootFlag?: string;
  env: NodeJS.ProcessEnv;
  out: Output;
  /** deploy builds a rollback marked bad (and clear their marks) */
  force: boolean;
  /** print the plan, change nothing */
  dryRun: boolean;
  /** build and test the envs without a tested build first (outside the lock) */
  buildMissing: boolean;
  /** parallel builds for `buildMissing` */
  jobs: number;
  /** how long to wait for the lock; 0: BusyError at once */
  waitSeconds: number;
  /** deploy a commit that does not descend from the live generation's commit (default: refuse) */
  allowDowngrade?: boolean;
  /** --repair NAME: rebuild these hand-changed live envs into fresh prefixes and link them */
  repair?: string[];
  /** --repair-all-drifted: the same for every hand-changed live env of the repository */
  repairAllDrifted?: boolean;
}

/** A hand-changed live build and what replaces it. */
export interface Repair {
  name: string;
  /** the live build that was changed by hand (kept until gc, marked tainted) */
  tainted: string;
  /** the build linked instead: a fresh repair build `<id>.rN`, or the repository's build when it differs */
  replacement: string;
  /** true: `replacement` is built now beside the tainted build */
  fresh: boolean;
  /** when conda-meta/history changed (undefined: it is missing) */
  since?: string;
}

interface DeployResultBase {
  /** false: refused (missing or held-back builds, a rolled-back installation) */
  ok: boolean;
  /** how it ended (core/deploy.ts deployOutcome): the same for the dry run and the real run */
  outcome: Outcome;
  root: string;
  commit: string | undefined;
  /** hand-changed envs repaired (or, in a dry run, to repair) */
  repairs?: Repair[];
  /** --build-missing: envs built and tested at deploy time, not by a pull request's QA */
  builtAtDeploy?: string[];
}

/** The machine result: the plan of a dry run, the missing builds of a refused deploy, or what was applied. */
export type DeployResult =
  | (DeployResultBase & { dryRun: true } & DeployPlan)
  | (DeployResultBase & { ok: false; missing: MissingBuild[]; blockedBy?: InstallationMark })
  | (DeployResultBase & DeployPlan & { kernelSync: KernelSync; seconds: number });

/**
 * The env plan of a desired state against an installation's live links, read from disk. A repair build
 * `<id>.rN` (deploy --repair: the desired build's inputs in a fresh prefix) stands in for `<id>`: the one named in
 * `repairs`, or the live one when it has a passing verdict.
 */
export function envPlanFromDisk(
  root: string,
  desired: DesiredInput,
  liveLinks: LinkMap,
  opts: { force?: boolean; repairs?: Record<string, string>; assumeBuilt?: ReadonlySet<string> } = {},
): EnvPlan {
  const hasBuilds = existsSync(installationLayout(root, desired.condaVersion).builds);
  const inputOf = (e: DesiredInput['envs'][number]): EnvInput =>
    hasBuilds
      ? envInputFromDisk(root, desired.condaVersion, e, liveLinks[e.name])
      : {
          name: e.name,
          buildId: e.buildId,
          kernel: e.kernel,
          ...(liveLinks[e.name] ? { live: liveLinks[e.name] } : {}),
          build: buildFacts(undefined, false),
        };
  const withRepair = (e: DesiredInput['envs'][number]): EnvInput => {
    const named = opts.repairs?.[e.name];
    if (named) return inputOf({ ...e, buildId: named });
    const liveId = liveLinks[e.name];
    if (hasBuilds && liveId && liveId !== e.buildId && inputsBuildId(liveId) === e.buildId) {
      const repaired = inputOf({ ...e, buildId: liveId });
      if (repaired.build.state === 'built' && repaired.verdict?.ok) return repaired;
    }
    // the desired build was changed by hand and repaired: its repair stands in for it, bad mark included;
    // the tainted build itself is never linked again
    const repairedBy = hasBuilds
      ? readBuildRecord(root, desired.condaVersion, e.name, e.buildId)?.tainted?.repairedBy
      : undefined;
    if (repairedBy) return inputOf({ ...e, buildId: repairedBy });
    return inputOf(e);
  };
  const planOpts = opts.force ? { force: true } : {};
  const inputs = desired.envs.map(withRepair);
  // a dry run: what the plan is once the builds the real run makes (--build-missing, --repair) pass
  const assumed = opts.assumeBuilt;
  const predicted = assumed ? inputs.map((e) => (assumed.has(e.name) ? builtAndTested(e, planOpts) : e)) : inputs;
  return planEnvs(predicted, liveLinks, planOpts);
}

/** Managed kernelspec files (name -> kernel.json text), as deploy and status compare them. */
export function kernelFilesOnDisk(root: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const k of managedKernels(root)) {
    files.set(k, readFileSync(join(layout(root).kernels, k, 'kernel.json'), 'utf8'));
  }
  return files;
}

/** Everything the planner needs, read from disk. `assumeBuilt`: envs whose builds and tests are taken as passed. */
export function planFromDisk(
  root: string,
  desired: DesiredInput,
  opts: { force?: boolean; repairs?: Record<string, string>; assumeBuilt?: ReadonlySet<string> },
): DeployPlan {
  const inst = installationLayout(root, desired.condaVersion);
  const live = readLive(root);
  const target = liveGenerationNumber(inst.dir);
  const targetLinks = target !== undefined ? readGenerationLinks(inst.dir, target) : {};
  const current = live.ref?.installation ?? adoptedCurrent(root);
  const serving = servingInstallations(root, [...(current ? [current] : []), installationName(desired.condaVersion)]);
  const mark = installationMarkOf(root, installationName(desired.condaVersion));
  return planDeploy(
    desired,
    {
      ...(live.ref ? { current: live.ref } : {}),
      ...(!live.ref && current ? { adopted: current } : {}),
      currentLinks: live.links,
      ...(target !== undefined ? { target } : {}),
      targetLinks,
      targetGenerations: listGenerations(inst.dir),
      serving,
      ...(mark ? { installationMark: mark } : {}),
    },
    envPlanFromDisk(root, desired, targetLinks, opts),
    { root, files: kernelFilesOnDisk(root), attach: (entries, prefixOf) => withShippedSpecs(root, entries, prefixOf) },
    { ...(opts.force ? { force: true } : {}) },
  );
}

export interface AppliedDeploy {
  plan: DeployPlan;
  kernels: KernelSync;
  generation?: number;
  seconds: number;
}

/** How applyDeploy is asked: what the manifest and the history record, and the lock to check before the swap. */
interface ApplyMeta {
  commit?: string;
  command: string;
  env: NodeJS.ProcessEnv;
  assertHeld: () => void;
  repairs?: Repair[];
}

/**
 * Apply a plan while holding the lock: write the new generation, swap `vX/envs`, make sure ROOT/current and
 * ROOT/envs exist (or point `current` at the new installation), write kernels, record history.
 * Nothing before the swap is visible to users; everything after it is idempotent and redone by the next run.
 */
export function applyDeploy(root: string, desired: DesiredInput, plan: DeployPlan, meta: ApplyMeta): AppliedDeploy {
  const t0 = performance.now();
  crashPoint('locked');
  checkKernelPaths(root, plan.kernels); // a planted symlink under kernels/: refused before anything changes
  // the first cutover out of an adopted installation (current -> vOLD, a real envs directory): recorded on the new
  // generation, so that `rollback --installation` can go back to it and left-out envs are found there
  const adopted = plan.from ? undefined : adoptedCurrent(root);
  const adoptedFrom = adopted && adopted !== plan.installation ? adopted : undefined;
  if (plan.newGeneration !== undefined) writeAndSwap(root, desired, plan, meta, adoptedFrom);
  switchAndEnsureLinks(root, desired, plan);
  const kernels = syncKernels(root, plan.kernels, { afterWrite: () => crashPoint('kernel-written') });
  markBuilds(
    root,
    plan.installation,
    plan.forced.map((f) => ({ name: f.name, build: f.buildId })),
    undefined,
  );
  const repaired = markTainted(root, plan, meta.repairs ?? []);
  if (plan.changes) {
    crashPoint('before-history');
    const from = plan.from ?? (adoptedFrom ? { installation: adoptedFrom, generation: ADOPTED } : undefined);
    recordDeploy(root, desired, plan, meta, { from, repaired });
  }
  crashPoint('done');
  return {
    plan,
    kernels,
    ...(plan.newGeneration !== undefined ? { generation: plan.newGeneration } : {}),
    seconds: (performance.now() - t0) / 1000,
  };
}

/** Write the new generation, check it is whole while the lock is held, and swap `vX/envs` to it (one rename). */
function writeAndSwap(
  root: string,
  desired: DesiredInput,
  plan: DeployPlan,
  meta: ApplyMeta,
  adoptedFrom: string | undefined,
): void {
  const inst = installationLayout(root, desired.condaVersion);
  const manifest: GenerationManifest = {
    format: 1,
    n: plan.newGeneration!,
    createdAt: new Date().toISOString(),
    ...(meta.commit ? { commit: meta.commit } : {}),
    reason: meta.command,
    ...(plan.from ? { parent: plan.from } : {}),
    ...(adoptedFrom ? { adoptedFrom } : {}),
    envs: plan.links,
  };
  writeGeneration(inst.dir, manifest);
  meta.assertHeld(); // a lock lost while writing: stop before anything becomes visible
  verifyGeneration(inst.dir, manifest.n, manifest); // every link resolves to a complete build
  swapEnvs(inst.dir, manifest.n);
  crashPoint('swapped');
}

/** The installation cutover (when the plan switches `current`), the mark it lifts, and ROOT/current + ROOT/envs. */
function switchAndEnsureLinks(root: string, desired: DesiredInput, plan: DeployPlan): void {
  const lay = layout(root);
  if (plan.switchCurrent && linkedInstallation(lay.current) !== undefined) {
    // the installation cutover: one rename(2) of `current`; ROOT/envs (-> current/envs) follows it
    replaceSymlink(lay.current, plan.installation, 'current');
    crashPoint('current-switched');
    // people inspecting `qa` see what is live now (an upgrade PR's qa run points it at its own installation)
    pointQa(root, desired.condaVersion);
  }
  if (plan.clearsMark && linkedInstallation(lay.current) === plan.installation) {
    clearInstallationMark(root, plan.installation);
  }
  ensureRootLinks(root, desired.condaVersion);
  crashPoint('links-ensured');
}

/** The history line of an applied deploy, with what users should know beside the diff. */
function recordDeploy(
  root: string,
  desired: DesiredInput,
  plan: DeployPlan,
  meta: ApplyMeta,
  done: { from: GenerationRef | undefined; repaired: Repair[] },
): void {
  const generation = plan.newGeneration ?? liveGenerationNumber(installationLayout(root, desired.condaVersion).dir)!;
  const notes = deployNotes(plan, done.repaired, meta.command);
  appendHistory(root, {
    format: 1,
    at: new Date().toISOString(),
    command: meta.command,
    ...actor(meta.env),
    ...(meta.commit ? { commit: meta.commit } : {}),
    ...(done.from ? { from: done.from } : {}),
    to: { installation: plan.installation, generation },
    ...plan.diff,
    ...(kernelChangeCount(plan.kernelChanges) ? { kernels: plan.kernelChanges } : {}),
    ...(notes.length ? { note: notes.join('; ') } : {}),
  });
}

/** The history notes of a deploy: envs left out, a mark cleared, builds held back, hand-changed builds repaired. */
function deployNotes(plan: DeployPlan, repaired: Repair[], command: string): string[] {
  const heldBack = plan.heldBack.map((h) => h.name).join(', ');
  return [
    ...plan.leftOut.map((l) => `${describeLeftOut(l)} (allow-failures)`),
    ...(plan.clearsMark
      ? [`${plan.installation} rolled back at ${plan.clearsMark.at}: mark cleared (${command})`]
      : []),
    ...(plan.heldBack.length ? [`held back (rolled back, revert or fix in git): ${heldBack}`] : []),
    ...(repaired.length
      ? [
          'repaired (changed by hand; the tainted build is kept until gc): ' +
            repaired.map((r) => `${r.name} ${r.tainted} -> ${r.replacement}`).join(', '),
        ]
      : []),
  ];
}

/**
 * Mark the hand-changed builds a deploy replaced as tainted (kept until gc; `repairedBy` names the build now
 * linked). Only those the new live generation really replaced. Returns the repairs applied.
 */
function markTainted(root: string, plan: DeployPlan, repairs: Repair[]): Repair[] {
  const at = new Date().toISOString();
  const done: Repair[] = [];
  for (const r of repairs) {
    if (plan.links[r.name] !== r.replacement) continue;
    const version = (plan.from?.installation ?? plan.installation).replace(/^v/, '');
    const rec = readBuildRecord(root, version, r.name, r.tainted);
    if (rec && !rec.tainted) {
      const reason = `changed by hand (conda-meta/history ${r.since ? `modified ${r.since}` : 'missing'})`;
      writeBuildRecord(root, { ...rec, tainted: { at, reason, repairedBy: r.replacement } });
    }
    done.push(r);
  }
  return done;
}

const short = (commit: string) => commit.slice(0, 12);

/**
 * Deploy only goes forward: HEAD must descend from the commit of the live generation (its manifest records it),
 * else deploying would silently put older specs back (an old CI run re-run, a stale checkout). The way back is
 * a revert commit; --allow-downgrade deploys anyway. Outside git there is no commit to compare: say so.
 */
async function checkForward(
  repoDir: string,
  root: string,
  commit: string | undefined,
  allow: boolean,
  warn: (message: string) => void,
): Promise<void> {
  const live = readLive(root);
  if (!commit) {
    warn(`${repoDir} is not a git checkout: deploying without checking that it moves forward from what is live`);
    return;
  }
  if (!live.ref) return;
  const liveCommit = readManifest(join(root, live.ref.installation), live.ref.generation)?.commit;
  if (!liveCommit || liveCommit === commit) return;
  const relation = await isAncestor(repoDir, liveCommit, commit);
  if (relation === 'yes') return;
  const where = `${root}/${formatRef(live.ref)}`;
  const what =
    relation === 'no'
      ? `HEAD ${short(commit)} does not descend from ${short(liveCommit)}, the commit live in ${where}: ` +
        'deploying it would go back to older specs'
      : `cannot tell whether HEAD ${short(commit)} descends from ${short(liveCommit)}, the commit live in ${where}: ` +
        'that commit is not in this clone (a shallow checkout? fetch the full history, e.g. fetch-depth: 0)';
  if (allow) {
    warn(`${what}; deploying anyway (--allow-downgrade)`);
    return;
  }
  throw new RefusedError(
    `refusing to deploy: ${what}.\nNothing was changed. The way back is a revert commit on main (git revert), ` +
      'deployed like any other change; to deploy this commit anyway: deploy --allow-downgrade',
  );
}

/**
 * The hand-changed live envs to repair: the ones named (each must be a REPLICATE env of the repository and live),
 * or with `all`, every live env of the repository changed by hand. A build changed by hand whose inputs are what
 * the repository asks for gets a fresh repair build `<id>.rN` beside it; one the repository replaces anyway
 * (its spec changed) is replaced by the repository's build.
 */
function findRepairs(root: string, desired: Desired, names: string[], all: boolean, out: Output): Repair[] {
  const live = readLive(root);
  const byName = new Map(desired.envs.map((e) => [e.name, e]));
  for (const name of names) {
    if (!byName.has(name)) {
      throw new UsageError(
        `--repair ${name}: not a REPLICATE env of the repository (inventory.ini [environments])` +
          didYouMean(name, [...byName.keys()]),
      );
    }
    if (!(name in live.links)) {
      throw new UsageError(`--repair ${name}: ${name} is not live${live.ref ? ` in ${formatRef(live.ref)}` : ''}`);
    }
  }
  if (!live.ref) return [];
  const version = live.ref.installation.replace(/^v/, '');
  const sameInstallation = live.ref.installation === installationName(desired.condaVersion);
  const candidates = all ? desired.envs.map((e) => e.name).filter((n) => n in live.links) : names;
  const repairs: Repair[] = [];
  for (const name of [...new Set(candidates)].sort()) {
    const liveId = live.links[name];
    const rec = readBuildRecord(root, version, name, liveId);
    // changed through conda (its history moved), or a file edited in place (only the integrity check sees it)
    const byConda = rec ? handChange(rec, readHistoryStamp(rec.prefix)) : undefined;
    const changed = byConda ?? (rec && isDrift(verifyPrefix(rec.prefix, false)) ? {} : undefined);
    if (!changed) {
      if (!all) out.info(`${name}: live build ${liveId} is not changed by hand: nothing to repair`);
      continue;
    }
    const wanted = byName.get(name)!.buildId;
    const since = changed.since ? { since: changed.since } : {};
    if (sameInstallation && inputsBuildId(liveId) === wanted) {
      const dir = installationLayout(root, desired.condaVersion).builds;
      let existing: string[] = [];
      try {
        existing = readdirSync(join(dir, name));
      } catch {
        /* no builds dir: none */
      }
      repairs.push({ name, tainted: liveId, replacement: nextRepairId(wanted, existing), fresh: true, ...since });
    } else repairs.push({ name, tainted: liveId, replacement: wanted, fresh: false, ...since });
  }
  return repairs;
}

/** Build and test the fresh repair builds (outside the lock); FailedError when one does not pass. */
async function buildRepairs(run: DeployRun, repairs: Repair[]): Promise<void> {
  const { opts, root, repo, desired } = run;
  const fresh = repairs.filter((r) => r.fresh);
  if (!fresh.length) return;
  const { runBuilds } = await import('./pipeline.js');
  const runDir = join(layout(root).runs, `repair-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  const ids = new Map(fresh.map((r) => [r.name, r.replacement]));
  const envs = desired.envs.filter((e) => ids.has(e.name)).map((e) => ({ ...e, buildId: ids.get(e.name)! }));
  opts.out.progress(`repair: rebuilding ${envs.map((e) => `${e.name} as ${e.buildId}`).join(', ')} (logs: ${runDir})`);
  const result = await runBuilds({ root, repo, desired, envs, jobs: opts.jobs, out: opts.out, runDir });
  const failed = result.envs.filter((e) => e.result.status === 'failed');
  if (failed.length) {
    const which = failed.map((e) => `${e.result.env} ${e.result.buildId} (${e.result.failure?.class ?? 'unknown'})`);
    throw new FailedError(
      `repair failed: ${which.join(', ')}; see ${runDir}/logs. Nothing was deployed: the hand-changed build stays live`,
    );
  }
  for (const r of fresh) {
    const rec = readBuildRecord(root, desired.condaVersion, r.name, r.replacement);
    if (rec && rec.repairOf !== r.tainted) writeBuildRecord(root, { ...rec, repairOf: r.tainted });
  }
}

/** Build and test the missing envs through the QA pipeline (loaded only when asked for: it pulls in the adapter). */
async function buildMissing(run: DeployRun, names: Set<string>): Promise<string[]> {
  const { opts, root, repo, desired } = run;
  const { runBuilds } = await import('./pipeline.js');
  const runDir = join(layout(root).runs, `deploy-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  // the installation the repository names is not there (a conda upgrade deployed without a qa run): install it
  // with install-conda's own use case first; it takes the ROOT lock only while installing
  const { ensureInstallation } = await import('./install-conda.js');
  const installed = await ensureInstallation({
    root,
    inventory: repo.inventory,
    out: opts.out,
    logDir: runDir,
    command: 'conda-gitops deploy --build-missing',
  });
  if (installed && !installed.ok)
    throw new FailedError(`nothing was built or deployed (current and qa unchanged): ${installed.message}`);
  const builds = installationLayout(root, desired.condaVersion).builds;
  opts.out.progress(`building ${names.size} missing env(s) into ${builds} (logs: ${runDir})`);
  const envs = desired.envs.filter((e) => names.has(e.name));
  const result = await runBuilds({ root, repo, desired, envs, jobs: opts.jobs, out: opts.out, runDir, env: opts.env });
  const failed = result.envs
    .filter((e) => e.result.status === 'failed')
    .map((e) => `${e.result.env}${e.result.failure ? ` (${e.result.failure.class})` : ''}`);
  if (failed.length) opts.out.warn(`build failed for: ${failed.join(', ')} (see ${runDir}/logs)`);
  // said loudly: these builds go live (if they pass) without a pull request's QA having tested them
  const built = result.envs.filter((e) => e.result.status !== 'failed').map((e) => e.result.env);
  if (built.length) {
    const message =
      `built at deploy, not tested by a PR: ${built.join(', ')} (main changed them beyond what QA tested: ` +
      'a direct push, or pull requests merged on top of each other; logs: ' +
      `${runDir})`;
    opts.out.warn(message);
    const { publishWarning } = await import('../engine/github.js');
    await publishWarning('built at deploy, not tested by a PR', message, {
      write: (line) => (opts.out.json ? process.stderr : process.stdout).write(line + '\n'),
      env: opts.env,
    });
  }
  return built;
}

/** What the steps of one deploy share: the options, the repository read, where it deploys, the commit. */
interface DeployRun {
  opts: DeployOptions;
  repo: Repo;
  root: string;
  desired: Desired;
  /** the command line the history and the lock record */
  command: string;
  commit: string | undefined;
}

/** How planFromDisk is asked: --force, the fresh repair builds that stand in, the builds a dry run assumes. */
interface PlanRequest {
  force: boolean;
  repairs: Record<string, string>;
  assumeBuilt: ReadonlySet<string>;
}

/** The whole deploy; human text goes to `opts.out`, the machine result is returned. */
export async function deploy(opts: DeployOptions): Promise<DeployResult> {
  const run = await openDeploy(opts);
  const repairs = await prepareRepairs(run);
  const request = planRequest(run, repairs);
  const before = await planBeforeLock(run, request);
  if ('refused' in before) return before.refused;
  if (opts.dryRun) return dryRunResult(run, before.plan, repairs);
  const lockOpts = { waitSeconds: opts.waitSeconds, command: `conda-gitops ${run.command}` };
  return withLock(run.root, lockOpts, (lock) => deployUnderLock(run, lock, request, repairs, before.builtAtDeploy));
}

/** Read the repository and refuse (nothing under ROOT changed) a ROOT that is not ours or a commit going back. */
async function openDeploy(opts: DeployOptions): Promise<DeployRun> {
  const repo = await loadRepo(opts.repoDir);
  for (const w of repo.warnings) opts.out.warn(`${w.file}:${w.line}: warning: ${w.message}`);
  const root = resolveRoot({ options: { root: opts.rootFlag }, env: opts.env }, repo.inventory);
  const desired = desiredState(repo);
  checkManageable(root, desired.condaVersion, new Set(repo.inventory.environments.map((e) => e.name)));
  const commit = await headCommit(opts.repoDir);
  await checkForward(opts.repoDir, root, commit, opts.allowDowngrade ?? false, (m) => opts.out.warn(m));
  return { opts, repo, root, desired, command: deployCommand(opts), commit };
}

/** The command line as the history records it. */
function deployCommand(opts: DeployOptions): string {
  return [
    'deploy',
    ...(opts.force ? ['--force'] : []),
    ...(opts.allowDowngrade ? ['--allow-downgrade'] : []),
    ...(opts.repair ?? []).map((n) => `--repair ${n}`),
    ...(opts.repairAllDrifted ? ['--repair-all-drifted'] : []),
  ].join(' ');
}

/** --repair / --repair-all-drifted: find the hand-changed envs, say what happens to each, build the fresh ones. */
async function prepareRepairs(run: DeployRun): Promise<Repair[]> {
  const { opts, root, desired } = run;
  const names = opts.repair ?? [];
  const all = !!opts.repairAllDrifted;
  const repairs = names.length || all ? findRepairs(root, desired, names, all, opts.out) : [];
  if (all && !repairs.length) opts.out.info('no live env of the repository is changed by hand: nothing to repair');
  for (const r of repairs) {
    const how = r.fresh
      ? `rebuild its inputs as the fresh build ${r.replacement}`
      : `link the repository's build ${r.replacement}`;
    opts.out.info(
      `${opts.dryRun ? 'would repair' : 'repair'} ${r.name}: changed by hand in ${r.tainted}; ${how}` +
        ` (${r.tainted} is kept until gc, marked tainted)`,
    );
  }
  if (!opts.dryRun) await buildRepairs(run, repairs);
  return repairs;
}

function planRequest(run: DeployRun, repairs: Repair[]): PlanRequest {
  const repairLinks = Object.fromEntries(repairs.filter((r) => r.fresh).map((r) => [r.name, r.replacement]));
  // a dry run builds nothing: it plans as if the fresh repair builds were built and passed
  const assumeBuilt = new Set(run.opts.dryRun ? Object.keys(repairLinks) : []);
  return { force: run.opts.force, repairs: repairLinks, assumeBuilt };
}

/**
 * The plan outside the lock, and with --build-missing the envs it lacks built and tested first. One decision for
 * the dry run and the real run (core/deploy.ts deployOutcome): a dry run of --build-missing decides on the plan the
 * real run makes once the missing envs are built and tested.
 */
async function planBeforeLock(
  run: DeployRun,
  request: PlanRequest,
): Promise<{ refused: DeployResult } | { plan: DeployPlan; builtAtDeploy: string[] }> {
  const plan = planFromDisk(run.root, run.desired, request);
  if (plan.blockedBy) return { refused: refusedResult(run, plan, []) }; // before building anything
  if (!plan.missing.length || !run.opts.buildMissing) return { plan, builtAtDeploy: [] };
  if (run.opts.dryRun) return { plan: predictBuildMissing(run, plan, request), builtAtDeploy: [] };
  // outside the lock: builds lock per build id, and a long build must not block an emergency rollback
  return { plan, builtAtDeploy: await buildMissing(run, new Set(plan.missing.map((m) => m.name))) };
}

/** A dry run of --build-missing: say what the real run installs and builds first, and plan as if they passed. */
function predictBuildMissing(run: DeployRun, plan: DeployPlan, request: PlanRequest): DeployPlan {
  const { root, desired, opts } = run;
  const missing = plan.missing.map((m) => m.name);
  const predicted = planFromDisk(root, desired, {
    ...request,
    assumeBuilt: new Set([...request.assumeBuilt, ...missing]),
  });
  const building = plan.missing.filter((m) => !predicted.missing.some((p) => p.name === m.name));
  if (!existsSync(installationLayout(root, desired.condaVersion).dir))
    opts.out.info(`would install conda ${desired.condaVersion} first (install-conda)`);
  if (building.length)
    opts.out.info(`would build and test first (--build-missing): ${building.map((m) => m.name).join(', ')}`);
  return predicted;
}

/** A deploy refused before anything changed: a rolled-back installation, or envs without a passing build. */
function refusedResult(run: DeployRun, plan: DeployPlan, builtAtDeploy: string[]): DeployResult {
  return {
    ok: false,
    outcome: deployOutcome(plan),
    root: run.root,
    commit: run.commit,
    missing: plan.missing,
    ...(plan.blockedBy ? { blockedBy: plan.blockedBy } : {}),
    ...(builtAtDeploy.length ? { builtAtDeploy } : {}),
  };
}

function dryRunResult(run: DeployRun, plan: DeployPlan, repairs: Repair[]): DeployResult {
  const outcome = deployOutcome(plan);
  if (deployGoesAhead(plan)) for (const line of describePlan(plan)) run.opts.out.info(line);
  return {
    ok: outcome.kind === 'ok',
    outcome,
    dryRun: true,
    root: run.root,
    commit: run.commit,
    ...plan,
    ...(repairs.length ? { repairs } : {}),
  };
}

/** Under the lock: recover what a killed run left, check and plan again, apply, report. */
async function deployUnderLock(
  run: DeployRun,
  lock: HeldLock,
  request: PlanRequest,
  repairs: Repair[],
  builtAtDeploy: string[],
): Promise<DeployResult> {
  const { opts, root, desired, commit } = run;
  const { out } = opts;
  recoverUnderLock(root, opts.env, out, { reportRecovered: true });
  // again, under the lock: another deploy may have made a newer commit live meanwhile (warned already)
  await checkForward(opts.repoDir, root, commit, opts.allowDowngrade ?? false, () => {});
  // again, under the lock: another writer may have moved things, a rollback may have come in meanwhile
  const plan = planFromDisk(root, desired, request);
  if (!deployGoesAhead(plan)) return refusedResult(run, plan, builtAtDeploy);
  const applied = applyDeploy(root, desired, plan, {
    ...(commit ? { commit } : {}),
    command: run.command,
    env: opts.env,
    assertHeld: () => lock.assertHeld(),
    repairs,
  });
  for (const line of describePlan(plan)) out.info(line);
  const k = applied.kernels;
  if (k.written.length + k.removed.length) {
    out.info(`kernels: ${k.written.length} written, ${k.removed.length} removed, ${k.unchanged.length} unchanged`);
  }
  const outcome = deployOutcome(plan); // held-back builds: the rest is live, the deploy is refused for them
  return {
    ok: outcome.kind === 'ok',
    outcome,
    root,
    commit,
    ...plan,
    ...(repairs.length ? { repairs } : {}),
    ...(builtAtDeploy.length ? { builtAtDeploy } : {}),
    kernelSync: k,
    seconds: applied.seconds,
  };
}
