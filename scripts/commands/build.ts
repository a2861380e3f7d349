/**
 * build: build the repository's REPLICATE envs (or --env NAME) into the installation its [conda] version
 * names, at ROOT/vX/builds/NAME/<build-id>/. Envs with a tested build of the same id are skipped.
 * Tests are not run (see `test`, or `qa` for both). Exit 1 when any env fails.
 */
import type { Context } from '../app/context.js';
import { boolOption, listOption, stringOption } from '../core/options.js';
import { runSetupOptions } from '../app/run-setup.js';
import type { Outcome } from '../core/outcome.js';
import { buildEnvs } from '../app/build.js';

export async function run(ctx: Context): Promise<Outcome> {
  const result = await buildEnvs({
    ...runSetupOptions(ctx),
    envs: listOption(ctx, 'env'),
    retryFailed: boolOption(ctx, 'retry-failed'),
    ...(stringOption(ctx, 'base') !== undefined ? { baseRef: stringOption(ctx, 'base')! } : {}),
  });
  ctx.out.result(result);
  return result.outcome;
}
