/**
 * The contract between the CLI and a command: the parsed command line, where to write, the repository and the
 * environment. Commands read option values with core/options.ts and call one use case.
 */
import type { OptionValues } from '../core/options.js';
import type { Output } from './output.js';

export interface Context {
  options: OptionValues;
  positionals: string[];
  out: Output;
  /** repository directory (inventory.ini, env-specs/) */
  repo: string;
  env: NodeJS.ProcessEnv;
}

export type RunFn = (ctx: Context) => Promise<number>;
