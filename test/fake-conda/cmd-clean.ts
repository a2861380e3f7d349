/** `conda clean --all -y`: drop the index cache and cached packages no env uses. */
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { COMMON, flag, parseArgs, type CmdDef } from './args.js';
import type { Ctx } from './context.js';
import { CondaError, CondaExit, jsonDump } from './errors.js';
import { helpOr } from './help.js';
import { cacheUsers, distName, readRecords } from './prefix.js';

const CLEAN: CmdDef = {
  prog: 'conda clean',
  opts: [
    { names: ['-a', '--all'], kind: 'flag' },
    { names: ['-i', '--index-cache'], kind: 'flag' },
    { names: ['-p', '--packages'], kind: 'flag' },
    { names: ['-t', '--tarballs'], kind: 'flag' },
    { names: ['-f', '--force-pkgs-dirs'], kind: 'flag' },
    { names: ['-l', '--logfiles'], kind: 'flag' },
    { names: ['-y', '--yes'], kind: 'flag' },
    { names: ['-d', '--dry-run'], kind: 'flag' },
    ...COMMON,
  ],
  positionals: 'none',
};

export async function clean(ctx: Ctx, argv: string[]): Promise<number> {
  const p = parseArgs(CLEAN, argv);
  if (helpOr(ctx, CLEAN, p)) return 0;
  const all = flag(p, 'all');
  const targets = ['index_cache', 'packages', 'tarballs', 'force_pkgs_dirs', 'logfiles'].filter((k) => flag(p, k));
  if (!all && !targets.length)
    throw new CondaError('ArgumentError', "At least one removal target must be given. See 'conda clean --help'.");
  const pkgs = join(ctx.root, 'pkgs');
  let entries: string[] = [];
  try {
    entries = readdirSync(pkgs);
  } catch {
    /* no cache yet */
  }
  const inUse = new Set(cacheUsers(ctx).flatMap((e) => readRecords(e).map(distName)));
  const unused = entries.filter(
    (e) =>
      e !== 'urls.txt' &&
      e !== 'urls' &&
      e !== 'cache' &&
      !e.endsWith('.tar.bz2') &&
      !e.endsWith('.conda') &&
      !inUse.has(e),
  );
  const tarballs = entries.filter((e) => e.endsWith('.tar.bz2') || e.endsWith('.conda'));
  const doPackages = all || flag(p, 'packages');
  const doTarballs = all || flag(p, 'tarballs');
  const doIndex = all || flag(p, 'index_cache');
  const say = (t: string) => {
    if (!flag(p, 'json') && !flag(p, 'quiet')) ctx.out(t);
  };

  if (doTarballs)
    say(
      tarballs.length ? `Will remove ${tarballs.length} tarball(s).\n` : 'There are no unused tarball(s) to remove.\n',
    );
  if (doIndex) say(`Will remove 1 index cache(s).\n`);
  if (doPackages)
    say(unused.length ? `Will remove ${unused.length} package(s).\n` : 'There are no unused package(s) to remove.\n');
  if (flag(p, 'dry_run')) throw new CondaExit(0, 'Dry run. Exiting.');
  for (const e of [...(doTarballs ? tarballs : []), ...(doPackages ? unused : []), ...(doIndex ? ['cache'] : [])]) {
    rmSync(join(pkgs, e), { recursive: true, force: true });
  }
  if (flag(p, 'json'))
    ctx.out(
      jsonDump({ success: true, packages: doPackages ? unused : [], tarballs: doTarballs ? tarballs : [] }) + '\n',
    );
  return 0;
}
