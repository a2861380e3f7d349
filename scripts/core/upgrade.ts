/**
 * Which way a pull request moves conda (docs/qa.md, "A head older than main's conda: rebase on main"). Pure.
 *
 * conda only moves forward through pull requests: a head whose `[conda] version` is older than the base commit's
 * (a downgrade, or a branch cut before main's conda upgrade and compared with main's tip) or than the live
 * installation's (ROOT/current: main's upgrade already deployed) is refused, never planned as a "conda upgrade"
 * that would replicate every env into the older installation. Versions compare in conda's order
 * (core/conda-version.ts), and only within one version line: `[conda] version` is conda's own for conda and mamba,
 * micromamba's for micromamba, so a move between conda and micromamba is neither older nor newer.
 */
import { compareCondaVersions } from './conda-version.js';
import type { Frontend } from './types.js';

export type VersionLine = 'conda' | 'micromamba';

/** The line `[conda] version` belongs to for a frontend. */
export function versionLine(frontend: Frontend): VersionLine {
  return frontend === 'micromamba' ? 'micromamba' : 'conda';
}

/** A conda version as an inventory names it or an installation on disk has it (line unknown: not comparable). */
export interface CondaAt {
  version: string;
  line?: VersionLine;
}

/** `a` is older than `b`: both in the same, known line and `a` sorts before `b` in conda's version order. */
export function isOlderInstallation(a: CondaAt, b: CondaAt): boolean {
  return a.line !== undefined && a.line === b.line && compareCondaVersions(a.version, b.version) < 0;
}

/**
 * Why a head's conda may not be built, or undefined when it may: older than the base commit's, or than the live
 * installation's. `where`, when given, is the inventory line the message starts with (`inventory.ini:2`).
 */
export function olderCondaRefusal(o: {
  head: CondaAt;
  base?: CondaAt;
  live?: CondaAt;
  where?: string;
}): string | undefined {
  const than =
    o.base && isOlderInstallation(o.head, o.base)
      ? `${o.base.version} (the base commit's)`
      : o.live && isOlderInstallation(o.head, o.live)
        ? `${o.live.version} (the live installation, ROOT/current)`
        : undefined;
  if (!than) return undefined;
  const at = o.where ? `${o.where}: ` : '';
  return (
    `${at}[conda] version ${o.head.version} is older than ${than}: a pull request never takes conda back, ` +
    'and nothing was built. A branch cut before main upgraded conda: rebase on main (git rebase origin/main) and ' +
    "push again. Going back to an older installation is an admin's `conda-gitops rollback --installation`."
  );
}
