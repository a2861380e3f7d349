/** Build records: `builds/NAME/<build-id>.json` beside each build prefix. */
import type { BuildRecord } from '../core/types.js';
import { buildPaths, installationLayout } from '../core/layout.js';
import { markInstallation } from './marker.js';
import { readJsonIfExists, writeJsonAtomic } from './fsutil.js';
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
  markInstallation(installationLayout(root, record.condaVersion).dir);
  writeJsonAtomic(buildPaths(root, record.condaVersion, record.env, record.buildId).record, record);
}

/** True when a `building` record's owner process is gone (crash, kill -9): its half-built prefix can be cleaned. */
export function isOrphaned(record: BuildRecord): boolean {
  if (record.status !== 'building' || !record.owner) return false;
  return ownerGone(record.owner);
}
