/**
 * `ROOT/.gitops/history.jsonl`: one JSON line per cutover (deploy, rollback), appended with O_APPEND and
 * fsynced. A line torn by a crash is skipped when reading, never fatal.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { dirname } from 'node:path';
import { join } from 'node:path';
import type { GenerationRef, LinkDiff, LinkMap } from './generation.js';
import { diffLinks, formatRef, listGenerations, markBuilds, readGenerationLinks, readLive, readManifest } from './generation.js';
import { layout } from '../core/layout.js';

export const HISTORY_FORMAT = 1;

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
  note?: string;
}

/** Who is acting: the local user and host, plus the CI actor when there is one. */
export function actor(env: NodeJS.ProcessEnv): Pick<HistoryEntry, 'user' | 'host' | 'actor'> {
  let user: string;
  try { user = userInfo().username; } catch { user = env.USER ?? 'unknown'; }
  return { user, host: hostname(), ...(env.GITHUB_ACTOR ? { actor: env.GITHUB_ACTOR } : {}) };
}

export function appendHistory(root: string, entry: HistoryEntry): void {
  const path = layout(root).history;
  mkdirSync(dirname(path), { recursive: true });
  const fd = openSync(path, 'a');
  try {
    // one write(2) of the whole line: concurrent appenders cannot interleave inside it
    writeSync(fd, JSON.stringify(entry) + '\n');
    fsyncSync(fd);
  } finally { closeSync(fd); }
}

/** Every readable entry, oldest first; `skipped` counts torn or foreign lines. */
export function readHistory(root: string): { entries: HistoryEntry[]; skipped: number } {
  let text: string;
  try {
    text = readFileSync(layout(root).history, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { entries: [], skipped: 0 };
    throw e;
  }
  const entries: HistoryEntry[] = [];
  let skipped = 0;
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const e = JSON.parse(line) as HistoryEntry;
      if (e && typeof e === 'object' && e.to && typeof e.to.generation === 'number') entries.push(e);
      else skipped++;
    } catch {
      skipped++;
    }
  }
  return { entries, skipped };
}

function names(list: Array<{ name: string }>, max = 6): string {
  const shown = list.slice(0, max).map((x) => x.name).join(', ');
  return list.length > max ? `${shown}, ... (${list.length})` : shown;
}

/** One line per entry: `2024-05-01 10:22:31  deploy  alice  abc1234  v23.11.0/generations/3 -> .../4  +1 ~2 -0  (hlink, ...)` */
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
  if (e.note) line += `  note: ${e.note}`;
  return line;
}

/**
 * A run killed between its swap and its history line leaves a cutover nobody logged. Called under the lock
 * before each deploy/rollback: when the live generation is not the last entry's `to`, log it now (marked so).
 * When that cutover went back (an older generation, or one a `rollback --env` made), it was a rollback:
 * the builds it took out are marked bad, as the killed rollback would have done.
 */
export function reconcileHistory(root: string, env: NodeJS.ProcessEnv): HistoryEntry | undefined {
  const live = readLive(root);
  if (!live.ref) return undefined;
  const last = readHistory(root).entries.at(-1);
  if (last && last.to.installation === live.ref.installation && last.to.generation === live.ref.generation) return undefined;
  let fromLinks: LinkMap = {};
  if (last) {
    const dir = join(root, last.to.installation);
    if (listGenerations(dir).includes(last.to.generation)) fromLinks = readGenerationLinks(dir, last.to.generation);
  }
  const manifest = readManifest(join(root, live.ref.installation), live.ref.generation);
  const diff = diffLinks(fromLinks, live.links);
  const madeFromLast = !!manifest?.parent && !!last &&
    manifest.parent.installation === last.to.installation && manifest.parent.generation === last.to.generation;
  const wentBack = !!last && (manifest?.reason.startsWith('rollback') === true || (!madeFromLast &&
    (last.to.installation === live.ref.installation ? live.ref.generation < last.to.generation : true)));
  const at = new Date().toISOString();
  if (wentBack && last) {
    const left = [...diff.changed.map((c) => ({ name: c.name, build: c.from })), ...diff.removed];
    markBuilds(root, last.to.installation, left, { at, reason: `rolled back from ${formatRef(last.to)} to ${formatRef(live.ref)}` });
  }
  const entry: HistoryEntry = {
    format: 1,
    at,
    command: `${wentBack ? 'rollback' : manifest?.reason ?? 'cutover'} (recorded after the fact)`,
    ...actor(env),
    ...(manifest?.commit && !wentBack ? { commit: manifest.commit } : {}),
    ...(last ? { from: last.to } : {}),
    to: live.ref,
    ...diff,
    note: 'live generation found without a history line (a run was killed after its swap); `at` is when this was noticed',
  };
  appendHistory(root, entry);
  return entry;
}
