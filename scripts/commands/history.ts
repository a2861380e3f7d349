/** history: the log of cutovers (deploys and rollbacks), oldest first. The use case is app/history.ts. */
import type { Context } from '../app/context.js';
import { integerOption, stringOption } from '../core/options.js';
import { OK, type Outcome } from '../core/outcome.js';
import { cutoverHistory } from '../app/history.js';

export async function run(ctx: Context): Promise<Outcome> {
  const limit = integerOption(ctx, 'limit', { min: 1 });
  const result = await cutoverHistory({
    repoDir: ctx.repo,
    rootFlag: stringOption(ctx, 'root'),
    env: ctx.env,
    out: ctx.out,
    ...(limit !== undefined ? { limit } : {}),
  });
  ctx.out.result(result);
  return OK;
}
