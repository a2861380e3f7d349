/** The history use case: the log of cutovers (deploys and rollbacks), oldest first. Needs no repository. */
import type { Output } from './output.js';
import { rootWithoutRepo, type RootLookup } from './root.js';
import { historySkippedWarning, readHistory } from '../state/history.js';
import { adoptedCurrent } from '../state/generation.js';
import { formatHistoryEntry, type HistoryEntry } from '../core/history.js';

export interface HistoryOptions extends RootLookup {
  out: Output;
  /** only the last `limit` entries */
  limit?: number;
}

export interface HistoryResult {
  ok: true;
  root: string;
  entries: HistoryEntry[];
  /** unreadable lines (a write cut short by a crash) */
  skipped: number;
}

export async function cutoverHistory(opts: HistoryOptions): Promise<HistoryResult> {
  const { out, limit } = opts;
  const root = await rootWithoutRepo(opts);
  const { entries, skipped } = readHistory(root);
  const shown = limit !== undefined ? entries.slice(-limit) : entries;
  if (!entries.length) {
    const adopted = adoptedCurrent(root);
    out.info(
      `no cutovers recorded under ${root} yet` +
        (adopted ? ` (ROOT/current is the adopted installation ${adopted}, as it was run by hand)` : ''),
    );
  }
  for (const e of shown) out.info(formatHistoryEntry(e));
  const warning = historySkippedWarning(root, skipped);
  if (warning) out.warn(warning);
  return { ok: true, root, entries: shown, skipped };
}
