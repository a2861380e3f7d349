/**
 * The contract between the CLI and a command: the parsed command line, where to write, the repository and the
 * environment. Commands read option values with core/options.ts, call one use case and return its outcome.
 */
import type { OptionValues } from '../core/options.js';
import type { Output } from './output.js';
import type { Problem } from '../core/errors.js';
import type { Outcome } from '../core/outcome.js';

export interface Context {
  options: OptionValues;
  positionals: string[];
  out: Output;
  /** repository directory (inventory.ini, env-specs/) */
  repo: string;
  env: NodeJS.ProcessEnv;
  /**
   * Report problems in the repository's files to the CI runner: in GitHub Actions, `::error`/`::warning`
   * annotations at file:line and a job summary table; nothing elsewhere. Set by the CLI dispatcher (which also
   * annotates every InputError a command throws).
   */
  annotate?: (problems: readonly Problem[]) => Promise<void>;
}

/** A command: how it ended (the CLI prints the outcome's message and owns the exit code, cli/exit.ts). */
export type RunFn = (ctx: Context) => Promise<Outcome>;
