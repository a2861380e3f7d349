/**
 * Integrity of live builds (docs/security.md, "Integrity of live builds"): what a build's files were when it was
 * tested (its manifest), or what conda recorded when it linked them (`conda-meta/*.json` `paths_data`), against
 * what is on disk now. Pure: the scans are state/manifest.ts.
 */

/** One file as a scan saw it. `sha256` only in a full scan; `link` for a symlink (its target). */
export interface FileState {
  size: number;
  mtimeMs: number;
  /** permission bits, setuid, setgid and sticky included (st_mode & 0o7777) */
  mode?: number;
  sha256?: string;
  link?: string;
}

/** The files of a build prefix, by path relative to the prefix (`/`-separated). */
export type FileMap = Map<string, FileState>;

/** builds/NAME/<build-id>.manifest.json, written when the build is tested. */
export interface BuildManifest {
  format: 1;
  env: string;
  buildId: string;
  createdAt: string;
  /** path -> [size, mtimeMs, sha256, mode] for files (mode absent in older manifests), or { link } for symlinks */
  files: Record<string, [number, number, string] | [number, number, string, number] | { link: string }>;
}

/** What conda recorded of one linked file (`paths_data.paths[]`). */
export interface CondaPath {
  path: string;
  sha256?: string;
  size?: number;
  /** a file conda rewrote at link time (prefix placeholder): its sha256/size in the package differ */
  rewritten: boolean;
  link: boolean;
}

export interface IntegrityDrift {
  /** what the files were compared with */
  source: 'manifest' | 'conda-meta';
  /** full: sha256 of every file; fast: size and mtime (manifest) or size (conda-meta) */
  mode: 'fast' | 'full';
  changed: string[];
  added: string[];
  removed: string[];
}

/** Paths python writes on import; never part of a manifest (see docs/security.md for what that leaves). */
export function ignoredPath(path: string): boolean {
  return /(^|\/)__pycache__(\/|$)/.test(path);
}

export function manifestOf(env: string, buildId: string, files: FileMap, now = new Date()): BuildManifest {
  const out: BuildManifest['files'] = {};
  for (const [path, f] of [...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (ignoredPath(path)) continue;
    out[path] =
      f.link !== undefined
        ? { link: f.link }
        : f.mode !== undefined
          ? [f.size, f.mtimeMs, f.sha256 ?? '', f.mode]
          : [f.size, f.mtimeMs, f.sha256 ?? ''];
  }
  return { format: 1, env, buildId, createdAt: now.toISOString(), files: out };
}

/**
 * mtimes compared to the millisecond: copies and restores (cp -p, utimes) keep no more; a restore that keeps
 * whole seconds only (tar's default format) matches the recorded time cut to its second.
 */
function sameMtime(now: number, recorded: number): boolean {
  if (Math.abs(now - recorded) < 1) return true;
  return now % 1000 === 0 && now === Math.floor(recorded / 1000) * 1000;
}

/** Compare a prefix now with its manifest: every changed, added and removed path (sorted). */
export function compareManifest(manifest: BuildManifest, now: FileMap, full: boolean): IntegrityDrift {
  const changed: string[] = [];
  const removed: string[] = [];
  for (const [path, rec] of Object.entries(manifest.files)) {
    const cur = now.get(path);
    if (!cur) {
      removed.push(path);
      continue;
    }
    if (!Array.isArray(rec)) {
      if (cur.link !== rec.link) changed.push(path);
      continue;
    }
    const [size, mtimeMs, sha256, mode] = rec;
    if (cur.link !== undefined || cur.size !== size) changed.push(path);
    // a mode change (chmod u+s) is a change whatever the contents: compared whenever the manifest has modes
    else if (mode !== undefined && cur.mode !== undefined && cur.mode !== mode) changed.push(path);
    else if (full ? cur.sha256 !== sha256 : !sameMtime(cur.mtimeMs, mtimeMs)) changed.push(path);
  }
  const added = [...now.keys()].filter((p) => !ignoredPath(p) && !(p in manifest.files));
  return { source: 'manifest', mode: full ? 'full' : 'fast', changed, added: added.sort(), removed };
}

/**
 * Compare the files conda linked with what it recorded: changed (size, or sha256 in a full scan) and removed.
 * Files conda rewrote at link time are only checked for presence, unless the record has their in-prefix
 * sha256. Added files cannot be told from conda's records (pip installs, for one): only a manifest sees them.
 */
export function compareCondaMeta(paths: CondaPath[], now: FileMap, full: boolean): IntegrityDrift {
  const changed: string[] = [];
  const removed: string[] = [];
  for (const p of paths) {
    if (ignoredPath(p.path)) continue;
    const cur = now.get(p.path);
    if (!cur) {
      removed.push(p.path);
      continue;
    }
    if (p.link || p.rewritten) continue;
    if (p.size !== undefined && cur.size !== p.size) changed.push(p.path);
    else if (full && p.sha256 && cur.sha256 !== p.sha256) changed.push(p.path);
  }
  return { source: 'conda-meta', mode: full ? 'full' : 'fast', changed: changed.sort(), added: [], removed };
}

/** `paths_data` of one conda-meta record (tolerant: old records have `files` only, or nothing). */
export function condaPathsOf(record: unknown): CondaPath[] {
  const r = record as { paths_data?: { paths?: unknown[] }; files?: unknown[] } | null;
  const out: CondaPath[] = [];
  if (Array.isArray(r?.paths_data?.paths)) {
    for (const raw of r.paths_data.paths) {
      const p = raw as Record<string, unknown>;
      if (typeof p._path !== 'string') continue;
      const inPrefix = typeof p.sha256_in_prefix === 'string' ? p.sha256_in_prefix : undefined;
      const rewritten = typeof p.prefix_placeholder === 'string' && !inPrefix;
      out.push({
        path: p._path,
        ...(inPrefix ? { sha256: inPrefix } : typeof p.sha256 === 'string' ? { sha256: p.sha256 } : {}),
        ...(typeof p.size_in_bytes === 'number' && !p.prefix_placeholder ? { size: p.size_in_bytes } : {}),
        rewritten,
        link: p.path_type === 'softlink' || p.path_type === 'directory',
      });
    }
  } else if (Array.isArray(r?.files)) {
    for (const f of r.files) if (typeof f === 'string') out.push({ path: f, rewritten: true, link: false });
  }
  return out;
}

export function isDrift(d: IntegrityDrift | undefined): boolean {
  return !!d && d.changed.length + d.added.length + d.removed.length > 0;
}

/** One line per env with drift, naming up to `max` paths of each kind. */
export function describeDrift(env: string, d: IntegrityDrift, max = 10): string[] {
  const list = (paths: string[]) =>
    paths.slice(0, max).join(', ') + (paths.length > max ? ` (and ${paths.length - max} more)` : '');
  const lines: string[] = [];
  const how = d.source === 'manifest' ? 'since it was tested' : 'since conda linked them';
  if (d.changed.length) lines.push(`${env}: ${d.changed.length} file(s) changed ${how}: ${list(d.changed)}`);
  if (d.added.length) lines.push(`${env}: ${d.added.length} file(s) added ${how}: ${list(d.added)}`);
  if (d.removed.length) lines.push(`${env}: ${d.removed.length} file(s) removed ${how}: ${list(d.removed)}`);
  return lines;
}
