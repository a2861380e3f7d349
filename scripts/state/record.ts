/** Build records: `builds/NAME/<build-id>.json` beside each build prefix. */
import type { BuildRecord } from '../core/types.js';
import { buildPaths } from '../core/layout.js';
import { readJsonIfExists, writeFileAtomic } from './fsutil.js';
import { redact } from '../core/redact.js';
import { ownerGone } from './lock.js';

export function readBuildRecord(
  root: string,
  condaVersion: string,
  env: string,
  buildId: string,
): BuildRecord | undefined {
  return readJsonIfExists<BuildRecord>(buildPaths(root, condaVersion, env, buildId).record);
}

export function writeBuildRecord(root: string, record: BuildRecord): void {
  // a failure's excerpt is program output: it passes the redactor like every text we write
  const path = buildPaths(root, record.condaVersion, record.env, record.buildId).record;
  writeFileAtomic(path, redact(JSON.stringify(record, null, 2) + '\n'));
}

/** True when a `building` record's owner process is gone (crash, kill -9): its half-built prefix can be cleaned. */
export function isOrphaned(record: BuildRecord): boolean {
  if (record.status !== 'building' || !record.owner) return false;
  return ownerGone(record.owner);
}
