/**
 * plan: the repo's desired state against an installation root; with --base/--head, the envs a pull request
 * changes between two commits (what `qa` would build). Guard failures exit 2 with file:line messages.
 */
import type { Context } from '../app/context.js';
import { integerOption, stringOption } from '../core/options.js';
import { OK, type Outcome } from '../core/outcome.js';
import { planChanges, planInstallation, type PlanOptions } from '../app/plan.js';

export async function run(ctx: Context): Promise<Outcome> {
  const rootFlag = stringOption(ctx, 'root');
  const matrix = integerOption(ctx, 'matrix', { min: 1 });
  const opts: PlanOptions = {
    ...(matrix !== undefined ? { matrix } : {}),
    repoDir: ctx.repo,
    env: ctx.env,
    out: ctx.out,
    ...(rootFlag !== undefined ? { rootFlag } : {}),
  };
  const baseRef = stringOption(ctx, 'base');
  const headRef = stringOption(ctx, 'head');
  const byCommits = baseRef !== undefined || headRef !== undefined;
  ctx.out.result(
    byCommits
      ? await planChanges({
          ...opts,
          ...(baseRef !== undefined ? { baseRef } : {}),
          ...(headRef !== undefined ? { headRef } : {}),
        })
      : await planInstallation(opts),
  );
  return OK;
}
