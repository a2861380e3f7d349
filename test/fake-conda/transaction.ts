/**
 * Executing a solved transaction: unlink, link (python first), history; with crash points and the legacy-noarch
 * failure.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalName, type ChannelConfig } from './channels.js';
import { atLeast, crashPoint, libmambaCli, type Ctx } from './context.js';
import { CondaError } from './errors.js';
import {
  appendHistory,
  distName,
  linkPackage,
  readRecords,
  registerEnv,
  unlinkPackage,
  verifyRegistry,
  type PrefixRecord,
} from './prefix.js';
import type { Progress } from './progress.js';
import type { IndexedRecord } from './repodata.js';

export interface Transaction {
  prefix: string;
  link: IndexedRecord[];
  unlink: PrefixRecord[];
  /** requested spec per package name (conda-meta requested_spec) */
  requested: Map<string, string>;
  /** specs for the history's `# update specs` line */
  specs: string[];
  /** the prefix is created by this transaction (removed again on rollback) */
  newEnv: boolean;
  /** the command line, for the history's `# cmd` line */
  args: string[];
  /**
   * `conda create`/`env create` on conda >= 4.7 run the pre-link scripts of legacy noarch_python packages before
   * anything is linked, so they find no python and fail (conda/conda#8701); 4.4–4.6 run each just before its
   * package links (fine); `conda install` into an existing env with python links them fine everywhere.
   */
  legacyNoarchFails: boolean;
}

export function execute(ctx: Ctx, cfg: ChannelConfig, progress: Progress, tx: Transaction): PrefixRecord[] {
  const { prefix } = tx;
  verifyRegistry(ctx);
  if (tx.newEnv) {
    mkdirSync(join(prefix, 'conda-meta'), { recursive: true });
    registerEnv(ctx, prefix);
    crashPoint(ctx, 'after-mkdir');
  }
  for (const r of tx.unlink) unlinkPackage(prefix, r);

  const remaining = readRecords(prefix);
  const withPython = [...remaining, ...tx.link].some((r) => r.name === 'python');
  const order = [...tx.link].sort(
    (a, b) => Number(b.name === 'python') - Number(a.name === 'python') || a.name.localeCompare(b.name),
  );
  const linked: PrefixRecord[] = [];
  let half = Math.ceil(order.length / 2);
  for (const rec of order) {
    // libmamba never runs pre-link scripts (mamba-org/mamba libmamba/src/core/link.cpp: run_script is called for
    // post-link only, line 1085 at 2.0.5; "mamba does not support pre-link scripts", line 350): no LinkError, and
    // the package links without the files its script would have moved into place (prefix.ts packageFiles)
    if (tx.legacyNoarchFails && rec.fake_conda_prelink === true && atLeast(ctx, '4.7') && !libmambaCli(ctx)) {
      rollback(tx, linked);
      throw linkError(ctx, progress, cfg, rec, prefix);
    }
    linked.push(linkPackage(ctx, prefix, rec, tx.requested.get(rec.name), withPython));
    if (rec.name === 'python') crashPoint(ctx, 'after-python');
    if (--half === 0) crashPoint(ctx, 'mid-packages');
  }
  appendHistory(ctx, prefix, cfg, tx.args, linked, tx.unlink, tx.specs);
  progress.transaction(true);
  crashPoint(ctx, 'after-packages');
  return linked;
}

function rollback(tx: Transaction, linked: PrefixRecord[]): void {
  if (tx.newEnv) rmSync(tx.prefix, { recursive: true, force: true });
  else for (const r of linked) unlinkPackage(tx.prefix, r);
}

function linkError(ctx: Ctx, progress: Progress, cfg: ChannelConfig, rec: IndexedRecord, prefix: string): CondaError {
  const pkg = `${canonicalName(rec.channel.url, cfg)}::${distName(rec)}`;
  progress.transaction(false);
  ctx.err(`ERROR conda.core.link:_execute(502): An error occurred while installing package '${pkg}'.\n`);
  progress.line('Rolling back transaction: done\n');
  return new CondaError(
    'LinkError',
    `pre-link script failed for package ${pkg}\nlocation of failed script: ${prefix}/bin/.${rec.name}-pre-link.sh\n` +
      `==> script messages <==\n<None>\n==> script output <==\nstdout: \nstderr: \n\nreturn code: 1\n\n()\n`,
  );
}
