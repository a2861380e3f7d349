/** status: the live generation against the repository; exit 1 on drift (so CI can gate on it). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Context } from '../cli/command.js';
import { EXIT } from '../core/errors.js';
import { loadRepo, resolveRoot } from '../repo/repo.js';
import { desiredState } from '../core/desired.js';
import { readLive } from '../state/generation.js';
import { readHistory } from '../state/history.js';
import { managedKernels } from '../state/kernel.js';
import { installationName, layout } from '../core/layout.js';
import { readBuildRecord } from '../state/record.js';
import { computeStatus, renderStatus } from '../core/status.js';
import { readHistoryStamp } from '../state/history.js';
import type { StampedBuildRecord } from '../core/types.js';

export async function run(ctx: Context): Promise<number> {
  const repo = await loadRepo(ctx.repo);
  for (const w of repo.warnings) ctx.out.warn(`${w.file}:${w.line}: warning: ${w.message}`);
  const root = resolveRoot(ctx, repo.inventory);
  const desired = desiredState(repo);
  const live = readLive(root);
  // build ids differ between installations, so look in the desired one and in the live one
  const versions = [...new Set([desired.condaVersion, ...(live.ref ? [live.ref.installation.replace(/^v/, '')] : [])])];
  const lookup = (env: string, id: string): StampedBuildRecord | undefined => {
    for (const v of versions) {
      const rec = readBuildRecord(root, v, env, id);
      if (rec) return rec;
    }
    return undefined;
  };
  const kernelFiles = new Map<string, string>();
  for (const k of managedKernels(root)) kernelFiles.set(k, readFileSync(join(layout(root).kernels, k, 'kernel.json'), 'utf8'));
  const report = computeStatus({
    root,
    desired,
    installation: installationName(desired.condaVersion),
    live,
    lookup,
    stampOf: (env, id) => readHistoryStamp(join(root, live.ref!.installation, 'builds', env, id)),
    kernelFiles,
    ...(() => { const last = readHistory(root).entries.at(-1); return last ? { lastCutover: last } : {}; })(),
  });
  for (const line of renderStatus(report)) ctx.out.info(line);
  ctx.out.result({ ok: !report.drift, root, ...report });
  return report.drift ? EXIT.FAILED : EXIT.OK;
}
