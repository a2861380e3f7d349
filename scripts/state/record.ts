/** Build records: `builds/NAME/<build-id>.json` beside each build prefix (rollback marks: state/marks.ts). */
import { statSync } from 'node:fs';
import type { BuildRecord } from '../core/types.js';
import { buildPaths, installationLayout } from '../core/layout.js';
import { markInstallation } from './marker.js';
import { writeFileAtomic } from './fsutil.js';
import { markOf } from './marks.js';
import { redact } from '../core/redact.js';
import { ownerGone } from './lock.js';
import { readChecked, schemaProblem } from './checked.js';

export type { BuildMark } from './marks.js';

/** Checked records by path, reused while the file is the same one (records are only ever replaced by rename). */
const recordCache = new Map<string, { stamp: string; record: BuildRecord }>();

/** A record file as stored (checked; an inline mark of the first format left in), undefined when absent. */
export function readRecordFile(path: string): BuildRecord | undefined {
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw e;
  }
  const stamp = `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
  const hit = recordCache.get(path);
  if (hit?.stamp === stamp) return hit.record;
  const record = readChecked<BuildRecord>(path, 'build-record');
  if (!record) return undefined;
  if (recordCache.size > 50_000) recordCache.clear();
  recordCache.set(path, { stamp, record });
  return record;
}

/**
 * The checked record (CorruptStateError naming the file when it does not match build-record.schema.json), with
 * the rollback mark in force as `bad` (state/marks.ts: the installation's marks.jsonl, else a `<build-id>.bad.json`
 * or an inline mark of earlier formats). Each record file is parsed once per process while it is unchanged.
 */
export function readBuildRecord(
  root: string,
  condaVersion: string,
  env: string,
  buildId: string,
): BuildRecord | undefined {
  const paths = buildPaths(root, condaVersion, env, buildId);
  const stored = readRecordFile(paths.record);
  if (!stored) return undefined;
  const { bad: _inline, ...record } = stored;
  const mark = markOf(root, condaVersion, env, buildId, stored);
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

/** True when a `building` record's owner process is gone (crash, kill -9): its half-built prefix can be cleaned. */
export function isOrphaned(record: BuildRecord): boolean {
  if (record.status !== 'building' || !record.owner) return false;
  return ownerGone(record.owner);
}
