/** `conda install -p|-n PREFIX PKGS...`: frozen solve first (keep what is installed), then a flexible one. */
import { CHANNELS, COMMON, flag, list, NAME_OR_PREFIX, parseArgs, TARGET, type CmdDef } from './args.js';
import { channelList, channelList43, checkSolver, loadChannelConfig } from './channels.js';
import { atLeast, type Ctx } from './context.js';
import { CondaError, CondaExit, jsonDump, notAnEnv } from './errors.js';
import { requestedMap, specChannels } from './cmd-create.js';
import { helpOr } from './help.js';
import { parseSpec } from './matchspec.js';
import { distName, historySpecs, isEnv, readRecords, recordChannelUrl } from './prefix.js';
import { Progress } from './progress.js';
import type { IndexedRecord } from './repodata.js';
import { solve } from './solve.js';
import { actionsJson, fetchIndex, planText, solveStep } from './steps.js';
import { targetPrefix } from './target.js';
import { execute } from './transaction.js';

const INSTALL: CmdDef = {
  prog: 'conda install',
  opts: [
    ...TARGET,
    ...CHANNELS,
    { names: ['-y', '--yes'], kind: 'flag' },
    { names: ['-d', '--dry-run'], kind: 'flag' },
    { names: ['--force-reinstall'], kind: 'flag' },
    ...COMMON,
  ],
  positionals: 'many',
  posName: 'package_spec',
  exclusive: NAME_OR_PREFIX,
};

export async function install(ctx: Ctx, argv: string[]): Promise<number> {
  const p = parseArgs(INSTALL, argv);
  if (helpOr(ctx, INSTALL, p)) return 0;
  const json = flag(p, 'json');
  const progress = new Progress(ctx, json || flag(p, 'quiet'));
  const prefix = targetPrefix(ctx, p);
  if (!isEnv(prefix)) throw notAnEnv(prefix);
  const specs = p.pos;
  if (!specs.length)
    throw new CondaError('CondaValueError', 'too few arguments, must supply command line package specs or --file');
  const newNames = new Set(specs.map((s) => parseSpec(s).name));

  const cfg = await loadChannelConfig(ctx);
  const channels = atLeast(ctx, '4.4')
    ? channelList(cfg, [...list(p, 'channel'), ...specChannels(specs)], flag(p, 'override_channels'))
    : channelList43(cfg, list(p, 'channel'), specChannels(specs));
  const index = fetchIndex(progress, 'install', channels);
  const installed = readRecords(prefix);

  // conda first tries to keep every installed package as it is
  const inIndex = (r: (typeof installed)[number]) =>
    index.records.some((x) => x.fn === r.fn && x.channel.url === recordChannelUrl(r));
  const frozen = installed
    .filter((r) => !newNames.has(r.name) && inIndex(r))
    .map((r) => `${r.name} ==${r.version} ${r.build}`);
  let solved: IndexedRecord[] | undefined;
  if (frozen.length) {
    progress.solving();
    try {
      solved = await solve(ctx, { specs: [...specs, ...frozen], index, kind: 'install' });
    } catch {
      progress.line(
        atLeast(ctx, '4.7') ? 'failed with initial frozen solve. Retrying with flexible solve.\n' : 'failed\n',
      );
    }
  }
  if (!solved) {
    const previous = historySpecs(prefix).filter((s) => {
      try {
        return !newNames.has(parseSpec(s).name);
      } catch {
        return false;
      }
    });
    checkSolver(ctx, cfg);
    solved = await solveStep(ctx, progress, 'install', [...specs, ...previous], index);
  } else progress.solved(true);

  const isInstalled = (r: IndexedRecord) =>
    installed.some((i) => distName(i) === distName(r) && recordChannelUrl(i) === r.channel.url);
  const link = solved.filter((r) => !isInstalled(r) || (flag(p, 'force_reinstall') && newNames.has(r.name)));
  const linkNames = new Set(link.map((r) => r.name));
  // a package the solution does not mention stays; one it replaces is unlinked
  const unlink = installed.filter((i) => linkNames.has(i.name));

  if (!link.length) {
    if (json) ctx.out(jsonDump({ message: 'All requested packages already installed.', success: true }) + '\n');
    else progress.line(`\n# All requested packages already installed.\n\n`);
    return 0;
  }
  if (!json) progress.line(planText(ctx, cfg, prefix, specs, link, unlink));
  if (flag(p, 'dry_run')) throw new CondaExit(0, 'Dry run. Exiting.');
  if (!flag(p, 'yes') && !json) progress.line('Proceed ([y]/n)? \n\n');
  execute(ctx, cfg, progress, {
    prefix,
    link,
    unlink,
    requested: requestedMap(specs),
    specs,
    newEnv: false,
    args: ['install', ...argv],
    legacyNoarchFails: false,
  });
  if (json) ctx.out(jsonDump(actionsJson(cfg, prefix, link, unlink)) + '\n');
  return 0;
}
