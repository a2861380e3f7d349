/** `conda list [-n|-p] [--json|--export|--explicit] [regex]`. */
import { COMMON, flag, NAME_OR_PREFIX, parseArgs, TARGET, type CmdDef } from './args.js';
import { loadChannelConfig, PLATFORM, type ChannelConfig } from './channels.js';
import { atLeast, type Ctx } from './context.js';
import { jsonDump, notAnEnv } from './errors.js';
import { helpOr } from './help.js';
import {
  distName,
  isEnv,
  pypiDists,
  readRecords,
  recordChannelName,
  recordChannelUrl,
  type PrefixRecord,
} from './prefix.js';
import { targetPrefix } from './target.js';

/** The header of `conda list --explicit` and `--export`. */
const CREATE_WITH =
  '# This file may be used to create an environment using:\n# $ conda create --name <env> --file <this file>\n';

const LIST: CmdDef = {
  prog: 'conda list',
  opts: [
    ...TARGET,
    { names: ['-c', '--canonical'], kind: 'flag' },
    { names: ['-f', '--full-name'], kind: 'flag' },
    { names: ['--explicit'], kind: 'flag' },
    { names: ['--md5'], kind: 'flag' },
    { names: ['-e', '--export'], kind: 'flag' },
    { names: ['-r', '--revisions'], kind: 'flag' },
    { names: ['--no-pip'], kind: 'flag' },
    ...COMMON,
  ],
  positionals: 'optional',
  posName: 'regex',
  exclusive: NAME_OR_PREFIX,
};

/** One `conda list --json` entry: conda's canonical field set. */
export interface ListEntry {
  base_url: string;
  build_number: number;
  build_string: string;
  channel: string;
  dist_name: string;
  name: string;
  platform: string;
  version: string;
}

/**
 * The `channel` of a `list --json` row is conda's `Channel.name` (records.py `dist_fields_dump`), not the canonical
 * name: a name config maps (custom_channels, channel_alias) stays itself; otherwise `models/channel.py`
 * `_read_channel_configuration` step 6 (a file:// URL: its last path segment) or step 7 (the URL's path: the default
 * channels are `pkgs/main`, not `defaults`). Real conda 23.11.0, probe create (test/real-conda/probes.test.ts).
 */
function listChannelName(url: string, canonical: string): string {
  if (canonical === 'pypi' || (canonical !== url && canonical !== 'defaults' && !canonical.startsWith('pkgs/')))
    return canonical;
  if (url.startsWith('file:')) return url.replace(/\/+$/, '').split('/').pop() ?? url;
  const m = /^[a-z][a-z0-9+.-]*:\/\/[^/]+\/?(.*)$/i.exec(url);
  return m?.[1]?.replace(/\/+$/, '') || url;
}

/**
 * The rows of `list --json`: from 4.6 (4.4 on, unverified) PackageRecord.dist_fields_dump, `channel` being
 * Channel.name; 4.3 dumps a Dist: `base_url` and `platform` null, `channel` the canonical name (a file:// channel's
 * URL), `with_features_depends` null (real conda 4.3.22, probe env create + pip).
 */
function jsonEntries(ctx: Ctx, entries: ListEntry[]): unknown[] {
  if (!atLeast(ctx, '4.4'))
    return entries.map((e) => ({ ...e, base_url: null, platform: null, with_features_depends: null }));
  return entries.map((e) => ({ ...e, channel: listChannelName(e.base_url, e.channel) }));
}

/** Conda packages plus (conda >= 4.6) pip-installed ones, sorted by name. */
export function listEntries(ctx: Ctx, cfg: ChannelConfig, prefix: string, withPip: boolean): ListEntry[] {
  const records = readRecords(prefix);
  const entries: ListEntry[] = records.map((r: PrefixRecord) => ({
    base_url: recordChannelUrl(r),
    build_number: r.build_number,
    build_string: r.build,
    // conda list names the default channels by their path (pkgs/main), not `defaults`
    channel:
      recordChannelName(r, cfg) === 'defaults'
        ? recordChannelUrl(r).replace(/^.*\/(pkgs\/[^/]+)$/, '$1')
        : recordChannelName(r, cfg),
    dist_name: distName(r),
    name: r.name,
    platform: r.subdir,
    version: r.version,
  }));
  if (withPip && atLeast(ctx, '4.6')) {
    for (const d of pypiDists(ctx, prefix, records)) {
      entries.push({
        base_url: 'https://pypi.org/',
        build_number: 0,
        build_string: 'pypi_0',
        channel: 'pypi',
        dist_name: `${d.name}-${d.version}-pypi_0`,
        name: d.name,
        platform: 'pypi',
        version: d.version,
      });
    }
  }
  return entries.sort((a, b) => a.name.localeCompare(b.name));
}

export async function list(ctx: Ctx, argv: string[]): Promise<number> {
  const p = parseArgs(LIST, argv);
  if (helpOr(ctx, LIST, p)) return 0;
  const prefix = targetPrefix(ctx, p);
  if (!isEnv(prefix)) throw notAnEnv(prefix);
  const cfg = await loadChannelConfig(ctx);
  let entries = listEntries(ctx, cfg, prefix, !flag(p, 'no_pip'));
  if (p.pos[0]) {
    const re = flag(p, 'full_name') ? new RegExp(`^${p.pos[0]}$`) : new RegExp(p.pos[0]);
    entries = entries.filter((e) => re.test(e.name));
  }
  if (flag(p, 'explicit')) {
    const urls = readRecords(prefix)
      .filter((r) => entries.some((e) => e.name === r.name))
      .map((r) => r.url);
    ctx.out(`${CREATE_WITH}# platform: ${PLATFORM}\n@EXPLICIT\n${urls.join('\n')}\n`);
  } else if (flag(p, 'export') || flag(p, 'canonical')) {
    const lines = entries.map((e) =>
      flag(p, 'canonical') ? `${e.channel}/${e.platform}::${e.dist_name}` : `${e.name}=${e.version}=${e.build_string}`,
    );
    ctx.out(`${CREATE_WITH}# platform: ${PLATFORM}\n${lines.join('\n')}\n`);
  } else if (flag(p, 'json')) {
    ctx.out(jsonDump(jsonEntries(ctx, entries)) + '\n');
  } else {
    const rows = entries.map(
      (e) =>
        `${e.name.padEnd(25)} ${e.version.padEnd(15)} ${e.build_string.padStart(15)}    ` +
        (e.channel === 'pypi' ? 'pypi' : e.channel),
    );
    ctx.out(
      `# packages in environment at ${prefix}:\n#\n` +
        `# Name                    Version                   Build  Channel\n${rows.join('\n')}\n`,
    );
  }
  return 0;
}
