/**
 * Unified diff of two texts (what `diff -u` prints), for the patch `fix` shows: a thin wrapper over jsdiff
 * (`diff` on npm). Pure. Kept as a module for the product's defaults: `diff -u`'s 3 lines of context, a CRLF file
 * diffs like an LF one, and equal texts give no patch at all.
 */
import { FILE_HEADERS_ONLY, formatPatch, structuredPatch } from 'diff';

export interface DiffOptions {
  fromFile?: string;
  toFile?: string;
  /** lines of context around each change (diff -u default: 3) */
  context?: number;
}

/** Unified diff of `before` -> `after`; empty string when they are equal line by line. */
export function unifiedDiff(before: string, after: string, options: DiffOptions = {}): string {
  const patch = structuredPatch(options.fromFile ?? 'a', options.toFile ?? 'b', before, after, undefined, undefined, {
    context: options.context ?? 3,
    stripTrailingCr: true,
  });
  return patch.hunks.length ? formatPatch(patch, FILE_HEADERS_ONLY) : '';
}
