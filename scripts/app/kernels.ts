/**
 * The kernels use case: (re)write ROOT/kernels/NAME/kernel.json for every [kernels] entry whose env is live,
 * remove the managed ones no longer wanted. deploy does the same as one of its steps.
 */
import type { Output } from './output.js';
import { loadRepo, resolveRoot } from '../repo/repo.js';
import { desiredState } from '../core/desired.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { adoptedCurrent, servingInstallations, readLive } from '../state/generation.js';
import { installationName, layout } from '../core/layout.js';
import { syncKernels, withShippedSpecs, type KernelSync } from '../state/kernel.js';
import { planKernels } from '../core/kernel.js';
import { withLock } from '../state/lock.js';
import { failedIf, type Outcome } from '../core/outcome.js';

export interface KernelsOptions {
  repoDir: string;
  /** --root DIR (else $CONDA_GITOPS_ROOT, else the repository's [conda] root) */
  rootFlag?: string;
  env: Record<string, string | undefined>;
  out: Output;
  /** print what would be written, change nothing */
  dryRun: boolean;
  /** how long to wait for the lock; 0: BusyError at once */
  waitSeconds: number;
}

export interface KernelsResult extends KernelSync {
  /** false: some kernels could not be written */
  ok: boolean;
  outcome: Outcome;
  root: string;
  dryRun: boolean;
  problems: string[];
}

export async function writeKernels(opts: KernelsOptions): Promise<KernelsResult> {
  const { out, dryRun } = opts;
  const repo = await loadRepo(opts.repoDir);
  const root = resolveRoot({ options: { root: opts.rootFlag }, env: opts.env }, repo.inventory);
  const desired = desiredState(repo);
  const { entries, problems } = planKernels(desired.kernels);
  const { ref, links: live } = readLive(root);
  const adopted = ref ? undefined : adoptedCurrent(root);
  const current = ref?.installation ?? adopted;
  const serving = servingInstallations(root, [...(current ? [current] : []), installationName(desired.condaVersion)]);
  const planned = entries.flatMap((k) => {
    const through = join(layout(root).envs, k.env); // ROOT/envs/NAME: follows every cutover
    const by = serving.find((v) => v.installation !== ref?.installation && k.env in v.links);
    const own = by && join(root, by.installation, 'envs', k.env);
    let prefix: string | undefined;
    if (k.env in live) prefix = undefined;
    // an env left out of a conda upgrade keeps its kernel, run from the installation serving it
    else if (own && desired.allowFailures?.includes(k.env)) prefix = own;
    // on the adopted installation (as adopted, or after rollback --installation): its own env, through ROOT/envs
    // once the first deploy made that link
    else if (own && by.installation === adopted) prefix = existsSync(through) ? undefined : own;
    else {
      problems.push(`kernel '${k.kernel}': env ${k.env} is not live (deploy it first); not written`);
      return [];
    }
    // never a kernel that cannot start
    const runs = k.spec ? (prefix ?? through) : join(prefix ?? through, 'bin', 'python');
    if (!existsSync(runs)) {
      problems.push(`kernel '${k.kernel}': ${runs} does not exist; not written`);
      return [];
    }
    return [prefix ? { ...k, prefix } : k];
  });
  // ENV:SPEC entries: the kernelspec the env ships (exit 2 naming inventory.ini:LINE when it ships no such spec)
  const wanted = withShippedSpecs(root, planned);
  const sync = dryRun
    ? syncKernels(root, wanted, { dryRun: true })
    : await withLock(root, { waitSeconds: opts.waitSeconds, command: 'conda-gitops kernels' }, async () =>
        syncKernels(root, wanted),
      );
  const verb = dryRun ? 'would write' : 'wrote';
  for (const k of sync.written) out.info(`${verb} kernels/${k}/kernel.json`);
  for (const k of sync.removed) out.info(`${dryRun ? 'would remove' : 'removed'} kernels/${k}`);
  for (const p of problems) out.warn(p);
  out.info(
    `kernels: ${sync.written.length} written, ${sync.unchanged.length} unchanged, ` +
      `${sync.removed.length} removed${dryRun ? ' (dry run)' : ''}`,
  );
  return { ok: problems.length === 0, outcome: failedIf(problems.length > 0), root, dryRun, ...sync, problems };
}
