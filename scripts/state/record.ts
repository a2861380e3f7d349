/** Build records: `builds/NAME/<build-id>.json` beside each build prefix. */
import { hostname } from 'node:os';
import type { BuildRecord } from '../core/types.js';
import { buildPaths } from '../core/layout.js';
import { readJsonIfExists, writeJsonAtomic } from './fsutil.js';

export function readBuildRecord(root: string, condaVersion: string, env: string, buildId: string): BuildRecord | undefined {
  return readJsonIfExists<BuildRecord>(buildPaths(root, condaVersion, env, buildId).record);
}

export function writeBuildRecord(root: string, record: BuildRecord): void {
  writeJsonAtomic(buildPaths(root, record.condaVersion, record.env, record.buildId).record, record);
}

/** True when a `building` record's owner process is gone (crash, kill -9): its half-built prefix can be cleaned. */
export function isOrphaned(record: BuildRecord): boolean {
  if (record.status !== 'building' || !record.owner) return false;
  if (record.owner.host !== hostname()) return false; // another host's build: never judge it from here
  try {
    process.kill(record.owner.pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
