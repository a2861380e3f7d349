/**
 * qa: the pull-request entry (design section 7). Plan from the PR diff, build and test the changed envs
 * into the installation the head names, report. Exit 1 when any env fails; one env failing (even with a
 * spec that does not parse) never stops the others. Writes only under ROOT/vX/builds/ and
 * ROOT/.gitops/runs/<run-id>/.
 */
import { join } from 'node:path';
import type { Context } from '../cli/command.js';
import { boolOption, listOption, stringOption } from '../cli/command.js';
import { EXIT } from '../core/errors.js';
import { SPECS_DIR } from '../core/repo.js';
import { layout } from '../core/layout.js';
import type { EnvRunResult, QaRunResult } from '../core/types.js';
import { describeChanges, type Changes } from '../core/changes.js';
import { runBuilds } from '../app/pipeline.js';
import { buildReport, headline, summaryTable } from '../core/report.js';
import { writeReportFiles } from '../state/report-files.js';
import { publishReport } from '../engine/github.js';
import {
  brokenResults, changesBetween, checkoutCommit, guardEnvs, guardResults, jobsOption, loadRunSetup, newRunId,
  positiveSeconds, selectEnvs, type CommitCheckout,
} from '../app/run-setup.js';

export async function run(ctx: Context): Promise<number> {
  const startedAt = new Date();
  const baseRef = stringOption(ctx, 'base');
  const headRef = stringOption(ctx, 'head');
  const only = new Set(listOption(ctx, 'env'));
  // flags are checked before anything is checked out
  const jobs = jobsOption(ctx);
  const timeoutSeconds = positiveSeconds(stringOption(ctx, 'timeout'), 'timeout');
  const checkouts: CommitCheckout[] = [];
  try {
    // 1. the head: a commit, or the work tree as checked out (CI checks out the PR head)
    const head = headRef ? await checkoutCommit(ctx.repo, headRef) : undefined;
    if (head) checkouts.push(head);
    const headDir = head?.dir ?? ctx.repo;
    const { repo, broken, root, desired, replicated } = await loadRunSetup(ctx, headDir);
    selectEnvs([...only], replicated);

    // 2. what changed: against the base commit, or everything (build ids make unchanged envs free)
    let changes: Changes | undefined;
    if (baseRef) {
      const base = await checkoutCommit(ctx.repo, baseRef);
      checkouts.push(base);
      changes = changesBetween(base.dir, headDir, repo.inventory);
      for (const line of describeChanges(changes)) ctx.out.info(line);
    }
    const changed = new Set(changes ? changes.envs.map((e) => e.name) : replicated);
    const selected = (name: string) => changed.has(name) && (only.size === 0 || only.has(name));
    const retest = new Set(changes?.envs.filter((e) => e.reasons.includes('test')).map((e) => e.name) ?? []);

    // 3. preflight: broken specs and plan-time guards fail their env before anything is built
    const results: EnvRunResult[] = brokenResults(broken, new Set([...replicated].filter(selected)));
    for (const name of broken.keys()) if (!replicated.has(name)) ctx.out.warn(`${SPECS_DIR}/${name}.yml: export-only env has errors (not built): run conda-gitops validate`);
    const candidates = desired.envs.filter((e) => selected(e.name));
    const guards = guardEnvs(root, desired, candidates, repo.inventory.conda.channels);
    results.push(...guardResults(guards, desired));
    const guarded = new Set(guards.map((g) => g.env));
    const toBuild = candidates.filter((e) => !guarded.has(e.name));

    // 4. build + test in a bounded pool, one log per env
    const runId = newRunId(startedAt);
    const runDir = join(layout(root).runs, runId);
    ctx.out.info(`qa ${runId}: ${toBuild.length} env(s) to build and test into ${root}/v${desired.condaVersion} with --jobs ${jobs}`);
    const pipeline = await runBuilds({
      root, repo, desired, envs: toBuild, jobs, out: ctx.out, runDir, retest,
      retryFailed: boolOption(ctx, 'retry-failed'),
      ...(timeoutSeconds ? { timeoutSeconds, testTimeoutSeconds: timeoutSeconds } : {}),
      specDir: join(headDir, SPECS_DIR),
    });
    results.push(...pipeline.envs.map((e) => e.result));

    // 5. report: report.json (schema-checked), summary.md, junit.xml, logs/; GitHub bits when on a runner
    const run: QaRunResult = {
      runId, startedAt: startedAt.toISOString(), finishedAt: new Date().toISOString(), root,
      condaVersion: desired.condaVersion, frontend: desired.frontend, runDir,
      ...(baseRef ? { base: baseRef } : {}), ...(headRef ? { head: headRef } : {}), envs: results,
    };
    const report = buildReport(run);
    const paths = writeReportFiles(runDir, report);
    await publishReport(report, runDir, ctx.repo, ctx.env);
    ctx.out.info('');
    ctx.out.info(headline(report));
    if (report.envs.length) for (const line of summaryTable(report)) ctx.out.info(line);
    ctx.out.info(`built ${pipeline.fresh} env(s) in this run; report: ${paths.report}`);
    ctx.out.info(`summary: ${paths.summary}  junit: ${paths.junit}  logs: ${paths.logs}/`);
    ctx.out.result({
      ...report, built: pipeline.fresh, ...(changes ? { changes } : {}),
      // where the time went: inside conda/pip calls, in tests, and everything else (this tool)
      timing: { seconds: (Date.now() - startedAt.getTime()) / 1000, condaSeconds: pipeline.condaSeconds, testSeconds: pipeline.testSeconds },
    });
    return report.ok ? EXIT.OK : EXIT.FAILED;
  } finally {
    for (const c of checkouts) c.cleanup();
  }
}
