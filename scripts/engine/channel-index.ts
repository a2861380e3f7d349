/**
 * What the channels have, read: the installation's .condarc, local channels straight from their repodata.json, remote
 * channels through the adapter's `search`, per name. For `fix` (remediation facts).
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Conda } from './conda.js';
import type { ChannelFacts } from '../core/remediation.js';
import { normalizePipName } from '../core/pip.js';
import {
  effectiveChannels,
  emptyRc,
  isLocalChannel,
  mergeCondarc,
  nameVariants,
  recordsFromRepodata,
  rcSearchPath,
  recordsFromSearch,
  toPackage,
} from '../core/channel-index.js';
import type { CondaRc, ChannelRecord } from '../core/channel-index.js';

/** The files of the search path that exist, in order; a `condarc.d` directory stands for its *.yml / *.yaml. */
export function existingRcFiles(paths: string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    let dir = false;
    try {
      dir = statSync(p).isDirectory();
    } catch {
      continue;
    }
    if (!dir) out.push(p);
    else
      out.push(
        ...readdirSync(p)
          .filter((f) => /\.ya?ml$/.test(f))
          .sort()
          .map((f) => join(p, f)),
      );
  }
  return [...new Set(out)];
}

/**
 * The rc files a build of the installation reads (core/hermetic.ts): a build runs conda with CONDARC = the
 * installation's .condarc and a private home of its own, so the system directories (`/etc/conda`,
 * `/var/lib/conda`: `sysconfdir` stands for `/etc`), the installation's own files and CONDARC; never the runner
 * user's `~/.condarc`, `~/.conda/…`, `~/.config/conda/…` or `$XDG_CONFIG_HOME/conda/…`. Without an installation: the
 * caller's $CONDARC.
 */
export function buildRcFiles(
  installationDir: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  sysconfdir = '/etc',
): string[] {
  if (!installationDir) return existingRcFiles(env.CONDARC ? [env.CONDARC] : []);
  return existingRcFiles(
    rcSearchPath({ root: installationDir, condarc: join(installationDir, '.condarc'), sysconfdir }),
  );
}

/**
 * The rc files outside the installation that a build reads: `/etc/conda/…` and `/var/lib/conda/…` where they
 * exist, on every conda version (conda/base/constants.py SEARCH_PATH). The bubblewrap sandbox hides them; a build
 * without it reads them.
 */
export function runnerRcFiles(installationDir: string, sysconfdir = '/etc'): string[] {
  const own = installationDir.replace(/\/+$/, '') + '/';
  return buildRcFiles(installationDir, {}, sysconfdir).filter((f) => !f.startsWith(own));
}

/**
 * The rc files a user's own conda reads for `root` (adopt: an installation the runner user already uses): the whole
 * search path with that user's HOME and XDG_CONFIG_HOME, and their $CONDARC.
 */
export function userRcFiles(root: string, env: NodeJS.ProcessEnv = process.env): string[] {
  return existingRcFiles(
    rcSearchPath({
      root,
      ...(env.HOME ? { home: env.HOME } : {}),
      ...(env.XDG_CONFIG_HOME ? { xdgConfigHome: env.XDG_CONFIG_HOME } : {}),
      ...(env.CONDARC ? { condarc: env.CONDARC } : {}),
    }),
  );
}

/**
 * The channel configuration merged as conda merges it: `build` (default), what a build of the installation sees
 * (buildRcFiles); `user`, what the user's own conda sees (userRcFiles).
 */
export function readCondarc(
  installationDir: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  view: 'build' | 'user' = 'build',
): CondaRc {
  const rc = emptyRc();
  const files =
    view === 'user' && installationDir ? userRcFiles(installationDir, env) : buildRcFiles(installationDir, env);
  for (const file of files) {
    try {
      mergeCondarc(rc, readFileSync(file, 'utf8'));
    } catch {
      /* an unreadable or broken rc file: conda would fail on it; the facts stay what the others say */
    }
  }
  return rc;
}

/** Read a local channel's subdirs. A missing platform subdir is an empty one; a missing noarch/ is not a channel. */
function readLocalChannel(url: string, subdirs: string[]): ChannelRecord[] {
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

  constructor(
    private readonly conda: Conda | undefined,
    private readonly subdirs: string[] = ['linux-64', 'noarch'],
  ) {}

  private warn(channel: string, message: string) {
    if (!this.warnings.some((w) => w.channel === channel && w.message === message))
      this.warnings.push({ channel, message });
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
      this.warn(url, "a remote channel needs the installation's conda to search it, and there is none");
    } else {
      const c = await this.conda.call({ op: 'search', name, channels: [url] });
      const text = c.stdout + c.stderr;
      if (c.code === 0) {
        try {
          result = recordsFromSearch(c.stdout, url).filter((r) => r.name.toLowerCase() === name.toLowerCase());
        } catch (e) {
          this.warn(url, `unreadable search output: ${(e as Error).message}`);
        }
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
        if (local === null) {
          unknown = true;
          continue;
        }
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

/**
 * A fingerprint of the channel index a build sees: size and mtime of every repodata.json of its local channels
 * (file://). Undefined when any channel is remote (its index can change at any time and we cannot tell), so a
 * failure recorded against it is never taken as still true.
 */
export function channelFingerprint(installationDir: string, specChannels: string[]): string | undefined {
  let urls: string[];
  try {
    urls = effectiveChannels(specChannels, readCondarc(installationDir, {}));
  } catch {
    return undefined;
  }
  if (urls.length === 0 || !urls.every(isLocalChannel)) return undefined;
  const parts: string[] = [];
  for (const url of urls) {
    let base: string;
    try {
      base = fileURLToPath(url);
    } catch {
      return undefined;
    }
    if (!existsSync(base)) return undefined;
    for (const subdir of readdirSync(base).sort()) {
      const file = join(base, subdir, 'repodata.json');
      if (!existsSync(file)) continue;
      const st = statSync(file);
      parts.push(`${url}/${subdir}:${st.size}:${st.mtimeMs}`);
    }
  }
  return createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 32);
}
