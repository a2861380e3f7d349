/**
 * What `qa`, `build`, `test` and `plan --base/--head` share: reading a repository so that one broken spec
 * fails only its env, reading a commit through git, the change set, plan-time guards as results, run ids.
 */
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { formatProblem, InputError, UsageError, type Problem } from '../core/errors.js';
import { stringOption, type Context } from '../cli/command.js';
import { parseJobs } from '../engine/pool.js';
import { readRepoFiles, resolveRoot } from '../repo/repo.js';
import { checkRepo, SPECS_DIR, type Repo } from '../core/repo.js';
import { versionSpecChecker } from '../core/matchspec.js';
import { parseInventory } from '../core/inventory.js';
import { decodeInput } from '../core/input.js';
import { desiredState, type Desired, type DesiredEnv } from '../core/desired.js';
import type { EnvRunResult, Inventory } from '../core/types.js';
import { changedEnvs, type Changes, type RepoSnapshot } from '../core/changes.js';
import { exportRepoFiles, resolveCommit } from '../engine/git.js';
import { guardPlan, type GuardFailure } from '../core/planguard.js';
import { buildPaths } from '../core/layout.js';

export interface TolerantRepo {
  repo: Repo;
  /** REPLICATE or export envs whose spec has errors: env -> its error problems */
  broken: Map<string, Problem[]>;
}

/** A spec that parses, standing in for a broken one so the rest of the repository can still be checked. */
const PLACEHOLDER = (name: string) => new TextEncoder().encode(`name: ${name}\ndependencies: []\n`);

/**
 * Load a repository where a broken env spec fails only that env (qa's rule: one bad spec never stops the
 * others). Problems in inventory.ini, or anything else not tied to one env's spec, still throw InputError.
 */
export async function loadRepoTolerant(dir: string): Promise<TolerantRepo> {
  const files = readRepoFiles(dir);
  const check = await versionSpecChecker();
  const first = checkRepo(dir, files, check);
  if (first.repo) return { repo: first.repo, broken: new Map() };
  const listed = new Set(inventoryNames(files.inventory));
  const broken = new Map<string, Problem[]>();
  const fatal: Problem[] = [];
  for (const p of first.problems.filter((x) => x.severity === 'error')) {
    const m = new RegExp(`^${SPECS_DIR}/(.+)\\.yml$`).exec(p.file);
    if (m && listed.has(m[1]!)) broken.set(m[1]!, [...(broken.get(m[1]!) ?? []), p]);
    else fatal.push(p);
  }
  if (fatal.length || broken.size === 0) throw new InputError(first.problems);
  const patched = new Map(files.specs);
  for (const name of broken.keys()) patched.set(`${name}.yml`, PLACEHOLDER(name));
  const second = checkRepo(dir, { ...files, specs: patched }, check);
  if (!second.repo) throw new InputError(first.problems);
  // The placeholder specs stay in repo.specs (desiredState needs one per env); withoutBroken drops their envs.
  return { repo: { ...second.repo, warnings: first.problems.filter((p) => p.severity === 'warning') }, broken };
}

function inventoryNames(bytes: Uint8Array | undefined): string[] {
  if (!bytes) return [];
  const text = decodeInput(bytes, 'inventory.ini').text;
  return text ? parseInventory(text).inventory?.environments.map((e) => e.name) ?? [] : [];
}

/** The desired state without the envs whose spec is broken (they are reported, not built). */
export function withoutBroken(desired: Desired, broken: Map<string, Problem[]>): Desired {
  return { ...desired, envs: desired.envs.filter((e) => !broken.has(e.name)) };
}

/** Raw texts of specs and per-env tests: what `changedEnvs` compares. */
export function snapshotOf(dir: string, inventory: Inventory): RepoSnapshot {
  const read = (p: string) => (existsSync(p) ? readFileSync(p, 'utf8') : undefined);
  const specTexts = new Map<string, string>();
  const testTexts = new Map<string, string>();
  for (const e of inventory.environments) {
    const spec = read(join(dir, SPECS_DIR, `${e.name}.yml`));
    if (spec !== undefined) specTexts.set(e.name, spec);
    const tests = ['sh', 'py'].map((x) => read(join(dir, SPECS_DIR, `${e.name}.test.${x}`)) ?? '').join('\0');
    if (tests !== '\0') testTexts.set(e.name, tests);
  }
  return { inventory, specTexts, testTexts };
}

/** The repository files of a commit in a temp dir (removed by `cleanup`). */
export interface CommitCheckout {
  ref: string;
  commit: string;
  dir: string;
  cleanup(): void;
}

export async function checkoutCommit(repoDir: string, ref: string): Promise<CommitCheckout> {
  const commit = await resolveCommit(repoDir, ref);
  const dir = mkdtempSync(join(tmpdir(), `cg-ref-${commit.slice(0, 8)}-`));
  await exportRepoFiles(repoDir, commit, dir);
  return { ref, commit, dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** An empty inventory: the base of a repository's first pull request has none. */
function emptyInventory(like: Inventory): Inventory {
  return { file: 'inventory.ini', conda: { ...like.conda }, environments: [], kernels: [], legacyNoarch: [] };
}

/**
 * The base side of a comparison: its inventory as written (even if some specs there were broken).
 * A base without a readable inventory counts as empty: everything at head is new.
 */
export function baseSnapshot(dir: string, head: Inventory): RepoSnapshot {
  const files = readRepoFiles(dir);
  const text = files.inventory ? decodeInput(files.inventory, 'inventory.ini').text : undefined;
  const inventory = (text !== undefined ? parseInventory(text).inventory : undefined) ?? emptyInventory(head);
  return snapshotOf(dir, inventory);
}

export function changesBetween(baseDir: string, headDir: string, head: Inventory): Changes {
  return changedEnvs(baseSnapshot(baseDir, head), snapshotOf(headDir, head));
}

/** Resolved root for build paths: conda writes the prefix into files, so no symlink that can move may be in it. */
export function resolvedRoot(root: string): string {
  return existsSync(root) ? realpathSync(root) : root;
}

/** Plan-time guards of the envs to build. */
export function guardEnvs(root: string, desired: Desired, envs: DesiredEnv[], allowedChannels: string[]): GuardFailure[] {
  const r = resolvedRoot(root);
  return guardPlan(
    envs.map((e) => ({ name: e.name, spec: e.spec, prefix: buildPaths(r, desired.condaVersion, e.name, e.buildId).prefix })),
    allowedChannels,
  );
}

/** A failure found before any build (broken spec, guard): a result like any other, so the report lists it. */
export function preflightResult(env: string, phase: 'spec' | 'plan', problems: Array<{ file: string; line: number; message: string }>, buildId?: string): EnvRunResult {
  const first = problems[0]!;
  return {
    env,
    ...(buildId ? { buildId } : {}),
    status: 'failed',
    phase,
    failure: { class: 'unknown', excerpt: problems.map((p) => `${p.file}:${p.line}: ${p.message}`) },
    hint: phase === 'spec' ? `fix the spec: ${first.message}` : first.message,
    file: first.file,
    line: first.line,
    seconds: 0,
    phases: [],
  };
}

export function brokenResults(broken: Map<string, Problem[]>, only?: ReadonlySet<string>): EnvRunResult[] {
  return [...broken].filter(([name]) => !only || only.has(name)).map(([name, problems]) => preflightResult(name, 'spec', problems));
}

export function guardResults(failures: GuardFailure[], desired: Desired): EnvRunResult[] {
  const byEnv = new Map<string, GuardFailure[]>();
  for (const f of failures) byEnv.set(f.env, [...(byEnv.get(f.env) ?? []), f]);
  return [...byEnv].map(([env, fs]) => preflightResult(env, 'plan', fs, desired.envs.find((e) => e.name === env)?.buildId));
}

/** `20250101-120000-ab12`: sortable by time, unique across concurrent runs. */
export function newRunId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${randomBytes(2).toString('hex')}`;
}

export function describeProblems(problems: Problem[]): string {
  return problems.map(formatProblem).join('\n');
}

/** `--timeout SECONDS`: a positive number. */
export function positiveSeconds(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${flag} expects a number of seconds > 0, got '${value}'`);
  return n;
}

/** `--jobs N`: a positive integer, default 1. */
export function jobsOption(ctx: Context): number {
  const jobs = parseJobs(stringOption(ctx, 'jobs'));
  if (jobs === undefined) throw new UsageError(`--jobs expects a positive integer, got '${stringOption(ctx, 'jobs')}'`);
  return jobs;
}


/** `--env` names must be REPLICATE envs of the repository; none given = all. */
export function selectEnvs(names: string[], replicated: Set<string>): Set<string> | undefined {
  for (const n of names) if (!replicated.has(n)) throw new UsageError(`--env ${n}: not a REPLICATE environment in inventory.ini`);
  return names.length ? new Set(names) : undefined;
}

/** What build, test and qa read first: flags, the repository (tolerant of broken specs), the root, the desired state. */
export interface RunSetup extends TolerantRepo {
  jobs: number;
  timeoutSeconds?: number;
  root: string;
  /** desired state without the broken envs */
  desired: Desired;
  replicated: Set<string>;
}

export async function loadRunSetup(ctx: Context, repoDir = ctx.repo): Promise<RunSetup> {
  const jobs = jobsOption(ctx);
  const timeoutSeconds = positiveSeconds(stringOption(ctx, 'timeout'), 'timeout');
  const { repo, broken } = await loadRepoTolerant(repoDir);
  for (const w of repo.warnings) ctx.out.warn(`${w.file}:${w.line}: warning: ${w.message}`);
  const root = resolvedRoot(resolveRoot(ctx, repo.inventory));
  const replicated = new Set(repo.inventory.environments.filter((e) => e.mode === 'REPLICATE').map((e) => e.name));
  return { jobs, ...(timeoutSeconds ? { timeoutSeconds } : {}), repo, broken, root, desired: withoutBroken(desiredState(repo), broken), replicated };
}
