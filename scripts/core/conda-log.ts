/**
 * The per-env call log: every conda/pip call the adapter makes is appended as one block
 * (header with argv and time, stdout, stderr, exit code and duration), streamed while the call runs.
 * Pure text functions: the adapter writes blocks, the classifier reads the last failed one back.
 */

const CALL_HEADER = '==> conda-gitops call';
const CALL_FOOTER = '<== exit';
/** Written by the adapter when it kills a call; the classifier maps it to `timeout`. */
export const TIMEOUT_PREFIX = 'conda-gitops: timed out after';
/** Written by the adapter when the caller aborted a call (its AbortSignal fired). */
export const ABORTED_LINE = 'conda-gitops: aborted';

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

export type OutputStream = 'stdout' | 'stderr';

/**
 * A call block written while the call runs: the header first, then the output's whole lines as they arrive,
 * under a `--- stdout` / `--- stderr` marker each time the stream changes, then the footer. Each method
 * returns the text to append. A partial line waits for its newline so the two streams never split a line.
 */
export class CallBlockWriter {
  private current: OutputStream | undefined;
  private readonly partial: Record<OutputStream, string> = { stdout: '', stderr: '' };

  header(argv: readonly string[], startedAt: Date): string {
    return `${CALL_HEADER} ${startedAt.toISOString()}: ${displayArgv(argv)}\n`;
  }

  output(stream: OutputStream, text: string): string {
    const pending = this.partial[stream] + text;
    const end = pending.lastIndexOf('\n') + 1;
    this.partial[stream] = pending.slice(end);
    return end ? this.lines(stream, pending.slice(0, end)) : '';
  }

  /** The lines still waiting for a newline, ended with one (stdout first). */
  flush(): string {
    const end = (stream: OutputStream) => this.output(stream, this.partial[stream] ? '\n' : '');
    return end('stdout') + end('stderr');
  }

  footer(c: Pick<LoggedCall, 'code' | 'seconds' | 'timedOut'>): string {
    const killed = c.timedOut ? ' (timed out)' : '';
    return `${this.flush()}${CALL_FOOTER} ${c.code} after ${c.seconds.toFixed(2)} s${killed}\n`;
  }

  private lines(stream: OutputStream, text: string): string {
    const marker = stream === this.current ? '' : `--- ${stream}\n`;
    this.current = stream;
    return marker + text;
  }
}

/** One log block, ending in a newline: the text the writer streams for a call that printed stdout, then stderr. */
export function formatCallBlock(c: LoggedCall): string {
  const block = new CallBlockWriter();
  const stdout = block.output('stdout', c.stdout) + block.flush();
  return block.header(c.argv, c.startedAt) + stdout + block.output('stderr', c.stderr) + block.footer(c);
}

/**
 * The part of a log worth classifying. A plain conda/pip log is returned unchanged; a per-env
 * log with several call blocks is narrowed to the last block that failed, so an earlier
 * successful pip run or a retried call does not mislead the classifier.
 */
const SEARCH_PROBE = /\/(conda|mamba|micromamba) search /;

export function lastFailedBlock(log: string): string {
  if (!log.includes(CALL_HEADER)) return log;
  const blocks = log.split(new RegExp(`^(?=${CALL_HEADER} )`, 'm'));
  for (let i = blocks.length - 1; i >= 0; i--) {
    const b = blocks[i]!;
    const footer = new RegExp(`^${CALL_FOOTER} (-?\\d+)`, 'm').exec(b);
    // a `conda search` after a failure asks the channel what it has: a probe, not the failure it looks into
    if (SEARCH_PROBE.test(b.slice(0, b.indexOf('\n')))) continue;
    // a block without a footer was cut off (crash mid-call): treat it as failed
    if (b.startsWith(CALL_HEADER) && (!footer || footer[1] !== '0')) return b;
  }
  return log;
}
