/**
 * deploy (merge entry): the repository at HEAD -> a new generation, swapped in atomically, kernels, history.
 * The use case is app/deploy.ts; this reads the flags and maps the result to the exit code.
 */
import type { Context } from '../app/context.js';
import { boolOption, durationOption, jobsOption, listOption, stringOption } from '../core/options.js';
import type { Outcome } from '../core/outcome.js';
import { deploy } from '../app/deploy.js';

export async function run(ctx: Context): Promise<Outcome> {
  const result = await deploy({
    repoDir: ctx.repo,
    rootFlag: stringOption(ctx, 'root'),
    env: ctx.env,
    out: ctx.out,
    force: boolOption(ctx, 'force'),
    dryRun: boolOption(ctx, 'dry-run'),
    buildMissing: boolOption(ctx, 'build-missing'),
    jobs: jobsOption(ctx),
    waitSeconds: durationOption(ctx, 'wait', { unit: 's', fallback: 0 }),
    allowDowngrade: boolOption(ctx, 'allow-downgrade'),
    repair: listOption(ctx, 'repair'),
    repairAllDrifted: boolOption(ctx, 'repair-all-drifted'),
  });
  ctx.out.result(result);
  return result.outcome;
}
