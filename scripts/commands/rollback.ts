/**
 * rollback: swap back to the previous generation (or `--to N`), or make a new generation with one env taken
 * from its previous distinct build (`--env NAME`) or from generation N (`--to N --env NAME`).
 * The use case is app/rollback.ts; it needs no repository.
 */
import type { Context } from '../app/context.js';
import { boolOption, durationOption, integerOption, stringOption } from '../core/options.js';
import { UsageError } from '../core/errors.js';
import { OK, type Outcome } from '../core/outcome.js';
import { rollback } from '../app/rollback.js';

export async function run(ctx: Context): Promise<Outcome> {
  const to = integerOption(ctx, 'to', { min: 1 });
  const envName = stringOption(ctx, 'env');
  const byInstallation = boolOption(ctx, 'installation');
  if (!byInstallation && ctx.positionals.length) {
    throw new UsageError(`'rollback' takes no arguments, got '${ctx.positionals.join(' ')}' (see --installation)`);
  }
  const result = await rollback({
    repoDir: ctx.repo,
    rootFlag: stringOption(ctx, 'root'),
    env: ctx.env,
    out: ctx.out,
    ...(to !== undefined ? { to } : {}),
    ...(envName !== undefined ? { envName } : {}),
    ...(byInstallation ? { installation: ctx.positionals[0] ?? '' } : {}),
    dryRun: boolOption(ctx, 'dry-run'),
    waitSeconds: durationOption(ctx, 'wait', { unit: 's', fallback: 0 }),
  });
  ctx.out.result(result);
  return OK;
}
