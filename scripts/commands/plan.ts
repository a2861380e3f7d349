/** plan: the repo's desired state against an installation root. */
import type { Context } from '../lib/command.js';
import { EXIT } from '../lib/errors.js';
import { loadRepo, resolveRoot } from '../lib/repo.js';
import { desiredState } from '../lib/desired.js';
import { readBuildRecord } from '../lib/record.js';
import { readLive } from '../lib/generation.js';
import { planAgainstRoot, renderPlan } from '../lib/plan.js';

export async function run(ctx: Context): Promise<number> {
  const repo = await loadRepo(ctx.repo);
  for (const w of repo.warnings) ctx.out.warn(`${w.file}:${w.line}: warning: ${w.message}`);
  const root = resolveRoot(ctx, repo.inventory);
  const desired = desiredState(repo);
  const records = new Map(desired.envs.map((e) => [e.name, readBuildRecord(root, desired.condaVersion, e.name, e.buildId)]));
  const plan = planAgainstRoot(desired, records, readLive(root).links);
  for (const line of renderPlan(plan)) ctx.out.info(line);
  // `matrix` is ready for a GitHub Actions strategy.matrix
  ctx.out.result({ root, ...plan, matrix: { include: plan.envs.filter((e) => e.action === 'build').map((e) => ({ env: e.name, buildId: e.buildId })) } });
  return EXIT.OK;
}
