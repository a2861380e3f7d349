/**
 * The `plan` use cases: the repository's desired state against an installation root; with --base/--head, the
 * envs a pull request changes between two commits (what `qa` would build). Plan-time guards (build prefix too
 * long, channel not allowed) fail the plan with file:line messages (exit 2) instead of failing minutes later.
 */
import { existsSync } from 'node:fs';
import { InputError, UsageError, type Problem } from '../core/errors.js';
import { loadRepo, resolveRoot } from '../repo/repo.js';
import { changesBetween, checkoutCommit, loadRepoTolerant, type CommitCheckout } from '../repo/snapshot.js';
import { desiredState } from '../core/desired.js';
import { readBuildRecord } from '../state/record.js';
import { installationLayout } from '../core/layout.js';
import { readLive } from '../state/generation.js';
import { planAgainstRoot, renderPlan } from '../core/plan.js';
import { describeChanges, type ChangeReason } from '../core/changes.js';
import type { GuardFailure } from '../core/planguard.js';
import { guardEnvs, resolvedRoot } from './run-setup.js';
import type { Output } from './output.js';

function guardProblems(failures: GuardFailure[]): Problem[] {
  return failures.map((f) => ({ file: f.file, line: f.line, message: `${f.env}: ${f.message}`, severity: 'error' }));
}

export interface PlanOptions {
  repoDir: string;
  rootFlag?: string;
  env: Record<string, string | undefined>;
  out: Output;
}

/** plan: the repository's desired state against the live installation. Throws InputError on guard failures. */
export async function planInstallation(opts: PlanOptions): Promise<Record<string, unknown>> {
  const out = opts.out;
  const repo = await loadRepo(opts.repoDir);
  for (const w of repo.warnings) out.warn(`${w.file}:${w.line}: warning: ${w.message}`);
  const root = resolveRoot({ options: { root: opts.rootFlag }, env: opts.env }, repo.inventory);
  const desired = desiredState(repo);
  // an installation without builds (a new root, a conda upgrade) has no records: skip thousands of failed reads
  const hasBuilds = existsSync(installationLayout(root, desired.condaVersion).builds);
  const records = new Map(
    desired.envs.map((e) => [
      e.name,
      hasBuilds ? readBuildRecord(root, desired.condaVersion, e.name, e.buildId) : undefined,
    ]),
  );
  const plan = planAgainstRoot(desired, records, readLive(root).links);
  for (const line of renderPlan(plan)) out.info(line);
  const toBuild = new Set(plan.envs.filter((e) => e.action === 'build').map((e) => e.name));
  const guards = guardEnvs(
    root,
    desired,
    desired.envs.filter((e) => toBuild.has(e.name)),
    repo.inventory.conda.channels,
  );
  if (guards.length) throw new InputError(guardProblems(guards));
  // `matrix` is ready for a GitHub Actions strategy.matrix
  const matrix = {
    include: plan.envs.filter((e) => e.action === 'build').map((e) => ({ env: e.name, buildId: e.buildId })),
  };
  return { root, ...plan, matrix };
}

interface ChangedEnvPlan {
  name: string;
  buildId: string;
  reasons: ChangeReason[];
  /** build: no tested build with this id yet; test: tested build, but its test changed; reuse: nothing to do */
  action: 'build' | 'test' | 'reuse';
  record?: string;
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

/** plan --base REF [--head REF]: the envs whose spec or inventory line changed between two commits. */
export async function planChanges(
  opts: PlanOptions & { baseRef?: string; headRef?: string },
): Promise<Record<string, unknown>> {
  const { baseRef, headRef, out } = opts;
  if (!baseRef) throw new UsageError('--head needs --base: the commit to compare with (e.g. --base origin/main)');
  const checkouts: CommitCheckout[] = [];
  try {
    const base = await checkoutCommit(opts.repoDir, baseRef);
    checkouts.push(base);
    const head = headRef ? await checkoutCommit(opts.repoDir, headRef) : undefined;
    if (head) checkouts.push(head);
    const headDir = head?.dir ?? opts.repoDir;
    const { repo, broken } = await loadRepoTolerant(headDir);
    for (const w of repo.warnings) out.warn(`${w.file}:${w.line}: warning: ${w.message}`);
    const changes = changesBetween(base.dir, headDir, repo.inventory);
    const desired = desiredState(repo);
    const root = optionalRoot(opts, repo.inventory);
    const byName = new Map(desired.envs.map((e) => [e.name, e]));

    const envs: ChangedEnvPlan[] = [];
    for (const c of changes.envs) {
      const d = byName.get(c.name);
      if (!d || broken.has(c.name)) continue;
      const rec = root ? readBuildRecord(root, desired.condaVersion, d.name, d.buildId) : undefined;
      const action = rec?.status !== 'tested' ? 'build' : c.reasons.includes('test') ? 'test' : 'reuse';
      envs.push({
        name: d.name,
        buildId: d.buildId,
        reasons: c.reasons,
        action,
        ...(rec ? { record: rec.status } : {}),
      });
    }
    const guards = root
      ? guardEnvs(
          root,
          desired,
          desired.envs.filter((e) => envs.some((x) => x.name === e.name && x.action === 'build')),
          repo.inventory.conda.channels,
        )
      : [];
    const brokenChanged = [...broken.keys()].filter((n) => changes.envs.some((c) => c.name === n));

    const sign = { build: '+ build', test: '~ test ', reuse: '= reuse' } as const;
    out.info(
      `plan ${base.ref} (${base.commit.slice(0, 12)}) .. ` +
        (headRef ? `${headRef} (${head!.commit.slice(0, 12)})` : 'work tree'),
    );
    for (const line of describeChanges(changes).filter((l) => !l.startsWith('build '))) out.info(line);
    for (const e of envs)
      out.info(
        `${sign[e.action]} ${e.name} ${e.buildId}  (${e.reasons.join(', ')}${e.record ? `; record ${e.record}` : ''})`,
      );
    for (const n of brokenChanged)
      out.info(
        `! spec  ${n}  (the spec has errors: ${broken
          .get(n)!
          .map((p) => `${p.file}:${p.line}`)
          .join(', ')})`,
      );
    const count = (a: ChangedEnvPlan['action']) => envs.filter((e) => e.action === a).length;
    out.info(
      `plan: ${count('build')} to build, ${count('test')} to re-test, ${count('reuse')} already tested, ` +
        `${changes.dropped.length} to unlink at deploy (conda ${desired.condaVersion})`,
    );

    const problems = [...guardProblems(guards), ...brokenChanged.flatMap((n) => broken.get(n)!)];
    if (problems.length) throw new InputError(problems);
    return {
      base: { ref: base.ref, commit: base.commit },
      head: headRef ? { ref: headRef, commit: head!.commit } : { ref: 'work tree' },
      ...(root ? { root } : {}),
      condaVersion: desired.condaVersion,
      condaVersionChanged: changes.condaVersion.changed,
      envs,
      dropped: changes.dropped,
      exportOnly: changes.exportOnly,
      kernels: changes.kernels,
      matrix: { include: envs.filter((e) => e.action !== 'reuse').map((e) => ({ env: e.name, buildId: e.buildId })) },
    };
  } finally {
    for (const c of checkouts) c.cleanup();
  }
}
