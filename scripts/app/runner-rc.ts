/**
 * rc files outside the installation that builds read (`status`, `validate --runner`): a build has a private home
 * (core/hermetic.ts), so the runner user's `~/.condarc`, `~/.config/conda/…` and `$XDG_CONFIG_HOME/conda/…` never
 * reach it; conda's system directories `/etc/conda` and `/var/lib/conda` do, on every version, unless the build runs
 * in the bubblewrap sandbox (which hides them).
 */
import { join } from 'node:path';
import { installationLayout } from '../core/layout.js';
import { systemRcLeakWarning } from '../core/hermetic.js';
import type { Inventory } from '../core/types.js';
import { runnerRcFiles } from '../engine/channel-index.js';
import type { Output } from './output.js';
import type { Context } from './context.js';
import { resolveRoot } from '../repo/repo.js';

/**
 * Warn about each file (out.warn) and return them. micromamba is not conda: it reads `$CONDARC` only (the
 * installation's), so it has none. `sysconfdir` stands for `/etc` (tests).
 */
export function warnRunnerRcFiles(
  root: string,
  inventory: Pick<Inventory, 'conda'>,
  out: Output,
  sysconfdir = '/etc',
): string[] {
  if (inventory.conda.frontend === 'micromamba') return [];
  const dir = installationLayout(root, inventory.conda.version).dir;
  const files = runnerRcFiles(dir, sysconfdir);
  for (const f of files) out.warn(systemRcLeakWarning(f, inventory.conda.version, join(dir, '.condarc')));
  return files;
}

/** `validate --runner`: the runner's environment as builds would see it. */
export function runnerCheck(ctx: Context, inventory: Inventory): { root: string; rcFiles: string[] } {
  const root = resolveRoot(ctx, inventory, { mustExist: false });
  return { root, rcFiles: warnRunnerRcFiles(root, inventory, ctx.out) };
}
