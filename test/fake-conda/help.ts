/** -h/--help for a subcommand. */
import { helpText, type CmdDef, type Parsed } from './args.js';
import type { Ctx } from './context.js';

/** Print the help and return true when -h/--help was given. */
export function helpOr(ctx: Ctx, def: CmdDef, p: Parsed): boolean {
  if (p.help) ctx.out(helpText(def));
  return p.help;
}
