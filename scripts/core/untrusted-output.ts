/**
 * Output a pull request produces (what its builds and tests print) is untrusted (docs/security.md, "Output of
 * builds and tests"): bounded while it streams, and shown as text wherever it is echoed, never obeyed. Pure:
 * engine/process.ts bounds every call's output with `HeadTail`; cli/output.ts, core/report.ts and the report's
 * excerpts use the rest.
 */

/** Bytes kept of each stream of one call, unless CONDA_GITOPS_OUTPUT_LIMIT says otherwise: half head, half tail. */
export const DEFAULT_OUTPUT_LIMIT = 16 * 1024 * 1024;
/** The smallest limit taken (a head and a tail of at least a few lines). */
const MIN_OUTPUT_LIMIT = 4096;
export const OUTPUT_LIMIT_VARIABLE = 'CONDA_GITOPS_OUTPUT_LIMIT';

/** CONDA_GITOPS_OUTPUT_LIMIT (bytes per stream of one call); unset, empty or not a number: the default. */
export function outputLimit(value: string | undefined): number {
  const n = Number((value ?? '').trim());
  if (!(value ?? '').trim() || !Number.isFinite(n) || n <= 0) return DEFAULT_OUTPUT_LIMIT;
  return Math.max(MIN_OUTPUT_LIMIT, Math.floor(n));
}

/** The line that stands where output was cut. */
export function cutNotice(bytes: number): string {
  return `\n[conda-gitops: ${bytes} bytes of output cut here]\n`;
}

/**
 * One stream of a call, bounded while it streams: the first half of `limit` bytes passes on at once (`push`
 * returns it), the last half is kept in memory, everything between is only counted. `end` returns what comes
 * after the head: the cut notice and the tail. Memory stays at `limit` whatever the program prints.
 */
export class HeadTail {
  private headLeft: number;
  private readonly tailLimit: number;
  private tail: Buffer[] = [];
  private tailBytes = 0;
  /** bytes dropped between head and tail */
  cut = 0;

  constructor(limit: number) {
    this.headLeft = Math.ceil(limit / 2);
    this.tailLimit = Math.floor(limit / 2);
  }

  /** The part of `chunk` that belongs to the head (empty once the head is full). */
  push(chunk: Buffer): Buffer {
    const head = chunk.subarray(0, this.headLeft);
    this.headLeft -= head.length;
    const rest = chunk.subarray(head.length);
    if (rest.length) {
      this.tail.push(rest);
      this.tailBytes += rest.length;
      while (this.tailBytes > this.tailLimit) {
        const first = this.tail[0]!;
        const over = this.tailBytes - this.tailLimit;
        if (first.length <= over) {
          this.tail.shift();
          this.tailBytes -= first.length;
          this.cut += first.length;
        } else {
          // copy, so the dropped part of a large chunk is not kept alive by the slice
          this.tail[0] = Buffer.from(first.subarray(over));
          this.tailBytes -= over;
          this.cut += over;
        }
      }
    }
    return head;
  }

  /** What follows the head: the cut notice when bytes were dropped, then the tail. */
  end(): Buffer {
    const tail = Buffer.concat(this.tail);
    this.tail = [];
    return this.cut ? Buffer.concat([Buffer.from(cutNotice(this.cut)), tail]) : tail;
  }
}

/** Longest line of program output a report, an annotation or the summary shows. */
export const MAX_SHOWN_LINE = 500;

/** A line of program output as a report shows it: at most `max` characters, the rest counted. */
export function clipLine(line: string, max = MAX_SHOWN_LINE): string {
  return line.length <= max ? line : `${line.slice(0, max)} … [${line.length - max} characters cut]`;
}

/** A line of program output as a report keeps it: clipped, and a carriage return shown as `\r`, not obeyed. */
export function shownLine(line: string, max = MAX_SHOWN_LINE): string {
  return clipLine(line.replace(/\r/g, '\\r'), max);
}

/**
 * Text for a terminal or a GitHub Actions log, where the runner reads every line starting with `::` (after
 * leading blanks, also after a bare carriage return) as a workflow command: a bare CR is shown as `\r`, and a line
 * that would start with `::` gets a `\` in front. The text stays readable; nothing in it is obeyed.
 */
export function echoSafe(text: string): string {
  return text
    .replace(/\r(?!\n)/g, '\\r')
    .split('\n')
    .map((l) => (/^\s*::/.test(l) ? `\\${l}` : l))
    .join('\n');
}

/**
 * Text in markdown (the job summary): no HTML, no link, image or emphasis it did not mean. `|` is left to the
 * table cell that holds the text.
 */
export function markdownText(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([\\`*_[\]()!#~])/g, '\\$1');
}

/** GitHub's limit for one step's job summary. */
export const JOB_SUMMARY_LIMIT = 1024 * 1024;

/**
 * A markdown document cut to `limit` bytes (UTF-8) with a closing note: the job summary of a run whose failures
 * printed megabytes still reaches GitHub, which refuses a summary over 1 MiB. Cut at a line boundary; an open
 * code fence is closed.
 */
export function capMarkdown(md: string, limit = JOB_SUMMARY_LIMIT - 1024): string {
  if (Buffer.byteLength(md) <= limit) return md;
  const note = '\n\n_(this summary was cut at the job summary limit; the full report is in report.json)_\n';
  let kept = Buffer.from(md)
    .subarray(0, limit - 64 - note.length)
    .toString('utf8');
  kept = kept.slice(0, kept.lastIndexOf('\n') + 1);
  const fences = (kept.match(/^```/gm) ?? []).length;
  return kept + (fences % 2 ? '```\n' : '') + note;
}
