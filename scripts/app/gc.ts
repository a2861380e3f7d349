/**
 * The gc use case: remove what no kept generation references (docs/deploy.md). A dry run unless `yes`
 * (lists what would go, with sizes); `yes` removes, under the lock. Never the live or the previous
 * generation, never a build in progress, never a build the repository at HEAD asks for.
 */
import { join } from 'node:path';
import type { Output } from './output.js';
import { rootWithoutRepo, type RootLookup } from './root.js';
import { cleanTemporaries, linkedInstallation, readLive, rollbackTargetOf } from '../state/generation.js';
import { installationName, layout } from '../core/layout.js';
import { withLock } from '../state/lock.js';
import { applyGc, emptyTrash, gcItems, listInstallations, listRuns, readInstallation } from '../state/gc.js';
import { DEFAULT_KEEP_RUNS, DEFAULT_RUNS_GRACE_DAYS, buildKey, formatBytes, planGc } from '../core/gc.js';
import type { GcItem } from '../state/gc.js';
import type { GcPlan } from '../core/gc.js';

/** Unreferenced builds younger than this are kept by default (QA builds of open pull requests). */
export const DEFAULT_GRACE_HOURS = 24;

export interface GcOptions extends RootLookup {
  out: Output;
  /** generations to keep, over all installations (>= 1) */
  keep: number;
  /** keep unreferenced builds younger than this; 0: none */
  graceSeconds: number;
  /** run directories (.gitops/runs/) to keep, newest first (default 20) */
  keepRuns?: number;
  /** keep run directories younger than this (default 14 days); 0: none */
  runsGraceSeconds?: number;
  /** really remove; false: only list what would go */
  yes: boolean;
  /** how long to wait for the lock; 0: BusyError at once */
  waitSeconds: number;
}

export interface GcResult extends GcPlan {
  ok: true;
  dryRun: boolean;
  root: string;
  items: GcItem[];
}

/** Builds the repository at HEAD asks for: kept even when not deployed yet (QA done, merge pending). */
async function wantedByRepo(repoDir: string): Promise<Set<string>> {
  try {
    const { loadRepo } = await import('../repo/repo.js');
    const { desiredState } = await import('../core/desired.js');
    const desired = desiredState(await loadRepo(repoDir));
    const inst = installationName(desired.condaVersion);
    return new Set(desired.envs.map((e) => buildKey(inst, e.name, e.buildId)));
  } catch {
    return new Set(); // no repository here: gc works from ROOT alone
  }
}

/** Read every installation under ROOT and plan what goes. */
function gatherAndPlan(
  root: string,
  opts: {
    keep: number;
    graceSeconds: number;
    protect: Set<string>;
    keepRuns?: number;
    runsGraceSeconds?: number;
    now?: number;
  },
): GcPlan {
  const now = opts.now ?? Date.now();
  const lay = layout(root);
  const current = linkedInstallation(lay.current);
  const qa = linkedInstallation(lay.qa);
  const live = readLive(root).ref;
  let previous;
  try {
    previous = live ? rollbackTargetOf(root, live).target : undefined;
  } catch {
    previous = undefined;
  }
  return planGc({
    installations: listInstallations(root).map((n) => readInstallation(root, n)),
    ...(current ? { current } : {}),
    ...(qa ? { qa } : {}),
    ...(previous ? { previous } : {}),
    keep: opts.keep,
    graceBefore: now - opts.graceSeconds * 1000,
    protect: opts.protect,
    runs: listRuns(root),
    keepRuns: opts.keepRuns ?? DEFAULT_KEEP_RUNS,
    runsGraceBefore: now - (opts.runsGraceSeconds ?? DEFAULT_RUNS_GRACE_DAYS * 86_400) * 1000,
    now,
  });
}

function report(out: Output, plan: GcPlan, items: GcItem[], removing: boolean): void {
  const total = items.reduce((s, i) => s + i.bytes, 0);
  const verb = removing ? 'removed' : 'would remove';
  for (const i of items) out.info(`  ${verb} ${i.kind.padEnd(12)} ${formatBytes(i.bytes).padStart(10)}  ${i.what}`);
  out.info(
    `gc: ${verb} ${items.length} item(s), ${formatBytes(total)}; ` +
      `kept ${plan.keepGenerations.length} generation(s)` +
      (plan.keptRecent ? `, ${plan.keptRecent} unreferenced build(s) younger than the grace period` : '') +
      (plan.keptRuns ? `, ${plan.keptRuns} run dir(s)` : '') +
      (removing ? '' : items.length ? ' (dry run: pass --yes to remove)' : ''),
  );
}

export async function collectGarbage(opts: GcOptions): Promise<GcResult> {
  const { out } = opts;
  const root = await rootWithoutRepo(opts);
  const planOpts = {
    keep: opts.keep,
    graceSeconds: opts.graceSeconds,
    protect: await wantedByRepo(opts.repoDir),
    ...(opts.keepRuns !== undefined ? { keepRuns: opts.keepRuns } : {}),
    ...(opts.runsGraceSeconds !== undefined ? { runsGraceSeconds: opts.runsGraceSeconds } : {}),
  };

  if (!opts.yes) {
    const plan = gatherAndPlan(root, planOpts);
    const items = gcItems(root, plan);
    report(out, plan, items, false);
    return { ok: true, dryRun: true, root, ...plan, items };
  }
  return withLock(root, { waitSeconds: opts.waitSeconds, command: 'conda-gitops gc --yes' }, async (lock) => {
    await emptyTrash(root);
    cleanTemporaries(
      root,
      listInstallations(root).map((n) => join(root, n)),
    );
    const plan = gatherAndPlan(root, planOpts);
    const items = gcItems(root, plan);
    lock.assertHeld();
    await applyGc(root, items, (i) => out.progress(`gc: removed ${i.what}`));
    report(out, plan, items, true);
    return { ok: true, dryRun: false, root, ...plan, items };
  });
}
