/**
 * The `qa` use case, the pull-request entry (docs/qa.md): plan from the PR diff, build and test the changed envs
 * into the installation the head names, report. One env failing (even with a spec that does not parse) never
 * stops the others. Writes only under ROOT/vX/builds/ and ROOT/.gitops/runs/<run-id>/.
 */
import { join } from 'node:path';
import { INVENTORY_FILE, SPECS_DIR } from '../core/repo.js';
import { layout } from '../core/layout.js';
import type { EnvRunResult, QaRunResult } from '../core/types.js';
import { describeChanges, type Changes } from '../core/changes.js';
import { buildReport, headline, summaryTable, type Report } from '../core/report.js';
import { brokenResults, guardResults, selectEnvs } from '../core/qarun.js';
import { writeReportFiles } from '../state/report-files.js';
import { publishReport } from '../engine/github.js';
import { changesBetween, checkoutCommit, readPrDelta, type CommitCheckout, type PrDelta } from '../repo/snapshot.js';
import { resolveRoot } from '../repo/repo.js';
import { buildId, legacyNoarchOf } from '../core/buildid.js';
import type { DesiredEnv } from '../core/desired.js';
import { runBuilds } from './pipeline.js';
import { guardEnvs, loadRunSetup, newRunId, resolvedRoot, type RunSetup, type RunSetupOptions } from './run-setup.js';

export interface QaOptions extends Omit<RunSetupOptions, 'repoDir'> {
  /** the repository (its git history holds --base and --head) */
  repoDir: string;
  baseRef?: string;
  headRef?: string;
  /** --env: only these; empty = every changed env */
  envs: string[];
  retryFailed: boolean;
}

export interface QaResult extends Report {
  built: number;
  changes?: Changes;
  timing: { seconds: number; condaSeconds: number; testSeconds: number };
}

/** The run setup of a pull request read by what it changed: only the changed envs are in the desired state. */
function prDeltaSetup(delta: PrDelta, root: string): Omit<RunSetup, 'jobs' | 'timeoutSeconds'> {
  const { inventory, specs } = delta;
  const envs = delta.changes.envs.flatMap((c) => {
    const spec = specs.get(c.name);
    return spec
      ? [{ name: c.name, spec, buildId: buildId(spec, inventory), legacyNoarch: legacyNoarchOf(spec, inventory) }]
      : [];
  });
  return {
    repo: { dir: '', inventory, specs, warnings: delta.warnings },
    broken: delta.broken,
    root: resolvedRoot(root),
    desired: {
      condaVersion: inventory.conda.version,
      frontend: inventory.conda.frontend,
      envs,
      kernels: inventory.kernels.map((k) => ({ name: k.name, displayName: k.displayName })),
    },
    replicated: new Set(inventory.environments.filter((e) => e.mode === 'REPLICATE').map((e) => e.name)),
  };
}

/**
 * The files the builds of `envs` read: each env's spec and tests; the whole env-specs/ when a spec names a
 * local path for pip (`-r file`, `-e ./dir`, `./pkg`), which may be anywhere in it.
 */
function filesToBuild(envs: DesiredEnv[]): string[] {
  const local = envs.some((e) => e.spec.pip.some((p) => ['requirements', 'editable', 'path'].includes(p.kind)));
  if (local) return [INVENTORY_FILE, SPECS_DIR];
  return [
    INVENTORY_FILE,
    ...envs.flatMap((e) => ['yml', 'test.sh', 'test.py'].map((x) => `${SPECS_DIR}/${e.name}.${x}`)),
  ];
}

export async function runQa(opts: QaOptions): Promise<QaResult> {
  const startedAt = new Date();
  const { baseRef, headRef, jobs, timeoutSeconds, out } = opts;
  const only = new Set(opts.envs);
  const checkouts: CommitCheckout[] = [];
  try {
    // 1-2. the head and what changed. A pull request (--base and --head) is read from git by what it changed:
    // one diff, the changed blobs; only the files of the envs to build are written to disk.
    let changes: Changes | undefined;
    let setup: Omit<RunSetup, 'jobs' | 'timeoutSeconds'>;
    let headDir: string | undefined;
    const delta = baseRef && headRef ? await readPrDelta(opts.repoDir, baseRef, headRef) : undefined;
    if (delta) {
      for (const w of delta.warnings) out.warn(`${w.file}:${w.line}: warning: ${w.message}`);
      setup = prDeltaSetup(delta, resolveRoot({ options: { root: opts.rootFlag }, env: opts.env }, delta.inventory));
      changes = delta.changes;
    } else {
      const head = headRef ? await checkoutCommit(opts.repoDir, headRef) : undefined;
      if (head) checkouts.push(head);
      headDir = head?.dir ?? opts.repoDir;
      setup = await loadRunSetup({ ...opts, repoDir: headDir });
      if (baseRef) {
        const base = await checkoutCommit(opts.repoDir, baseRef);
        checkouts.push(base);
        changes = changesBetween(base.dir, headDir, setup.repo.inventory);
      }
    }
    const { repo, broken, root, desired, replicated } = setup;
    selectEnvs([...only], replicated);
    if (changes) for (const line of describeChanges(changes)) out.info(line);

    // what changed: against the base commit, or everything (build ids make unchanged envs free)
    const changed = new Set(changes ? changes.envs.map((e) => e.name) : replicated);
    const selected = (name: string) => changed.has(name) && (only.size === 0 || only.has(name));
    const retest = new Set(changes?.envs.filter((e) => e.reasons.includes('test')).map((e) => e.name) ?? []);

    // 3. preflight: broken specs and plan-time guards fail their env before anything is built
    const results: EnvRunResult[] = brokenResults(broken, new Set([...replicated].filter(selected)));
    for (const name of broken.keys()) {
      if (!replicated.has(name)) {
        out.warn(`${SPECS_DIR}/${name}.yml: export-only env has errors (not built): run conda-gitops validate`);
      }
    }
    const candidates = desired.envs.filter((e) => selected(e.name));
    const guards = guardEnvs(root, desired, candidates, repo.inventory.conda.channels);
    results.push(...guardResults(guards, desired));
    const guarded = new Set(guards.map((g) => g.env));
    const toBuild = candidates.filter((e) => !guarded.has(e.name));

    // 4. build + test in a bounded pool, one log per env
    const runId = newRunId(startedAt);
    const runDir = join(layout(root).runs, runId);
    out.info(
      `qa ${runId}: ${toBuild.length} env(s) to build and test ` +
        `into ${root}/v${desired.condaVersion} with --jobs ${jobs}`,
    );
    if (delta && toBuild.length) {
      // the build and the tests read the env's files (spec, NAME.test.*, relative pip paths) from disk
      const head = await checkoutCommit(opts.repoDir, delta.head.commit, filesToBuild(toBuild));
      checkouts.push(head);
      headDir = head.dir;
    }
    const pipeline = await runBuilds({
      root,
      repo,
      desired,
      envs: toBuild,
      jobs,
      out,
      runDir,
      retest,
      retryFailed: opts.retryFailed,
      ...(timeoutSeconds ? { timeoutSeconds, testTimeoutSeconds: timeoutSeconds } : {}),
      ...(headDir ? { specDir: join(headDir, SPECS_DIR) } : {}),
    });
    results.push(...pipeline.envs.map((e) => e.result));

    // 5. report: report.json (schema-checked), summary.md, junit.xml, logs/; GitHub bits when on a runner
    const run: QaRunResult = {
      runId,
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      root,
      condaVersion: desired.condaVersion,
      frontend: desired.frontend,
      runDir,
      ...(baseRef ? { base: baseRef } : {}),
      ...(headRef ? { head: headRef } : {}),
      envs: results,
    };
    const report = buildReport(run);
    const paths = writeReportFiles(runDir, report);
    await publishReport(report, runDir, opts.repoDir, opts.env);
    out.info('');
    out.info(headline(report));
    if (report.envs.length) for (const line of summaryTable(report)) out.info(line);
    out.info(`built ${pipeline.fresh} env(s) in this run; report: ${paths.report}`);
    out.info(`summary: ${paths.summary}  junit: ${paths.junit}  logs: ${paths.logs}/`);
    return {
      ...report,
      built: pipeline.fresh,
      ...(changes ? { changes } : {}),
      // where the time went: inside conda/pip calls, in tests, and everything else (this tool)
      timing: {
        seconds: (Date.now() - startedAt.getTime()) / 1000,
        condaSeconds: pipeline.condaSeconds,
        testSeconds: pipeline.testSeconds,
      },
    };
  } finally {
    for (const c of checkouts) c.cleanup();
  }
}
