/**
 * The `plan` rendering of the env plan (core/envplan.ts): the repository's desired state against the root.
 * Pure: data in, lines out. Nothing here decides: every action and reason comes from the env plan.
 */
import type { EnvAction, EnvDecision, EnvPlan } from './envplan.js';

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
