/**
 * What the channels have: package names, versions and noarch kinds, for `fix` (remediation facts) and
 * `adopt` ([legacy-noarch]). Local channels (file:// URLs, paths, names mapped to them by .condarc) are read
 * straight from their repodata.json, the only place the legacy boolean `"noarch": true` survives (conda
 * normalises it away in `search` output). Remote channels are asked through the adapter's `search`, per name.
 */
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { load } from 'js-yaml';
import type { Conda } from './conda.js';
import type { ChannelFacts, ChannelPackage } from '../core/remediation.js';
import { normalizePipName } from '../core/pip.js';

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
}

const DEFAULT_ALIAS = 'https://conda.anaconda.org';
const DEFAULT_CHANNELS = ['https://repo.anaconda.com/pkgs/main', 'https://repo.anaconda.com/pkgs/r'];

const trimSlash = (s: string) => s.replace(/\/+$/, '');

export function emptyRc(): CondaRc {
  return { channels: [], channelAlias: DEFAULT_ALIAS, customChannels: {}, defaultChannels: [...DEFAULT_CHANNELS] };
}

/** Merge one .condarc text into `rc` (later files win for scalars, add to lists), as conda layers them. */
export function mergeCondarc(rc: CondaRc, text: string): CondaRc {
  const data = (load(text) ?? {}) as Record<string, unknown>;
  if (typeof data !== 'object' || Array.isArray(data)) return rc;
  if (Array.isArray(data.channels)) rc.channels = [...new Set([...rc.channels, ...data.channels.map(String)])];
  if (typeof data.channel_alias === 'string') rc.channelAlias = trimSlash(data.channel_alias);
  if (Array.isArray(data.default_channels)) rc.defaultChannels = data.default_channels.map((c) => trimSlash(String(c)));
  if (data.custom_channels && typeof data.custom_channels === 'object') {
    for (const [k, v] of Object.entries(data.custom_channels as Record<string, unknown>)) rc.customChannels[k] = trimSlash(String(v));
  }
  return rc;
}

/** The installation's own .condarc, then $CONDARC: the files that configure the shared installation. */
export function readCondarc(installationDir: string | undefined, env: NodeJS.ProcessEnv = process.env): CondaRc {
  const rc = emptyRc();
  for (const file of [installationDir ? join(installationDir, '.condarc') : '', env.CONDARC ?? '']) {
    if (file && existsSync(file)) mergeCondarc(rc, readFileSync(file, 'utf8'));
  }
  return rc;
}

/** Base URLs a channel as written in a spec means (`defaults` means several). */
export function channelUrls(channel: string, rc: CondaRc): string[] {
  const s = trimSlash(channel.trim());
  if (s === 'defaults') return [...rc.defaultChannels];
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(s)) return [s.replace(/\/(noarch|linux-64|linux-aarch64|osx-64|osx-arm64|win-64)$/, '')];
  if (isAbsolute(s)) return [trimSlash(pathToFileURL(s).href)];
  if (rc.customChannels[s]) return [`${rc.customChannels[s]}/${s}`];
  return [`${rc.channelAlias}/${s}`];
}

/** Channels conda would use for a spec: the spec's, then the configured ones (unless `nodefaults`). */
export function effectiveChannels(specChannels: string[], rc: CondaRc): string[] {
  const names = [...specChannels, ...rc.channels];
  const noDefaults = names.includes('nodefaults');
  const urls: string[] = [];
  for (const n of names) {
    if (n === 'nodefaults' || (noDefaults && n === 'defaults')) continue;
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
  const d = data as { packages?: Record<string, Record<string, unknown>>; 'packages.conda'?: Record<string, Record<string, unknown>> };
  const out: ChannelRecord[] = [];
  for (const group of [d.packages ?? {}, d['packages.conda'] ?? {}]) {
    for (const r of Object.values(group)) {
      if (typeof r?.name !== 'string' || typeof r?.version !== 'string') continue;
      const noarch = noarchOf(r.noarch);
      out.push({
        name: r.name, version: r.version, channel, subdir: typeof r.subdir === 'string' ? r.subdir : subdir,
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
  const lists = Array.isArray((data.result as { pkgs?: unknown })?.pkgs) ? [(data.result as { pkgs: unknown[] }).pkgs] : Object.values(data).filter(Array.isArray);
  for (const list of lists) {
    for (const r of list as Array<Record<string, unknown>>) {
      if (typeof r?.name !== 'string' || typeof r?.version !== 'string') continue;
      const subdir = typeof r.subdir === 'string' ? r.subdir : undefined;
      const noarch = noarchOf(r.noarch) ?? (subdir === 'noarch' ? 'generic' : undefined);
      out.push({ name: r.name, version: r.version, channel, ...(subdir ? { subdir } : {}), ...(noarch ? { noarch } : {}) });
    }
  }
  return out;
}

export function isLocalChannel(url: string): boolean {
  return url.startsWith('file://');
}

/** Read a local channel's subdirs. A missing platform subdir is an empty one; a missing noarch/ is not a channel. */
export function readLocalChannel(url: string, subdirs: string[]): ChannelRecord[] {
  const base = fileURLToPath(url);
  const out: ChannelRecord[] = [];
  for (const subdir of subdirs) {
    const file = join(base, subdir, 'repodata.json');
    if (!existsSync(file)) {
      if (subdir === 'noarch') throw new Error(`${url} is not a conda channel (no noarch/repodata.json)`);
      continue;
    }
    out.push(...recordsFromRepodata(JSON.parse(readFileSync(file, 'utf8')), url, subdir));
  }
  return out;
}

export interface IndexWarning {
  channel: string;
  message: string;
}

/**
 * Records by channel, read lazily and cached: a local channel is read once; a remote one is searched once
 * per name. Unreadable channels become warnings, never a crash (facts are then unknown, not "absent").
 */
export class ChannelIndex {
  private local = new Map<string, ChannelRecord[] | null>();
  private remote = new Map<string, ChannelRecord[] | null>();
  readonly warnings: IndexWarning[] = [];

  constructor(private readonly conda: Conda | undefined, private readonly subdirs: string[] = ['linux-64', 'noarch']) {}

  private warn(channel: string, message: string) {
    if (!this.warnings.some((w) => w.channel === channel && w.message === message)) this.warnings.push({ channel, message });
  }

  /** Every record of a local channel; undefined for a remote one; null when it could not be read. */
  localRecords(url: string): ChannelRecord[] | null | undefined {
    if (!isLocalChannel(url)) return undefined;
    if (!this.local.has(url)) {
      try {
        this.local.set(url, readLocalChannel(url, this.subdirs));
      } catch (e) {
        this.warn(url, (e as Error).message);
        this.local.set(url, null);
      }
    }
    return this.local.get(url);
  }

  /** Records of `name` on a remote channel through the adapter; null when it could not be asked. */
  async remoteRecords(url: string, name: string): Promise<ChannelRecord[] | null> {
    const key = `${url}\0${name}`;
    if (this.remote.has(key)) return this.remote.get(key)!;
    let result: ChannelRecord[] | null = null;
    if (!this.conda) {
      this.warn(url, 'a remote channel needs the installation\'s conda to search it, and there is none');
    } else {
      const c = await this.conda.call({ op: 'search', name, channels: [url] });
      const text = c.stdout + c.stderr;
      if (c.code === 0) {
        try { result = recordsFromSearch(c.stdout, url).filter((r) => r.name.toLowerCase() === name.toLowerCase()); }
        catch (e) { this.warn(url, `unreadable search output: ${(e as Error).message}`); }
      } else if (/PackagesNotFound|not available from current channels|No match found/.test(text)) {
        result = [];
      } else {
        this.warn(url, `search failed: ${text.trim().split('\n').filter(Boolean).slice(-1)[0] ?? `exit ${c.code}`}`);
      }
    }
    this.remote.set(key, result);
    return result;
  }

  /**
   * Facts for remediation: for each name, the package across the channels (PEP 503 keyed), null when every
   * channel answered and none has it, missing when some channel could not be read.
   */
  async facts(channels: string[], names: string[]): Promise<ChannelFacts> {
    const facts: ChannelFacts = new Map();
    for (const name of names) {
      const variants = nameVariants(name);
      const found: ChannelRecord[] = [];
      let unknown = false;
      for (const url of channels) {
        const local = this.localRecords(url);
        if (local === null) { unknown = true; continue; }
        if (local) {
          found.push(...local.filter((r) => variants.has(r.name.toLowerCase())));
          continue;
        }
        for (const v of variants) {
          const recs = await this.remoteRecords(url, v);
          if (recs === null) unknown = true;
          else found.push(...recs);
          if (recs?.length) break;
        }
      }
      const key = normalizePipName(name);
      if (found.length) facts.set(key, toPackage(found));
      else if (!unknown) facts.set(key, null);
    }
    return facts;
  }
}

/** conda and PyPI spell names differently (`ipums_utils` vs `ipums-utils`): the spellings to look for. */
export function nameVariants(name: string): Set<string> {
  const n = name.toLowerCase();
  return new Set([n, n.replace(/[-.]/g, '_'), n.replace(/[_.]/g, '-')]);
}

function toPackage(records: ChannelRecord[]): ChannelPackage {
  // conda channel priority: the first channel that has the name is the one conda installs from
  const first = records[0]!.channel;
  const mine = records.filter((r) => r.channel === first);
  return { name: mine[0]!.name, versions: [...new Set(mine.map((r) => r.version))], noarch: mine.some((r) => r.noarch !== undefined) };
}

/** Names whose records carry the legacy boolean `"noarch": true` (noarch_python from old conda-build). */
export function legacyNoarchNames(records: ChannelRecord[]): Set<string> {
  return new Set(records.filter((r) => r.noarch === true).map((r) => r.name));
}
