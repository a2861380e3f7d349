/**
 * deploy (merge entry): the repository at HEAD -> a new generation, swapped in atomically, kernels, history.
 * Reads top to bottom: load repo -> check ROOT is ours -> (build missing, outside the lock) -> lock ->
 * plan -> write generation -> swap -> kernels -> history -> release.
 */
import { headCommit } from '../engine/git.js';
import { join } from 'node:path';
import type { Context } from '../cli/command.js';
import { boolOption, stringOption } from '../cli/command.js';
import { EXIT, UsageError } from '../core/errors.js';
import { loadRepo, resolveRoot } from '../repo/repo.js';
import type { Repo } from '../repo/repo.js';
import { desiredState } from '../core/desired.js';
import type { Desired } from '../core/desired.js';
import { withLock, waitSeconds } from '../state/lock.js';
import { describeMissing, describePlan, planDeploy } from '../core/deploy.js';
import type { DeployPlan, DesiredInput } from '../core/deploy.js';
import {
  checkManageable, cleanTemporaries, crashPoint, ensureRootLinks, listGenerations, linkedInstallation,
  liveGenerationNumber, markBuilds, readGenerationLinks, readLive, replaceSymlink, swapEnvs, writeGeneration,
} from '../state/generation.js';
import { installationLayout, layout } from '../core/layout.js';
import { readBuildRecord } from '../state/record.js';
import { syncKernels } from '../state/kernel.js';
import type { KernelSync } from '../state/kernel.js';
import { actor, appendHistory, reconcileHistory } from '../state/history.js';
import { listInstallations } from '../state/gc.js';

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

export interface DeployResult {
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
): DeployResult {
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
  if (plan.switchCurrent && linkedInstallation(lay.current) !== undefined) replaceSymlink(lay.current, plan.installation, 'current');
  ensureRootLinks(root, desired.condaVersion);
  crashPoint('links-ensured');
  const kernels = syncKernels(root, plan.kernels, { afterWrite: () => crashPoint('kernel-written') });
  markBuilds(root, plan.installation, plan.forced.map((f) => ({ name: f.name, build: f.buildId })), undefined);
  if (plan.changes) {
    crashPoint('before-history');
    const to = { installation: plan.installation, generation: plan.newGeneration ?? liveGenerationNumber(inst.dir)! };
    appendHistory(root, {
      format: 1,
      at: new Date().toISOString(),
      command: meta.command,
      ...actor(meta.env),
      ...(meta.commit ? { commit: meta.commit } : {}),
      ...(plan.from ? { from: plan.from } : {}),
      to,
      ...plan.diff,
      ...(plan.heldBack.length ? { note: `held back (rolled back, revert or fix in git): ${plan.heldBack.map((h) => h.name).join(', ')}` } : {}),
    });
  }
  crashPoint('done');
  return { plan, kernels, ...(plan.newGeneration !== undefined ? { generation: plan.newGeneration } : {}), seconds: (performance.now() - t0) / 1000 };
}

/** Build and test the missing envs through the QA pipeline (loaded only when asked for: it pulls in the adapter). */
async function buildMissing(ctx: Context, root: string, repo: Repo, desired: Desired, names: Set<string>): Promise<void> {
  const { runBuilds } = await import('../app/pipeline.js');
  const runDir = join(layout(root).runs, `deploy-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  const jobsText = stringOption(ctx, 'jobs') ?? '1';
  const jobs = Number(jobsText);
  if (!Number.isInteger(jobs) || jobs < 1) throw new UsageError(`--jobs expects a positive whole number, got '${jobsText}'`);
  ctx.out.progress(`building ${names.size} missing env(s) into ${installationLayout(root, desired.condaVersion).builds} (logs: ${runDir})`);
  const result = await runBuilds({ root, repo, desired, envs: desired.envs.filter((e) => names.has(e.name)), jobs, out: ctx.out, runDir });
  const failed = result.envs.filter((e) => e.result.status === 'failed').map((e) => `${e.result.env}${e.result.failure ? ` (${e.result.failure.class})` : ''}`);
  if (failed.length) ctx.out.warn(`build failed for: ${failed.join(', ')} (see ${runDir}/logs)`);
}

export async function run(ctx: Context): Promise<number> {
  const repo = await loadRepo(ctx.repo);
  for (const w of repo.warnings) ctx.out.warn(`${w.file}:${w.line}: warning: ${w.message}`);
  const root = resolveRoot(ctx, repo.inventory);
  const desired = desiredState(repo);
  const force = boolOption(ctx, 'force');
  const dryRun = boolOption(ctx, 'dry-run');
  const wait = waitSeconds(stringOption(ctx, 'wait'));
  const command = force ? 'deploy --force' : 'deploy';
  checkManageable(root, desired.condaVersion); // refuse before anything under ROOT changes

  let plan = planFromDisk(root, desired, { force });
  if (plan.missing.length && boolOption(ctx, 'build-missing') && !dryRun) {
    // outside the lock: builds lock per build id, and a long build must not block an emergency rollback
    await buildMissing(ctx, root, repo, desired, new Set(plan.missing.map((m) => m.name)));
  }
  const commit = await headCommit(ctx.repo);

  if (dryRun) {
    for (const line of describePlan(plan)) ctx.out.info(line);
    if (plan.missing.length) ctx.out.info(`missing tested builds (deploy would refuse):\n${describeMissing(plan.missing)}`);
    ctx.out.result({ ok: plan.missing.length === 0, dryRun: true, root, commit, ...plan });
    return plan.missing.length ? EXIT.FAILED : EXIT.OK;
  }

  return withLock(root, { waitSeconds: wait, command: `conda-gitops ${command}` }, async (lock) => {
    cleanTemporaries(root, listInstallations(root).map((n) => join(root, n)));
    const recovered = reconcileHistory(root, ctx.env);
    if (recovered) ctx.out.warn(`history: recorded a cutover a killed run had not logged (${recovered.to.installation}/generations/${recovered.to.generation})`);
    plan = planFromDisk(root, desired, { force }); // again, under the lock: another writer may have moved things
    if (plan.missing.length) {
      ctx.out.info(`refusing to deploy: these envs have no tested build for the repository's spec` +
        ` (run QA on the PR, or deploy --build-missing):\n${describeMissing(plan.missing)}`);
      ctx.out.result({ ok: false, root, commit, missing: plan.missing });
      return EXIT.FAILED;
    }
    const result = applyDeploy(root, desired, plan, { ...(commit ? { commit } : {}), command, env: ctx.env, assertHeld: () => lock.assertHeld() });
    for (const line of describePlan(plan)) ctx.out.info(line);
    const k = result.kernels;
    if (k.written.length + k.removed.length) ctx.out.info(`kernels: ${k.written.length} written, ${k.removed.length} removed, ${k.unchanged.length} unchanged`);
    ctx.out.result({ ok: plan.heldBack.length === 0, root, commit, ...plan, kernelSync: k, seconds: result.seconds });
    return plan.heldBack.length ? EXIT.FAILED : EXIT.OK;
  });
}
