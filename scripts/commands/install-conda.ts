/**
 * install-conda: install the conda version the inventory names (or --version V) at ROOT/vV with `[conda]
 * installer`, verify it and write its .condarc. The use case is app/install-conda.ts.
 */
import type { Context } from '../app/context.js';
import { durationOption, stringOption } from '../core/options.js';
import type { Outcome } from '../core/outcome.js';
import { installCondaCommand } from '../app/install-conda.js';

export async function run(ctx: Context): Promise<Outcome> {
  const version = stringOption(ctx, 'version');
  const rootFlag = stringOption(ctx, 'root');
  const timeoutSeconds = durationOption(ctx, 'timeout', { unit: 's', positive: true });
  const result = await installCondaCommand({
    repoDir: ctx.repo,
    env: ctx.env,
    out: ctx.out,
    waitSeconds: durationOption(ctx, 'wait', { unit: 's', fallback: 0 }),
    ...(rootFlag !== undefined ? { rootFlag } : {}),
    ...(version !== undefined ? { version } : {}),
    ...(timeoutSeconds !== undefined ? { timeoutSeconds } : {}),
  });
  ctx.out.result(result);
  return result.outcome;
}
