/**
 * What a build reads from the local file system, decided once from the plan (docs/security.md, "Isolation of
 * builds and tests"). A build's sandbox has a private /tmp (and /var/tmp): the host's are hidden, files and Unix
 * sockets alike, so the local sources a build needs that live there are bound back read-only: every local or
 * `file://` channel the spec and the (trusted) inventory name (channels, custom-channels, channel-alias,
 * default-channels, `file://` package URLs), the spec's local pip sources (paths, `-e`, `-r` files, `git+file://`
 * repositories, `file://` URLs, `--find-links` / `--index-url` directories) and the runner's own pip settings
 * (PIP_FIND_LINKS, PIP_INDEX_URL, PIP_EXTRA_INDEX_URL). Pure: the engine keeps the ones that exist.
 */
import { isAbsolute, resolve } from 'node:path';
import type { EnvSpec, Inventory } from './types.js';
import { effectiveChannels, type CondaRc } from './channel-index.js';

/** The runner's pip settings that name where pip reads packages from (space separated lists). */
export const PIP_SOURCE_VARIABLES = ['PIP_FIND_LINKS', 'PIP_INDEX_URL', 'PIP_EXTRA_INDEX_URL'] as const;

/** pip options whose value is a place packages are read from. */
const PIP_SOURCE_OPTIONS = /^(?:--find-links|-f|--index-url|-i|--extra-index-url)(?:[= ]\s*|(?=\S))(.+)$/;

/** The local path a channel, URL or path names: `/x`, `file:///x`, `file://localhost/x`; undefined otherwise. */
export function localPathOf(source: string): string | undefined {
  let s = source.trim();
  if (s.startsWith('git+'))
    s = s
      .slice(4)
      .replace(/#.*$/, '')
      .replace(/@[^/@]*$/, '');
  if (s.startsWith('/')) return resolve(s);
  const url = /^file:\/\/(?:localhost)?(\/.*)$/i.exec(s);
  if (!url) return undefined;
  try {
    return resolve(decodeURIComponent(url[1]!));
  } catch {
    return resolve(url[1]!);
  }
}

export interface BuildReadsInput {
  spec: EnvSpec;
  /** the inventory's [conda] the build runs with (a pull request's: the trusted one, core/trust.ts) */
  conda: Inventory['conda'];
  /** where the spec's relative pip paths are resolved */
  specDir: string;
  /** the environment conda and pip inherit (only PIP_SOURCE_VARIABLES are read) */
  env: Record<string, string | undefined>;
  /** the rc files the installation's conda reads (an adopted installation's own .condarc maps names too) */
  rc?: CondaRc;
}

/** The absolute local paths a build reads packages and sources from, deduplicated, in a stable order. */
export function buildReadPaths({ spec, conda, specDir, env, rc }: BuildReadsInput): string[] {
  const found: Array<string | undefined> = [];
  const named = [...spec.channels, ...spec.dependencies.flatMap((d) => (d.spec.channel ? [d.spec.channel] : []))];
  const channels = [
    ...(rc ? effectiveChannels(named, rc) : []),
    ...spec.channels,
    ...spec.dependencies.flatMap((d) => [d.spec.channel ?? '', d.spec.url ?? '']),
    ...(conda.channels ?? []),
    ...Object.values(conda.customChannels ?? {}),
    ...(conda.channelAlias ? [conda.channelAlias] : []),
    ...(conda.defaultChannels ?? []),
  ];
  for (const c of channels) found.push(localPathOf(c));
  const local = (p: string) => localPathOf(p) ?? (/^[a-z][a-z0-9+.-]*:/i.test(p) ? undefined : resolve(specDir, p));
  for (const p of spec.pip) {
    const text = p.text.trim();
    if (p.kind === 'option') {
      const m = PIP_SOURCE_OPTIONS.exec(text);
      if (m) found.push(local(m[1]!.trim()));
    } else if (p.kind === 'requirements' || p.kind === 'editable') {
      found.push(local(text.replace(/^(?:-r|--requirement|-e|--editable)(?:[= ]\s*|(?=\S))/, '')));
    } else if (p.kind === 'path') {
      found.push(local(text.replace(/\[[^\]]*\]$/, '')));
    } else if (p.kind === 'git' || p.kind === 'url') {
      const url = text.includes(' @ ') ? text.slice(text.indexOf(' @ ') + 3) : text;
      found.push(localPathOf(url));
    }
  }
  for (const v of PIP_SOURCE_VARIABLES)
    for (const item of (env[v] ?? '').split(/\s+/).filter(Boolean)) found.push(localPathOf(item));
  return [...new Set(found.filter((p): p is string => p !== undefined && isAbsolute(p) && p !== '/'))];
}
