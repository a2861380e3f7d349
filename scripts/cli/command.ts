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

/** Where a command writes. In --json mode human text goes to stderr so stdout stays machine-readable. */
export interface Output {
  json: boolean;
  /** human text (stdout, or stderr under --json) */
  info(message: string): void;
  /** warnings and progress: always stderr */
  warn(message: string): void;
  progress(message: string): void;
  /** the machine result (stdout, --json only) */
  result(value: unknown): void;
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

export function stringOption(ctx: Context, name: string): string | undefined {
  const v = ctx.options[name];
  return typeof v === 'string' ? v : undefined;
}

export function boolOption(ctx: Context, name: string): boolean {
  return ctx.options[name] === true;
}

export function listOption(ctx: Context, name: string): string[] {
  const v = ctx.options[name];
  return Array.isArray(v) ? v.map(String) : typeof v === "string" ? [v] : [];
}
