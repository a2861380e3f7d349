/**
 * rc files of the runner user that would leak into builds (`status`, `validate --runner`): conda < 24.9 reads
 * them even with CONDARC set to the installation's .condarc.
 */
import { join } from 'node:path';
import { installationLayout } from '../core/layout.js';
import { rcLeakWarning } from '../core/channel-index.js';
import type { Inventory } from '../core/types.js';
import { runnerRcFiles } from '../engine/channel-index.js';
import type { Output } from './output.js';
import type { Context } from './context.js';
import { resolveRoot } from '../repo/repo.js';

/** Warn about each file (out.warn) and return them. micromamba is not conda: its rc files are not checked. */
export function warnRunnerRcFiles(
  root: string,
  inventory: Pick<Inventory, 'conda'>,
  env: Record<string, string | undefined>,
  out: Output,
): string[] {
  if (inventory.conda.frontend === 'micromamba') return [];
  const dir = installationLayout(root, inventory.conda.version).dir;
  const files = runnerRcFiles(dir, env, inventory.conda.version);
  for (const f of files) out.warn(rcLeakWarning(f, inventory.conda.version, join(dir, '.condarc')));
  return files;
}

/** `validate --runner`: the runner user's environment as builds would see it. */
export function runnerCheck(ctx: Context, inventory: Inventory): { root: string; rcFiles: string[] } {
  const root = resolveRoot(ctx, inventory, { mustExist: false });
  return { root, rcFiles: warnRunnerRcFiles(root, inventory, ctx.env, ctx.out) };
}
