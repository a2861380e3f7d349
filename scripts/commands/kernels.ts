/** kernels: (re)write ROOT/kernels/NAME/kernel.json for every [kernels] entry whose env is live; remove stale ones. */
import type { Context } from '../cli/command.js';
import { boolOption, stringOption } from '../cli/command.js';
import { EXIT } from '../core/errors.js';
import { loadRepo, resolveRoot } from '../repo/repo.js';
import { desiredState } from '../core/desired.js';
import { readLive } from '../state/generation.js';
import { syncKernels } from '../state/kernel.js';
import { planKernels } from '../core/kernel.js';
import { waitSeconds, withLock } from '../state/lock.js';

export async function run(ctx: Context): Promise<number> {
  const repo = await loadRepo(ctx.repo);
  const root = resolveRoot(ctx, repo.inventory);
  const { entries, problems } = planKernels(desiredState(repo).kernels);
  const live = readLive(root).links;
  const wanted = entries.filter((k) => {
    if (k.env in live) return true;
    problems.push(`kernel '${k.kernel}': env ${k.env} is not live (deploy it first); not written`);
    return false;
  });
  const dryRun = boolOption(ctx, 'dry-run');
  const sync = dryRun
    ? syncKernels(root, wanted, { dryRun: true })
    : await withLock(root, { waitSeconds: waitSeconds(stringOption(ctx, 'wait')), command: 'conda-gitops kernels' }, async () => syncKernels(root, wanted));
  const verb = dryRun ? 'would write' : 'wrote';
  for (const k of sync.written) ctx.out.info(`${verb} kernels/${k}/kernel.json`);
  for (const k of sync.removed) ctx.out.info(`${dryRun ? 'would remove' : 'removed'} kernels/${k}`);
  for (const p of problems) ctx.out.warn(p);
  ctx.out.info(`kernels: ${sync.written.length} written, ${sync.unchanged.length} unchanged, ${sync.removed.length} removed${dryRun ? ' (dry run)' : ''}`);
  ctx.out.result({ ok: problems.length === 0, root, dryRun, ...sync, problems });
  return problems.length ? EXIT.FAILED : EXIT.OK;
}
