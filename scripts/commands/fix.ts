/**
 * fix: apply the remediation rules to env specs in place and print the unified diff (see app/fix.ts).
 */
import type { Context } from '../app/context.js';
import type { Outcome } from '../core/outcome.js';
import { boolOption, listOption, stringOption } from '../core/options.js';
import { fixSpecs } from '../app/fix.js';

/** --dry-run, as every command says it; --check is its deprecated old name (it warns). */
function dryRun(ctx: Context): boolean {
  if (boolOption(ctx, 'check')) {
    ctx.out.warn('fix: --check is deprecated: use --dry-run (same behaviour)');
    return true;
  }
  return boolOption(ctx, 'dry-run');
}

export async function run(ctx: Context): Promise<Outcome> {
  const rootFlag = stringOption(ctx, 'root');
  const { outcome, result } = await fixSpecs({
    repoDir: ctx.repo,
    env: ctx.env,
    out: ctx.out,
    envs: listOption(ctx, 'env'),
    check: dryRun(ctx),
    acceptNearest: boolOption(ctx, 'accept-nearest'),
    ...(rootFlag !== undefined ? { rootFlag } : {}),
  });
  ctx.out.result(result);
  return outcome;
}
