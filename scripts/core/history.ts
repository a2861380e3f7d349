/**
 * The cutover history, the pure half: the entry format and how an entry reads. The file
 * (`ROOT/.gitops/history.jsonl`, appended and fsynced) is state/history.ts.
 */
import type { GenerationRef, LinkDiff } from './generation.js';
import { formatRef } from './generation.js';

function names(list: Array<{ name: string }>, max = 6): string {
  const shown = list
    .slice(0, max)
    .map((x) => x.name)
    .join(', ');
  return list.length > max ? `${shown}, ... (${list.length})` : shown;
}

/**
 * One line per entry:
 * `2024-05-01 10:22:31  deploy  alice  abc1234  v23.11.0/generations/3 -> .../4  +1 ~2 -0  (hlink, ...)`
 */
export function formatHistoryEntry(e: HistoryEntry): string {
  const when = e.at.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  const who = e.actor && e.actor !== e.user ? `${e.actor} (${e.user}@${e.host})` : `${e.user}@${e.host}`;
  const to = e.from && e.from.installation === e.to.installation ? String(e.to.generation) : formatRef(e.to);
  const parts = [
    when,
    e.command,
    who,
    e.commit ? e.commit.slice(0, 10) : '-',
    `${formatRef(e.from)} -> ${to}`,
    `+${e.added.length} ~${e.changed.length} -${e.removed.length}`,
  ];
  const touched = [...e.added, ...e.changed, ...e.removed];
  let line = parts.join('  ');
  if (touched.length) line += `  (${names(touched)})`;
  const k = e.kernels;
  if (k && k.added.length + k.removed.length + k.changed.length)
    line += `  kernels +${k.added.length} ~${k.changed.length} -${k.removed.length}`;
  if (e.note) line += `  note: ${e.note}`;
  return line;
}

export interface HistoryEntry {
  format: 1;
  at: string;
  /** `deploy`, `deploy --force`, `rollback`, `rollback --env NAME`, `rollback --to N` */
  command: string;
  user: string;
  host: string;
  /** who triggered it in CI ($GITHUB_ACTOR), when set */
  actor?: string;
  /** repository commit deployed (deploy only) */
  commit?: string;
  from?: GenerationRef;
  to: GenerationRef;
  added: LinkDiff['added'];
  changed: LinkDiff['changed'];
  removed: LinkDiff['removed'];
  /** kernelspecs this cutover wrote or removed (a kernel-only deploy has no link changes) */
  kernels?: { added: string[]; removed: string[]; changed: string[] };
  note?: string;
}
