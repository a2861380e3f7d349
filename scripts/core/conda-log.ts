/**
 * The per-env call log: every conda/pip call the adapter makes is appended as one block
 * (header with argv and time, stdout, stderr, exit code and duration). Pure text functions:
 * the adapter writes blocks, the classifier reads the last failed one back.
 */

const CALL_HEADER = '==> conda-gitops call';
const CALL_FOOTER = '<== exit';
/** Written by the adapter when it kills a call; the classifier maps it to `timeout`. */
export const TIMEOUT_PREFIX = 'conda-gitops: timed out after';

export function timeoutLine(seconds: number): string {
  return `${TIMEOUT_PREFIX} ${Number(seconds.toFixed(3))} s`;
}

/** argv as a shell-like line for people to read (and paste); never executed by us. */
function displayArgv(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

export interface LoggedCall {
  argv: readonly string[];
  stdout: string;
  stderr: string;
  code: number;
  seconds: number;
  timedOut: boolean;
  startedAt: Date;
}

function section(name: string, text: string): string[] {
  if (!text) return [];
  return [`--- ${name}`, text.endsWith('\n') ? text.slice(0, -1) : text];
}

/** One log block, ending in a newline. */
export function formatCallBlock(c: LoggedCall): string {
  return [
    `${CALL_HEADER} ${c.startedAt.toISOString()}: ${displayArgv(c.argv)}`,
    ...section('stdout', c.stdout),
    ...section('stderr', c.stderr),
    `${CALL_FOOTER} ${c.code} after ${c.seconds.toFixed(2)} s${c.timedOut ? ' (timed out)' : ''}`,
    '',
  ].join('\n');
}

/**
 * The part of a log worth classifying. A plain conda/pip log is returned unchanged; a per-env
 * log with several call blocks is narrowed to the last block that failed, so an earlier
 * successful pip run or a retried call does not mislead the classifier.
 */
export function lastFailedBlock(log: string): string {
  if (!log.includes(CALL_HEADER)) return log;
  const blocks = log.split(new RegExp(`^(?=${CALL_HEADER} )`, 'm'));
  for (let i = blocks.length - 1; i >= 0; i--) {
    const b = blocks[i]!;
    const footer = new RegExp(`^${CALL_FOOTER} (-?\\d+)`, 'm').exec(b);
    // a block without a footer was cut off (crash mid-call): treat it as failed
    if (b.startsWith(CALL_HEADER) && (!footer || footer[1] !== '0')) return b;
  }
  return log;
}
