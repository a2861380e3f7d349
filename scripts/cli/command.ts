/** What the dispatcher knows of each command: its name, help, options and how to load it. */
import type { RunFn } from '../app/context.js';

export interface OptionDef {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  /** shown in --help; a value placeholder like `N` or `REF` goes in `arg` */
  description: string;
  arg?: string;
}

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
