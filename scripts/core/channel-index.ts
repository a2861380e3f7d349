/**
 * What the channels have, the pure half: records from repodata.json or `search` output, .condarc text, which
 * URLs a channel name means, and the names conda and PyPI spell differently. Reading channels and asking
 * conda is engine/channel-index.ts.
 */
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { load } from 'js-yaml';
import type { ChannelPackage } from './remediation.js';

export type NoarchKind = 'python' | 'generic' | true;

export interface ChannelRecord {
  name: string;
  version: string;
  build?: string;
  subdir?: string;
  noarch?: NoarchKind;
  /** base URL of the channel it came from */
  channel: string;
}

/** The parts of .condarc that map channel names to URLs (conda's rules). */
export interface CondaRc {
  channels: string[];
  channelAlias: string;
  customChannels: Record<string, string>;
  defaultChannels: string[];
  /** an rc file set default_channels (conda's built-in pair is then replaced, not merged) */
  defaultsSet?: boolean;
}

export interface RcSearchInput {
  /** the installation (conda's root prefix) */
  root: string;
  /** the user's home (`~`) */
  home?: string;
  xdgConfigHome?: string;
  condaPrefix?: string;
  condarc?: string;
  /** `/etc`; tests give another */
  sysconfdir?: string;
}

/**
 * conda's rc search path (conda/base/constants.py SEARCH_PATH) in reading order, later files winning:
 * `/etc/conda`, `/var/lib/conda`, the root, `$XDG_CONFIG_HOME/conda`, `~/.config/conda`, `~/.conda`,
 * `~/.condarc`, `$CONDA_PREFIX`, `$CONDARC`. Each directory entry stands for `.condarc`, `condarc` and
 * `condarc.d/`. Paths whether or not they exist.
 */
export function rcSearchPath(i: RcSearchInput): string[] {
  const three = (dir: string) => [`${dir}/.condarc`, `${dir}/condarc`, `${dir}/condarc.d`];
  const etc = i.sysconfdir ?? '/etc';
  const home = i.home;
  return [
    ...three(`${etc}/conda`),
    ...three('/var/lib/conda'),
    ...three(i.root),
    ...(i.xdgConfigHome ? three(`${i.xdgConfigHome}/conda`) : []),
    ...(home ? [...three(`${home}/.config/conda`), ...three(`${home}/.conda`), `${home}/.condarc`] : []),
    ...(i.condaPrefix ? three(i.condaPrefix) : []),
    ...(i.condarc ? [i.condarc] : []),
  ];
}

/** `name/label/x` uses the custom channel of its longest `/`-prefix (conda/models/channel.py Channel.from_name). */
function customBase(name: string, rc: CondaRc): string | undefined {
  const parts = name.split('/');
  for (let n = parts.length; n > 0; n--) {
    const base = rc.customChannels[parts.slice(0, n).join('/')];
    if (base) return base;
  }
  return undefined;
}

const DEFAULT_ALIAS = 'https://conda.anaconda.org';
const DEFAULT_CHANNELS = ['https://repo.anaconda.com/pkgs/main', 'https://repo.anaconda.com/pkgs/r'];

const trimSlash = (s: string) => s.replace(/\/+$/, '');

export function emptyRc(): CondaRc {
  return { channels: [], channelAlias: DEFAULT_ALIAS, customChannels: {}, defaultChannels: [...DEFAULT_CHANNELS] };
}

/**
 * Merge one .condarc text into `rc` as conda layers its rc files (conda/common/configuration.py): a later file's
 * scalars win, its sequences (`channels`, `default_channels`) come FIRST, its `custom_channels` add key by key.
 * Read the files in search-path order (rcSearchPath) through this.
 */
export function mergeCondarc(rc: CondaRc, text: string): CondaRc {
  const data = (load(text) ?? {}) as Record<string, unknown>;
  if (typeof data !== 'object' || Array.isArray(data)) return rc;
  if (Array.isArray(data.channels)) rc.channels = [...new Set([...data.channels.map(String), ...rc.channels])];
  if (typeof data.channel_alias === 'string') rc.channelAlias = trimSlash(data.channel_alias);
  if (Array.isArray(data.default_channels)) {
    const given = data.default_channels.map((c) => trimSlash(String(c)));
    const before = rc.defaultsSet ? rc.defaultChannels : [];
    rc.defaultChannels = [...new Set([...given, ...before])];
    rc.defaultsSet = true;
  }
  if (data.custom_channels && typeof data.custom_channels === 'object') {
    for (const [k, v] of Object.entries(data.custom_channels as Record<string, unknown>))
      rc.customChannels[k] = trimSlash(String(v));
  }
  return rc;
}

/** conda and PyPI spell names differently (`ipums_utils` vs `ipums-utils`): the spellings to look for. */
export function nameVariants(name: string): Set<string> {
  const n = name.toLowerCase();
  return new Set([n, n.replace(/[-.]/g, '_'), n.replace(/[_.]/g, '-')]);
}

export function toPackage(records: ChannelRecord[]): ChannelPackage {
  // conda channel priority: the first channel that has the name is the one conda installs from
  const first = records[0]!.channel;
  const mine = records.filter((r) => r.channel === first);
  return {
    name: mine[0]!.name,
    versions: [...new Set(mine.map((r) => r.version))],
    noarch: mine.some((r) => r.noarch !== undefined),
  };
}

export function isLocalChannel(url: string): boolean {
  return url.startsWith('file://');
}

/** Base URLs a channel as written in a spec means (`defaults` means several). */
export function channelUrls(channel: string, rc: CondaRc): string[] {
  const s = trimSlash(channel.trim());
  if (s === 'defaults') return [...rc.defaultChannels];
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(s))
    return [s.replace(/\/(noarch|linux-64|linux-aarch64|osx-64|osx-arm64|win-64)$/, '')];
  if (isAbsolute(s)) return [trimSlash(pathToFileURL(s).href)];
  const custom = customBase(s, rc);
  if (custom) return [`${custom}/${s}`];
  return [`${rc.channelAlias}/${s}`];
}

/**
 * Channels conda would use for a spec (`env create -f`): the spec's, then the configured ones, unless the spec
 * says `nodefaults`, which drops **every** configured channel, not only `defaults`; a `defaults` the spec lists
 * itself stays (conda_env/installers/conda.py, 4.3 to 25.11; `env create` has no -c / --override-channels).
 */
export function effectiveChannels(specChannels: string[], rc: CondaRc): string[] {
  const noDefaults = specChannels.includes('nodefaults');
  const names = noDefaults ? [...specChannels] : [...specChannels, ...rc.channels];
  const urls: string[] = [];
  for (const n of names) {
    if (n === 'nodefaults') continue;
    for (const u of channelUrls(n, rc)) if (!urls.includes(u)) urls.push(u);
  }
  return urls;
}

function noarchOf(v: unknown): NoarchKind | undefined {
  if (v === true) return true;
  if (v === 'python' || v === 'generic') return v;
  return undefined;
}

/** Records of one repodata.json (`packages` and `packages.conda`). */
export function recordsFromRepodata(data: unknown, channel: string, subdir: string): ChannelRecord[] {
  const d = data as {
    packages?: Record<string, Record<string, unknown>>;
    'packages.conda'?: Record<string, Record<string, unknown>>;
  };
  const out: ChannelRecord[] = [];
  for (const group of [d.packages ?? {}, d['packages.conda'] ?? {}]) {
    for (const r of Object.values(group)) {
      if (typeof r?.name !== 'string' || typeof r?.version !== 'string') continue;
      const noarch = noarchOf(r.noarch);
      out.push({
        name: r.name,
        version: r.version,
        channel,
        subdir: typeof r.subdir === 'string' ? r.subdir : subdir,
        ...(typeof r.build === 'string' ? { build: r.build } : {}),
        ...(noarch ? { noarch } : {}),
      });
    }
  }
  return out;
}

/** `conda search --json` output (`{name: [records]}`) as records. */
export function recordsFromSearch(stdout: string, channel: string): ChannelRecord[] {
  const data = JSON.parse(stdout) as Record<string, unknown>;
  const out: ChannelRecord[] = [];
  const lists = Array.isArray((data.result as { pkgs?: unknown })?.pkgs)
    ? [(data.result as { pkgs: unknown[] }).pkgs]
    : Object.values(data).filter(Array.isArray);
  for (const list of lists) {
    for (const r of list as Array<Record<string, unknown>>) {
      if (typeof r?.name !== 'string' || typeof r?.version !== 'string') continue;
      const subdir = typeof r.subdir === 'string' ? r.subdir : undefined;
      const noarch = noarchOf(r.noarch) ?? (subdir === 'noarch' ? 'generic' : undefined);
      out.push({
        name: r.name,
        version: r.version,
        channel,
        ...(subdir ? { subdir } : {}),
        ...(noarch ? { noarch } : {}),
      });
    }
  }
  return out;
}
