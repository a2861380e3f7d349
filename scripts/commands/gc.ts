/**
 * gc: remove what no kept generation references; a dry run unless `--yes`. The use case is app/gc.ts.
 */
import type { Context } from '../app/context.js';
import { boolOption, durationOption, integerOption, listOption, stringOption } from '../core/options.js';
import { UsageError } from '../core/errors.js';
import { OK, type Outcome } from '../core/outcome.js';
import { DEFAULT_KEEP, DEFAULT_KEEP_INSTALLATIONS, DEFAULT_KEEP_RUNS, DEFAULT_RUNS_GRACE_DAYS } from '../core/gc.js';
import { DEFAULT_GRACE_HOURS, collectGarbage } from '../app/gc.js';

export async function run(ctx: Context): Promise<Outcome> {
  if (boolOption(ctx, 'dry-run') && boolOption(ctx, 'yes'))
    throw new UsageError('--dry-run and --yes contradict each other: gc is a dry run unless --yes');
  const result = await collectGarbage({
    repoDir: ctx.repo,
    rootFlag: stringOption(ctx, 'root'),
    env: ctx.env,
    out: ctx.out,
    keep: integerOption(ctx, 'keep', { min: 1, fallback: DEFAULT_KEEP }),
    graceSeconds: durationOption(ctx, 'grace', { unit: 'h', fallback: DEFAULT_GRACE_HOURS * 3600 }),
    keepRuns: integerOption(ctx, 'keep-runs', { min: 0, fallback: DEFAULT_KEEP_RUNS }),
    runsGraceSeconds: durationOption(ctx, 'runs-grace', { unit: 'd', fallback: DEFAULT_RUNS_GRACE_DAYS * 86_400 }),
    yes: boolOption(ctx, 'yes'),
    waitSeconds: durationOption(ctx, 'wait', { unit: 's', fallback: 0 }),
    retire: listOption(ctx, 'retire'),
    keepInstallations: integerOption(ctx, 'keep-installations', { min: 1, fallback: DEFAULT_KEEP_INSTALLATIONS }),
  });
  ctx.out.result(result);
  return OK;
}
