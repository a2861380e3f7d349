/**
 * Package-level difference between the live build of an env and the candidate (both from `conda list --json`):
 * what a merge will change, shown to reviewers like a plan before an apply. Pure.
 */
import type { PackageRow } from './types.js';

export interface PackageChange {
  name: string;
  from: string;
  to: string;
}

export interface PackageDiff {
  /** false when there is no live build to compare with (a new env): everything is "added" */
  hasLive: boolean;
  added: PackageRow[];
  removed: PackageRow[];
  /** version changed (a build-only change of the same version is listed in `rebuilt`) */
  changed: PackageChange[];
  /** same version, different build string or channel */
  rebuilt: PackageChange[];
  unchanged: number;
}

/** Conda names are case-insensitive; pip-listed ones (`channel: pypi`) may differ in case from their conda twin. */
const key = (name: string) => name.toLowerCase();

function byName(pkgs: PackageRow[]): Map<string, PackageRow> {
  const m = new Map<string, PackageRow>();
  // A name listed twice (conda and pypi) keeps the conda record: that is what `import` finds first in a conda env.
  for (const p of pkgs) if (!m.has(key(p.name)) || m.get(key(p.name))!.channel === 'pypi') m.set(key(p.name), p);
  return m;
}

const origin = (p: PackageRow) => `${p.build ?? ''}|${p.channel ?? ''}`;
const sorted = <T extends { name: string }>(xs: T[]) => xs.sort((x, y) => key(x.name).localeCompare(key(y.name)));

export function diffPackages(live: PackageRow[] | undefined, candidate: PackageRow[]): PackageDiff {
  const before = byName(live ?? []);
  const after = byName(candidate);
  const diff: PackageDiff = {
    hasLive: live !== undefined,
    added: [],
    removed: [],
    changed: [],
    rebuilt: [],
    unchanged: 0,
  };
  for (const [k, p] of after) {
    const old = before.get(k);
    if (!old) diff.added.push(p);
    else if (old.version !== p.version) diff.changed.push({ name: p.name, from: old.version, to: p.version });
    else if (origin(old) !== origin(p)) {
      diff.rebuilt.push({ name: p.name, from: describe(old), to: describe(p) });
    } else diff.unchanged++;
  }
  for (const [k, p] of before) if (!after.has(k)) diff.removed.push(p);
  sorted(diff.added);
  sorted(diff.removed);
  sorted(diff.changed);
  sorted(diff.rebuilt);
  return diff;
}

function describe(p: PackageRow): string {
  return [p.version, p.build, p.channel].filter(Boolean).join(' ');
}

export function isEmptyDiff(d: PackageDiff): boolean {
  return d.added.length + d.removed.length + d.changed.length + d.rebuilt.length === 0;
}

/** One line for tables: `+3 -1 ~2` (added, removed, version changed). */
export function diffCounts(d: PackageDiff): string {
  if (!d.hasLive) return `new env (${d.added.length} packages)`;
  if (isEmptyDiff(d)) return 'no change';
  const parts = [`+${d.added.length}`, `-${d.removed.length}`, `~${d.changed.length}`];
  if (d.rebuilt.length) parts.push(`${d.rebuilt.length} rebuilt`);
  return parts.join(' ');
}

/** Markdown lines for one env: the packages the merge adds, removes and changes (`name 1.0 -> 1.1`). */
export function renderPackageDiff(env: string, d: PackageDiff, maxLines = 60): string[] {
  const lines: string[] = [];
  if (!d.hasLive) {
    lines.push(`**${env}**: new env, ${d.added.length} packages`);
    return lines;
  }
  if (isEmptyDiff(d)) {
    lines.push(`**${env}**: no package changes (${d.unchanged} unchanged)`);
    return lines;
  }
  lines.push(`**${env}**: ${diffCounts(d)} (${d.unchanged} unchanged)`, '', '```diff');
  const body = [
    ...d.changed.map((c) => `~ ${c.name} ${c.from} -> ${c.to}`),
    ...d.added.map((p) => `+ ${p.name} ${p.version}`),
    ...d.removed.map((p) => `- ${p.name} ${p.version}`),
    ...d.rebuilt.map((c) => `~ ${c.name} ${c.from} -> ${c.to} (rebuilt)`),
  ];
  lines.push(...body.slice(0, maxLines));
  if (body.length > maxLines) lines.push(`... ${body.length - maxLines} more (see report.json)`);
  lines.push('```');
  return lines;
}
