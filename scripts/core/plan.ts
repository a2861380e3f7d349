/**
 * The `plan` rendering of the env plan (core/envplan.ts): the repository's desired state against the root, and
 * (`plan --base`) what qa does with each env a pull request changes.
 * Pure: data in, lines out. Nothing here decides: every action and reason comes from the env plan.
 */
import type { EnvAction, EnvDecision, EnvPlan, QaStep } from './envplan.js';
import { describeChanges, type ChangeReason, type Changes } from './changes.js';
import type { Problem } from './errors.js';

export type { EnvAction } from './envplan.js';

export interface Plan {
  condaVersion: string;
  envs: EnvDecision[];
  /** live envs the repo no longer asks for: unlinked at deploy (their builds stay until gc) */
  unlink: string[];
  /** counts per action, for summaries and step outputs */
  counts: EnvPlan['counts'];
}

export function planAgainstRoot(condaVersion: string, envPlan: EnvPlan): Plan {
  return { condaVersion, envs: envPlan.envs, unlink: envPlan.unlink, counts: envPlan.counts };
}

export const PLAN_SIGN: Record<EnvAction, string> = {
  build: '+ build',
  test: '~ test ',
  link: '~ link ',
  keep: '= keep ',
  hold: '! hold ',
  refuse: '! fail ',
};

/** One line per env decision: `+ build NAME ID  (reason)`. */
export function planLine(e: EnvDecision): string {
  return `${PLAN_SIGN[e.action]} ${e.name} ${e.buildId}  (${e.reason})`;
}

/** Human rendering: one line per env that changes, then a summary line. */
export function renderPlan(plan: Plan): string[] {
  const lines: string[] = [];
  for (const e of plan.envs) if (e.action !== 'keep') lines.push(planLine(e));
  for (const n of plan.unlink) lines.push(`- unlink ${n}  (no longer REPLICATE in the repo)`);
  const c = plan.counts;
  lines.push(
    `plan: ${c.build} to build, ${c.test} to test, ${c.link} to link, ${c.keep} unchanged, ${c.unlink} to unlink` +
      (c.hold ? `, ${c.hold} held back` : '') +
      (c.refuse ? `, ${c.refuse} failed` : '') +
      ` (conda ${plan.condaVersion})`,
  );
  return lines;
}

/** One job of a build matrix: `slice` is `i/N`, `envs` the names it builds, space-separated (env names have none). */
export interface MatrixSlice {
  slice: string;
  envs: string;
}

/**
 * The envs to build split into at most `n` slices for a GitHub matrix of build jobs: sorted by name, dealt
 * round-robin (similar envs by name land on different runners), no empty slice. Deterministic: every job of a
 * run sees the same slices.
 */
export function matrixSlices(envs: readonly string[], n: number): MatrixSlice[] {
  const names = [...new Set(envs)].sort();
  const count = Math.max(0, Math.min(n, names.length));
  const slices: string[][] = Array.from({ length: count }, () => []);
  names.forEach((name, i) => slices[i % count]!.push(name));
  return slices.map((s, i) => ({ slice: `${i + 1}/${count}`, envs: s.join(' ') }));
}

/** One env a pull request changes, as `plan --base` shows it (and lists it in --json). */
export interface ChangedEnvPlan {
  name: string;
  buildId: string;
  reasons: ChangeReason[];
  /** what qa does (core/envplan.ts qaStep): build+test, test only, reuse a passing verdict, report a failure */
  action: QaStep;
  /** the env plan's action and reason at deploy time */
  plan: EnvAction;
  why: string;
}

/** What `plan --base` shows: the two commits, what changed between them, and what qa does with each env. */
export interface PrPlan {
  base: { ref: string; commit: string };
  /** the --head ref as given and its commit; none: the work tree */
  head?: { ref: string; commit: string };
  changes: Changes;
  envs: ChangedEnvPlan[];
  /** the installation's live links (none without an installation) */
  liveLinks: Record<string, string>;
  /** the changed envs whose spec has errors, with those errors */
  brokenChanged: ReadonlyMap<string, Problem[]>;
  condaVersion: string;
}

const QA_SIGN: Record<QaStep, string> = { build: '+ build', test: '~ test ', reuse: '= reuse', refuse: '! fail ' };

/** Human rendering of a PR plan: the commits, what changed, one line per env, then a summary line. */
export function renderPrPlan(p: PrPlan): string[] {
  const lines = [
    `plan ${p.base.ref} (${p.base.commit.slice(0, 12)}) .. ` +
      (p.head ? `${p.head.ref} (${p.head.commit.slice(0, 12)})` : 'work tree'),
    ...describeChanges(p.changes).filter((l) => !l.startsWith('build ')),
  ];
  for (const n of p.changes.dropped)
    if (p.liveLinks[n]) lines.push(`- unlink ${n}  (live ${p.liveLinks[n]}; merging unlinks it)`);
  for (const e of p.envs)
    lines.push(`${QA_SIGN[e.action]} ${e.name} ${e.buildId}  (${e.reasons.join(', ')}; ${e.why})`);
  for (const [n, problems] of p.brokenChanged)
    lines.push(`! spec  ${n}  (the spec has errors: ${problems.map((x) => `${x.file}:${x.line}`).join(', ')})`);
  const count = (a: QaStep) => p.envs.filter((e) => e.action === a).length;
  lines.push(
    `plan: ${count('build')} to build, ${count('test')} to test, ${count('reuse')} already tested, ` +
      (count('refuse') ? `${count('refuse')} failed, ` : '') +
      `${p.changes.dropped.length} to unlink at deploy (conda ${p.condaVersion})`,
  );
  return lines;
}
