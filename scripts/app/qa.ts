/**
 * The `qa` use case, the pull-request entry (docs/qa.md): plan from the PR diff, build and test the changed envs
 * into the installation the head names, report. One env failing (even with a spec that does not parse) never
 * stops the others. Writes only under ROOT/vX/builds/ and ROOT/.gitops/runs/<run-id>/.
 */
import { join } from 'node:path';
import { INVENTORY_FILE, SPECS_DIR } from '../core/repo.js';
import { layout } from '../core/layout.js';
import type { EnvRunResult, QaRunResult, UpgradeInfo } from '../core/types.js';
import { GitopsError, InterruptedError } from '../core/errors.js';
import { preflightResult } from '../core/qarun.js';
import { ensureInstallation } from './install-conda.js';
import { installationState, pointQa } from '../state/installation.js';
import { linkedInstallation, versionOf } from '../state/generation.js';
import { describeChanges, type Changes } from '../core/changes.js';
import {
  allowListLines,
  buildReport,
  headline,
  mergeLines,
  summaryTable,
  upgradeLines,
  type Report,
} from '../core/report.js';
import { allowListInfo, allowListOf, type AllowListCheck } from '../core/allowlist.js';
import { selectEnvs } from '../core/qarun.js';
import { writeReportFiles } from '../state/report-files.js';
import { publishReport } from '../engine/github.js';
import {
  allowListBetween,
  changesBetween,
  checkoutCommit,
  inventoryOf,
  readCommitFiles,
  readPrDelta,
  type CommitCheckout,
  type PrDelta,
} from '../repo/snapshot.js';
import { readRepoFiles, resolveRoot } from '../repo/repo.js';
import type { Desired, DesiredEnv } from '../core/desired.js';
import { replicatedNames } from '../core/inventory.js';
import { ignoredKeyWarnings, trustedInventory } from '../core/trust.js';
import type { Inventory } from '../core/types.js';
import type { Output } from './output.js';
import type { Repo } from '../core/repo.js';
import { runBuilds } from './pipeline.js';
import {
  loadRunSetup,
  newRunId,
  refuseOlderConda,
  resolvedRoot,
  type RunSetup,
  type RunSetupOptions,
} from './run-setup.js';
import { preflight } from './run-setup.js';
import { failedIf, type Outcome } from '../core/outcome.js';

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
  /** failed when the report is not ok (an env failed, or the allow-list refused) */
  outcome: Outcome;
  built: number;
  changes?: Changes;
  timing: { seconds: number; condaSeconds: number; testSeconds: number };
}

/** The run setup of a pull request read by what it changed: only the changed envs are in the desired state. */
function prDeltaSetup(delta: PrDelta, inventory: Inventory, root: string): Omit<RunSetup, 'jobs' | 'timeoutSeconds'> {
  const { specs } = delta;
  return {
    repo: { dir: '', inventory, specs, warnings: delta.warnings },
    broken: delta.broken,
    root: resolvedRoot(root),
    desired: delta.desired,
    replicated: replicatedNames(inventory),
  };
}

/** The inventory a pull request's QA runs with, saying which of its configuration changes it ignores. */
function trustedRun(base: Inventory | 'no-base', head: Inventory, out: Output): Inventory {
  for (const w of ignoredKeyWarnings(base, head)) out.warn(w);
  return trustedInventory(base, head);
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
    const head = await readHeadAndChanges(opts, checkouts);
    const { delta, changes, setup } = head;
    let { headDir, allowCheck } = head;
    const { repo, broken, root, desired, replicated } = setup;
    // a head older than main's conda (a stale branch, a downgrade) is refused before anything is written
    refuseOlderConda(root, repo.inventory, changes);
    allowCheck ??= { allow: allowListOf(repo.inventory), from: 'head', widened: [], allowListOnly: false };
    selectEnvs([...only], replicated);
    if (changes) for (const line of describeChanges(changes)) out.info(line);
    if (baseRef) for (const line of allowListLines(allowListInfo(allowCheck))) out.warn(line);

    // what changed: against the base commit, or everything (build ids make unchanged envs free); a PR that
    // widens the allow-list builds nothing: refused, or (allow-list only) left to the admins' review
    const changed = new Set(allowCheck.widened.length ? [] : changes ? changes.envs.map((e) => e.name) : replicated);
    const selected = (name: string) => changed.has(name) && (only.size === 0 || only.has(name));

    // 3. preflight: broken specs and plan-time guards fail their env before anything is built
    for (const name of broken.keys()) {
      if (!replicated.has(name)) {
        out.warn(`${SPECS_DIR}/${name}.yml: export-only env has errors (not built): run conda-gitops validate`);
      }
    }
    const { results, toBuild } = preflight(setup, selected, allowCheck.allow);

    // 4. build + test in a bounded pool, one log per env
    const runId = newRunId(startedAt);
    const runDir = join(layout(root).runs, runId);
    out.info(
      `qa ${runId}: ${toBuild.length} env(s) to build and test ` +
        `into ${root}/v${desired.condaVersion} with --jobs ${jobs}`,
    );
    // the installation the head names: an upgrade PR installs it here (install-conda's use case), points
    // ROOT/qa at it and replicates every REPLICATE env into it; a failed install still gets its report
    const upgrade = await prepareInstallation({ root, repo, desired, changes, toBuild, results, runDir, out });
    if (upgrade?.installation === 'failed') toBuild.length = 0;
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
      retryFailed: opts.retryFailed,
      ...(timeoutSeconds ? { timeoutSeconds, testTimeoutSeconds: timeoutSeconds } : {}),
      ...(headDir ? { specDir: join(headDir, SPECS_DIR) } : {}),
      env: opts.env,
      untrusted: true,
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
      allowList: allowListInfo(allowCheck),
      ...(toBuild.length ? { isolation: pipeline.isolation } : {}),
      envs: results,
      ...(upgrade ? { upgrade } : {}),
      ...(changes ? { merge: mergeOf(changes) } : {}),
    };
    const report = buildReport(run);
    const paths = writeReportFiles(runDir, report);
    await publishReport(report, runDir, opts.repoDir, opts.env, (line) => (out.command ?? out.info)(line));
    printSummary(out, report, paths, pipeline.fresh);
    return {
      ...report,
      outcome: failedIf(!report.ok),
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

/**
 * 1-2. the head and what changed. A pull request (--base and --head) is read from git by what it changed:
 * one diff, the changed blobs; only the files of the envs to build are written to disk.
 */
async function readHeadAndChanges(opts: QaOptions, checkouts: CommitCheckout[]) {
  const { baseRef, headRef, out } = opts;
  let changes: Changes | undefined;
  let setup: Omit<RunSetup, 'jobs' | 'timeoutSeconds'>;
  let headDir: string | undefined;
  // the allow-list sources are checked against: the base commit's, so a PR cannot widen its own
  let allowCheck: AllowListCheck | undefined;
  const delta = baseRef && headRef ? await readPrDelta(opts.repoDir, baseRef, headRef) : undefined;
  if (delta) {
    for (const w of delta.warnings) out.warn(`${w.file}:${w.line}: warning: ${w.message}`);
    // the PR's data, the base's configuration (core/trust.ts)
    const trusted = trustedRun(delta.baseInventory, delta.inventory, out);
    setup = prDeltaSetup(delta, trusted, resolveRoot({ options: { root: opts.rootFlag }, env: opts.env }, trusted));
    changes = delta.changes;
    allowCheck = delta.allowCheck;
  } else {
    // a whole commit: read through the one snapshot reader; its files are on disk for the builds
    const head = headRef ? await checkoutCommit(opts.repoDir, headRef) : undefined;
    if (head) checkouts.push(head);
    headDir = head?.dir ?? opts.repoDir;
    const headFiles = headRef ? (await readCommitFiles(opts.repoDir, headRef)).files : undefined;
    const base = baseRef ? await readCommitFiles(opts.repoDir, baseRef) : undefined;
    setup = await loadRunSetup({
      ...opts,
      repoDir: headDir,
      ...(headFiles ? { files: headFiles } : {}),
      ...(base ? { trustBase: inventoryOf(base.files) ?? 'no-base' } : {}),
    });
    if (base) {
      const current = headFiles ?? readRepoFiles(headDir);
      changes = changesBetween(base.files, current, setup.repo.inventory);
      allowCheck = allowListBetween(base.files, current, setup.repo.inventory);
    }
  }
  return { delta, changes, setup, headDir, allowCheck };
}

/** What merging the pull request adds, changes and drops, for the report. */
function mergeOf(changes: Changes) {
  return {
    added: changes.envs
      .filter((e) => e.reasons.includes('added') || e.reasons.includes('inventory'))
      .map((e) => e.name),
    changed: changes.envs
      .filter((e) => !e.reasons.includes('added') && !e.reasons.includes('inventory'))
      .map((e) => e.name),
    dropped: changes.dropped,
    kernels: changes.kernels,
  };
}

/**
 * Before building: install the head's conda when it has no installation and there is something to build; on an
 * upgrade (the head names another version than the base, or this run installed it) point ROOT/qa at it and
 * describe it for the report. A failed install turns every env to build into a failed result naming it.
 */
async function prepareInstallation(o: {
  root: string;
  repo: Repo;
  desired: Desired;
  changes: Changes | undefined;
  toBuild: DesiredEnv[];
  results: EnvRunResult[];
  runDir: string;
  out: QaOptions['out'];
}): Promise<UpgradeInfo | undefined> {
  const { root, repo, desired, changes, out } = o;
  const to = desired.condaVersion;
  const live = linkedInstallation(layout(root).current);
  const from = changes?.condaVersion.changed ? changes.condaVersion.base : live ? versionOf(live) : undefined;
  const notReplicated = repo.inventory.environments.filter((e) => e.mode === 'export').map((e) => e.name);
  const base = { ...(from ? { from } : {}), to, notReplicated };
  let upgrade: UpgradeInfo | undefined;
  if (o.toBuild.length) {
    try {
      const r = await ensureInstallation({
        root,
        inventory: repo.inventory,
        out,
        logDir: o.runDir,
        command: 'conda-gitops qa',
      });
      if (r)
        upgrade = {
          ...base,
          installation: r.ok ? 'installed' : 'failed',
          ...(r.log ? { log: r.log } : {}),
          ...(r.ok ? {} : { message: r.message, ...(r.output?.length ? { output: r.output } : {}) }),
        };
    } catch (e) {
      if (e instanceof InterruptedError || !(e instanceof GitopsError)) throw e;
      upgrade = { ...base, installation: 'failed', message: e.message };
    }
  }
  if (
    !upgrade &&
    changes?.condaVersion.changed &&
    installationState(root, to, desired.frontend).kind === 'installation'
  )
    upgrade = { ...base, installation: 'present' };
  if (!upgrade) return undefined;
  if (upgrade.installation === 'failed') {
    const why = upgrade.message ?? 'see the install log';
    const message = `conda ${to} could not be installed, so nothing was built: ${why}`;
    for (const env of o.toBuild)
      o.results.push(
        preflightResult(
          env.name,
          'plan',
          [{ file: INVENTORY_FILE, line: repo.inventory.conda.line, message }],
          env.buildId,
        ),
      );
  } else {
    const qa = pointQa(root, to);
    if (qa.kept)
      out.info(`ROOT/qa stays at ${qa.kept}: it only moves forward (v${to} is older; ROOT/current is unchanged)`);
    else out.info(`ROOT/qa -> v${to}: the new installation, for people to inspect (ROOT/current is unchanged)`);
  }
  return upgrade;
}

/** The run's headline, tables and where its files are. */
function printSummary(
  out: Output,
  report: ReturnType<typeof buildReport>,
  paths: ReturnType<typeof writeReportFiles>,
  fresh: number,
): void {
  out.info('');
  out.info(headline(report));
  for (const line of upgradeLines(report)) out.info(line);
  if (report.envs.length) for (const line of summaryTable(report)) out.info(line);
  for (const line of mergeLines(report.merge)) out.info(line);
  out.info(`built ${fresh} env(s) in this run; report: ${paths.report}`);
  out.info(`summary: ${paths.summary}  junit: ${paths.junit}  logs: ${paths.logs}/`);
}
