/**
 * Generations, the pure half: link arithmetic, diffs, rollback targets. `vX/generations/N/` is an immutable
 * directory of per-env links `NAME -> ../../builds/NAME/<build-id>` plus a manifest (docs/deploy.md);
 * the disk half is state/generation.ts.
 */
import { FailedError, UsageError } from './errors.js';

/** Manifest inside every generation directory (a dot file: conda and people listing envs ignore it). */
export const MANIFEST_FILE = '.generation.json';
/** Prefix of every temporary entry we create; a crash may leave them, the next run under the lock removes them. */
export const TEMP_MARK = '.tmp-';

/** env name -> build id */
export type LinkMap = Record<string, string>;

export interface GenerationManifest {
  format: 1;
  n: number;
  createdAt: string;
  /** git commit of the repository the generation was made from, when known */
  commit?: string;
  /** what made it: `deploy`, `rollback --env NAME` */
  reason: string;
  /** the generation live when this one was made: where a plain `rollback` goes */
  parent?: GenerationRef;
  /**
   * the installation `current` pointed at when this generation was made, when that one was not managed by
   * conda-gitops (an adopted, hand-run installation: a real `vOLD/envs/` directory, no generations). Set on the
   * generation of the first cutover out of it: where `rollback --installation` goes back to.
   */
  adoptedFrom?: string;
  envs: LinkMap;
}

/** A position in the history of cutovers: which installation and which of its generations was live. */
export interface GenerationRef {
  installation: string;
  /** ADOPTED (0): an adopted installation, whose envs are a real directory and which has no generations */
  generation: number;
}

/** The generation number of an adopted installation (its envs are not managed: it has no generations). */
export const ADOPTED = 0;

/** What a link map says for an env an adopted installation serves from its own envs directory. */
export const ADOPTED_BUILD = 'adopted';

// ---------------------------------------------------------------- pure

/** Relative target of a generation entry: relative so the whole ROOT can be mounted elsewhere. */
export function linkTarget(env: string, buildId: string): string {
  return `../../builds/${env}/${buildId}`;
}

/** The build id a generation entry points at, or undefined for anything we did not write. */
export function parseLinkTarget(env: string, target: string): string | undefined {
  const m = /^\.\.\/\.\.\/builds\/([^/]+)\/([^/]+)$/.exec(target);
  return m && m[1] === env ? m[2] : undefined;
}

export function nextGenerationNumber(existing: number[]): number {
  return existing.length ? Math.max(...existing) + 1 : 1;
}

export function sameLinks(a: LinkMap, b: LinkMap): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => b[k] === a[k]);
}

export interface LinkDiff {
  added: Array<{ name: string; build: string }>;
  changed: Array<{ name: string; from: string; to: string }>;
  removed: Array<{ name: string; build: string }>;
}

export function diffLinks(from: LinkMap, to: LinkMap): LinkDiff {
  const diff: LinkDiff = { added: [], changed: [], removed: [] };
  for (const name of Object.keys(to).sort()) {
    if (!(name in from)) diff.added.push({ name, build: to[name] });
    else if (from[name] !== to[name]) diff.changed.push({ name, from: from[name], to: to[name] });
  }
  for (const name of Object.keys(from).sort()) if (!(name in to)) diff.removed.push({ name, build: from[name] });
  return diff;
}

export function isEmptyDiff(d: LinkDiff): boolean {
  return !d.added.length && !d.changed.length && !d.removed.length;
}

/** `3 added, 1 changed, 0 removed` */
export function summarizeDiff(d: LinkDiff): string {
  return `${d.added.length} added, ${d.changed.length} changed, ${d.removed.length} removed`;
}

/** The diff's lines as deploy and rollback print them, in one order: `+` added, `~` changed, `-` removed. */
export function diffLines(d: LinkDiff, indent = '  '): string[] {
  return [
    ...d.added.map((a) => `${indent}+ ${a.name} ${a.build}`),
    ...d.changed.map((c) => `${indent}~ ${c.name} ${c.from} -> ${c.to}`),
    ...d.removed.map((r) => `${indent}- ${r.name} ${r.build}`),
  ];
}

export function formatRef(ref: GenerationRef | undefined): string {
  if (!ref) return '(none)';
  return ref.generation === ADOPTED
    ? `${ref.installation} (adopted)`
    : `${ref.installation}/generations/${ref.generation}`;
}

/**
 * Where `rollback` goes, and whether that is going back (rolled-back builds are then marked bad).
 * `--to N`: generation N of the live installation (back when N is lower; the live one itself: a no-op the
 * caller reports). Otherwise the live generation's
 * parent, the generation it was made from (its manifest says; across installations after a conda upgrade),
 * so a rollback never lands on a generation that was itself rolled back; without a usable parent, the
 * highest generation below the live one.
 */
export function rollbackTarget(
  live: GenerationRef,
  generations: number[],
  parent: GenerationRef | undefined,
  exists: (ref: GenerationRef) => boolean,
  to?: number,
): { target: GenerationRef; backwards: boolean } {
  if (to !== undefined) {
    if (to === live.generation) return { target: live, backwards: false };
    if (!generations.includes(to)) {
      throw new UsageError(`no generation ${to} in ${live.installation} (have: ${generations.join(', ') || 'none'})`);
    }
    return { target: { installation: live.installation, generation: to }, backwards: to < live.generation };
  }
  if (parent && exists(parent)) return { target: parent, backwards: true };
  const older = generations.filter((n) => n < live.generation);
  if (older.length)
    return { target: { installation: live.installation, generation: Math.max(...older) }, backwards: true };
  throw new FailedError(`no generation before ${formatRef(live)} to roll back to`);
}

/**
 * Where `rollback --env NAME` takes NAME's build from: the newest generation below the live one whose NAME
 * differs from the live build, skipping builds that were themselves rolled back (`isBad`) and generations
 * without NAME. So a second `rollback --env NAME` goes further back instead of undoing the first one.
 * Undefined when no earlier generation has another build of NAME.
 */
export function envRollbackSource(
  name: string,
  live: { generation: number; links: LinkMap },
  generations: Array<{ n: number; links: LinkMap }>,
  isBad: (build: string) => boolean,
): { generation: number; build: string } | undefined {
  const older = generations.filter((g) => g.n < live.generation).sort((a, b) => b.n - a.n);
  for (const g of older) {
    const build = g.links[name];
    if (build === undefined || build === live.links[name] || isBad(build)) continue;
    return { generation: g.n, build };
  }
  return undefined;
}
