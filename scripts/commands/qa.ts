/**
 * qa: the pull-request entry (docs/qa.md). Plan from the PR diff, build and test the changed envs into the
 * installation the head names, report. Exit 1 when any env fails.
 */
import type { Context } from '../app/context.js';
import { boolOption, listOption, stringOption } from '../core/options.js';
import { runSetupOptions } from '../app/run-setup.js';
import type { Outcome } from '../core/outcome.js';
import { runQa } from '../app/qa.js';

export async function run(ctx: Context): Promise<Outcome> {
  const baseRef = stringOption(ctx, 'base');
  const headRef = stringOption(ctx, 'head');
  // flags are checked before anything is checked out
  const result = await runQa({
    ...runSetupOptions(ctx),
    envs: listOption(ctx, 'env'),
    retryFailed: boolOption(ctx, 'retry-failed'),
    ...(baseRef !== undefined ? { baseRef } : {}),
    ...(headRef !== undefined ? { headRef } : {}),
  });
  ctx.out.result(result);
  return result.outcome;
}
