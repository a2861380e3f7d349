/**
 * The contract between the CLI and a command: the parsed command line, where to write, the repository and the
 * environment. Commands read option values with core/options.ts and call one use case.
 */
import type { OptionValues } from '../core/options.js';
import type { Output } from './output.js';
import type { Problem } from '../core/errors.js';

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

export type RunFn = (ctx: Context) => Promise<number>;
