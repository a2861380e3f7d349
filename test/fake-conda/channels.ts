/** Channel configuration (.condarc) and channel names -> URLs, the way conda maps them. */
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { yaml, type Ctx } from './context.js';

export interface ChannelConfig {
  channels: string[];
  channelAlias: string;
  customChannels: Record<string, string>;
  defaultChannels: string[];
}

/** A resolved channel: `url` is the base URL (no subdir, no trailing slash), `name` what conda prints. */
export interface Channel {
  name: string;
  url: string;
}

export const SUBDIRS = ['linux-64', 'noarch'] as const;
export const PLATFORM = 'linux-64';

const DEFAULT_ALIAS = 'https://conda.anaconda.org';
const DEFAULT_CHANNELS = ['https://repo.anaconda.com/pkgs/main', 'https://repo.anaconda.com/pkgs/r'];

/** The rc files the fake reads: ROOT/.condarc and $CONDARC (never ~/.condarc, to keep tests hermetic). */
export function rcFiles(ctx: Ctx): string[] {
  return [join(ctx.root, '.condarc'), ctx.env.CONDARC ?? ''].filter((f) => f && existsSync(f));
}

export async function loadChannelConfig(ctx: Ctx): Promise<ChannelConfig> {
  const cfg: ChannelConfig = {
    channels: [],
    channelAlias: DEFAULT_ALIAS,
    customChannels: {},
    defaultChannels: DEFAULT_CHANNELS,
  };
  let sawChannels = false;
  for (const file of rcFiles(ctx)) {
    const text = readFileSync(file, 'utf8');
    const rc = parseSimpleYaml(text) ?? (yaml(ctx).load(text) as Record<string, unknown> | null) ?? {};
    if (Array.isArray(rc.channels)) {
      cfg.channels.push(...rc.channels.map(String));
      sawChannels = true;
    }
    if (typeof rc.channel_alias === 'string') cfg.channelAlias = rc.channel_alias.replace(/\/+$/, '');
    if (Array.isArray(rc.default_channels))
      cfg.defaultChannels = rc.default_channels.map((c) => String(c).replace(/\/+$/, ''));
    if (rc.custom_channels && typeof rc.custom_channels === 'object') {
      for (const [k, v] of Object.entries(rc.custom_channels as Record<string, unknown>))
        cfg.customChannels[k] = String(v).replace(/\/+$/, '');
    }
  }
  // conda's built-in default when no rc file sets channels
  if (!sawChannels) cfg.channels = ['defaults'];
  cfg.channels = [...new Set(cfg.channels)];
  return cfg;
}

/** Resolve one channel as written (name, URL, path, `defaults`) to the channel(s) it means. */
export function resolveChannel(spec: string, cfg: ChannelConfig): Channel[] {
  const s = spec.trim().replace(/\/+$/, '');
  if (s === 'defaults') return cfg.defaultChannels.map((url) => ({ url, name: canonicalName(url, cfg) }));
  let url: string;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(s)) url = s.replace(/\/(linux-64|noarch)$/, '');
  else if (isAbsolute(s) || s.startsWith('./') || s.startsWith('~'))
    url = pathToFileURL(s.replace(/^~/, process.env.HOME ?? '~')).href.replace(/\/+$/, '');
  else if (cfg.customChannels[s]) url = `${cfg.customChannels[s]}/${s}`;
  else url = `${cfg.channelAlias}/${s}`;
  return [{ url, name: canonicalName(url, cfg) }];
}

/** What conda prints for a channel URL: its short name when config maps one to it, else the URL. */
export function canonicalName(url: string, cfg: ChannelConfig): string {
  for (const [name, base] of Object.entries(cfg.customChannels)) if (url === `${base}/${name}`) return name;
  if (url.startsWith(`${cfg.channelAlias}/`)) return url.slice(cfg.channelAlias.length + 1);
  if (cfg.defaultChannels.includes(url)) return 'defaults';
  return url;
}

/** Channels of a command: -c channels, then the env file's, then the configured ones (unless overridden). */
export function channelList(cfg: ChannelConfig, first: string[], override: boolean): Channel[] {
  const names = override ? [...first] : [...first, ...cfg.channels];
  const dropDefaults = names.includes('nodefaults');
  const seen = new Set<string>();
  const out: Channel[] = [];
  for (const n of names) {
    if (n === 'nodefaults' || (dropDefaults && n === 'defaults')) continue;
    for (const ch of resolveChannel(n, cfg))
      if (!seen.has(ch.url)) {
        seen.add(ch.url);
        out.push(ch);
      }
  }
  return out;
}

/** The URLs conda lists under "Current channels:" (one per subdir). */
export const channelUrls = (chs: Channel[]): string[] =>
  chs.flatMap((c) => [`${c.url}/${PLATFORM}`, `${c.url}/noarch`]);

/**
 * A parser for the YAML subset .condarc files use (scalars, block and flow lists, one level of mapping).
 * Returns null on anything else so the caller can fall back to js-yaml; it keeps `conda info` fast.
 */
export function parseSimpleYaml(text: string): Record<string, unknown> | null {
  const out: Record<string, unknown> = {};
  let key: string | null = null;
  const scalar = (v: string): string => v.trim().replace(/^(['"])(.*)\1$/, '$2');
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/\s+#.*$/, '').replace(/^#.*$/, '');
    if (!line.trim()) continue;
    let m: RegExpMatchArray | null;
    if ((m = line.match(/^([A-Za-z_][\w-]*):\s*(.*)$/))) {
      key = m[1];
      const v = m[2].trim();
      if (v === '') out[key] = null;
      else if (v.startsWith('[') && v.endsWith(']')) out[key] = v.slice(1, -1).split(',').map(scalar).filter(Boolean);
      else if (v.startsWith('{') || v.startsWith('|') || v.startsWith('>') || v.startsWith('&')) return null;
      else {
        out[key] = scalar(v);
        key = null;
      }
    } else if (key && (m = line.match(/^\s*-\s+(.*)$/))) {
      const cur = out[key];
      if (cur !== null && !Array.isArray(cur)) return null;
      out[key] = [...((cur as string[] | null) ?? []), scalar(m[1])];
    } else if (key && (m = line.match(/^\s+([^\s:][^:]*):\s+(.+)$/))) {
      const cur = out[key];
      if (cur !== null && (typeof cur !== 'object' || Array.isArray(cur))) return null;
      out[key] = { ...((cur as Record<string, string> | null) ?? {}), [scalar(m[1])]: scalar(m[2]) };
    } else return null;
  }
  return out;
}
