/**
 * The one owner of exit codes: how a command ended (an Outcome a use case returned, or the kind of error it threw;
 * core/outcome.ts) -> the process's exit code, and the message printed for it. The exit-code section of
 * `--help` and the README table are rendered from EXIT_CODES.
 */
import { GitopsError } from '../core/errors.js';
import type { Outcome, OutcomeKind } from '../core/outcome.js';
import type { Output } from '../app/output.js';

export interface ExitCodeRow {
  /** the code, or the codes of one row (130, 143) */
  codes: number[];
  kinds: OutcomeKind[];
  /** README wording */
  meaning: string;
  todo: string;
  /** --help wording (one short phrase) */
  short: string;
}

/** Every exit code, in the order the README lists them. */
export const EXIT_CODES: readonly ExitCodeRow[] = [
  { codes: [0], kinds: ['ok'], meaning: 'ok', todo: '', short: 'ok' },
  {
    codes: [1],
    kinds: ['failed', 'drift', 'refused', 'corrupt-state'],
    meaning:
      'some env failed, drift, a refused action, or a corrupt state file under ROOT (the message names the file)',
    todo: 'read the message; for a corrupt file, restore or remove it as the message says',
    short: 'some env failed, drift, a refused action or a corrupt state file',
  },
  {
    codes: [2],
    kinds: ['bad-input'],
    meaning:
      'bad input or usage: a file:line in the repository, an unknown flag, an installation root that does not ' +
      'exist or is not a directory (nothing is created)',
    todo: 'fix the input or the `--root`',
    short: 'bad input or usage',
  },
  {
    codes: [3],
    kinds: ['busy'],
    meaning: 'locked or busy: another deploy/rollback/gc/kernels holds ROOT',
    todo: 'wait (`--wait SECONDS`) or check the holder named',
    short: 'locked/busy',
  },
  {
    codes: [4],
    kinds: ['machine'],
    meaning:
      'the machine refused: disk full (ENOSPC, EDQUOT), read-only filesystem (EROFS), permission (EACCES, EPERM), ' +
      'a file where a directory must be (ENOTDIR); the message names the path',
    todo: 'fix the machine, run the same command again: state is written whole or not at all',
    short: 'the machine refused (disk full, read-only, permission)',
  },
  {
    codes: [130, 143],
    kinds: ['interrupted'],
    meaning:
      'interrupted by SIGINT or SIGTERM (a cancelled workflow): children stopped, running builds marked `aborted` ' +
      '(never a failure), temporary directories removed',
    todo: 'run again: aborted builds are rebuilt',
    short: 'interrupted (SIGINT/SIGTERM)',
  },
  {
    codes: [70],
    kinds: ['internal'],
    meaning: 'an internal error: a bug in conda-gitops (a stack trace follows)',
    todo: 'report it',
    short: 'a bug in conda-gitops',
  },
];

/** Exit codes of a run stopped by a signal, as a shell reports them (128 + the signal's number). */
const SIGNAL_CODES: Readonly<Record<string, number>> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };

/** The exit code of an ending; `signal` picks the code of an interrupted run. */
export function exitCodeOf(kind: OutcomeKind, signal?: string): number {
  if (kind === 'interrupted') return SIGNAL_CODES[signal ?? 'SIGINT'] ?? 130;
  const row = EXIT_CODES.find((r) => r.kinds.includes(kind));
  return row ? row.codes[0]! : exitCodeOf('internal');
}

/** The exit code of a thrown error: a GitopsError's kind, anything else is a bug. */
export function exitCodeOfError(e: unknown): number {
  if (!(e instanceof GitopsError)) return exitCodeOf('internal');
  return exitCodeOf(e.kind, (e as { signal?: string }).signal);
}

/**
 * End a command with what its use case returned: the message of an outcome that is not ok goes to stderr
 * (refusals, failures: one stream, one prefix, whether returned or thrown), and the exit code is returned.
 */
export function finish(outcome: Outcome, out: Output): number {
  if (outcome.kind !== 'ok' && outcome.message) out.warn(`conda-gitops: ${outcome.message}`);
  return exitCodeOf(outcome.kind);
}

const codesText = (r: ExitCodeRow) => r.codes.join('/');

/** The exit-code section of `conda-gitops --help`. */
export function exitCodesHelp(): string {
  const width = Math.max(...EXIT_CODES.map((r) => codesText(r).length));
  return ['Exit codes:', ...EXIT_CODES.map((r) => `  ${codesText(r).padEnd(width)}  ${r.short}`)].join('\n');
}

/** The README's exit-code table (Markdown), as test/unit/exit.test.ts checks it. */
export function exitCodesMarkdown(): string {
  return [
    '| code | meaning | what to do |',
    '|---|---|---|',
    ...EXIT_CODES.map((r) => `| ${r.codes.join(', ')} | ${r.meaning} | ${r.todo} |`.replace('|  |', '| |')),
  ].join('\n');
}
