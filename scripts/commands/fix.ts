/**
 * fix: apply the remediation rules to env specs in place and print the unified diff (see app/fix.ts).
 */
import type { Context } from '../app/context.js';
import type { Outcome } from '../core/outcome.js';
import { boolOption, listOption, stringOption } from '../core/options.js';
import { fixSpecs } from '../app/fix.js';

export async function run(ctx: Context): Promise<Outcome> {
  const rootFlag = stringOption(ctx, 'root');
  const { outcome, result } = await fixSpecs({
    repoDir: ctx.repo,
    env: ctx.env,
    out: ctx.out,
    envs: listOption(ctx, 'env'),
    check: boolOption(ctx, 'check'),
    acceptNearest: boolOption(ctx, 'accept-nearest'),
    ...(rootFlag !== undefined ? { rootFlag } : {}),
  });
  ctx.out.result(result);
  return outcome;
}
