/**
 * export: re-export envs listed in inventory.ini from the installation into env-specs/NAME.yml (see app/export.ts).
 */
import type { Context } from '../app/context.js';
import type { Outcome } from '../core/outcome.js';
import { boolOption, listOption, stringOption } from '../core/options.js';
import { exportEnvs } from '../app/export.js';

export async function run(ctx: Context): Promise<Outcome> {
  const rootFlag = stringOption(ctx, 'root');
  const { outcome, result } = await exportEnvs({
    repoDir: ctx.repo,
    env: ctx.env,
    out: ctx.out,
    envs: listOption(ctx, 'env'),
    exact: boolOption(ctx, 'exact'),
    ...(rootFlag !== undefined ? { rootFlag } : {}),
  });
  ctx.out.result(result);
  return outcome;
}
