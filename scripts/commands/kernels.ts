/**
 * kernels: (re)write ROOT/kernels/NAME/kernel.json for every [kernels] entry whose env is live; remove stale
 * ones. The use case is app/kernels.ts.
 */
import type { Context } from '../app/context.js';
import { boolOption, durationOption, stringOption } from '../core/options.js';
import type { Outcome } from '../core/outcome.js';
import { writeKernels } from '../app/kernels.js';

export async function run(ctx: Context): Promise<Outcome> {
  const result = await writeKernels({
    repoDir: ctx.repo,
    rootFlag: stringOption(ctx, 'root'),
    env: ctx.env,
    out: ctx.out,
    dryRun: boolOption(ctx, 'dry-run'),
    waitSeconds: durationOption(ctx, 'wait', { unit: 's', fallback: 0 }),
  });
  ctx.out.result(result);
  return result.outcome;
}
