/** `conda search [--json] [-c CH] SPEC`: what a channel has, `{"<name>": [records...]}`. */
import { COMMON, CHANNELS, flag, list, parseArgs, str, type CmdDef } from './args.js';
import { channelList, loadChannelConfig } from './channels.js';
import type { Ctx } from './context.js';
import { CondaError, jsonDump } from './errors.js';
import { helpOr } from './help.js';
import { parseSpec } from './matchspec.js';
import { loadIndex } from './repodata.js';
import { loadRattler, matches, packagesNotFound } from './solve.js';

const SEARCH: CmdDef = {
  prog: 'conda search',
  opts: [
    ...CHANNELS,
    { names: ['-i', '--info'], kind: 'flag' },
    { names: ['--subdir', '--platform'], kind: 'value', metavar: 'SUBDIR' },
    ...COMMON,
  ],
  positionals: 'optional',
  posName: 'match_spec',
};

export async function search(ctx: Ctx, argv: string[]): Promise<number> {
  const p = parseArgs(SEARCH, argv);
  if (helpOr(ctx, SEARCH, p)) return 0;
  const text = p.pos[0] ?? '*';
  const spec = parseSpec(text);
  const subdir = str(p, 'subdir');
  if (subdir && subdir !== 'linux-64' && subdir !== 'noarch')
    throw new CondaError('CondaValueError', `The fake conda only has linux-64 and noarch: ${subdir}`);
  const cfg = await loadChannelConfig(ctx);
  const channels = channelList(
    cfg,
    [...list(p, 'channel'), ...(spec.channel ? [spec.channel] : [])],
    flag(p, 'override_channels'),
  );
  const say = (t: string) => {
    if (!flag(p, 'json')) ctx.out(t);
  };
  say('Loading channels: ');
  let index: ReturnType<typeof loadIndex>;
  try {
    index = loadIndex(channels);
  } catch (e) {
    say('failed\n');
    throw e;
  }
  say('done\n');
  const r = await loadRattler(ctx, index);
  const hits = index.records
    .filter((rec) => (!subdir || rec.subdir === subdir) && matches(r, spec, rec))
    .sort(
      (a, b) =>
        a.name.localeCompare(b.name) ||
        new r.Version(a.version).compare(new r.Version(b.version)) ||
        a.build_number - b.build_number,
    );
  if (!hits.length) throw packagesNotFound([text], channels);

  const byName: Record<string, unknown[]> = {};
  for (const h of hits) {
    const { channel, url, fake_conda_module: _m, fake_conda_prelink: _p, ...rest } = h;
    (byName[h.name] ??= []).push({
      arch: h.subdir === 'noarch' ? null : 'x86_64',
      constrains: [],
      license: '',
      md5: '',
      size: 0,
      timestamp: 0,
      platform: h.subdir === 'noarch' ? null : 'linux',
      ...rest,
      channel: `${channel.url}/${h.subdir}`,
      url,
    });
  }
  if (flag(p, 'json')) {
    ctx.out(jsonDump(byName) + '\n');
    return 0;
  }
  const rows = hits.map(
    (h) => `${h.name.padEnd(30)}${h.version.padStart(15)} ${h.build.padStart(18)}  ${h.channel.name}`,
  );
  ctx.out(`# ${'Name'.padEnd(28)}${'Version'.padStart(15)} ${'Build'.padStart(18)}  Channel\n${rows.join('\n')}\n`);
  return 0;
}
