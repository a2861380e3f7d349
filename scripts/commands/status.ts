/** status: the live generation against the repository; exit 1 on drift. The use case is app/status.ts. */
import type { Context } from '../app/context.js';
import { boolOption, stringOption } from '../core/options.js';
import type { Outcome } from '../core/outcome.js';
import { liveStatus } from '../app/status.js';

export async function run(ctx: Context): Promise<Outcome> {
  const result = await liveStatus({
    repoDir: ctx.repo,
    rootFlag: stringOption(ctx, 'root'),
    verify: boolOption(ctx, 'verify'),
    env: ctx.env,
    out: ctx.out,
  });
  ctx.out.result(result);
  return result.outcome;
}
