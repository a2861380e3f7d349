/**
 * `ROOT/.gitops/history.jsonl`: one JSON line per cutover (deploy, rollback), appended with O_APPEND and
 * fsynced. A last line torn by a crash is skipped (and reported) when reading, never fatal.
 */
import { installationMarkOf, markInstallationBad } from './installation-marks.js';
import {
  closeSync,
  fstatSync,
  ftruncateSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  statSync,
  writeSync,
} from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import type { LinkMap } from '../core/generation.js';
import {
  adoptedCurrent,
  listGenerations,
  markBuilds,
  readGenerationLinks,
  readLive,
  readManifest,
  servedLinks,
} from './generation.js';
import { ADOPTED, diffLinks, formatRef } from '../core/generation.js';
import { layout } from '../core/layout.js';
import type { HistoryEntry } from '../core/history.js';
import type { HistoryStamp } from '../core/types.js';
import { checkText, corrupt } from './checked.js';

/** Who is acting: the local user and host, plus the CI actor when there is one. */
export function actor(env: NodeJS.ProcessEnv): Pick<HistoryEntry, 'user' | 'host' | 'actor'> {
  let user: string;
  try {
    user = userInfo().username;
  } catch {
    user = env.USER ?? 'unknown';
  }
  return { user, host: hostname(), ...(env.GITHUB_ACTOR ? { actor: env.GITHUB_ACTOR } : {}) };
}

export function appendHistory(root: string, entry: HistoryEntry): void {
  const path = layout(root).history;
  mkdirSync(dirname(path), { recursive: true });
  const fd = openSync(path, 'a+');
  try {
    // a last line torn by a crash (no newline at its end: readHistory skipped and reported it) is cut off, so
    // this entry starts a line of its own and the torn one does not become a corrupt line in the middle
    const size = fstatSync(fd).size;
    if (size > 0) {
      const lastByte = Buffer.alloc(1);
      readSync(fd, lastByte, 0, 1, size - 1);
      if (lastByte[0] !== 0x0a) ftruncateSync(fd, readFileSync(path).lastIndexOf(0x0a) + 1);
    }
    // one write(2) of the whole line: concurrent appenders cannot interleave inside it
    writeSync(fd, JSON.stringify(entry) + '\n');
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Every entry, oldest first, each checked against history.schema.json. A torn LAST line (a crash mid-append:
 * no newline at its end, or text that does not parse) is skipped and counted in `skipped`; any other line that
 * does not match is a CorruptStateError naming the file and line.
 */
export function readHistory(root: string): { entries: HistoryEntry[]; skipped: number } {
  const path = layout(root).history;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { entries: [], skipped: 0 };
    throw e;
  }
  const entries: HistoryEntry[] = [];
  let skipped = 0;
  const lines = text.split('\n');
  // the index of the last non-empty line: the only one a crash mid-append can have torn
  let last = lines.length - 1;
  while (last >= 0 && !lines[last]!.trim()) last--;
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    const r = checkText<HistoryEntry>(line, 'history');
    if ('value' in r) entries.push(r.value);
    else if (i === last) skipped++;
    else {
      const remedy = 'fix or delete that line, or move the file aside (it is a log: the generations are the state)';
      throw corrupt(`${path}:${i + 1}`, 'history', r.why, remedy);
    }
  });
  return { entries, skipped };
}

/** The warning about skipped lines of history.jsonl (a torn last line), for the commands that read it. */
export function historySkippedWarning(root: string, skipped: number): string | undefined {
  if (!skipped) return undefined;
  return (
    `history: skipped ${skipped} unreadable line(s) at the end of ${layout(root).history} (a write cut short by a ` +
    'crash; the next cutover cuts it off)'
  );
}

/**
 * A run killed between its swap and its history line leaves a cutover nobody logged. Called under the lock
 * before each deploy/rollback: when the live generation is not the last entry's `to`, log it now (marked so).
 * When that cutover went back (an older generation, or one a `rollback --env` made), it was a rollback:
 * the builds it took out are marked bad, as the killed rollback would have done.
 */
export function reconcileHistory(root: string, env: NodeJS.ProcessEnv): HistoryEntry | undefined {
  const managed = readLive(root);
  // nothing deployed live: `current` may be back on the adopted installation (a killed rollback --installation)
  const adopted = managed.ref ? undefined : adoptedCurrent(root);
  const ref = managed.ref ?? (adopted ? { installation: adopted, generation: ADOPTED } : undefined);
  if (!ref) return undefined;
  const live = { ref, links: managed.ref ? managed.links : (servedLinks(root, ref) ?? {}) };
  const last = readHistory(root).entries.at(-1);
  if (!last && !managed.ref) return undefined; // an adopted installation nothing was ever deployed from
  if (last && last.to.installation === live.ref.installation && last.to.generation === live.ref.generation)
    return undefined;
  let fromLinks: LinkMap = {};
  if (last) {
    const dir = join(root, last.to.installation);
    if (listGenerations(dir).includes(last.to.generation)) fromLinks = readGenerationLinks(dir, last.to.generation);
  }
  const manifest = managed.ref ? readManifest(join(root, live.ref.installation), live.ref.generation) : undefined;
  const diff = diffLinks(fromLinks, live.links);
  const madeFromLast =
    !!manifest?.parent &&
    !!last &&
    manifest.parent.installation === last.to.installation &&
    manifest.parent.generation === last.to.generation;
  const wentBack =
    !!last &&
    (manifest?.reason.startsWith('rollback') === true ||
      (!madeFromLast &&
        (last.to.installation === live.ref.installation ? live.ref.generation < last.to.generation : true)));
  const at = new Date().toISOString();
  if (wentBack && last && last.to.installation !== live.ref.installation) {
    // a killed installation rollback: the installation it left is marked, as the rollback would have
    if (!installationMarkOf(root, last.to.installation)) {
      markInstallationBad(root, {
        installation: last.to.installation,
        at,
        reason: `rolled back from ${formatRef(last.to)} to ${formatRef(live.ref)}`,
        generation: last.to.generation,
        links: fromLinks,
      });
    }
  } else if (wentBack && last) {
    const left = [...diff.changed.map((c) => ({ name: c.name, build: c.from })), ...diff.removed];
    markBuilds(root, last.to.installation, left, {
      at,
      reason: `rolled back from ${formatRef(last.to)} to ${formatRef(live.ref)}`,
    });
  }
  const entry: HistoryEntry = {
    format: 1,
    at,
    command: `${wentBack ? 'rollback' : (manifest?.reason ?? 'cutover')} (recorded after the fact)`,
    ...actor(env),
    ...(manifest?.commit && !wentBack ? { commit: manifest.commit } : {}),
    ...(last ? { from: last.to } : {}),
    to: live.ref,
    ...diff,
    note:
      'live generation found without a history line (a run was killed after its swap); ' +
      '`at` is when this was noticed',
  };
  appendHistory(root, entry);
  return entry;
}

/** Size + mtime of `PREFIX/conda-meta/history`, or undefined when there is none. */
export function readHistoryStamp(prefix: string): HistoryStamp | undefined {
  try {
    const st = statSync(join(prefix, 'conda-meta', 'history'));
    return { mtimeMs: st.mtimeMs, size: st.size };
  } catch {
    return undefined;
  }
}
