/** Channel configuration (.condarc) and channel names -> URLs, the way conda maps them. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { atLeast, userHome, yaml, type Ctx } from './context.js';
import { CondaError } from './errors.js';

export interface ChannelConfig {
  channels: string[];
  channelAlias: string;
  customChannels: Record<string, string>;
  defaultChannels: string[];
  /** `solver:` of the rc files (conda >= 22.11 reads it; checkSolver) */
  solver?: string;
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

/**
 * conda's rc search path (conda/base/constants.py SEARCH_PATH), in reading order: later files win. `/etc` is the
 * installation's recorded sysconfdir (none unless a test gives one), `~` the user's home (context.ts userHome).
 * `$XDG_CONFIG_HOME/conda` and `~/.config/conda` are read from 4.11.0. No conda reads CONDA_RESTRICT_RC_SEARCH_PATH
 * (a conda-standalone patch; SEARCH_PATH is unconditional up to 26.x): CONDARC adds a file, it removes none.
 */
export function rcSearchPath(ctx: Ctx): string[] {
  const env = ctx.env;
  const home = userHome(ctx);
  const three = (dir: string) => [join(dir, '.condarc'), join(dir, 'condarc'), join(dir, 'condarc.d')];
  const etc = ctx.config.sysconfdir;
  return [
    ...(etc ? [...three(join(etc, 'conda')), ...three(join(etc, '..', 'var', 'lib', 'conda'))] : []),
    ...three(ctx.root),
    ...(atLeast(ctx, '4.11')
      ? [
          ...(env.XDG_CONFIG_HOME ? three(join(env.XDG_CONFIG_HOME, 'conda')) : []),
          ...three(join(home, '.config', 'conda')),
        ]
      : []),
    ...three(join(home, '.conda')),
    join(home, '.condarc'),
    ...(env.CONDA_PREFIX ? three(env.CONDA_PREFIX) : []),
    ...(env.CONDARC ? [env.CONDARC] : []),
  ];
}

/** The rc files conda reads, in order (a `condarc.d` directory stands for its *.yml / *.yaml files). */
export function rcFiles(ctx: Ctx): string[] {
  const out: string[] = [];
  for (const p of rcSearchPath(ctx)) {
    let st;
    try {
      st = statSync(p);
    } catch {
      continue;
    }
    if (st.isDirectory())
      out.push(
        ...readdirSync(p)
          .filter((f) => /\.ya?ml$/.test(f))
          .sort()
          .map((f) => join(p, f)),
      );
    else if (!out.includes(p)) out.push(p);
  }
  return out;
}

const dedupe = (xs: string[]): string[] => [...new Set(xs)];

/**
 * `pkgs_dirs` of the rc files (a sequence: the later file's entries first), `~` expanded; [] when none sets it.
 * conda then uses only these (conda/base/context.py pkgs_dirs).
 */
export function configuredPkgsDirs(ctx: Ctx): string[] {
  let dirs: string[] = [];
  for (const file of rcFiles(ctx)) {
    const text = readFileSync(file, 'utf8');
    const rc = parseSimpleYaml(text) ?? (yaml(ctx).load(text) as Record<string, unknown> | null) ?? {};
    if (Array.isArray(rc.pkgs_dirs))
      dirs = dedupe([...rc.pkgs_dirs.map((d) => String(d).replace(/^~(?=\/|$)/, userHome(ctx))), ...dirs]);
  }
  return dirs;
}

/**
 * Layer the rc files as conda does (conda/common/configuration.py): sequences (`channels`, `default_channels`)
 * are merged with the LATER file's entries first; maps (`custom_channels`) merged key by key; scalars: last wins.
 */
export async function loadChannelConfig(ctx: Ctx): Promise<ChannelConfig> {
  const cfg: ChannelConfig = {
    channels: [],
    channelAlias: DEFAULT_ALIAS,
    customChannels: {},
    defaultChannels: [],
  };
  let sawChannels = false;
  for (const file of rcFiles(ctx)) {
    const text = readFileSync(file, 'utf8');
    const rc = parseSimpleYaml(text) ?? (yaml(ctx).load(text) as Record<string, unknown> | null) ?? {};
    if (Array.isArray(rc.channels)) {
      cfg.channels = dedupe([...rc.channels.map(String), ...cfg.channels]);
      sawChannels = true;
    }
    if (typeof rc.solver === 'string') cfg.solver = rc.solver;
    if (typeof rc.channel_alias === 'string') cfg.channelAlias = rc.channel_alias.replace(/\/+$/, '');
    if (Array.isArray(rc.default_channels))
      cfg.defaultChannels = dedupe([
        ...rc.default_channels.map((c) => String(c).replace(/\/+$/, '')),
        ...cfg.defaultChannels,
      ]);
    if (rc.custom_channels && typeof rc.custom_channels === 'object') {
      for (const [k, v] of Object.entries(rc.custom_channels as Record<string, unknown>))
        cfg.customChannels[k] = String(v).replace(/\/+$/, '');
    }
  }
  if (!cfg.defaultChannels.length) cfg.defaultChannels = DEFAULT_CHANNELS;
  // conda's built-in default when no rc file sets channels
  if (!sawChannels) cfg.channels = ['defaults'];
  return cfg;
}

/** `name/label/x` uses the custom channel of its longest `/`-prefix (conda/models/channel.py from_name). */
function customBase(name: string, cfg: ChannelConfig): string | undefined {
  const parts = name.split('/');
  for (let n = parts.length; n > 0; n--) {
    const base = cfg.customChannels[parts.slice(0, n).join('/')];
    if (base) return base;
  }
  return undefined;
}

/** Resolve one channel as written (name, URL, path, `defaults`) to the channel(s) it means. */
export function resolveChannel(spec: string, cfg: ChannelConfig): Channel[] {
  const s = spec.trim().replace(/\/+$/, '');
  if (s === 'defaults') return cfg.defaultChannels.map((url) => ({ url, name: canonicalName(url, cfg) }));
  let url: string;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(s)) url = s.replace(/\/(linux-64|noarch)$/, '');
  else if (isAbsolute(s) || s.startsWith('./') || s.startsWith('~'))
    url = pathToFileURL(s.replace(/^~/, process.env.HOME ?? '~')).href.replace(/\/+$/, '');
  else if (customBase(s, cfg)) url = `${customBase(s, cfg)}/${s}`;
  else url = `${cfg.channelAlias}/${s}`;
  return [{ url, name: canonicalName(url, cfg) }];
}

/** What conda prints for a channel URL: its short name when config maps one to it, else the URL. */
export function canonicalName(url: string, cfg: ChannelConfig): string {
  for (const base of Object.values(cfg.customChannels))
    if (url.startsWith(`${base}/`) && customBase(url.slice(base.length + 1), cfg) === base)
      return url.slice(base.length + 1);
  if (url.startsWith(`${cfg.channelAlias}/`)) return url.slice(cfg.channelAlias.length + 1);
  if (cfg.defaultChannels.includes(url)) return 'defaults';
  return url;
}

/**
 * Channels of a command: -c channels, then the env file's, then the configured ones (unless overridden).
 * `nodefaults` means something only in an environment file (`fromFile`): there it drops **every configured
 * channel**, not only `defaults` (`conda_env/installers/conda.py`: the configured channels are added only when
 * the file has no `nodefaults`; real conda 4.3.22–23.11.0, probe nodefaults); a `defaults` the file itself lists
 * stays (source reading, 4.3.22 to 25.11.1). On the command line conda takes it
 * as an ordinary channel name (`channel_alias/nodefaults`).
 */
export function channelList(cfg: ChannelConfig, first: string[], override: boolean, fromFile = false): Channel[] {
  const noConfigured = override || (fromFile && first.includes('nodefaults'));
  const names = noConfigured ? [...first] : [...first, ...cfg.channels];
  return resolveList(cfg, names, fromFile);
}

/**
 * conda 4.3's channels for `create`/`install` (`context.channels` at 4.3.22 and 4.3.31): `-c` channels then the
 * configured ones, **even with `--override-channels`** (it only stops `defaults` being prepended), and when the
 * `-c` list equals that merged list (e.g. `-c X` with `channels: [X]` in .condarc) `defaults` is appended: offline a
 * CondaHTTPError. Real conda 4.3.22, probe create (test/real-conda/probes.test.ts).
 */
export function channelList43(cfg: ChannelConfig, cli: string[], specChannels: string[]): Channel[] {
  const merged = [...new Set([...cli, ...cfg.channels])];
  const addDefaults = cli.length > 0 && cli.length === merged.length && cli.every((c, i) => c === merged[i]);
  return resolveList(cfg, [...cli, ...specChannels, ...merged, ...(addDefaults ? ['defaults'] : [])], false);
}

function resolveList(cfg: ChannelConfig, names: string[], fromFile: boolean): Channel[] {
  const seen = new Set<string>();
  const out: Channel[] = [];
  for (const n of names) {
    // a `defaults` the file lists itself stays beside `nodefaults` (conda_env/installers/conda.py, 4.3 to 25.11)
    if (fromFile && n === 'nodefaults') continue;
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

/**
 * The solver backend a solve uses (conda/plugins/manager.py get_solver_backend, 22.11+): `solver:` names a plugin;
 * this fake's installations have the libmamba plugin from 23.10 (its default) and not before, so 22.11–23.9 with
 * `solver: libmamba` fail as real conda without conda-libmamba-solver does. Older conda does not know the key and
 * ignores it. Real conda 22.11.1 / 4.12.0, probe solver (test/real-conda/table-probes.test.ts).
 */
export function checkSolver(ctx: Ctx, cfg: ChannelConfig): void {
  if (!cfg.solver || !atLeast(ctx, '22.11')) return;
  const known = atLeast(ctx, '23.10') ? ['classic', 'libmamba'] : ['classic'];
  const name = cfg.solver.toLowerCase();
  if (!known.includes(name))
    throw new CondaError(
      'CondaValueError',
      `You have chosen a non-default solver backend (${name}) but it was not recognized. Choose one of: ` +
        known.join(', '),
    );
}
