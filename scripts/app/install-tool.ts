/**
 * The install-tool use case: copy the running tool into ROOT/tools and point ROOT/tools/bin/conda-gitops at it
 * (state/tools.ts). deploy.yml runs it from main before deploying, so every job on the shared runner (QA of pull
 * requests included) runs main's tool, never a pull request's.
 */
import type { Output } from './output.js';
import { rootWithoutRepo, type RootLookup } from './root.js';
import { withLock } from '../state/lock.js';
import { installTool, projectDir, type ToolInstall } from '../state/tools.js';

export interface InstallToolOptions extends RootLookup {
  out: Output;
  /** the node executable the launcher runs (this process's) */
  node: string;
  waitSeconds: number;
}

export async function installToolIntoRoot(opts: InstallToolOptions): Promise<ToolInstall & { ok: true; root: string }> {
  const root = await rootWithoutRepo(opts);
  const project = projectDir();
  const done = await withLock(root, { waitSeconds: opts.waitSeconds, command: 'conda-gitops install-tool' }, async () =>
    installTool(root, { project, node: opts.node }),
  );
  opts.out.info(
    `install-tool: ${done.copied ? 'installed' : 'already installed:'} ${done.dir}; ` +
      `${done.launcher} runs it` +
      (done.pruned.length ? `; removed older ${done.pruned.join(', ')}` : ''),
  );
  return { ok: true, root, ...done };
}
