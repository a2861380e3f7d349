/** `conda info [--json] [--envs]` and `conda env list [--json]`. */
import { basename, join } from 'node:path';
import { COMMON, flag, parseArgs, type CmdDef } from './args.js';
import { channelList, channelUrls, loadChannelConfig, PLATFORM, rcFiles } from './channels.js';
import { atLeast, userHome, type Ctx } from './context.js';
import { jsonDump } from './errors.js';
import { helpOr } from './help.js';
import { envsDirs, knownEnvs, pkgsDirs } from './prefix.js';

const INFO: CmdDef = {
  prog: 'conda info',
  opts: [
    { names: ['-a', '--all'], kind: 'flag' },
    { names: ['--base'], kind: 'flag' },
    { names: ['-e', '--envs'], kind: 'flag' },
    { names: ['-s', '--system'], kind: 'flag' },
    { names: ['--unsafe-channels'], kind: 'flag' },
    ...COMMON,
  ],
  positionals: 'none',
};

const ENV_LIST: CmdDef = { prog: 'conda env list', opts: COMMON, positionals: 'none' };

/** How `conda env list` names a prefix: base, the dir name under envs/, or nothing. */
function envRow(ctx: Ctx, prefix: string): string {
  const name =
    prefix === ctx.root
      ? atLeast(ctx, '4.6')
        ? 'base'
        : 'root'
      : prefix.startsWith(join(ctx.root, 'envs') + '/')
        ? basename(prefix)
        : '';
  const active = (ctx.env.CONDA_PREFIX || ctx.root) === prefix ? '*' : ' ';
  return `${name.padEnd(25)}${active}  ${prefix}`;
}

function envsText(ctx: Ctx): string {
  return `# conda environments:\n#\n${knownEnvs(ctx)
    .map((e) => envRow(ctx, e))
    .join('\n')}\n\n`;
}

export async function envList(ctx: Ctx, argv: string[]): Promise<number> {
  const p = parseArgs(ENV_LIST, argv);
  if (helpOr(ctx, ENV_LIST, p)) return 0;
  ctx.out(flag(p, 'json') ? jsonDump({ envs: knownEnvs(ctx) }) + '\n' : envsText(ctx));
  return 0;
}

export async function info(ctx: Ctx, argv: string[]): Promise<number> {
  const p = parseArgs(INFO, argv);
  if (helpOr(ctx, INFO, p)) return 0;
  if (flag(p, 'base')) {
    ctx.out(flag(p, 'json') ? jsonDump({ root_prefix: ctx.root }) + '\n' : `${ctx.root}\n`);
    return 0;
  }
  if (flag(p, 'envs') && !flag(p, 'json')) {
    ctx.out(envsText(ctx));
    return 0;
  }
  const cfg = await loadChannelConfig(ctx);
  const channels = channelUrls(channelList(cfg, [], false));
  const v = ctx.config.version;
  const solver = atLeast(ctx, '23.10') ? 'libmamba' : atLeast(ctx, '22.11') ? 'classic' : undefined;
  const data: Record<string, unknown> = {
    GID: process.getgid?.() ?? 0,
    UID: process.getuid?.() ?? 0,
    active_prefix: null,
    active_prefix_name: null,
    channels,
    conda_build_version: 'not installed',
    conda_env_version: v,
    conda_location: join(ctx.root, 'lib', 'python', 'site-packages', 'conda'),
    conda_prefix: ctx.root,
    conda_shlvl: -1,
    conda_version: v,
    config_files: rcFiles(ctx),
    default_prefix: ctx.env.CONDA_PREFIX || ctx.root,
    envs: knownEnvs(ctx),
    // conda's defaults: ROOT/envs then ~/.conda/envs, ROOT/pkgs then ~/.conda/pkgs (real conda 23.11.0, probe install)
    envs_dirs: envsDirs(ctx),
    netrc_file: null,
    offline: false,
    pkgs_dirs: ctx.env.CONDA_PKGS_DIRS ? pkgsDirs(ctx) : [...pkgsDirs(ctx), join(userHome(ctx), '.conda', 'pkgs')],
    platform: PLATFORM,
    python_version: `${ctx.config.pythonVersion}.final.0`,
    rc_path: join(ctx.root, '.condarc'),
    root_prefix: ctx.root,
    root_writable: true,
    sys_rc_path: join(ctx.root, '.condarc'),
    user_agent: `conda/${v} requests/2.31.0 CPython/${ctx.config.pythonVersion} Linux/${process.platform} fake-conda`,
    user_rc_path: join(ctx.env.HOME ?? '~', '.condarc'),
    virtual_pkgs: [
      ['__archspec', '1', 'x86_64'],
      ['__glibc', '2.36', '0'],
      ['__linux', '6.0', '0'],
      ['__unix', '0', '0'],
    ],
  };
  if (solver) data.solver = solver;
  if (flag(p, 'json')) {
    ctx.out(jsonDump(data) + '\n');
    return 0;
  }
  const rows: Array<[string, string]> = [
    ['active environment', 'None'],
    ['user config file', String(data.user_rc_path)],
    ['populated config files', rcFiles(ctx).join('\n                          ')],
    ['conda version', v],
    ['conda-build version', 'not installed'],
    ['python version', String(data.python_version)],
    ...(solver ? [['solver', solver] as [string, string]] : []),
    ['base environment', `${ctx.root}  (writable)`],
    ['channel URLs', channels.join('\n                          ')],
    ['package cache', pkgsDirs(ctx).join('\n                          ')],
    ['envs directories', join(ctx.root, 'envs')],
    ['platform', PLATFORM],
    ['user-agent', String(data.user_agent)],
    ['offline mode', 'False'],
  ];
  ctx.out(`\n${rows.map(([k, val]) => `${k.padStart(24)} : ${val}`).join('\n')}\n\n`);
  if (flag(p, 'envs') || flag(p, 'all')) ctx.out(envsText(ctx));
  return 0;
}
