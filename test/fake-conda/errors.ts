/** conda-like exceptions: class name, message, exit code, and the extra fields conda puts in --json errors. */

/** Python module each exception class lives in; `exception_type` in --json output names it. */
const MODULES: Record<string, string> = {
  LibMambaUnsatisfiableError: 'conda_libmamba_solver.exceptions',
  EnvironmentFileNotFound: 'conda.exceptions',
  EnvironmentFileEmpty: 'conda.exceptions',
  SpecNotFound: 'conda_env.exceptions',
};

export class CondaError extends Error {
  /** conda's CondaError.return_code */
  exitCode = 1;
  constructor(
    readonly className: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }

  /** `ClassName: message`, the line conda prints (and the `error` field of --json output). */
  get line(): string {
    return `${this.className}: ${this.message}`;
  }

  toJson(): Record<string, unknown> {
    const module = MODULES[this.className] ?? 'conda.exceptions';
    return {
      caused_by: 'None',
      error: this.line,
      exception_name: this.className,
      exception_type: `<class '${module}.${this.className}'>`,
      message: this.message,
      ...this.extra,
    };
  }
}

/** Exits with a status but prints nothing more (DryRunExit, CondaSystemExit). */
export class CondaExit extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** The main parser's usage line, which argparse prints for unrecognized arguments. */
export const MAIN_USAGE = 'usage: conda [-h] [-V] command ...';

/** argparse error: usage text + `prog: error: msg`, exit 2. */
export class ArgparseError extends Error {
  readonly exitCode = 2;
  constructor(
    readonly usage: string,
    readonly prog: string,
    message: string,
  ) {
    super(message);
  }
  render(): string {
    return `${this.usage}\n${this.prog}: error: ${this.message}\n`;
  }
}

export const notAnEnv = (prefix: string): CondaError =>
  new CondaError('EnvironmentLocationNotFound', `Not a conda environment: ${prefix}`, { location: prefix });

/** conda's json.dumps(..., indent=2, sort_keys=True). */
export function jsonDump(value: unknown): string {
  return JSON.stringify(sortKeys(value), null, 2);
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return Object.fromEntries(
      Object.keys(o)
        .sort()
        .map((k) => [k, sortKeys(o[k])]),
    );
  }
  return v;
}
