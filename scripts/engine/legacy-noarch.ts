/**
 * Finding legacy noarch packages in an existing installation (core/legacy-noarch.ts says what marks them): the
 * pre-link script in an env's `conda-meta/*.json` `files`, or in the extracted package under the package cache.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { isLegacyNoarchRecord, preLinkPaths } from '../core/legacy-noarch.js';
import { readCondaMetaRecords } from '../state/manifest.js';

interface MetaRecord {
  name?: unknown;
  files?: unknown;
  extracted_package_dir?: unknown;
  fn?: unknown;
}

const readMeta = (prefix: string) => readCondaMetaRecords(prefix) as MetaRecord[];

/**
 * Names of the legacy noarch packages installed in these envs. `pkgsDirs`: the installation's package caches,
 * looked into for a record whose `files` do not say (the extracted package still has the script).
 */
export function legacyNoarchInstalled(prefixes: string[], pkgsDirs: string[]): Set<string> {
  const found = new Set<string>();
  for (const prefix of prefixes) {
    for (const r of readMeta(prefix)) {
      if (typeof r.name !== 'string') continue;
      const files = Array.isArray(r.files) ? r.files.filter((f): f is string => typeof f === 'string') : [];
      if (isLegacyNoarchRecord({ name: r.name, files })) {
        found.add(r.name);
        continue;
      }
      const dist = typeof r.fn === 'string' ? r.fn.replace(/\.(tar\.bz2|conda)$/, '') : undefined;
      const dirs = [
        ...(typeof r.extracted_package_dir === 'string' ? [r.extracted_package_dir] : []),
        ...(dist ? pkgsDirs.map((d) => join(d, dist)) : []),
      ];
      if (dirs.some((d) => preLinkPaths(r.name as string).some((p) => existsSync(join(d, p))))) found.add(r.name);
    }
  }
  return found;
}
