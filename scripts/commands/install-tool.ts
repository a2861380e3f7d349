/**
 * install-tool: copy this tool into ROOT/tools/<version>-<id>/ and write the launcher ROOT/tools/bin/conda-gitops.
 * The use case is app/install-tool.ts.
 */
import type { Context } from '../app/context.js';
import { durationOption, stringOption } from '../core/options.js';
import { OK, type Outcome } from '../core/outcome.js';
import { installToolIntoRoot } from '../app/install-tool.js';

export async function run(ctx: Context): Promise<Outcome> {
  const result = await installToolIntoRoot({
    repoDir: ctx.repo,
    rootFlag: stringOption(ctx, 'root'),
    env: ctx.env,
    out: ctx.out,
    node: process.execPath,
    waitSeconds: durationOption(ctx, 'wait', { unit: 's', fallback: 0 }),
  });
  ctx.out.result(result);
  return OK;
}
