import type { Output } from '../app/output.js';
/** The contract between the CLI dispatcher and each command module. */

export interface OptionDef {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  /** shown in --help; a value placeholder like `N` or `REF` goes in `arg` */
  description: string;
  arg?: string;
}

export type OptionValues = Record<string, string | boolean | Array<string | boolean> | undefined>;

export interface CommandMeta {
  name: string;
  summary: string;
  /** e.g. `conda-gitops plan [--base REF --head REF]` */
  usage: string;
  /** longer help text: what it does, exit codes that matter */
  details?: string;
  options: Record<string, OptionDef>;
  positionals?: { min: number; max: number; names: string };
  /** lazy: heavy modules load only when the command runs (keeps --help fast) */
  load: () => Promise<{ run: RunFn }>;
}

export interface Context {
  options: OptionValues;
  positionals: string[];
  out: Output;
  /** repository directory (inventory.ini, env-specs/) */
  repo: string;
  env: NodeJS.ProcessEnv;
}

export type RunFn = (ctx: Context) => Promise<number>;
