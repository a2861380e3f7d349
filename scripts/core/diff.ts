/**
 * Unified diff of two texts (what `diff -u` prints). Pure; sized for spec files (hundreds of lines).
 * Why not a library: jsdiff (`diff` on npm, `createTwoFilesPatch`; small, no install script) fits and should replace
 * this file when dependencies are next installed; test/unit/diff.test.ts pins the output either must keep.
 */

export interface DiffOptions {
  fromFile?: string;
  toFile?: string;
  /** lines of context around each change (diff -u default: 3) */
  context?: number;
}

type Op = { kind: ' ' | '-' | '+'; text: string; a: number; b: number };

/** Split into lines without their terminators; CR of CRLF files is dropped so a CRLF file diffs like an LF one. */
function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
}

/** Edit script from an LCS table: O(n*m) time and memory, fine for files of a few thousand lines. */
function editScript(a: string[], b: string[]): Op[] {
  // Trim the common head and tail first: most fixes change a few lines of a long file.
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const ma = a.length - head - tail;
  const mb = b.length - head - tail;
  const w = mb + 1;
  const lcs = new Uint32Array((ma + 1) * w);
  for (let i = ma - 1; i >= 0; i--) {
    for (let j = mb - 1; j >= 0; j--) {
      lcs[i * w + j] =
        a[head + i] === b[head + j] ? lcs[(i + 1) * w + j + 1] + 1 : Math.max(lcs[(i + 1) * w + j], lcs[i * w + j + 1]);
    }
  }
  const ops: Op[] = [];
  for (let k = 0; k < head; k++) ops.push({ kind: ' ', text: a[k], a: k, b: k });
  let i = 0;
  let j = 0;
  while (i < ma || j < mb) {
    if (i < ma && j < mb && a[head + i] === b[head + j]) {
      ops.push({ kind: ' ', text: a[head + i], a: head + i, b: head + j });
      i++;
      j++;
    } else if (i < ma && (j === mb || lcs[(i + 1) * w + j] >= lcs[i * w + j + 1])) {
      // deletions before insertions, as diff prints them
      ops.push({ kind: '-', text: a[head + i], a: head + i, b: head + j });
      i++;
    } else {
      ops.push({ kind: '+', text: b[head + j], a: head + i, b: head + j });
      j++;
    }
  }
  for (let k = 0; k < tail; k++) {
    ops.push({ kind: ' ', text: a[a.length - tail + k], a: a.length - tail + k, b: b.length - tail + k });
  }
  return ops;
}

function range(start: number, count: number): string {
  // diff -u convention: an empty range names the line before it.
  const first = count === 0 ? start : start + 1;
  return count === 1 ? `${first}` : `${first},${count}`;
}

/** Unified diff of `before` -> `after`; empty string when they are equal line by line. */
export function unifiedDiff(before: string, after: string, options: DiffOptions = {}): string {
  const a = splitLines(before);
  const b = splitLines(after);
  const ctx = options.context ?? 3;
  const ops = editScript(a, b);
  const changed = ops.map((o, k) => (o.kind === ' ' ? -1 : k)).filter((k) => k >= 0);
  if (changed.length === 0) return '';

  // Group changes whose context windows touch into hunks.
  const hunks: Array<[number, number]> = [];
  for (const k of changed) {
    const lo = Math.max(0, k - ctx);
    const hi = Math.min(ops.length - 1, k + ctx);
    const last = hunks[hunks.length - 1];
    if (last && lo <= last[1] + 1) last[1] = hi;
    else hunks.push([lo, hi]);
  }

  const out = [`--- ${options.fromFile ?? 'a'}`, `+++ ${options.toFile ?? 'b'}`];
  for (const [lo, hi] of hunks) {
    const slice = ops.slice(lo, hi + 1);
    const aCount = slice.filter((o) => o.kind !== '+').length;
    const bCount = slice.filter((o) => o.kind !== '-').length;
    out.push(`@@ -${range(slice[0].a, aCount)} +${range(slice[0].b, bCount)} @@`);
    for (const o of slice) out.push(`${o.kind}${o.text}`);
  }
  return out.join('\n') + '\n';
}
