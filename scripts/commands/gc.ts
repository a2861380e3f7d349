/**
 * gc: remove what no kept generation references. A dry run by default (lists what would go, with sizes);
 * `--yes` removes, under the lock. Never the live or the previous generation, never a build in progress.
 */
import { join } from 'node:path';
import type { Context } from '../cli/command.js';
import { boolOption, stringOption } from '../cli/command.js';
import { EXIT, UsageError } from '../core/errors.js';
import { cleanTemporaries, linkedInstallation, readLive, rollbackTargetOf } from '../state/generation.js';
import { installationName, layout } from '../core/layout.js';
import { waitSeconds, withLock } from '../state/lock.js';
import { applyGc, emptyTrash, gcItems, listInstallations, readInstallation } from '../state/gc.js';
import { DEFAULT_KEEP, buildKey, formatBytes, planGc } from '../core/gc.js';
import type { GcItem } from '../state/gc.js';
import type { GcPlan } from '../core/gc.js';
import { rootWithoutRepo } from './rollback.js';

const DEFAULT_GRACE_HOURS = 24;

function positiveNumber(ctx: Context, name: string, fallback: number, integer: boolean): number {
  const text = stringOption(ctx, name);
  if (text === undefined) return fallback;
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < 0 || (integer && !Number.isInteger(n))) {
    throw new UsageError(`--${name} expects a ${integer ? 'whole ' : ''}number >= 0, got '${text}'`);
  }
  return n;
}

/** Builds the repository at HEAD asks for: kept even when not deployed yet (QA done, merge pending). */
async function wantedByRepo(ctx: Context): Promise<Set<string>> {
  try {
    const { loadRepo } = await import('../repo/repo.js');
    const { desiredState } = await import('../core/desired.js');
    const desired = desiredState(await loadRepo(ctx.repo));
    const inst = installationName(desired.condaVersion);
    return new Set(desired.envs.map((e) => buildKey(inst, e.name, e.buildId)));
  } catch {
    return new Set(); // no repository here: gc works from ROOT alone
  }
}

export function gatherAndPlan(root: string, opts: { keep: number; graceHours: number; protect: Set<string>; now?: number }): GcPlan {
  const lay = layout(root);
  const current = linkedInstallation(lay.current);
  const qa = linkedInstallation(lay.qa);
  const live = readLive(root).ref;
  let previous;
  try { previous = live ? rollbackTargetOf(root, live).target : undefined; } catch { previous = undefined; }
  return planGc({
    installations: listInstallations(root).map((n) => readInstallation(root, n)),
    ...(current ? { current } : {}),
    ...(qa ? { qa } : {}),
    ...(previous ? { previous } : {}),
    keep: opts.keep,
    graceBefore: (opts.now ?? Date.now()) - opts.graceHours * 3600_000,
    protect: opts.protect,
  });
}

function report(ctx: Context, plan: GcPlan, items: GcItem[], removing: boolean): void {
  const total = items.reduce((s, i) => s + i.bytes, 0);
  for (const i of items) ctx.out.info(`  ${removing ? 'removed' : 'would remove'} ${i.kind.padEnd(12)} ${formatBytes(i.bytes).padStart(10)}  ${i.what}`);
  ctx.out.info(
    `gc: ${removing ? 'removed' : 'would remove'} ${items.length} item(s), ${formatBytes(total)}; ` +
      `kept ${plan.keepGenerations.length} generation(s)` +
      (plan.keptRecent ? `, ${plan.keptRecent} unreferenced build(s) younger than the grace period` : '') +
      (removing ? '' : items.length ? ' (dry run: pass --yes to remove)' : ''),
  );
}

export async function run(ctx: Context): Promise<number> {
  const root = await rootWithoutRepo(ctx);
  const keep = positiveNumber(ctx, 'keep', DEFAULT_KEEP, true);
  if (keep < 1) throw new UsageError('--keep must be at least 1');
  const graceHours = positiveNumber(ctx, 'grace', DEFAULT_GRACE_HOURS, false);
  const protect = await wantedByRepo(ctx);
  const opts = { keep, graceHours, protect };

  if (!boolOption(ctx, 'yes')) {
    const plan = gatherAndPlan(root, opts);
    const items = gcItems(root, plan);
    report(ctx, plan, items, false);
    ctx.out.result({ ok: true, dryRun: true, root, ...plan, items });
    return EXIT.OK;
  }
  return withLock(root, { waitSeconds: waitSeconds(stringOption(ctx, 'wait')), command: 'conda-gitops gc --yes' }, async (lock) => {
    await emptyTrash(root);
    cleanTemporaries(root, listInstallations(root).map((n) => join(root, n)));
    const plan = gatherAndPlan(root, opts);
    const items = gcItems(root, plan);
    lock.assertHeld();
    await applyGc(root, items, (i) => ctx.out.progress(`gc: removed ${i.what}`));
    report(ctx, plan, items, true);
    ctx.out.result({ ok: true, dryRun: false, root, ...plan, items });
    return EXIT.OK;
  });
}
