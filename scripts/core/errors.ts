/** Exit codes shared by every command (README: Exit codes). */
export const EXIT = {
  OK: 0,
  FAILED: 1,
  BAD_INPUT: 2,
  BUSY: 3,
  /** an unexpected error: a bug in this tool (sysexits' EX_SOFTWARE); never used for environmental errors */
  INTERNAL: 70,
} as const;

/** A problem found in a file the user wrote: where it is and what is wrong. */
export interface Problem {
  file: string;
  line: number;
  message: string;
  /** "error" stops the run (exit 2); "warning" is printed and ignored. */
  severity: 'error' | 'warning';
}

export function formatProblem(p: Problem): string {
  return `${p.file}:${p.line}: ${p.severity}: ${p.message}`;
}

/** Base class: every error we expect carries the exit code the CLI should use. */
export class GitopsError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Wrong command line: unknown command or flag, missing argument. Exit 2. */
export class UsageError extends GitopsError {
  constructor(message: string) {
    super(message, EXIT.BAD_INPUT);
  }
}

/** Bad input files (inventory, specs): every problem, each with file:line. Exit 2. */
export class InputError extends GitopsError {
  constructor(readonly problems: Problem[]) {
    super(
      problems
        .filter((p) => p.severity === 'error')
        .map(formatProblem)
        .join('\n'),
      EXIT.BAD_INPUT,
    );
  }
}

/** Another writer holds the lock. Exit 3. */
export class BusyError extends GitopsError {
  constructor(message: string) {
    super(message, EXIT.BUSY);
  }
}

/** The operation ran and found failures the user must act on (failed envs, drift). Exit 1. */
export class FailedError extends GitopsError {
  constructor(message: string) {
    super(message, EXIT.FAILED);
  }
}

/** A state the tool refuses to act on (e.g. unmanaged envs dir). Exit 1. */
export class RefusedError extends GitopsError {
  constructor(message: string) {
    super(message, EXIT.FAILED);
  }
}

/** Exit codes of a run stopped by a signal, as a shell reports them (128 + the signal's number). */
export const SIGNAL_EXIT: Readonly<Record<string, number>> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };

/**
 * The CLI received SIGINT/SIGTERM: its children were stopped, interrupted builds are marked `aborted`, its
 * temporary directories removed. Exit 130 (SIGINT) or 143 (SIGTERM).
 */
export class InterruptedError extends GitopsError {
  constructor(readonly signal: string) {
    super(
      `interrupted by ${signal}: running builds and tests were stopped and marked aborted; run again to build them`,
      SIGNAL_EXIT[signal] ?? 130,
    );
  }
}
