/**
 * Scans of build prefixes for the integrity check (core/integrity.ts): file sizes, mtimes and (full scan)
 * sha256, never following symlinks; the manifest written when a build is tested; conda's own records.
 */
import { createHash } from 'node:crypto';
import { closeSync, lstatSync, openSync, readFileSync, readSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import {
  compareCondaMeta,
  compareManifest,
  condaPathsOf,
  ignoredPath,
  manifestOf,
  type BuildManifest,
  type IntegrityDrift,
  type CondaPath,
  type FileMap,
} from '../core/integrity.js';
import { writeJsonAtomic } from './fsutil.js';
import { readChecked } from './checked.js';

/** builds/NAME/<build-id>.manifest.json next to the build record (builds/NAME/<build-id>.json). */
export function manifestPathOf(prefix: string): string {
  return `${prefix}.manifest.json`;
}

function sha256Of(path: string): string {
  const hash = createHash('sha256');
  const buf = Buffer.allocUnsafe(1 << 20);
  const fd = openSync(path, 'r');
  try {
    for (let n = readSync(fd, buf); n > 0; n = readSync(fd, buf)) hash.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

/** Every file and symlink under `prefix` (directories are not entries); `hash`: also the sha256 of each file. */
export function scanPrefix(prefix: string, hash: boolean): FileMap {
  const files: FileMap = new Map();
  const walk = (dir: string, rel: string) => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names) {
      const path = join(dir, name);
      const r = rel ? `${rel}/${name}` : name;
      if (ignoredPath(r)) continue;
      let st;
      try {
        st = lstatSync(path);
      } catch {
        continue;
      }
      if (st.isDirectory()) walk(path, r);
      else if (st.isSymbolicLink()) files.set(r, { size: st.size, mtimeMs: st.mtimeMs, link: readlinkSync(path) });
      else if (st.isFile())
        files.set(r, {
          size: st.size,
          mtimeMs: st.mtimeMs,
          mode: st.mode & 0o7777,
          ...(hash ? { sha256: sha256Of(path) } : {}),
        });
      else files.set(r, { size: -1, mtimeMs: st.mtimeMs }); // a FIFO or device in a prefix is never what was tested
    }
  };
  walk(prefix, '');
  return files;
}

/** Record what a tested build's files are: the manifest status --verify compares with. */
export function writeManifest(prefix: string, env: string, buildId: string): void {
  writeJsonAtomic(manifestPathOf(prefix), manifestOf(env, buildId, scanPrefix(prefix, true)));
}

/** The checked manifest (CorruptStateError naming it when it does not match its schema), undefined when absent. */
export function readManifest(prefix: string): BuildManifest | undefined {
  return readChecked<BuildManifest>(manifestPathOf(prefix), 'build-manifest');
}

/**
 * Every conda-meta/*.json record of `prefix`, parsed; unreadable or broken ones are skipped (they say nothing).
 * These are conda's files, not state of this tool's: no schema of ours applies to them.
 */
export function readCondaMetaRecords(prefix: string): unknown[] {
  const dir = join(prefix, 'conda-meta');
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.json'));
  } catch {
    return [];
  }
  return names.flatMap((n) => {
    try {
      const r: unknown = JSON.parse(readFileSync(join(dir, n), 'utf8'));
      return r && typeof r === 'object' ? [r] : [];
    } catch {
      return [];
    }
  });
}

/** What conda recorded of the files it linked into `prefix` (every conda-meta/*.json). */
export function readCondaPaths(prefix: string): CondaPath[] {
  return readCondaMetaRecords(prefix).flatMap((r) => {
    try {
      return condaPathsOf(r);
    } catch {
      return []; // a broken record says nothing
    }
  });
}

/** A build's files now against its manifest (written when it was tested), else against conda's paths_data. */
export function verifyPrefix(prefix: string, full: boolean): IntegrityDrift | undefined {
  const manifest = readManifest(prefix);
  if (manifest) return compareManifest(manifest, scanPrefix(prefix, full), full);
  const paths = readCondaPaths(prefix);
  return paths.length ? compareCondaMeta(paths, scanPrefix(prefix, full), full) : undefined;
}
