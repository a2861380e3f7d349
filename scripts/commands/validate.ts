/** validate: parse and check inventory.ini and every spec; print every problem at once. */
import type { Context } from '../app/context.js';
import { formatProblem } from '../core/errors.js';
import { OK, badInput, type Outcome } from '../core/outcome.js';
import { checkRepoDir } from '../repo/repo.js';
import { desiredState } from '../core/desired.js';
import { boolOption } from '../core/options.js';
import { runnerCheck } from '../app/runner-rc.js';

export async function run(ctx: Context): Promise<Outcome> {
  const { repo, problems } = await checkRepoDir(ctx.repo);
  const errors = problems.filter((p) => p.severity === 'error');
  for (const p of problems) ctx.out.warn(formatProblem(p));
  await ctx.annotate?.(problems);
  const desired = repo ? desiredState(repo) : undefined;
  // --runner: this runner user's environment too (rc files that would leak into builds)
  const runner = boolOption(ctx, 'runner') && repo ? runnerCheck(ctx, repo.inventory) : undefined;
  if (ctx.out.json) {
    // a Map, not a find() per env: 10,000 envs would make this quadratic
    const ids = new Map(desired?.envs.map((d) => [d.name, d.buildId]));
    ctx.out.result({
      ok: errors.length === 0,
      problems,
      environments: repo?.inventory.environments.map((e) => ({ name: e.name, mode: e.mode, buildId: ids.get(e.name) })),
      ...(runner ? { runner } : {}),
    });
  } else if (repo) {
    if (runner && !runner.rcFiles.length)
      ctx.out.info(`runner: clean: no rc file of this user would leak into builds under ${runner.root}`);
    const n = repo.inventory.environments.length;
    ctx.out.info(
      `ok: ${n} environment${n === 1 ? '' : 's'} (${desired!.envs.length} REPLICATE), ` +
        `${problems.length} warning${problems.length === 1 ? '' : 's'}`,
    );
  } else {
    ctx.out.info(`${errors.length} error${errors.length === 1 ? '' : 's'}`);
  }
  return errors.length ? badInput() : OK;
}
