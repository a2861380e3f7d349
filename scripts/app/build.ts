/**
 * The `build` and `test` use cases: build (or only test) the repository's REPLICATE envs, or the ones named,
 * into the installation its [conda] version names. Broken specs and plan-time guards fail their env first.
 */
import { runBuilds } from './pipeline.js';
import { inventoryOf, readCommitFiles } from '../repo/snapshot.js';
import { join } from 'node:path';
import { loadRunSetup, newRunId, type RunSetupOptions } from './run-setup.js';
import { ensureInstallation } from './install-conda.js';
import { layout } from '../core/layout.js';
import { FailedError } from '../core/errors.js';
import { failedIf, type Outcome } from '../core/outcome.js';
import { allowListOf } from '../core/allowlist.js';
import { brokenResults, selectEnvs } from '../core/qarun.js';
import { describeResult } from '../core/report.js';
import type { BuildStatus, EnvRunResult } from '../core/types.js';
import { preflight } from './run-setup.js';
import type { Problem } from '../core/errors.js';

/** The repository's warnings and the selected envs' broken-spec problems, as CI annotations. */
async function annotateBroken(
  opts: RunSetupOptions,
  warnings: Problem[],
  broken: Map<string, Problem[]>,
  wanted: (name: string) => boolean,
): Promise<void> {
  const problems = [...warnings, ...[...broken].filter(([n]) => wanted(n)).flatMap(([, ps]) => ps)];
  if (problems.length) await opts.annotate?.(problems);
}

export interface BuildEnvsOptions extends RunSetupOptions {
  /** --env: only these (must be REPLICATE envs); empty = all */
  envs: string[];
  retryFailed: boolean;
  /**
   * A pull request's build (qa.yml's build matrix): the base commit whose configuration the run uses
   * (core/trust.ts); its builds get a private package cache, as qa's do.
   */
  baseRef?: string;
}

export interface BuildEnvsResult {
  /** failed when any env failed */
  outcome: Outcome;
  root: string;
  condaVersion: string;
  built: number;
  failed: number;
  envs: Array<EnvRunResult & { record?: BuildStatus; fresh?: boolean }>;
}

export async function buildEnvs(opts: BuildEnvsOptions): Promise<BuildEnvsResult> {
  const base = opts.baseRef ? await readCommitFiles(opts.repoDir, opts.baseRef) : undefined;
  const { jobs, timeoutSeconds, repo, broken, root, desired, replicated } = await loadRunSetup({
    ...opts,
    ...(base ? { trustBase: inventoryOf(base.files) ?? 'no-base' } : {}),
  });
  const only = selectEnvs(opts.envs, replicated);
  const wanted = (n: string) => replicated.has(n) && (!only || only.has(n));

  const { results, toBuild } = preflight({ root, desired, broken, replicated }, wanted, allowListOf(repo.inventory));
  // a version without an installation (the upgrade): installed first, by install-conda's own use case
  if (toBuild.length) {
    const installed = await ensureInstallation({
      root,
      inventory: repo.inventory,
      out: opts.out,
      logDir: join(layout(root).runs, newRunId()),
      command: 'conda-gitops build',
    });
    if (installed && !installed.ok) throw new FailedError(`nothing was built: ${installed.message}`);
  }
  await annotateBroken(opts, repo.warnings, broken, wanted);

  const pipeline = await runBuilds({
    root,
    repo,
    desired,
    envs: toBuild,
    jobs,
    out: opts.out,
    test: false,
    env: opts.env,
    retryFailed: opts.retryFailed,
    ...(base ? { untrusted: true } : {}),
    ...(timeoutSeconds ? { timeoutSeconds } : {}),
  });
  for (const r of results) opts.out.info(describeResult(r));
  for (const e of pipeline.envs) opts.out.info(describeResult(e.result, e.recordStatus));
  const all = [...results, ...pipeline.envs.map((e) => e.result)];
  const failed = all.filter((r) => r.status === 'failed').length;
  // a fresh build that failed counts once, as failed: the three numbers add up to the envs of the run
  const builtNow = pipeline.envs.filter((e) => e.fresh && e.result.status !== 'failed').length;
  opts.out.info(
    `build: ${builtNow} built now, ${all.length - failed - builtNow} already built or tested, ` +
      `${failed} failed (conda ${desired.condaVersion}, ${root})`,
  );
  return {
    outcome: failedIf(failed > 0),
    root,
    condaVersion: desired.condaVersion,
    built: pipeline.fresh,
    failed,
    envs: [
      ...results,
      ...pipeline.envs.map((e) => ({
        ...e.result,
        ...(e.recordStatus ? { record: e.recordStatus } : {}),
        fresh: e.fresh,
      })),
    ],
  };
}

export interface TestEnvsOptions extends RunSetupOptions {
  envs: string[];
}

export async function testEnvs(
  opts: TestEnvsOptions,
): Promise<{ outcome: Outcome; root: string; condaVersion: string; failed: number; envs: EnvRunResult[] }> {
  const { jobs, timeoutSeconds, repo, broken, root, desired, replicated } = await loadRunSetup(opts);
  const only = selectEnvs(opts.envs, replicated);
  const wanted = (n: string) => replicated.has(n) && (!only || only.has(n));

  const results: EnvRunResult[] = brokenResults(broken, new Set([...replicated].filter(wanted)));
  await annotateBroken(opts, repo.warnings, broken, wanted);
  const pipeline = await runBuilds({
    root,
    repo,
    desired,
    envs: desired.envs.filter((e) => wanted(e.name)),
    jobs,
    out: opts.out,
    testOnly: true,
    env: opts.env,
    // an explicit `test` re-tests builds that are already tested
    retest: new Set(desired.envs.map((e) => e.name)),
    ...(timeoutSeconds ? { testTimeoutSeconds: timeoutSeconds } : {}),
  });
  for (const r of results) opts.out.info(describeResult(r));
  for (const e of pipeline.envs) opts.out.info(describeResult(e.result, e.recordStatus));
  const all = [...results, ...pipeline.envs.map((e) => e.result)];
  const failed = all.filter((r) => r.status === 'failed').length;
  opts.out.info(`test: ${all.length - failed} passed, ${failed} failed`);
  return { outcome: failedIf(failed > 0), root, condaVersion: desired.condaVersion, failed, envs: all };
}
