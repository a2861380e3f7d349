/**
 * What pip installed in an env, read from its site-packages without running its python (an env on Python < 3.8
 * has no importlib.metadata, conda < 4.6 lists no pip packages, conda 4.3 exports lose the pip section): the
 * `*.dist-info/METADATA` / `*.egg-info/PKG-INFO` name and version, `INSTALLER`, PEP 610 `direct_url.json`, and old
 * pip's `*.egg-link` for editable installs. And whether every entry of a spec's `pip:` section is accounted for.
 * Pure: engine/sitepackages.ts reads the files.
 */
import { normalizePipName } from './pip.js';
import { matchesPep440 } from './pep440.js';
import type { PipEntry } from './types.js';

export interface InstalledDist {
  /** as METADATA spells it */
  name: string;
  version?: string;
  /** `pip`, `conda`, ... (INSTALLER) */
  installer?: string;
  /** PEP 610: where pip installed it from */
  directUrl?: DirectUrl;
}

export interface DirectUrl {
  url: string;
  /** `git`, ... for a VCS install */
  vcs?: string;
  editable?: boolean;
}

/** `Name:` and `Version:` of a METADATA / PKG-INFO text (the headers before the first blank line). */
export function parseMetadata(text: string): { name?: string; version?: string } {
  const head = text.replace(/\r\n/g, '\n').split('\n\n')[0]!;
  const name = /^Name:[ \t]*(.+?)\s*$/m.exec(head)?.[1];
  const version = /^Version:[ \t]*(.+?)\s*$/m.exec(head)?.[1];
  return { ...(name ? { name } : {}), ...(version ? { version } : {}) };
}

/** PEP 610 direct_url.json; undefined when it is not one. */
export function parseDirectUrl(text: string): DirectUrl | undefined {
  try {
    const d = JSON.parse(text) as {
      url?: unknown;
      vcs_info?: { vcs?: unknown };
      dir_info?: { editable?: unknown };
    };
    if (typeof d.url !== 'string') return undefined;
    return {
      url: d.url,
      ...(typeof d.vcs_info?.vcs === 'string' ? { vcs: d.vcs_info.vcs } : {}),
      ...(d.dir_info?.editable === true ? { editable: true } : {}),
    };
  } catch {
    return undefined;
  }
}

/** The distribution an `.egg-link` (old pip's editable install, `NAME.egg-link`) stands for. */
export function eggLinkDist(fileName: string, text: string): InstalledDist {
  const dir = text.split(/\r?\n/)[0]!.trim();
  return { name: fileName.replace(/\.egg-link$/, ''), directUrl: { url: `file://${dir}`, editable: true } };
}

/** A URL as installs record it: no `git+`, no `@ref`, no `#fragment`, no trailing `/` or `.git`. */
export function comparableUrl(url: string): string {
  return url
    .trim()
    .replace(/^git\+/, '')
    .replace(/#.*$/, '')
    .replace(/(\/\/[^/]*\/.*?)@[^/@]*$/, '$1')
    .replace(/\/+$/, '')
    .replace(/\.git$/, '');
}

/** A wheel or sdist file name's project name and version (`pkg_a-1.0-py3-none-any.whl`, `pkg-a-1.0.tar.gz`). */
export function archiveName(path: string): { name: string; version?: string } | undefined {
  const base = path.split('/').pop() ?? '';
  const wheel = /^([^-]+)-([^-]+)-.+\.whl$/.exec(base);
  if (wheel) return { name: wheel[1]!, version: wheel[2]! };
  const sdist = /^(.+)-([0-9][^-]*)\.(?:tar\.gz|tar\.bz2|zip)$/.exec(base);
  if (sdist) return { name: sdist[1]!, version: sdist[2]! };
  return undefined;
}

/** A pip entry of the spec that is not in the env. */
export interface PipShortfall {
  entry: PipEntry;
  /** `not installed (pip)`, `installed 1.0 does not match ==2.0`, ... */
  reason: string;
  installed?: string;
}

export interface PipAccountOptions {
  /** absolute path of a `path` / `editable` entry's target (relative ones resolve against the spec directory) */
  resolvePath?: (path: string) => string;
}

/**
 * Every pip entry must be accounted for by an installed distribution: pinned at its version, ranges in range,
 * names present, git/url entries by name or by the URL recorded in direct_url.json, paths (wheels, sdists,
 * directories, editable) by the file's name or the recorded `file://` URL. `-r` entries must already be expanded
 * into the lines of their file (engine/sitepackages.ts). Options (`--index-url`, ...) need nothing.
 */
export function accountPipEntries(
  entries: readonly PipEntry[],
  dists: readonly InstalledDist[],
  o: PipAccountOptions = {},
): PipShortfall[] {
  const byName = new Map<string, InstalledDist[]>();
  for (const d of dists) {
    const k = normalizePipName(d.name);
    byName.set(k, [...(byName.get(k) ?? []), d]);
  }
  const byUrl = new Map<string, InstalledDist>();
  for (const d of dists) if (d.directUrl) byUrl.set(comparableUrl(d.directUrl.url), d);
  const resolvePath = o.resolvePath ?? ((p: string) => p);
  const out: PipShortfall[] = [];
  const missing = (entry: PipEntry) => out.push({ entry, reason: 'not installed (pip)' });
  for (const entry of entries) {
    if (entry.kind === 'option' || entry.kind === 'requirements') continue;
    const named = entry.name ? (byName.get(normalizePipName(entry.name)) ?? []) : [];
    switch (entry.kind) {
      case 'pinned': {
        const versions = named.map((d) => d.version).filter((v): v is string => !!v);
        if (!named.length) missing(entry);
        else if (versions.length && !versions.some((v) => matchesPep440(`==${entry.version}`, v) !== false)) {
          out.push({
            entry,
            installed: versions.join(', '),
            reason: `installed ${versions.join(', ')} does not match ==${entry.version}`,
          });
        }
        break;
      }
      case 'range': {
        const spec = entry.text
          .slice(entry.name!.length)
          .replace(/^\s*\[[^\]]*\]/, '')
          .replace(/;.*$/, '')
          .replace(/\s+--?[a-z].*$/, '')
          .trim();
        const versions = named.map((d) => d.version).filter((v): v is string => !!v);
        if (!named.length) missing(entry);
        else if (versions.length && !versions.some((v) => matchesPep440(spec, v) !== false)) {
          out.push({
            entry,
            installed: versions.join(', '),
            reason: `installed ${versions.join(', ')} does not match ${spec}`,
          });
        }
        break;
      }
      case 'name':
        if (!named.length) missing(entry);
        break;
      case 'git':
      case 'url': {
        const target = entry.text
          .replace(/^(-e|--editable)[\s=]+/, '')
          .replace(/^[A-Za-z0-9._-]+(\[[^\]]*\])?\s*@\s*/, '');
        if (!named.length && !byUrl.has(comparableUrl(target))) missing(entry);
        break;
      }
      case 'editable':
      case 'path': {
        const target = entry.text.replace(/^(-e|--editable)[\s=]+/, '');
        const archive = archiveName(target);
        if (archive) {
          const found = byName.get(normalizePipName(archive.name)) ?? [];
          if (!found.length) missing(entry);
          break;
        }
        const url = comparableUrl(`file://${resolvePath(target)}`);
        if (!named.length && !byUrl.has(url)) missing(entry);
        break;
      }
    }
  }
  return out;
}
