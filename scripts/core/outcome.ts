/**
 * How a command ended, as its user reads it. Every use case returns one with its machine result; every error it
 * throws carries one kind (core/errors.ts). The CLI alone turns an outcome into an exit code and prints its
 * message (cli/exit.ts): no other layer knows the numbers.
 */

/** Every way a command can end; cli/exit.ts gives each its exit code. */
export type OutcomeKind =
  /** done, or nothing to do */
  | 'ok'
  /** the work ran and something failed: an env's build or tests, an export, an installer */
  | 'failed'
  /** what is live differs from what the repository asks for, or was changed by hand */
  | 'drift'
  /** the tool would not act (or not fully): nothing, or only what is safe, was changed; the message says why */
  | 'refused'
  /** a state file under ROOT does not match its schema */
  | 'corrupt-state'
  /** bad input or usage: a file:line in the repository, a flag, a root that is not a directory */
  | 'bad-input'
  /** another writer holds the ROOT lock */
  | 'busy'
  /** the machine refused: disk full, read-only, permission */
  | 'machine'
  /** stopped by SIGINT or SIGTERM */
  | 'interrupted'
  /** a bug in conda-gitops */
  | 'internal';

/** What a use case returns: the kinds a command ends with without throwing. */
export type Outcome =
  { kind: 'ok' } | { kind: 'failed' | 'drift' | 'bad-input'; message?: string } | { kind: 'refused'; message: string };

export const OK: Outcome = Object.freeze({ kind: 'ok' });

export function failed(message?: string): Outcome {
  return message === undefined ? { kind: 'failed' } : { kind: 'failed', message };
}

export function refused(message: string): Outcome {
  return { kind: 'refused', message };
}

export function drift(message?: string): Outcome {
  return message === undefined ? { kind: 'drift' } : { kind: 'drift', message };
}

export function badInput(message?: string): Outcome {
  return message === undefined ? { kind: 'bad-input' } : { kind: 'bad-input', message };
}

/** `failed` when any part failed, else ok: the outcome of a run over many envs. */
export function failedIf(anyFailed: boolean, message?: string): Outcome {
  return anyFailed ? failed(message) : OK;
}
