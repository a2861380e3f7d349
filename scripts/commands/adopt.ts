/**
 * adopt: inventory an existing, unmanaged conda installation into this repository (see app/adopt.ts).
 */
import type { Context } from '../app/context.js';
import type { Outcome } from '../core/outcome.js';
import { boolOption, stringOption } from '../core/options.js';
import { adoptInstallation } from '../app/adopt.js';

export async function run(ctx: Context): Promise<Outcome> {
  const root = stringOption(ctx, 'root');
  const replicate = stringOption(ctx, 'replicate');
  const { outcome, result } = await adoptInstallation({
    repoDir: ctx.repo,
    env: ctx.env,
    out: ctx.out,
    force: boolOption(ctx, 'force'),
    // directories, never split at commas
    kernelsFrom: ([] as unknown[]).concat(ctx.options['kernels-from'] ?? []).map(String),
    ...(root !== undefined ? { root } : {}),
    ...(replicate !== undefined ? { replicate } : {}),
  });
  ctx.out.result(result);
  return outcome;
}
