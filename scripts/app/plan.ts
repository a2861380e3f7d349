/**
 * The `plan` use cases: the repository's desired state against an installation root; with --base/--head, the
 * envs a pull request changes between two commits (what `qa` would build). Plan-time guards (build prefix too
 * long, channel not allowed) fail the plan with file:line messages (exit 2) instead of failing minutes later.
 */
import { InputError, UsageError, type Problem } from '../core/errors.js';
import { loadRepo, resolveRoot } from '../repo/repo.js';
import {
  allowListBetween,
  changesBetween,
  inventoryOf,
  loadRepoTolerant,
  readCommitFiles,
  readPrDelta,
  readSnapshot,
} from '../repo/snapshot.js';
import { desiredState, type Desired } from '../core/desired.js';
import { trustedInventory } from '../core/trust.js';
import { withoutBroken } from '../core/qarun.js';
import type { Inventory } from '../core/types.js';
import { buildFacts, planEnvs, qaStep } from '../core/envplan.js';
import { envPlanFromDisk } from './deploy.js';
import { allowListLines } from '../core/report.js';
import { allowListInfo, allowListOf, type AllowListCheck } from '../core/allowlist.js';
import { readLive } from '../state/generation.js';
import {
  matrixSlices,
  planAgainstRoot,
  renderPlan,
  renderPrPlan,
  type ChangedEnvPlan,
  type PrPlan,
} from '../core/plan.js';
import { setStepOutputs } from '../engine/github.js';
import type { Changes } from '../core/changes.js';
import { guardProblems, prPlanProblems } from '../core/planguard.js';
import { guardEnvs, refuseOlderConda, resolvedRoot } from './run-setup.js';
import type { Output } from './output.js';

export interface PlanOptions {
  repoDir: string;
  rootFlag?: string;
  env: Record<string, string | undefined>;
  out: Output;
  /** --matrix N: the envs to build as at most N slices for a matrix of build jobs (fan-out over a runner pool) */
  matrix?: number;
}

/**
 * The `matrix` of a plan: one entry per env to build, or with --matrix N at most N slices; with --matrix inside
 * GitHub Actions also the step outputs `matrix` (for fromJSON) and `builds` (how many envs to build).
 */
async function buildMatrix(
  opts: PlanOptions,
  toBuild: Array<{ name: string; buildId: string }>,
): Promise<{ include: unknown[] }> {
  if (opts.matrix === undefined) return { include: toBuild.map((e) => ({ env: e.name, buildId: e.buildId })) };
  const matrix = {
    include: matrixSlices(
      toBuild.map((e) => e.name),
      opts.matrix,
    ),
  };
  await setStepOutputs({ matrix: JSON.stringify(matrix), builds: String(toBuild.length) }, opts.env);
  return matrix;
}

/** plan: the repository's desired state against the live installation. Throws InputError on guard failures. */
export async function planInstallation(opts: PlanOptions): Promise<Record<string, unknown>> {
  const out = opts.out;
  const repo = await loadRepo(opts.repoDir);
  for (const w of repo.warnings) out.warn(`${w.file}:${w.line}: warning: ${w.message}`);
  const root = resolveRoot({ options: { root: opts.rootFlag }, env: opts.env }, repo.inventory);
  const desired = desiredState(repo);
  const plan = planAgainstRoot(desired.condaVersion, envPlanFromDisk(root, desired, readLive(root).links));
  for (const line of renderPlan(plan)) out.info(line);
  const toBuild = new Set(plan.envs.filter((e) => e.action === 'build').map((e) => e.name));
  const guards = guardEnvs(
    root,
    desired,
    desired.envs.filter((e) => toBuild.has(e.name)),
    allowListOf(repo.inventory),
  );
  if (guards.length) throw new InputError(guardProblems(guards));
  // `matrix` is ready for a GitHub Actions strategy.matrix
  const matrix = await buildMatrix(
    opts,
    plan.envs.filter((e) => e.action === 'build'),
  );
  return { root, ...plan, matrix };
}

/** Root for build records, when one is configured; a PR plan is useful without one (every env is "build"). */
function optionalRoot(opts: PlanOptions, inventory: Parameters<typeof resolveRoot>[1]): string | undefined {
  try {
    // a PR plan runs where the installation may not be (a CI runner): the root is then only a path for the guards
    return resolvedRoot(
      resolveRoot({ options: { root: opts.rootFlag }, env: opts.env }, inventory, { mustExist: false }),
    );
  } catch (e) {
    if (e instanceof UsageError) return undefined;
    throw e;
  }
}

interface Sides {
  base: { ref: string; commit: string };
  head?: { ref: string; commit: string };
  inventory: Inventory;
  broken: Map<string, Problem[]>;
  changes: Changes;
  /** the head's desired state; with two commits, only the changed envs are in it */
  desired: Desired;
  warnings: Problem[];
  /** sources are checked against the base commit's allow-list: a PR cannot widen its own */
  allowCheck: AllowListCheck;
}

/**
 * The two sides of a PR plan. Between two commits: only what changed is read from git and parsed (the cost
 * of a plan is the size of the PR, not of the repository). Against the work tree, or when the change touches
 * every env's inputs: both sides read whole.
 */
async function readSides(repoDir: string, baseRef: string, headRef: string | undefined): Promise<Sides> {
  if (headRef) {
    const delta = await readPrDelta(repoDir, baseRef, headRef);
    if (delta) return delta;
  }
  // both sides whole, through the one snapshot reader (a commit, or the work tree when no head is given)
  const base = await readCommitFiles(repoDir, baseRef);
  const head = await readSnapshot(repoDir, headRef);
  const { repo, broken } = await loadRepoTolerant(repoDir, head.files);
  return {
    base: { ref: base.ref, commit: base.commit },
    ...('commit' in head ? { head: { ref: head.ref, commit: head.commit } } : {}),
    inventory: repo.inventory,
    broken,
    changes: changesBetween(base.files, head.files, repo.inventory),
    // the head's data, the base's configuration (core/trust.ts): build ids carry the base's channel mapping
    desired: withoutBroken(
      desiredState({ ...repo, inventory: trustedInventory(inventoryOf(base.files) ?? 'no-base', repo.inventory) }),
      broken,
    ),
    warnings: repo.warnings,
    allowCheck: allowListBetween(base.files, head.files, repo.inventory),
  };
}

/** plan --base REF [--head REF]: the envs whose spec or inventory line changed between two commits. */
export async function planChanges(
  opts: PlanOptions & { baseRef?: string; headRef?: string },
): Promise<Record<string, unknown>> {
  const { baseRef, headRef, out } = opts;
  if (!baseRef) throw new UsageError('--head needs --base: the commit to compare with (e.g. --base origin/main)');
  const side = await readSides(opts.repoDir, baseRef, headRef);
  const { inventory, changes, desired } = side;
  for (const w of side.warnings) out.warn(`${w.file}:${w.line}: warning: ${w.message}`);
  const root = optionalRoot(opts, inventory);
  // a head older than main's conda (a stale branch, a downgrade) is refused: never planned as an upgrade
  refuseOlderConda(root, inventory, changes);
  const liveLinks = root ? readLive(root).links : {};
  const envs = changedEnvPlans(side, root, liveLinks);
  const guards = root ? guardEnvs(root, desired, envsToBuild(desired, envs), side.allowCheck.allow) : [];
  const plan: PrPlan = {
    base: { ref: side.base.ref, commit: side.base.commit },
    ...(headRef ? { head: { ref: headRef, commit: side.head!.commit } } : {}),
    changes,
    envs,
    liveLinks,
    brokenChanged: new Map([...side.broken].filter(([n]) => changes.envs.some((c) => c.name === n))),
    condaVersion: desired.condaVersion,
  };
  for (const line of renderPrPlan(plan)) out.info(line);
  const allowList = allowListInfo(side.allowCheck);
  if (allowList.allowListOnly) for (const l of allowListLines(allowList)) out.warn(l);
  const problems = prPlanProblems(inventory, allowList, guards, plan.brokenChanged);
  if (problems.length) throw new InputError(problems);
  return {
    base: plan.base,
    head: plan.head ?? { ref: 'work tree' },
    ...(root ? { root } : {}),
    condaVersion: desired.condaVersion,
    condaVersionChanged: changes.condaVersion.changed,
    allowList,
    envs,
    dropped: changes.dropped,
    exportOnly: changes.exportOnly,
    kernels: changes.kernels,
    // with --matrix only the envs to build (built ones are tested by the final qa); else build and test
    matrix: await buildMatrix(
      opts,
      envs.filter((e) => e.action === 'build' || (opts.matrix === undefined && e.action === 'test')),
    ),
  };
}

/**
 * What qa does with each changed env whose spec reads: the same env plan as deploy and status, decided with the
 * head's tests and kernels against the live links (without an installation: every env is built).
 */
function changedEnvPlans(side: Sides, root: string | undefined, liveLinks: Record<string, string>): ChangedEnvPlan[] {
  const { desired, broken } = side;
  const byName = new Map(desired.envs.map((e) => [e.name, e]));
  const changed = side.changes.envs.filter((c) => byName.has(c.name) && !broken.has(c.name));
  const decisions = root
    ? envPlanFromDisk(root, { ...desired, envs: changed.map((c) => byName.get(c.name)!) }, liveLinks, {}).envs
    : planEnvs(
        changed.map((c) => ({
          name: c.name,
          buildId: byName.get(c.name)!.buildId,
          kernel: byName.get(c.name)!.kernel,
          build: buildFacts(undefined, false),
        })),
        {},
      ).envs;
  return decisions.map((d, i) => ({
    name: d.name,
    buildId: d.buildId,
    reasons: changed[i]!.reasons,
    action: qaStep(d),
    plan: d.action,
    why: d.reason,
  }));
}

/** The desired envs qa builds (the ones the plan-time guards check). */
function envsToBuild(desired: Desired, envs: ChangedEnvPlan[]): Desired['envs'] {
  return desired.envs.filter((e) => envs.some((x) => x.name === e.name && x.action === 'build'));
}
