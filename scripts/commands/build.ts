/**
 * build: build the repository's REPLICATE envs (or --env NAME) into the installation its [conda] version
 * names, at ROOT/vX/builds/NAME/<build-id>/. Envs with a tested build of the same id are skipped.
 * Tests are not run (see `test`, or `qa` for both). Exit 1 when any env fails.
 */
import type { Context } from '../cli/command.js';
import { boolOption, listOption } from '../cli/command.js';
import { EXIT } from '../core/errors.js';
import { runBuilds } from '../app/pipeline.js';
import type { EnvRunResult } from '../core/types.js';
import { brokenResults, guardEnvs, guardResults, loadRunSetup, selectEnvs } from '../app/run-setup.js';

export function describeResult(r: EnvRunResult, recordStatus?: string): string {
  if (r.status !== 'failed') return `${r.env} ${r.buildId}: ${recordStatus ?? r.status}`;
  const where = r.file ? ` at ${r.file}${r.line ? `:${r.line}` : ''}` : '';
  return `${r.env} ${r.buildId ?? ''}: FAILED in ${r.phase} (${r.failure?.class ?? 'unknown'})${where}: ${r.hint ?? ''}${r.log ? `\n    log: ${r.log}` : ''}`;
}

export async function run(ctx: Context): Promise<number> {
  const { jobs, timeoutSeconds, repo, broken, root, desired, replicated } = await loadRunSetup(ctx);
  const only = selectEnvs(listOption(ctx, 'env'), replicated);
  const wanted = (n: string) => replicated.has(n) && (!only || only.has(n));

  const results: EnvRunResult[] = brokenResults(broken, new Set([...replicated].filter(wanted)));
  const candidates = desired.envs.filter((e) => wanted(e.name));
  const guards = guardEnvs(root, desired, candidates, repo.inventory.conda.channels);
  results.push(...guardResults(guards, desired));
  const toBuild = candidates.filter((e) => !guards.some((g) => g.env === e.name));

  const pipeline = await runBuilds({
    root, repo, desired, envs: toBuild, jobs, out: ctx.out, test: false,
    retryFailed: boolOption(ctx, 'retry-failed'), ...(timeoutSeconds ? { timeoutSeconds } : {}),
  });
  const lines = [
    ...results.map((r) => describeResult(r)),
    ...pipeline.envs.map((e) => describeResult(e.result, e.recordStatus)),
  ];
  for (const l of lines) ctx.out.info(l);
  const all = [...results, ...pipeline.envs.map((e) => e.result)];
  const failed = all.filter((r) => r.status === 'failed').length;
  ctx.out.info(`build: ${pipeline.fresh} built now, ${all.length - failed - pipeline.fresh} already built or tested, ${failed} failed (conda ${desired.condaVersion}, ${root})`);
  ctx.out.result({
    root, condaVersion: desired.condaVersion, built: pipeline.fresh, failed,
    envs: [...results.map((r) => ({ ...r, record: undefined })), ...pipeline.envs.map((e) => ({ ...e.result, record: e.recordStatus, fresh: e.fresh }))],
  });
  return failed ? EXIT.FAILED : EXIT.OK;
}
