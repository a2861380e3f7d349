/**
 * The gc use case: remove what no kept generation references (docs/deploy.md). A dry run unless `yes`
 * (lists what would go, with sizes); `yes` removes, under the lock. Never the live or the previous
 * generation, never a build in progress, never a build the repository at HEAD asks for. Installations go by
 * retention only (`keepInstallations`, ranked by when the history says they were last live), and each one's
 * verdict is printed: kept and why, or retired.
 */
import { existsSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import { FailedError, UsageError } from '../core/errors.js';
import type { Output } from './output.js';
import { rootWithoutRepo, type RootLookup } from './root.js';
import { cleanTemporaries, linkedInstallation, readLive, rollbackTargetOf, versionOf } from '../state/generation.js';
import { compactMarks } from '../state/marks.js';
import { installationName, layout } from '../core/layout.js';
import { withLock } from '../state/lock.js';
import { applyGc, emptyTrash, gcItems, listInstallations, listRuns, readInstallation } from '../state/gc.js';
import { readHistory } from '../state/history.js';
import {
  DEFAULT_KEEP_INSTALLATIONS,
  DEFAULT_KEEP_RUNS,
  DEFAULT_RUNS_GRACE_DAYS,
  buildKey,
  formatBytes,
  lastLiveFromHistory,
  planGc,
} from '../core/gc.js';
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
  /** installations to remove now: ones conda-gitops did not install (the adopted hand-run one), or within retention */
  retire?: string[];
  /** installations kept by retention, most recently live first (default 2; >= 1) */
  keepInstallations?: number;
}

export interface GcResult extends GcPlan {
  ok: true;
  dryRun: boolean;
  root: string;
  items: GcItem[];
}

/**
 * Builds the repository at HEAD asks for, and its installation: kept even when not deployed yet (QA done,
 * merge pending).
 */
async function wantedByRepo(repoDir: string): Promise<{ builds: Set<string>; installations: Set<string> }> {
  // no repository here: gc works from ROOT alone. A repository that is there but broken is an error (exit 2):
  // gc must not remove the builds it would ask for because it could not read it.
  if (!existsSync(join(repoDir, 'inventory.ini'))) return { builds: new Set(), installations: new Set() };
  const { loadRepo } = await import('../repo/repo.js');
  const { desiredState } = await import('../core/desired.js');
  const desired = desiredState(await loadRepo(repoDir));
  const inst = installationName(desired.condaVersion);
  return {
    builds: new Set(desired.envs.map((e) => buildKey(inst, e.name, e.buildId))),
    installations: new Set([inst]),
  };
}

/** Read every installation under ROOT and plan what goes. */
function gatherAndPlan(
  root: string,
  opts: {
    keep: number;
    graceSeconds: number;
    protect: Set<string>;
    protectInstallations: Set<string>;
    retire: Set<string>;
    keepInstallations: number;
    keepRuns?: number;
    runsGraceSeconds?: number;
    now?: number;
  },
  warn: (text: string) => void,
): GcPlan {
  const now = opts.now ?? Date.now();
  const lay = layout(root);
  const current = linkedInstallation(lay.current);
  const qa = linkedInstallation(lay.qa);
  const live = readLive(root).ref;
  let previous;
  try {
    previous = live ? rollbackTargetOf(root, live).target : undefined;
  } catch (e) {
    if (!(e instanceof FailedError)) throw e; // no generation before the live one: nothing to protect
    previous = undefined;
  }
  const installations = listInstallations(root).map((n) => readInstallation(root, n, warn));
  for (const name of opts.retire) {
    if (!installations.some((i) => i.name === name))
      throw new UsageError(`--retire ${name}: no installation ${join(root, name)} (a real directory named v<version>)`);
  }
  const plan = planGc({
    installations,
    ...(current ? { current } : {}),
    ...(qa ? { qa } : {}),
    ...(previous ? { previous } : {}),
    keep: opts.keep,
    graceBefore: now - opts.graceSeconds * 1000,
    protect: opts.protect,
    protectInstallations: opts.protectInstallations,
    retire: opts.retire,
    keepInstallations: opts.keepInstallations,
    lastLive: lastLiveFromHistory(readHistory(root).entries),
    runs: listRuns(root),
    keepRuns: opts.keepRuns ?? DEFAULT_KEEP_RUNS,
    runsGraceBefore: now - (opts.runsGraceSeconds ?? DEFAULT_RUNS_GRACE_DAYS * 86_400) * 1000,
    now,
  });
  for (const name of opts.retire) {
    const v = plan.installations.find((i) => i.name === name);
    if (v && v.verdict !== 'retire')
      throw new UsageError(`--retire ${name}: the installation is still in use: ${v.reason}; nothing was removed`);
  }
  return plan;
}

/** gc works only on an installation root this tool manages: a wrong --root must never lose a directory. */
function refuseUnmanagedRoot(root: string): void {
  const gitops = layout(root).gitops;
  let ok = false;
  try {
    const st = lstatSync(gitops);
    ok = st.isDirectory() && !st.isSymbolicLink();
  } catch {
    ok = false;
  }
  if (!ok)
    throw new UsageError(
      `${root} is not an installation managed by conda-gitops (no .gitops/): gc refuses to look at it. ` +
        'Check --root / $CONDA_GITOPS_ROOT / [conda] root; nothing was removed.',
    );
}

function report(out: Output, plan: GcPlan, items: GcItem[], removing: boolean): void {
  const total = items.reduce((s, i) => s + i.bytes, 0);
  const verb = removing ? 'removed' : 'would remove';
  for (const i of items) out.info(`  ${verb} ${i.kind.padEnd(12)} ${formatBytes(i.bytes).padStart(10)}  ${i.what}`);
  // every installation, newest first: kept and why, or retired (the same in the dry run)
  for (const v of plan.installations) {
    const verdict = v.verdict === 'keep' ? 'kept' : removing ? 'retired' : 'would retire';
    out.info(`gc: ${v.name}: ${verdict}, ${v.reason}`);
  }
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
  refuseUnmanagedRoot(root);
  const wanted = await wantedByRepo(opts.repoDir);
  const planOpts = {
    keep: opts.keep,
    graceSeconds: opts.graceSeconds,
    protect: wanted.builds,
    protectInstallations: wanted.installations,
    retire: new Set(opts.retire ?? []),
    keepInstallations: opts.keepInstallations ?? DEFAULT_KEEP_INSTALLATIONS,
    ...(opts.keepRuns !== undefined ? { keepRuns: opts.keepRuns } : {}),
    ...(opts.runsGraceSeconds !== undefined ? { runsGraceSeconds: opts.runsGraceSeconds } : {}),
  };
  const warn = (text: string) => out.warn(`gc: ${text}`);

  if (!opts.yes) {
    const plan = gatherAndPlan(root, planOpts, warn);
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
    const plan = gatherAndPlan(root, planOpts, warn);
    const items = gcItems(root, plan);
    let done = 0;
    await applyGc(root, items, {
      // progress as a count: each removal is listed once, with its size, by report() below
      onItem: () => out.progress(`gc: ${++done}/${items.length} removed`),
      assertHeld: () => lock.assertHeld(),
      warn,
    });
    // the marks journals keep only the marks in force on builds that are left (a new file, renamed into place)
    for (const name of listInstallations(root)) {
      const c = compactMarks(root, versionOf(name));
      if (c && c.after < c.before) out.info(`gc: compacted ${name}/marks.jsonl (${c.before} -> ${c.after} lines)`);
    }
    report(out, plan, items, true);
    return { ok: true, dryRun: false, root, ...plan, items };
  });
}
