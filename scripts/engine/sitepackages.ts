/**
 * Reading what pip installed in an env from its files (core/sitepackages.ts parses them): no python runs, so
 * it works for every python an env may have and every conda version.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { eggLinkDist, parseDirectUrl, parseMetadata, type InstalledDist } from '../core/sitepackages.js';
import { classifyPipEntry } from '../core/pip.js';
import type { PipEntry } from '../core/types.js';

const readText = (path: string): string | undefined => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

/** The env's site-packages directories (`lib/pythonX.Y/site-packages`, any X.Y). */
export function sitePackagesDirs(prefix: string): string[] {
  const lib = join(prefix, 'lib');
  let names: string[];
  try {
    names = readdirSync(lib);
  } catch {
    return [];
  }
  return names
    .filter((n) => /^python\d+(\.\d+)?$/.test(n))
    .map((n) => join(lib, n, 'site-packages'))
    .filter((d) => existsSync(d));
}

/** Every distribution installed in the env's site-packages (pip's and conda's). */
export function readInstalledDists(prefix: string): InstalledDist[] {
  const out: InstalledDist[] = [];
  for (const sp of sitePackagesDirs(prefix)) {
    let entries: string[];
    try {
      entries = readdirSync(sp);
    } catch {
      continue;
    }
    for (const e of entries) {
      const path = join(sp, e);
      if (e.endsWith('.egg-link')) {
        const text = readText(path);
        if (text !== undefined) out.push(eggLinkDist(e, text));
        continue;
      }
      let meta: string | undefined;
      if (e.endsWith('.dist-info')) meta = readText(join(path, 'METADATA'));
      else if (e.endsWith('.egg-info')) {
        // an egg-info is a directory with PKG-INFO, or (distutils) a file in PKG-INFO format
        let dir = false;
        try {
          dir = statSync(path).isDirectory();
        } catch {
          continue;
        }
        meta = readText(dir ? join(path, 'PKG-INFO') : path);
      } else continue;
      if (meta === undefined) continue;
      const { name, version } = parseMetadata(meta);
      if (!name) continue;
      const installer = readText(join(path, 'INSTALLER'))?.trim();
      const direct = readText(join(path, 'direct_url.json'));
      const directUrl = direct !== undefined ? parseDirectUrl(direct) : undefined;
      out.push({
        name,
        ...(version ? { version } : {}),
        ...(installer ? { installer } : {}),
        ...(directUrl ? { directUrl } : {}),
      });
    }
  }
  return out;
}

/**
 * The spec's pip entries with each `-r FILE` replaced by the entries of FILE (relative to `specDir`, nested
 * `-r` relative to their file). An entry of a file carries the `-r` line of the spec; `origin` gives that line's text.
 * A file that cannot be read stays an unexpanded `-r` entry in `unreadable`.
 */
export function expandRequirements(
  entries: readonly PipEntry[],
  specDir: string,
): { entries: PipEntry[]; unreadable: PipEntry[]; origin: Map<PipEntry, string> } {
  const out: PipEntry[] = [];
  const origin = new Map<PipEntry, string>();
  const unreadable: PipEntry[] = [];
  const seen = new Set<string>();
  const walk = (list: readonly PipEntry[], dir: string, from?: PipEntry) => {
    for (const e of list) {
      if (e.kind !== 'requirements') {
        if (!from) {
          out.push(e);
          continue;
        }
        const inner = { ...e, line: from.line };
        origin.set(inner, from.text);
        out.push(inner);
        continue;
      }
      const target = e.text.replace(/^(-r|--requirement)[\s=]+/, '').trim();
      const file = isAbsolute(target) ? target : resolve(dir, target);
      if (seen.has(file)) continue;
      seen.add(file);
      const text = readText(file);
      if (text === undefined) {
        unreadable.push(from ? { ...e, line: from.line } : e);
        continue;
      }
      const lines = text
        .split(/\r?\n/)
        .map((l) => l.replace(/(^|\s)#.*$/, '').trim())
        .filter(Boolean)
        .map((l, i) => classifyPipEntry(l, i + 1).entry);
      walk(lines, dirname(file), from ?? e);
    }
  };
  walk(entries, specDir);
  return { entries: out, unreadable, origin };
}
