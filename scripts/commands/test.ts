/**
 * test: test the builds of the repository's REPLICATE envs (or --env NAME): the build's bin/python runs,
 * every spec'd package is installed at a matching version, kernel envs import ipykernel, and
 * env-specs/NAME.test.sh / NAME.test.py pass. The outcome is a verdict (state/verdict.ts). Exit 1 when any env fails
 * or has no build.
 */
import type { Context } from '../app/context.js';
import { listOption } from '../core/options.js';
import { runSetupOptions } from '../app/run-setup.js';
import type { Outcome } from '../core/outcome.js';
import { testEnvs } from '../app/build.js';

export async function run(ctx: Context): Promise<Outcome> {
  const result = await testEnvs({ ...runSetupOptions(ctx), envs: listOption(ctx, 'env') });
  ctx.out.result(result);
  return result.outcome;
}
