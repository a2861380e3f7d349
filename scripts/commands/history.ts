/** history: the log of cutovers (deploys and rollbacks), oldest first. */
import type { Context } from '../cli/command.js';
import { stringOption } from '../cli/command.js';
import { EXIT, UsageError } from '../core/errors.js';
import { readHistory } from '../state/history.js';
import { formatHistoryEntry } from '../core/history.js';
import { rootWithoutRepo } from './rollback.js';

export async function run(ctx: Context): Promise<number> {
  const root = await rootWithoutRepo(ctx);
  const limitText = stringOption(ctx, 'limit');
  const limit = limitText === undefined ? undefined : Number(limitText);
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) throw new UsageError(`--limit expects a positive number, got '${limitText}'`);
  const { entries, skipped } = readHistory(root);
  const shown = limit !== undefined ? entries.slice(-limit) : entries;
  if (!entries.length) ctx.out.info(`no cutovers recorded under ${root} yet`);
  for (const e of shown) ctx.out.info(formatHistoryEntry(e));
  if (skipped) ctx.out.warn(`history: skipped ${skipped} unreadable line(s) (a write cut short by a crash)`);
  ctx.out.result({ ok: true, root, entries: shown, skipped });
  return EXIT.OK;
}
