/** `conda env create -f FILE` and `conda create PKGS...`. */
import { rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  CHANNELS,
  COMMON,
  flag,
  forVersion,
  list,
  NAME_OR_PREFIX,
  parseArgs,
  str,
  TARGET,
  type CmdDef,
} from './args.js';
import { channelList, channelList43, checkSolver, loadChannelConfig } from './channels.js';
import { atLeast, cmpVersion, crashPoint, libmambaCli, type Ctx } from './context.js';
import { CondaError, CondaExit, jsonDump } from './errors.js';
import { readEnvFile } from './envfile.js';
import { parseSpec } from './matchspec.js';
import { pipStep } from './pip.js';
import { isEnv } from './prefix.js';
import { Progress } from './progress.js';
import { actionsJson, fetchIndex, planText, solveStep } from './steps.js';
import { envDisplayName, prefixForName, targetPrefix } from './target.js';
import { execute } from './transaction.js';
import { helpOr } from './help.js';

const ENV_CREATE: CmdDef = {
  prog: 'conda env create',
  opts: [
    { names: ['-f', '--file'], kind: 'value', metavar: 'FILE' },
    ...TARGET,
    { names: ['--force'], kind: 'flag' },
    { names: ['-y', '--yes'], kind: 'flag', since: '23.7' },
    { names: ['-d', '--dry-run'], kind: 'flag' },
    { names: ['--no-default-packages'], kind: 'flag' },
    ...COMMON,
  ],
  positionals: 'optional',
  posName: 'remote_definition',
  exclusive: NAME_OR_PREFIX,
};

const CREATE: CmdDef = {
  prog: 'conda create',
  opts: [
    ...TARGET,
    ...CHANNELS,
    { names: ['-y', '--yes'], kind: 'flag' },
    { names: ['-d', '--dry-run'], kind: 'flag' },
    { names: ['--no-default-packages'], kind: 'flag' },
    ...COMMON,
  ],
  positionals: 'many',
  posName: 'package_spec',
  exclusive: NAME_OR_PREFIX,
};

const alreadyExists = (prefix: string) => new CondaError('CondaValueError', `prefix already exists: ${prefix}`);

export async function envCreate(ctx: Ctx, argv: string[]): Promise<number> {
  const def = { ...ENV_CREATE, opts: forVersion(ENV_CREATE.opts, (v) => atLeast(ctx, v)) };
  const p = parseArgs(def, argv);
  if (helpOr(ctx, def, p)) return 0;
  if (p.pos.length)
    throw new CondaError('CondaValueError', `The fake conda cannot fetch remote definitions: ${p.pos[0]}`);
  const json = flag(p, 'json');
  const quiet = json || flag(p, 'quiet');
  const progress = new Progress(ctx, quiet);
  const file = await readEnvFile(ctx, str(p, 'file') ?? 'environment.yml', str(p, 'name'));

  let prefix: string;
  let display: string;
  if (str(p, 'prefix') !== undefined || str(p, 'name') !== undefined) {
    prefix = targetPrefix(ctx, p);
    display = str(p, 'name') ?? prefix;
  } else if (file.name) {
    prefix = prefixForName(ctx, file.name);
    display = file.name;
  } else if (file.prefix) {
    prefix = resolve(file.prefix);
    display = prefix;
  } else {
    throw new CondaError(
      'CondaValueError',
      'either -n NAME or -p PREFIX option required,\ntry "conda env create -h" for more details',
    );
  }
  if (prefix === ctx.root) throw new CondaError('CondaValueError', 'The target prefix is the base prefix. Aborting.');
  const force = flag(p, 'force') || flag(p, 'yes');
  if (isEnv(prefix) && !force) throw alreadyExists(prefix);

  const specs = [...file.conda];
  // conda adds pip for a pip: section only from 4.6.9 (conda_env/env.py from_dict); older ones run the pip step
  // with whatever pip the env has (pipStep: 4.3.x-4.4.8 crash without one, 4.4.9-4.6.8 skip the step)
  if (file.pip && !specs.some((s) => safeName(s) === 'pip') && atLeast(ctx, '4.6.9')) {
    if (!quiet) {
      ctx.out(
        'Warning: you have pip-installed dependencies in your environment file, ' +
          'but you do not list pip itself as one of your conda dependencies.  ' +
          'Conda may not use the correct pip to install your packages, and they may end up in the wrong place.  ' +
          'Please add an explicit pip dependency.  ' +
          "I'm adding one for you, but still nagging you.\n",
      );
    }
    specs.push('pip');
  }
  const cfg = await loadChannelConfig(ctx);
  const channels = channelList(cfg, [...file.channels, ...specChannels(specs)], false, true);
  const index = fetchIndex(progress, 'env-create', channels);
  checkSolver(ctx, cfg);
  const records = await solveStep(ctx, progress, 'env-create', specs, index);
  if (flag(p, 'dry_run')) {
    if (json) ctx.out(jsonDump({ ...actionsJson(cfg, prefix, records, []), dry_run: true }) + '\n');
    else ctx.out(planText(ctx, cfg, prefix, specs, records, []));
    throw new CondaExit(0, 'Dry run. Exiting.');
  }

  if (isEnv(prefix)) rmSync(prefix, { recursive: true, force: true });
  execute(ctx, cfg, progress, {
    prefix,
    link: records,
    unlink: [],
    requested: requestedMap(specs),
    specs,
    newEnv: true,
    args: ['env', 'create', ...argv],
    legacyNoarchFails: true,
  });
  // libmamba reads `variables:` from 2.2.0 (mamba-org/mamba libmamba/src/api/install.cpp:289 parses it, :663
  // populate_state_file); micromamba 1.x and mamba/micromamba 2.0.0-2.1.x ignore the key
  const libmambaIgnores = libmambaCli(ctx) && cmpVersion(ctx.config.mambaVersion ?? '2.0.5', '2.2') < 0;
  if (Object.keys(file.variables).length && atLeast(ctx, '4.9') && !libmambaIgnores) {
    writeFileSync(join(prefix, 'conda-meta', 'state'), JSON.stringify({ env_vars: file.variables }, null, 2) + '\n');
  }
  if (file.pip?.length) {
    crashPoint(ctx, 'before-pip');
    await pipStep(ctx, prefix, file.path, file.pip, quiet);
    crashPoint(ctx, 'after-pip');
  }
  if (json) ctx.out(jsonDump({ ...actionsJson(cfg, prefix, records, []) }) + '\n');
  else progress.banner(display);
  return 0;
}

export async function create(ctx: Ctx, argv: string[]): Promise<number> {
  const p = parseArgs(CREATE, argv);
  if (helpOr(ctx, CREATE, p)) return 0;
  const json = flag(p, 'json');
  const progress = new Progress(ctx, json || flag(p, 'quiet'));
  if (str(p, 'prefix') === undefined && str(p, 'name') === undefined) {
    throw new CondaError('CondaValueError', 'one of the arguments -n/--name -p/--prefix is required');
  }
  const prefix = targetPrefix(ctx, p);
  if (prefix === ctx.root) throw new CondaError('CondaValueError', 'The target prefix is the base prefix. Aborting.');
  if (isEnv(prefix) && !flag(p, 'yes')) throw alreadyExists(prefix);
  const specs = p.pos;
  for (const s of specs) parseSpec(s);
  const cfg = await loadChannelConfig(ctx);
  const channels = atLeast(ctx, '4.4')
    ? channelList(cfg, [...list(p, 'channel'), ...specChannels(specs)], flag(p, 'override_channels'))
    : channelList43(cfg, list(p, 'channel'), specChannels(specs));
  const index = fetchIndex(progress, 'create', channels);
  checkSolver(ctx, cfg);
  const records = await solveStep(ctx, progress, 'create', specs, index);
  if (!json) progress.line(planText(ctx, cfg, prefix, specs, records, []));
  if (flag(p, 'dry_run')) throw new CondaExit(0, 'Dry run. Exiting.');
  // stdin is not read: the fake always takes the default answer, yes
  if (!flag(p, 'yes') && !json) progress.line('Proceed ([y]/n)? \n\n');
  if (isEnv(prefix)) {
    progress.line(
      `WARNING: A conda environment already exists at '${prefix}'\nRemove existing environment (y/[n])? y\n\n`,
    );
    rmSync(prefix, { recursive: true, force: true });
  }
  execute(ctx, cfg, progress, {
    prefix,
    link: records,
    unlink: [],
    requested: requestedMap(specs),
    specs,
    newEnv: true,
    args: ['create', ...argv],
    legacyNoarchFails: true,
  });
  if (json) ctx.out(jsonDump(actionsJson(cfg, prefix, records, [])) + '\n');
  else progress.banner(str(p, 'name') ?? envDisplayName(ctx, prefix));
  return 0;
}

function safeName(spec: string): string | undefined {
  try {
    return parseSpec(spec).name;
  } catch {
    return undefined;
  }
}

/** `conda-forge::numpy` makes conda look in conda-forge too. */
export function specChannels(specs: string[]): string[] {
  return specs
    .map((s) => {
      try {
        return parseSpec(s).channel;
      } catch {
        return undefined;
      }
    })
    .filter((c): c is string => Boolean(c));
}

export function requestedMap(specs: string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const s of specs) {
    const n = safeName(s);
    if (n) m.set(n, s.trim());
  }
  return m;
}
