/** -n NAME / -p PREFIX -> the prefix path, with conda's checks on names. */
import { isAbsolute, join, resolve } from 'node:path';
import { str, type Parsed } from './args.js';
import { atLeast, type Ctx } from './context.js';
import { CondaError } from './errors.js';

const BAD_NAME_CHARS = ['/', ' ', ':', '#'];

export function prefixForName(ctx: Ctx, name: string): string {
  if (name === 'base' || (name === 'root' && !atLeast(ctx, '4.6'))) return ctx.root;
  const bad = BAD_NAME_CHARS.filter((c) => name.includes(c));
  if (bad.length || !name) {
    throw new CondaError(
      'CondaValueError',
      `Invalid environment name: '${name}'\n  Characters not allowed: ('/', ' ', ':', '#')`,
    );
  }
  return join(ctx.root, 'envs', name);
}

/** The target env of a command; without -n/-p the active env, which outside `conda activate` is the root. */
export function targetPrefix(ctx: Ctx, p: Parsed): string {
  const prefix = str(p, 'prefix');
  if (prefix !== undefined)
    return isAbsolute(prefix) ? resolve(prefix) : resolve(ctx.cwd, prefix.replace(/^~(?=\/|$)/, ctx.env.HOME ?? '~'));
  const name = str(p, 'name');
  if (name !== undefined) return prefixForName(ctx, name);
  return ctx.env.CONDA_PREFIX || ctx.root;
}

/** What `conda env export` calls the env and the activation banner shows: its name, or its path. */
export function envDisplayName(ctx: Ctx, prefix: string, byName?: string): string {
  if (byName) return byName;
  if (prefix === ctx.root) return atLeast(ctx, '4.6') ? 'base' : 'root';
  return prefix;
}
