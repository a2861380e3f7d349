/**
 * Finding the installation root for the use cases that need no repository (rollback, history, gc): an
 * emergency rollback must not depend on git or on a readable inventory.ini, so the repository is read only
 * when neither --root nor $CONDA_GITOPS_ROOT names the root.
 */
import { resolve } from 'node:path';
import { existingRoot } from '../state/fsutil.js';

export interface RootLookup {
  /** --root DIR */
  rootFlag?: string;
  /** the process environment ($CONDA_GITOPS_ROOT) */
  env: Record<string, string | undefined>;
  /** the repository, read for its [conda] root only as the last resort */
  repoDir: string;
}

/** --root / $CONDA_GITOPS_ROOT first; the repository's [conda] root only when neither is given. */
export async function rootWithoutRepo(opts: RootLookup): Promise<string> {
  if (opts.rootFlag) return existingRoot(resolve(opts.rootFlag), '--root');
  if (opts.env.CONDA_GITOPS_ROOT) return existingRoot(resolve(opts.env.CONDA_GITOPS_ROOT), 'CONDA_GITOPS_ROOT');
  // repo.ts pulls in the spec checker (rattler, ~150 ms to load): only when the root must come from inventory.ini
  const { loadRepo, resolveRoot } = await import('../repo/repo.js');
  return resolveRoot({ options: {}, env: opts.env }, (await loadRepo(opts.repoDir)).inventory);
}
