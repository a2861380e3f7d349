/**
 * The planner: desired state (repo) against what is on disk (records, live links). Pure: data in, plan out.
 * The plan command prints it, qa builds its `build` list, deploy applies its links.
 */
import type { BuildRecord, BuildStatus } from './types.js';
import type { Desired } from './desired.js';

export type EnvAction = 'keep' | 'link' | 'build' | 'blocked';

export interface EnvPlan {
  name: string;
  buildId: string;
  action: EnvAction;
  /** why, in words a reviewer reads */
  reason: string;
  record?: BuildStatus;
  /** build id linked live now, if any */
  live?: string;
}

export interface Plan {
  condaVersion: string;
  envs: EnvPlan[];
  /** live envs the repo no longer asks for: unlinked at deploy (their builds stay until gc) */
  unlink: string[];
  /** counts per action, for summaries and step outputs */
  counts: Record<EnvAction, number> & { unlink: number };
}

export function planAgainstRoot(
  desired: Desired,
  records: Map<string, BuildRecord | undefined>,
  live: Record<string, string>,
): Plan {
  const envs = desired.envs.map((d): EnvPlan => {
    const record = records.get(d.name);
    const base = {
      name: d.name,
      buildId: d.buildId,
      ...(record ? { record: record.status } : {}),
      ...(live[d.name] ? { live: live[d.name] } : {}),
    };
    if (live[d.name] === d.buildId) return { ...base, action: 'keep', reason: 'live build is up to date' };
    if (record?.bad)
      return {
        ...base,
        action: 'blocked',
        reason: `build was rolled back (${record.bad.reason}): revert or fix in git, or deploy --force`,
      };
    if (record?.status === 'tested')
      return {
        ...base,
        action: 'link',
        reason: live[d.name] ? `tested build replaces ${live[d.name]}` : 'tested build, not yet live',
      };
    const why: Record<BuildStatus | 'none', string> = {
      none: 'no build yet',
      building: 'a build is in progress or crashed',
      built: 'built but not tested',
      failed: 'last build failed',
      tested: '',
      aborted: 'last build was interrupted',
    };
    return { ...base, action: 'build', reason: why[record?.status ?? 'none'] };
  });
  const wanted = new Set(desired.envs.map((e) => e.name));
  const unlink = Object.keys(live)
    .filter((n) => !wanted.has(n))
    .sort();
  const count = (a: EnvAction) => envs.filter((e) => e.action === a).length;
  return {
    condaVersion: desired.condaVersion,
    envs,
    unlink,
    counts: {
      keep: count('keep'),
      link: count('link'),
      build: count('build'),
      blocked: count('blocked'),
      unlink: unlink.length,
    },
  };
}

/** Human rendering: one line per env that changes, then a summary line. */
export function renderPlan(plan: Plan): string[] {
  const lines: string[] = [];
  const sign: Record<EnvAction, string> = { build: '+ build', link: '~ link ', keep: '= keep ', blocked: '! block' };
  for (const e of plan.envs)
    if (e.action !== 'keep') lines.push(`${sign[e.action]} ${e.name} ${e.buildId}  (${e.reason})`);
  for (const n of plan.unlink) lines.push(`- unlink ${n}  (no longer REPLICATE in the repo)`);
  const c = plan.counts;
  lines.push(
    `plan: ${c.build} to build, ${c.link} to link, ${c.keep} unchanged, ${c.unlink} to unlink` +
      (c.blocked ? `, ${c.blocked} blocked` : '') +
      ` (conda ${plan.condaVersion})`,
  );
  return lines;
}
