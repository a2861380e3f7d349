/**
 * The pure rules `qa`, `build`, `test` and `plan --base/--head` share: a repository where one broken spec fails
 * only its env, failures found before any build as results, which envs a run covers.
 */
import { InputError, UsageError, type Problem } from './errors.js';
import { checkRepo, SPECS_DIR, type Repo, type RepoFiles } from './repo.js';
import { parseInventory } from './inventory.js';
import { decodeInput } from './input.js';
import type { Desired } from './desired.js';
import type { EnvRunResult, Inventory } from './types.js';
import type { GuardFailure } from './planguard.js';
import { didYouMean } from './suggest.js';

export interface TolerantRepo {
  repo: Repo;
  /** REPLICATE or export envs whose spec has errors: env -> its error problems */
  broken: Map<string, Problem[]>;
}

/** A spec that parses, standing in for a broken one so the rest of the repository can still be checked. */
const PLACEHOLDER = (name: string) => new TextEncoder().encode(`name: ${name}\ndependencies: []\n`);

/**
 * Check a repository where a broken env spec fails only that env (qa's rule: one bad spec never stops the
 * others). Problems in inventory.ini, or anything else not tied to one env's spec, still throw InputError.
 */
export function checkRepoTolerant(
  dir: string,
  files: RepoFiles,
  check: (v: string) => string | undefined,
): TolerantRepo {
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
  return text ? (parseInventory(text).inventory?.environments.map((e) => e.name) ?? []) : [];
}

/** The desired state without the envs whose spec is broken (they are reported, not built). */
export function withoutBroken(desired: Desired, broken: Map<string, Problem[]>): Desired {
  return { ...desired, envs: desired.envs.filter((e) => !broken.has(e.name)) };
}

/** An empty inventory: the base of a repository's first pull request has none. */
export function emptyInventory(like: Inventory): Inventory {
  return { file: 'inventory.ini', conda: { ...like.conda }, environments: [], kernels: [], legacyNoarch: [] };
}

/** A failure found before any build (broken spec, guard): a result like any other, so the report lists it. */
export function preflightResult(
  env: string,
  phase: 'spec' | 'plan',
  problems: Array<{ file: string; line: number; message: string }>,
  buildId?: string,
): EnvRunResult {
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
  return [...broken]
    .filter(([name]) => !only || only.has(name))
    .map(([name, problems]) => preflightResult(name, 'spec', problems));
}

export function guardResults(failures: GuardFailure[], desired: Desired): EnvRunResult[] {
  const byEnv = new Map<string, GuardFailure[]>();
  for (const f of failures) byEnv.set(f.env, [...(byEnv.get(f.env) ?? []), f]);
  return [...byEnv].map(([env, fs]) =>
    preflightResult(env, 'plan', fs, desired.envs.find((e) => e.name === env)?.buildId),
  );
}

/** `--env` names must be REPLICATE envs of the repository; none given = all. */
export function selectEnvs(names: string[], replicated: Set<string>): Set<string> | undefined {
  for (const n of names)
    if (!replicated.has(n))
      throw new UsageError(`--env ${n}: not a REPLICATE environment in inventory.ini${didYouMean(n, [...replicated])}`);
  return names.length ? new Set(names) : undefined;
}
