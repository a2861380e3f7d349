/** `conda env remove -n|-p`, `conda remove --all -n|-p`, `conda remove -n|-p PKGS`. */
import { lstatSync, rmSync } from 'node:fs';
import { COMMON, flag, NAME_OR_PREFIX, parseArgs, str, TARGET, type CmdDef } from './args.js';
import { loadChannelConfig } from './channels.js';
import { atLeast, type Ctx } from './context.js';
import { CondaError, CondaExit, jsonDump, notAnEnv } from './errors.js';
import { helpOr } from './help.js';
import { appendHistory, distName, isEnv, readRecords, unlinkPackage } from './prefix.js';
import { Progress } from './progress.js';
import { targetPrefix } from './target.js';

const ENV_REMOVE: CmdDef = {
  prog: 'conda env remove',
  opts: [...TARGET, { names: ['-y', '--yes'], kind: 'flag' }, { names: ['-d', '--dry-run'], kind: 'flag' }, ...COMMON],
  positionals: 'none',
  exclusive: NAME_OR_PREFIX,
};

const REMOVE: CmdDef = {
  prog: 'conda remove',
  opts: [
    ...TARGET,
    { names: ['--all'], kind: 'flag' },
    { names: ['-y', '--yes'], kind: 'flag' },
    { names: ['-d', '--dry-run'], kind: 'flag' },
    ...COMMON,
  ],
  positionals: 'many',
  posName: 'package_name',
  exclusive: NAME_OR_PREFIX,
};

function removeWhole(ctx: Ctx, prefix: string, json: boolean, dryRun: boolean, quiet: boolean): number {
  if (prefix === ctx.root) {
    throw new CondaError('CondaEnvironmentError', 'cannot remove root environment, add -n NAME or -p PREFIX option');
  }
  if (!isEnv(prefix)) throw notAnEnv(prefix);
  if (dryRun) throw new CondaExit(0, 'Dry run. Exiting.');
  if (!quiet && !json) ctx.out(`\nRemove all packages in environment ${prefix}:\n\n`);
  // like conda's rm_rf: a symlinked env path loses the link, not what it points to
  if (lstatSync(prefix).isSymbolicLink()) rmSync(prefix, { force: true });
  else rmSync(prefix, { recursive: true, force: true });
  if (json) ctx.out(jsonDump({ actions: { PREFIX: prefix }, success: true }) + '\n');
  return 0;
}

export async function envRemove(ctx: Ctx, argv: string[]): Promise<number> {
  const p = parseArgs(ENV_REMOVE, argv);
  if (helpOr(ctx, ENV_REMOVE, p)) return 0;
  if (str(p, 'name') === undefined && str(p, 'prefix') === undefined) {
    throw new CondaError('CondaEnvironmentError', 'cannot remove current environment, add -n NAME or -p PREFIX option');
  }
  return removeWhole(ctx, targetPrefix(ctx, p), flag(p, 'json'), flag(p, 'dry_run'), flag(p, 'quiet'));
}

export async function remove(ctx: Ctx, argv: string[]): Promise<number> {
  const p = parseArgs(REMOVE, argv);
  if (helpOr(ctx, REMOVE, p)) return 0;
  const prefix = targetPrefix(ctx, p);
  if (flag(p, 'all')) return removeWhole(ctx, prefix, flag(p, 'json'), flag(p, 'dry_run'), flag(p, 'quiet'));
  if (!p.pos.length)
    throw new CondaError(
      'CondaValueError',
      'no package names supplied,\n       try "conda remove -h" for more details',
    );
  if (!isEnv(prefix)) throw notAnEnv(prefix);
  const records = readRecords(prefix);
  const missing = p.pos.filter((n) => !records.some((r) => r.name === n));
  if (missing.length) {
    throw new CondaError(
      'PackagesNotFoundError',
      `The following packages are missing from the target environment:\n${missing.map((m) => `  - ${m}`).join('\n')}\n`,
      { packages: missing },
    );
  }
  const gone = records.filter((r) => p.pos.includes(r.name));
  const progress = new Progress(ctx, flag(p, 'json') || flag(p, 'quiet'));
  progress.line(
    `\n## Package Plan ##\n\n  environment location: ${prefix}\n\n` +
      `  removed specs:\n${p.pos.map((s) => `    - ${s}`).join('\n')}\n\n\n` +
      `The following packages will be REMOVED:\n\n${gone.map((r) => `  ${distName(r)}`).join('\n')}\n\n`,
  );
  if (flag(p, 'dry_run')) throw new CondaExit(0, 'Dry run. Exiting.');
  for (const r of gone) unlinkPackage(prefix, r);
  appendHistory(ctx, prefix, await loadChannelConfig(ctx), ['remove', ...argv], [], gone, p.pos, 'remove');
  if (atLeast(ctx, '4.4')) progress.transaction(true);
  if (flag(p, 'json'))
    ctx.out(jsonDump({ actions: { PREFIX: prefix, UNLINK: gone.map(distName) }, success: true }) + '\n');
  return 0;
}
