/**
 * The kernels use case: (re)write ROOT/kernels/NAME/kernel.json for every [kernels] entry whose env is live,
 * remove the managed ones no longer wanted. deploy does the same as one of its steps.
 */
import type { Output } from './output.js';
import { loadRepo, resolveRoot } from '../repo/repo.js';
import { desiredState } from '../core/desired.js';
import { join } from 'node:path';
import { servingInstallation, readLive, servedLinks } from '../state/generation.js';
import { syncKernels, type KernelSync } from '../state/kernel.js';
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
  // an env left out of a conda upgrade (allow-failures) keeps its kernel, run from the installation serving it
  const prev = servingInstallation(root, ref);
  const prevLinks = (prev && servedLinks(root, prev)) ?? {};
  const wanted = entries.flatMap((k) => {
    if (k.env in live) return [k];
    if (prev && k.env in prevLinks && desired.allowFailures?.includes(k.env)) {
      return [{ ...k, python: join(root, prev.installation, 'envs', k.env, 'bin', 'python') }];
    }
    // back on the adopted installation (rollback --installation): ROOT/envs/NAME is its own env
    if (!ref && prev && k.env in prevLinks) return [k];
    problems.push(`kernel '${k.kernel}': env ${k.env} is not live (deploy it first); not written`);
    return [];
  });
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
