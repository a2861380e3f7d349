/**
 * test: test the builds of the repository's REPLICATE envs (or --env NAME): the build's bin/python runs,
 * every spec'd package is installed at a matching version, kernel envs import ipykernel, and
 * env-specs/NAME.test.sh / NAME.test.py pass. A passing build becomes `tested`. Exit 1 when any env fails
 * or has no build.
 */
import type { Context } from '../cli/command.js';
import { listOption } from '../cli/command.js';
import { EXIT } from '../core/errors.js';
import { runBuilds } from '../app/pipeline.js';
import type { EnvRunResult } from '../core/types.js';
import { brokenResults, loadRunSetup, selectEnvs } from '../app/run-setup.js';
import { describeResult } from './build.js';

export async function run(ctx: Context): Promise<number> {
  const { jobs, timeoutSeconds, repo, broken, root, desired, replicated } = await loadRunSetup(ctx);
  const only = selectEnvs(listOption(ctx, 'env'), replicated);
  const wanted = (n: string) => replicated.has(n) && (!only || only.has(n));

  const results: EnvRunResult[] = brokenResults(broken, new Set([...replicated].filter(wanted)));
  const pipeline = await runBuilds({
    root, repo, desired, envs: desired.envs.filter((e) => wanted(e.name)), jobs, out: ctx.out, testOnly: true,
    // an explicit `test` re-tests builds that are already tested
    retest: new Set(desired.envs.map((e) => e.name)),
    ...(timeoutSeconds ? { testTimeoutSeconds: timeoutSeconds } : {}),
  });
  for (const r of results) ctx.out.info(describeResult(r));
  for (const e of pipeline.envs) ctx.out.info(describeResult(e.result, e.recordStatus));
  const all = [...results, ...pipeline.envs.map((e) => e.result)];
  const failed = all.filter((r) => r.status === 'failed').length;
  ctx.out.info(`test: ${all.length - failed} passed, ${failed} failed`);
  ctx.out.result({ root, condaVersion: desired.condaVersion, failed, envs: all });
  return failed ? EXIT.FAILED : EXIT.OK;
}
