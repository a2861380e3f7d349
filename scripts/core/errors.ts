/**
 * The errors a command may end with. Each carries the kind of ending it is (core/outcome.ts); only the CLI
 * turns a kind into an exit code (cli/exit.ts).
 */
import type { OutcomeKind } from './outcome.js';

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

/** Base class: every error we expect says how the command ended (the CLI maps the kind to an exit code). */
export class GitopsError extends Error {
  constructor(
    message: string,
    readonly kind: Exclude<OutcomeKind, 'ok' | 'internal'>,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Wrong command line: unknown command or flag, missing argument. Exit 2. */
export class UsageError extends GitopsError {
  constructor(message: string) {
    super(message, 'bad-input');
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
      'bad-input',
    );
  }
}

/** Another writer holds the lock. Exit 3. */
export class BusyError extends GitopsError {
  constructor(message: string) {
    super(message, 'busy');
  }
}

/** The operation ran and found failures the user must act on (failed envs, drift). Exit 1. */
export class FailedError extends GitopsError {
  constructor(message: string) {
    super(message, 'failed');
  }
}

/**
 * A state the tool refuses to act on (e.g. unmanaged envs dir). Exit 1. `problems`: the repository lines it is
 * about, for annotations in GitHub Actions (e.g. a pull request's [conda] version older than main's).
 */
export class RefusedError extends GitopsError {
  constructor(
    message: string,
    readonly problems: readonly Problem[] = [],
  ) {
    super(message, 'refused');
  }
}

/**
 * A path the tool was about to read or write is not what it must be: a symlink leading out of its tree, a FIFO,
 * a device, a file too large. Nothing was read through it or written. Exit 2.
 */
export class UnsafePathError extends GitopsError {
  constructor(message: string) {
    super(message, 'bad-input');
  }
}
/**
 * The machine refused an operation: disk full (ENOSPC, EDQUOT), read-only filesystem (EROFS), permission
 * (EACCES, EPERM), a path that is a file where a directory must be (ENOTDIR, EEXIST on mkdir). Exit 4:
 * nothing is wrong with the repository or the state; fix the machine and run the same command again.
 */
export class EnvironmentError extends GitopsError {
  constructor(message: string) {
    super(message, 'machine');
  }
}

/**
 * A state file under ROOT (build record, generation manifest, history line, verdict) that does not match its
 * schema: truncated, edited by hand, written by a newer release. Exit 1, naming the file and what to do.
 */
export class CorruptStateError extends GitopsError {
  constructor(
    readonly file: string,
    message: string,
    /** what to do about it (also in the message), for callers that list several problems */
    readonly remedy?: string,
  ) {
    super(message, 'corrupt-state');
  }
}

const ENVIRONMENT_CODES: Record<string, string> = {
  ENOSPC: 'no space left on the device: free space (or run `conda-gitops gc --yes`), then run the command again',
  EDQUOT: 'disk quota exceeded: free space or raise the quota, then run the command again',
  EROFS: 'the filesystem is read-only: run on a host where ROOT is mounted read-write',
  EACCES: 'permission denied: run as the user that owns the installation root',
  EPERM: 'operation not permitted: run as the user that owns the installation root',
  ENOTDIR: 'a path on the way is a file, not a directory: check --root / CONDA_GITOPS_ROOT / [conda] root',
  EISDIR: 'a directory is where a file was expected: check the installation root',
  EIO: 'an I/O error from the device: check the disk and its mount',
  EMFILE: 'too many open files: raise the limit (ulimit -n), then run the command again',
};

/**
 * The typed error for an operating-system error that is the machine's and not a bug (undefined otherwise).
 * Pure: looks only at `code` and `path` of a Node ErrnoException-like value.
 */
export function environmentError(e: unknown): EnvironmentError | undefined {
  if (!e || typeof e !== 'object') return undefined;
  const { code, path, dest, syscall } = e as { code?: unknown; path?: unknown; dest?: unknown; syscall?: unknown };
  if (code === 'EEXIST' && syscall === 'mkdir') {
    const where = typeof path === 'string' ? ` at ${path}` : '';
    return new EnvironmentError(`mkdir: EEXIST${where}: a file is where a directory must be: move it away`);
  }
  if (typeof code !== 'string' || !(code in ENVIRONMENT_CODES)) return undefined;
  const where = typeof path === 'string' ? ` at ${path}${typeof dest === 'string' ? ` -> ${dest}` : ''}` : '';
  const op = typeof syscall === 'string' ? `${syscall}: ` : '';
  return new EnvironmentError(`${op}${code}${where}: ${ENVIRONMENT_CODES[code]}`);
}
/**
 * The CLI received SIGINT/SIGTERM: its children were stopped, interrupted builds are marked `aborted`, its
 * temporary directories removed. Exit 130 (SIGINT) or 143 (SIGTERM).
 */
export class InterruptedError extends GitopsError {
  constructor(readonly signal: string) {
    super(
      `interrupted by ${signal}: running builds and tests were stopped and marked aborted; run again to build them`,
      'interrupted',
    );
  }
}
