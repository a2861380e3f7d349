/**
 * The deploy use case (merge entry): the repository at HEAD -> a new generation, swapped in atomically,
 * kernels, history (docs/deploy.md). Reads top to bottom: load repo -> check ROOT is ours -> (build missing,
 * outside the lock) -> lock -> plan -> write generation -> swap -> kernels -> history -> release.
 */
import { join } from 'node:path';
import type { Output } from './output.js';
import { loadRepo, resolveRoot } from '../repo/repo.js';
import type { Repo } from '../core/repo.js';
import { desiredState } from '../core/desired.js';
import type { Desired } from '../core/desired.js';
import { withLock } from '../state/lock.js';
import { describeMissing, describePlan, planDeploy } from '../core/deploy.js';
import type { DeployPlan, DesiredInput, MissingBuild } from '../core/deploy.js';
import {
  checkManageable,
  cleanTemporaries,
  crashPoint,
  ensureRootLinks,
  listGenerations,
  linkedInstallation,
  liveGenerationNumber,
  markBuilds,
  readGenerationLinks,
  readLive,
  replaceSymlink,
  swapEnvs,
  writeGeneration,
} from '../state/generation.js';
import { installationLayout, layout } from '../core/layout.js';
import { readBuildRecord } from '../state/record.js';
import { syncKernels } from '../state/kernel.js';
import type { KernelSync } from '../state/kernel.js';
import { actor, appendHistory, reconcileHistory } from '../state/history.js';
import { listInstallations } from '../state/gc.js';
import { headCommit } from '../engine/git.js';

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
}

interface DeployResultBase {
  /** false: missing or held-back builds (exit 1) */
  ok: boolean;
  root: string;
  commit: string | undefined;
}

/** The machine result: the plan of a dry run, the missing builds of a refused deploy, or what was applied. */
export type DeployResult =
  | (DeployResultBase & { dryRun: true } & DeployPlan)
  | (DeployResultBase & { ok: false; missing: MissingBuild[] })
  | (DeployResultBase & DeployPlan & { kernelSync: KernelSync; seconds: number });

/** Everything the planner needs, read from disk. */
export function planFromDisk(root: string, desired: DesiredInput, opts: { force?: boolean }): DeployPlan {
  const inst = installationLayout(root, desired.condaVersion);
  const live = readLive(root);
  const target = liveGenerationNumber(inst.dir);
  return planDeploy(
    desired,
    {
      ...(live.ref ? { current: live.ref } : {}),
      currentLinks: live.links,
      ...(target !== undefined ? { target } : {}),
      targetLinks: target !== undefined ? readGenerationLinks(inst.dir, target) : {},
      targetGenerations: listGenerations(inst.dir),
    },
    (env, id) => readBuildRecord(root, desired.condaVersion, env, id),
    opts,
  );
}

export interface AppliedDeploy {
  plan: DeployPlan;
  kernels: KernelSync;
  generation?: number;
  seconds: number;
}

/**
 * Apply a plan while holding the lock: write the new generation, swap `vX/envs`, make sure ROOT/current and
 * ROOT/envs exist (or point `current` at the new installation), write kernels, record history.
 * Nothing before the swap is visible to users; everything after it is idempotent and redone by the next run.
 */
export function applyDeploy(
  root: string,
  desired: DesiredInput,
  plan: DeployPlan,
  meta: { commit?: string; command: string; env: NodeJS.ProcessEnv; assertHeld: () => void },
): AppliedDeploy {
  const t0 = performance.now();
  const inst = installationLayout(root, desired.condaVersion);
  const lay = layout(root);
  crashPoint('locked');
  if (plan.newGeneration !== undefined) {
    writeGeneration(inst.dir, {
      format: 1,
      n: plan.newGeneration,
      createdAt: new Date().toISOString(),
      ...(meta.commit ? { commit: meta.commit } : {}),
      reason: meta.command,
      ...(plan.from ? { parent: plan.from } : {}),
      envs: plan.links,
    });
    meta.assertHeld(); // a lock lost while writing: stop before anything becomes visible
    swapEnvs(inst.dir, plan.newGeneration);
    crashPoint('swapped');
  }
  if (plan.switchCurrent && linkedInstallation(lay.current) !== undefined) {
    replaceSymlink(lay.current, plan.installation, 'current');
  }
  ensureRootLinks(root, desired.condaVersion);
  crashPoint('links-ensured');
  const kernels = syncKernels(root, plan.kernels, { afterWrite: () => crashPoint('kernel-written') });
  markBuilds(
    root,
    plan.installation,
    plan.forced.map((f) => ({ name: f.name, build: f.buildId })),
    undefined,
  );
  if (plan.changes) {
    crashPoint('before-history');
    const generation = plan.newGeneration ?? liveGenerationNumber(inst.dir)!;
    const heldBack = plan.heldBack.map((h) => h.name).join(', ');
    const note = `held back (rolled back, revert or fix in git): ${heldBack}`;
    appendHistory(root, {
      format: 1,
      at: new Date().toISOString(),
      command: meta.command,
      ...actor(meta.env),
      ...(meta.commit ? { commit: meta.commit } : {}),
      ...(plan.from ? { from: plan.from } : {}),
      to: { installation: plan.installation, generation },
      ...plan.diff,
      ...(plan.heldBack.length ? { note } : {}),
    });
  }
  crashPoint('done');
  return {
    plan,
    kernels,
    ...(plan.newGeneration !== undefined ? { generation: plan.newGeneration } : {}),
    seconds: (performance.now() - t0) / 1000,
  };
}

/** Build and test the missing envs through the QA pipeline (loaded only when asked for: it pulls in the adapter). */
async function buildMissing(
  opts: DeployOptions,
  root: string,
  repo: Repo,
  desired: Desired,
  names: Set<string>,
): Promise<void> {
  const { runBuilds } = await import('./pipeline.js');
  const runDir = join(layout(root).runs, `deploy-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  const builds = installationLayout(root, desired.condaVersion).builds;
  opts.out.progress(`building ${names.size} missing env(s) into ${builds} (logs: ${runDir})`);
  const envs = desired.envs.filter((e) => names.has(e.name));
  const result = await runBuilds({ root, repo, desired, envs, jobs: opts.jobs, out: opts.out, runDir, env: opts.env });
  const failed = result.envs
    .filter((e) => e.result.status === 'failed')
    .map((e) => `${e.result.env}${e.result.failure ? ` (${e.result.failure.class})` : ''}`);
  if (failed.length) opts.out.warn(`build failed for: ${failed.join(', ')} (see ${runDir}/logs)`);
}

/** The whole deploy; human text goes to `opts.out`, the machine result is returned. */
export async function deploy(opts: DeployOptions): Promise<DeployResult> {
  const { out, force } = opts;
  const repo = await loadRepo(opts.repoDir);
  for (const w of repo.warnings) out.warn(`${w.file}:${w.line}: warning: ${w.message}`);
  const root = resolveRoot({ options: { root: opts.rootFlag }, env: opts.env }, repo.inventory);
  const desired = desiredState(repo);
  const command = force ? 'deploy --force' : 'deploy';
  checkManageable(root, desired.condaVersion); // refuse before anything under ROOT changes

  let plan = planFromDisk(root, desired, { force });
  if (plan.missing.length && opts.buildMissing && !opts.dryRun) {
    // outside the lock: builds lock per build id, and a long build must not block an emergency rollback
    await buildMissing(opts, root, repo, desired, new Set(plan.missing.map((m) => m.name)));
  }
  const commit = await headCommit(opts.repoDir);

  if (opts.dryRun) {
    for (const line of describePlan(plan)) out.info(line);
    if (plan.missing.length) out.info(`missing tested builds (deploy would refuse):\n${describeMissing(plan.missing)}`);
    return { ok: plan.missing.length === 0, dryRun: true, root, commit, ...plan };
  }

  return withLock(root, { waitSeconds: opts.waitSeconds, command: `conda-gitops ${command}` }, async (lock) => {
    cleanTemporaries(
      root,
      listInstallations(root).map((n) => join(root, n)),
    );
    const recovered = reconcileHistory(root, opts.env);
    if (recovered) {
      const to = `${recovered.to.installation}/generations/${recovered.to.generation}`;
      out.warn(`history: recorded a cutover a killed run had not logged (${to})`);
    }
    plan = planFromDisk(root, desired, { force }); // again, under the lock: another writer may have moved things
    if (plan.missing.length) {
      out.info(
        `refusing to deploy: these envs have no tested build for the repository's spec` +
          ` (run QA on the PR, or deploy --build-missing):\n${describeMissing(plan.missing)}`,
      );
      return { ok: false, root, commit, missing: plan.missing };
    }
    const applied = applyDeploy(root, desired, plan, {
      ...(commit ? { commit } : {}),
      command,
      env: opts.env,
      assertHeld: () => lock.assertHeld(),
    });
    for (const line of describePlan(plan)) out.info(line);
    const k = applied.kernels;
    if (k.written.length + k.removed.length) {
      out.info(`kernels: ${k.written.length} written, ${k.removed.length} removed, ${k.unchanged.length} unchanged`);
    }
    return { ok: plan.heldBack.length === 0, root, commit, ...plan, kernelSync: k, seconds: applied.seconds };
  });
}
