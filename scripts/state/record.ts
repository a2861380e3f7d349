/** Build records: `builds/NAME/<build-id>.json` beside each build prefix, and rollback marks `<build-id>.bad.json`. */
import { readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import type { BuildRecord } from '../core/types.js';
import { buildPaths, installationLayout } from '../core/layout.js';
import { markInstallation } from './marker.js';
import { faultPoint, writeFileAtomic, writeJsonAtomic } from './fsutil.js';
import { redact } from '../core/redact.js';
import { ownerGone } from './lock.js';
import { parseChecked, readChecked, schemaProblem } from './checked.js';

export type BuildMark = { at: string; reason: string };

/** The mark file's content; a mark that cannot be read still holds the build back (its existence is the mark). */
function readMark(path: string): BuildMark | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
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
 * The checked record (CorruptStateError naming the file when it does not match build-record.schema.json), with
 * its rollback mark as `bad` (from `<build-id>.bad.json`; records of the first format may carry it inline).
 */
export function readBuildRecord(
  root: string,
  condaVersion: string,
  env: string,
  buildId: string,
): BuildRecord | undefined {
  const paths = buildPaths(root, condaVersion, env, buildId);
  const record = readChecked<BuildRecord>(paths.record, 'build-record');
  if (!record) return undefined;
  const mark = readMark(paths.mark);
  return mark ? { ...record, bad: mark } : record;
}

export function writeBuildRecord(root: string, record: BuildRecord): void {
  const why = schemaProblem(record, 'build-record');
  if (why) throw new Error(`refusing to write an invalid build record for ${record.env} ${record.buildId}: ${why}`);
  markInstallation(installationLayout(root, record.condaVersion).dir);
  // a failure's excerpt is program output: it passes the redactor like every text we write
  const path = buildPaths(root, record.condaVersion, record.env, record.buildId).record;
  writeFileAtomic(path, redact(JSON.stringify(record, null, 2) + '\n'));
}

/**
 * Set or clear the rollback mark of one build; false when nothing changed (or there is no record). Setting writes
 * `<build-id>.bad.json` whole (temp file + rename onto a new name: a crash or a full disk leaves no mark or the
 * whole mark, never a cut record). Not fsynced: a mark lost in a power cut only means main could redeploy that
 * build, and renaming onto a new name does not make ext4 flush (1,000 marks stay fast: test/bench/deploy.bench.ts).
 * Clearing removes the file, and rewrites (temp + fsync + rename) a first-format record that has the mark inline.
 */
export function setBuildMark(root: string, condaVersion: string, env: string, buildId: string, bad?: BuildMark) {
  const paths = buildPaths(root, condaVersion, env, buildId);
  const mark = readMark(paths.mark);
  if (bad) {
    if (mark?.reason === bad.reason) return false;
    // no record, no build to mark (gc removed it); a first-format record may carry this very mark inline
    const record = readChecked<BuildRecord>(paths.record, 'build-record');
    if (!record || (!mark && record.bad?.reason === bad.reason)) return false;
    const tmp = join(dirname(paths.mark), `.${basename(paths.mark)}.${process.pid}.tmp`);
    try {
      const text = JSON.stringify({ format: 1, ...bad }) + '\n';
      faultPoint('mark-write', tmp, () => writeFileSync(tmp, text.slice(0, 10)));
      writeFileSync(tmp, text);
      renameSync(tmp, paths.mark);
    } catch (e) {
      rmSync(tmp, { force: true });
      throw e;
    }
    return true;
  }
  if (mark) unlinkSync(paths.mark);
  const record = readChecked<BuildRecord>(paths.record, 'build-record');
  if (record?.bad) {
    const { bad: _old, ...rest } = record;
    writeJsonAtomic(paths.record, rest);
    return true;
  }
  return mark !== undefined;
}

/** True when a `building` record's owner process is gone (crash, kill -9): its half-built prefix can be cleaned. */
export function isOrphaned(record: BuildRecord): boolean {
  if (record.status !== 'building' || !record.owner) return false;
  return ownerGone(record.owner);
}
