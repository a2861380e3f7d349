/**
 * Rollback marks: `vX/marks.jsonl`, one append-only journal per installation (marks schema). A rollback appends
 * one line per change it makes (`bad`: the builds it took out; `clear`: the builds it brought back), all in one
 * write(2) + fsync: nothing is rewritten in place, so a crash or a full disk leaves the journal as it was or with
 * a torn last line, which readers skip and report (like history.jsonl) and the next append cuts off. The last
 * line naming a build wins, over older lines and over the marks earlier releases wrote (`<build-id>.bad.json`
 * files, `bad` inline in a first-format record), which are still read. gc compacts the journal (new file +
 * fsync + rename) to the marks still in force on builds that still exist.
 */
import {
  closeSync,
  existsSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { buildPaths, installationLayout } from '../core/layout.js';
import type { BuildRecord } from '../core/types.js';
import { checkText, corrupt, parseChecked, readChecked } from './checked.js';
import { faultPoint, writeFileAtomic } from './fsutil.js';

export type BuildMark = { at: string; reason: string };

/** One line of marks.jsonl. */
export interface MarkLine {
  format: 1;
  at: string;
  op: 'bad' | 'clear';
  reason?: string;
  builds: Array<[string, string]>;
}

export interface MarkJournal {
  /** `env/build-id` -> the mark in force, or null when the last line naming it cleared it */
  marks: Map<string, BuildMark | null>;
  lines: number;
  /** a torn last line (a crash mid-append) that was skipped */
  skipped: number;
  path: string;
}

const keyOf = (env: string, id: string) => `${env}/${id}`;

/** Parsed journals by path, reused while the file is the same (append-only + compaction by rename). */
const cache = new Map<string, { stamp: string; journal: MarkJournal }>();

function fold(path: string, text: string): MarkJournal {
  const marks = new Map<string, BuildMark | null>();
  const { lines, skipped } = readJournalText<MarkLine>(path, text, 'marks');
  for (const v of lines) {
    const mark = v.op === 'bad' ? { at: v.at, reason: v.reason ?? '' } : null;
    for (const [env, id] of v.builds) marks.set(keyOf(env, id), mark);
  }
  return { marks, lines: lines.length, skipped, path };
}

/**
 * The lines of an append-only JSON-lines journal, each checked against `schema`, in order. A complete line ends
 * with a newline: the last line without one was cut short by a crash and is skipped (counted), like a last line
 * that does not parse; a bad line before the last one is corruption and throws.
 */
export function readJournalText<T>(
  path: string,
  text: string,
  schema: 'marks' | 'installation-marks',
): { lines: T[]; skipped: number } {
  const all = text.split('\n');
  let last = all.length - 1;
  while (last >= 0 && !all[last]!.trim()) last--;
  const lines: T[] = [];
  let skipped = 0;
  all.forEach((line, i) => {
    if (!line.trim()) return;
    const torn = i === last && !text.endsWith('\n');
    const r = torn ? { why: 'no newline at its end' } : checkText<T>(line, schema);
    if ('why' in r) {
      if (i === last) {
        skipped++;
        return;
      }
      throw corrupt(`${path}:${i + 1}`, schema, r.why);
    }
    lines.push(r.value);
  });
  return { lines, skipped };
}

/** The journal of an installation (empty when it has none); a corrupt line other than the last one throws. */
export function readMarks(root: string, condaVersion: string): MarkJournal {
  const path = installationLayout(root, condaVersion).marks;
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { marks: new Map(), lines: 0, skipped: 0, path };
    throw e;
  }
  const stamp = `${st.ino}:${st.size}:${st.mtimeMs}`;
  const hit = cache.get(path);
  if (hit?.stamp === stamp) return hit.journal;
  const journal = fold(path, readFileSync(path, 'utf8'));
  if (cache.size > 64) cache.clear();
  cache.set(path, { stamp, journal });
  return journal;
}

/** A mark file of the previous format; one that cannot be read still holds the build back. */
export function readMarkFile(path: string): BuildMark | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw e;
  }
  try {
    const m = parseChecked<BuildMark & { format: 1 }>(path, text, 'build-mark');
    return { at: m.at, reason: m.reason };
  } catch {
    return { at: '', reason: `marked bad (mark file ${path} unreadable; remove it to clear the mark)` };
  }
}

/**
 * The mark in force on a build: the journal's last word on it, else a mark file or a record's inline mark of
 * earlier formats. `record` is the build's record when the caller has read it (for the inline mark).
 */
export function markOf(
  root: string,
  condaVersion: string,
  env: string,
  buildId: string,
  record?: Pick<BuildRecord, 'bad'>,
): BuildMark | undefined {
  const j = readMarks(root, condaVersion).marks.get(keyOf(env, buildId));
  if (j !== undefined) return j ?? undefined;
  return readMarkFile(buildPaths(root, condaVersion, env, buildId).mark) ?? record?.bad;
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Append lines in one write(2), then fsync. A torn last line left by a crash is cut off first; a failed write
 * (a full disk) is cut back off too, best effort, so the journal is as it was.
 */
export function appendMarks(root: string, condaVersion: string, lines: MarkLine[]): void {
  appendJournal(installationLayout(root, condaVersion).marks, lines);
}

/** appendMarks for any append-only JSON-lines journal (the installation marks too). */
export function appendJournal(path: string, lines: object[]): void {
  if (!lines.length) return;
  const fd = openSync(path, 'a+');
  let size = 0;
  try {
    size = fstatSync(fd).size;
    if (size > 0) {
      const lastByte = Buffer.alloc(1);
      readSync(fd, lastByte, 0, 1, size - 1);
      if (lastByte[0] !== 0x0a) {
        size = readFileSync(path).lastIndexOf(0x0a) + 1;
        ftruncateSync(fd, size);
      }
    }
    const data = Buffer.from(lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    try {
      faultPoint('mark-write', path, () => writeSync(fd, data.subarray(0, 10)));
      let off = 0;
      while (off < data.length) off += writeSync(fd, data, off);
      fsyncSync(fd);
    } catch (e) {
      try {
        ftruncateSync(fd, size);
      } catch {
        /* the reader skips a torn last line and the next append cuts it off */
      }
      throw e;
    }
  } finally {
    closeSync(fd);
  }
  if (size === 0) fsyncDir(dirname(path)); // a new journal's name is durable too
}

export type MarkChange = { builds: Array<{ name: string; build: string }>; bad: BuildMark | undefined };

/**
 * Set (`bad`) or clear (undefined) the marks of builds, every change in one append. A build gets a line only
 * when its mark changes: setting skips builds already so marked and builds without a record (gc removed them);
 * clearing skips builds without a mark. Returns how many marks each change made. Mark files of the previous
 * format are removed once the journal says they are cleared.
 */
export function updateMarks(root: string, condaVersion: string, changes: MarkChange[]): number[] {
  const journal = readMarks(root, condaVersion);
  const lines: MarkLine[] = [];
  const oldFiles: string[] = [];
  const counts = changes.map(({ builds, bad }) => {
    const picked: Array<[string, string]> = [];
    const seen = new Set<string>();
    for (const b of builds) {
      const key = keyOf(b.name, b.build);
      if (seen.has(key)) continue;
      seen.add(key);
      const paths = buildPaths(root, condaVersion, b.name, b.build);
      const inJournal = journal.marks.get(key);
      let current: BuildMark | undefined;
      if (inJournal !== undefined) current = inJournal ?? undefined;
      else {
        current = readMarkFile(paths.mark);
        if (current) oldFiles.push(paths.mark);
      }
      if (bad) {
        if (current?.reason === bad.reason) continue;
        if (current === undefined && !existsSync(paths.record)) continue;
      } else {
        // a first-format record may carry its mark inline: read only when nothing newer said anything
        if (current === undefined && inJournal === undefined)
          current = readChecked<BuildRecord>(paths.record, 'build-record')?.bad;
        if (current === undefined) continue;
      }
      picked.push([b.name, b.build]);
    }
    if (picked.length) {
      lines.push({
        format: 1,
        at: bad?.at ?? new Date().toISOString(),
        op: bad ? 'bad' : 'clear',
        ...(bad ? { reason: bad.reason } : {}),
        builds: picked,
      });
    }
    return picked.length;
  });
  appendMarks(root, condaVersion, lines);
  for (const f of oldFiles) rmSync(f, { force: true });
  return counts;
}

/**
 * gc: rewrite the journal (temp + fsync + rename) to the marks in force on builds whose record still exists, one
 * line per rollback, plus the clears that still hide a mark of an earlier format. Returns the line counts, or
 * undefined when there is no journal.
 */
export function compactMarks(root: string, condaVersion: string): { before: number; after: number } | undefined {
  const journal = readMarks(root, condaVersion);
  if (!existsSync(journal.path)) return undefined;
  const groups = new Map<string, MarkLine>();
  const clears: Array<[string, string]> = [];
  for (const [key, mark] of journal.marks) {
    const slash = key.indexOf('/');
    const env = key.slice(0, slash);
    const id = key.slice(slash + 1);
    const paths = buildPaths(root, condaVersion, env, id);
    if (!existsSync(paths.record)) continue;
    if (mark === null) {
      const older =
        readMarkFile(paths.mark) ?? readChecked<BuildRecord>(paths.record, 'build-record')?.bad ?? undefined;
      if (older) clears.push([env, id]);
      continue;
    }
    const g = `${mark.at}\n${mark.reason}`;
    let line = groups.get(g);
    if (!line) groups.set(g, (line = { format: 1, at: mark.at, op: 'bad', reason: mark.reason, builds: [] }));
    line.builds.push([env, id]);
  }
  const lines = [...groups.values()].sort((a, b) => a.at.localeCompare(b.at));
  if (clears.length) lines.unshift({ format: 1, at: new Date().toISOString(), op: 'clear', builds: clears });
  writeFileAtomic(journal.path, lines.map((l) => JSON.stringify(l) + '\n').join(''));
  fsyncDir(dirname(journal.path));
  return { before: journal.lines + journal.skipped, after: lines.length };
}

/** Warnings about the mark journals under ROOT (a torn last line), for the commands that read them. */
export function marksWarnings(root: string, condaVersions: string[]): string[] {
  const out: string[] = [];
  for (const v of condaVersions) {
    const j = readMarks(root, v);
    if (j.skipped) {
      out.push(
        `marks: skipped the torn last line of ${j.path} (a write cut short by a crash; the next rollback or ` +
          'deploy cuts it off, and marks the builds again when that rollback left no history line)',
      );
    }
  }
  return out;
}
