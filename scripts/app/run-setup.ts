/**
 * What `qa`, `build` and `test` read first: the repository (tolerant of broken specs), the root, the desired
 * state; plan-time guards against the resolved root; run ids.
 */
import { existsSync, realpathSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { resolveRoot } from '../repo/repo.js';
import { loadRepoTolerant } from '../repo/snapshot.js';
import { desiredState, type Desired, type DesiredEnv } from '../core/desired.js';
import { guardPlan, type GuardFailure } from '../core/planguard.js';
import type { AllowList } from '../core/allowlist.js';
import { buildPaths } from '../core/layout.js';
import { withoutBroken, type TolerantRepo } from '../core/qarun.js';
import { replicatedNames } from '../core/inventory.js';
import type { RepoFiles } from '../core/repo.js';
import type { Inventory } from '../core/types.js';
import { ignoredKeyWarnings, trustedInventory } from '../core/trust.js';
import type { Output } from './output.js';
import type { Context } from './context.js';
import { durationOption, jobsOption, stringOption } from '../core/options.js';
import type { EnvRunResult } from '../core/types.js';
import { brokenResults, guardResults } from '../core/qarun.js';
import { RefusedError } from '../core/errors.js';
import type { Changes } from '../core/changes.js';
import { olderCondaRefusal, versionLine } from '../core/upgrade.js';
import { linkedConda } from '../state/installation.js';

/** Resolved root for build paths: conda writes the prefix into files, so no symlink that can move may be in it. */
export function resolvedRoot(root: string): string {
  return existsSync(root) ? realpathSync(root) : root;
}

/** Plan-time guards of the envs to build. */
export function guardEnvs(
  root: string,
  desired: Desired,
  envs: DesiredEnv[],
  allow: AllowList | string[],
): GuardFailure[] {
  const r = resolvedRoot(root);
  return guardPlan(
    envs.map((e) => ({
      name: e.name,
      spec: e.spec,
      prefix: buildPaths(r, desired.condaVersion, e.name, e.buildId).prefix,
    })),
    allow,
  );
}

/**
 * A pull request's head never takes conda back (core/upgrade.ts): refused (exit 1, "rebase on main") before anything
 * is built or written when its [conda] version is older than the base commit's (`changes`, when there is a base)
 * or than the live installation's (ROOT/current, when `root` has one).
 */
export function refuseOlderConda(root: string | undefined, head: Inventory, changes: Changes | undefined): void {
  const line = versionLine(head.conda.frontend);
  const base = changes?.condaVersion;
  const live = root ? linkedConda(root, 'current') : undefined;
  const message = olderCondaRefusal({
    head: { version: head.conda.version, line },
    ...(base ? { base: { version: base.base, line: versionLine(base.frontends?.base ?? head.conda.frontend) } } : {}),
    ...(live ? { live } : {}),
  });
  if (message)
    throw new RefusedError(`${head.file}:${head.conda.line}: ${message}`, [
      { file: head.file, line: head.conda.line, message, severity: 'error' },
    ]);
}

/** The time of the last run id this process made (ms since epoch): ids of one process never share or go back. */
let lastRunIdTime = 0;

/**
 * `20250101-120000-123-ab12` (UTC date, time, milliseconds, random): ids sort in the order the runs began, also
 * two runs in the same second or millisecond of one process (the time part only moves forward); the random part
 * keeps concurrent processes apart. Whoever needs a run's directory reads its id from the run (`qa` prints it,
 * `--json` has `runId`, Actions gets the `run-dir` output): never by picking the newest directory.
 */
export function newRunId(now = new Date()): string {
  lastRunIdTime = Math.max(now.getTime(), lastRunIdTime + 1);
  const iso = new Date(lastRunIdTime).toISOString(); // 2025-01-01T12:00:00.123Z
  const stamp = `${iso.slice(0, 10).replace(/-/g, '')}-${iso.slice(11, 19).replace(/:/g, '')}-${iso.slice(20, 23)}`;
  return `${stamp}-${randomBytes(2).toString('hex')}`;
}

/**
 * What build, test and qa read first: flags, the repository (tolerant of broken specs), the root, the desired
 * state.
 */
export interface RunSetup extends TolerantRepo {
  jobs: number;
  timeoutSeconds?: number;
  root: string;
  /** desired state without the broken envs */
  desired: Desired;
  replicated: Set<string>;
}

export interface RunSetupOptions {
  repoDir: string;
  /** --root, and the environment ($CONDA_GITOPS_ROOT) */
  rootFlag?: string;
  env: Record<string, string | undefined>;
  jobs: number;
  timeoutSeconds?: number;
  out: Output;
  /** problems in the repository's files to the CI runner (annotations, job summary): Context.annotate */
  annotate?: Context['annotate'];
  /** the snapshot already read (a commit, by readCommitFiles); else the work tree at repoDir is read */
  files?: RepoFiles;
  /**
   * A pull request's run: the base commit's inventory, whose configuration the run uses (core/trust.ts);
   * 'no-base' when the base has none. Undefined: a trusted run (main, an admin) uses the repository's own.
   */
  trustBase?: Inventory | 'no-base';
}

export async function loadRunSetup(opts: RunSetupOptions): Promise<RunSetup> {
  const { jobs, timeoutSeconds } = opts;
  const read = await loadRepoTolerant(opts.repoDir, opts.files);
  const { broken } = read;
  for (const w of read.repo.warnings) opts.out.warn(`${w.file}:${w.line}: warning: ${w.message}`);
  for (const w of ignoredKeyWarnings(opts.trustBase, read.repo.inventory)) opts.out.warn(w);
  const repo = { ...read.repo, inventory: trustedInventory(opts.trustBase, read.repo.inventory) };
  const root = resolvedRoot(resolveRoot({ options: { root: opts.rootFlag }, env: opts.env }, repo.inventory));
  const replicated = replicatedNames(repo.inventory);
  return {
    jobs,
    ...(timeoutSeconds ? { timeoutSeconds } : {}),
    repo,
    broken,
    root,
    desired: withoutBroken(desiredState(repo), broken),
    replicated,
  };
}

/** The flags `build`, `test` and `qa` share (--root, --jobs, --timeout), checked before any work starts. */
export function runSetupOptions(ctx: Context, repoDir = ctx.repo): RunSetupOptions {
  const timeoutSeconds = durationOption(ctx, 'timeout', { unit: 's', positive: true });
  const rootFlag = stringOption(ctx, 'root');
  return {
    repoDir,
    env: ctx.env,
    out: ctx.out,
    ...(ctx.annotate ? { annotate: ctx.annotate } : {}),
    jobs: jobsOption(ctx),
    ...(rootFlag !== undefined ? { rootFlag } : {}),
    ...(timeoutSeconds !== undefined ? { timeoutSeconds } : {}),
  };
}

/**
 * Before anything is built: broken specs and plan-time guards fail their env (results like any other, so the
 * report lists them); the selected envs that pass are the ones to build.
 */
export function preflight(
  setup: Pick<RunSetup, 'root' | 'desired' | 'broken' | 'replicated'>,
  selected: (name: string) => boolean,
  allow: AllowList | string[],
): { results: EnvRunResult[]; toBuild: DesiredEnv[] } {
  const results = brokenResults(setup.broken, new Set([...setup.replicated].filter(selected)));
  const candidates = setup.desired.envs.filter((e) => selected(e.name));
  const guards = guardEnvs(setup.root, setup.desired, candidates, allow);
  results.push(...guardResults(guards, setup.desired));
  const guarded = new Set(guards.map((g) => g.env));
  return { results, toBuild: candidates.filter((e) => !guarded.has(e.name)) };
}
