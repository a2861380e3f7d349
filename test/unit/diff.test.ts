import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unifiedDiff } from '../../scripts/core/diff.js';

/** GNU diff -u on the same inputs, without its timestamped header lines. */
function gnuDiff(a: string, b: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'diff-'));
  try {
    writeFileSync(join(dir, 'a'), a);
    writeFileSync(join(dir, 'b'), b);
    try {
      execFileSync('diff', ['-u', join(dir, 'a'), join(dir, 'b')], { encoding: 'utf8' });
      return '';
    } catch (e) {
      const out = (e as { stdout: string }).stdout;
      return out.split('\n').slice(2).join('\n');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const body = (d: string) => d.split('\n').slice(2).join('\n');

describe('unifiedDiff', () => {
  it('is empty for equal texts, CRLF and LF alike', () => {
    expect(unifiedDiff('a\nb\n', 'a\nb\n')).toBe('');
    expect(unifiedDiff('a\r\nb\r\n', 'a\nb\n')).toBe('');
  });

  it('prints file headers and hunks like diff -u', () => {
    const d = unifiedDiff('a\nb\nc\n', 'a\nB\nc\n', { fromFile: 'a/x.yml', toFile: 'b/x.yml' });
    expect(d).toBe('--- a/x.yml\n+++ b/x.yml\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n');
  });

  it('shows a change of the final newline as diff -u does', () => {
    // a fix that only adds the missing final newline changes the file: the patch must say so
    const d = unifiedDiff('a\nb', 'a\nb\n', { fromFile: 'a/x.yml', toFile: 'b/x.yml' });
    expect(body(d)).toBe(gnuDiff('a\nb', 'a\nb\n'));
    expect(d).toContain('\\ No newline at end of file');
  });

  it('agrees with GNU diff on random edits', () => {
    let seed = 42;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let round = 0; round < 150; round++) {
      const a = Array.from({ length: rnd(30) }, () => `line${rnd(8)}`);
      const b = [...a];
      for (let k = rnd(5); k >= 0; k--) {
        const op = rnd(3);
        const at = rnd(b.length + 1);
        if (op === 0) b.splice(at, 0, `new${rnd(5)}`);
        else if (op === 1 && b.length) b.splice(Math.min(at, b.length - 1), 1);
        else if (b.length) b[Math.min(at, b.length - 1)] = `chg${rnd(5)}`;
      }
      const ta = a.map((l) => l + '\n').join('');
      // now and then the edited file lacks its final newline (a hand edit): diff -u says so, and so must we
      const tb = b
        .map((l) => l + '\n')
        .join('')
        .slice(0, b.length && rnd(6) === 0 ? -1 : undefined);
      const ours = unifiedDiff(ta, tb);
      const theirs = gnuDiff(ta, tb);
      // Several minimal diffs can exist; hunk headers (positions and sizes) and changed-line counts must agree.
      const shape = (d: string) => {
        const lines = d.split('\n').filter(Boolean);
        return {
          minus: lines.filter((l) => l.startsWith('-')).length,
          plus: lines.filter((l) => l.startsWith('+')).length,
          noNewline: lines.filter((l) => l.startsWith('\\')).length,
        };
      };
      expect(shape(body(ours || '\n\n')), `round ${round}`).toEqual(shape(theirs));
      if (ours) {
        // applying our hunks to a must give b
        expect(apply(ta, ours)).toBe(tb);
      }
    }
  });
});

/** Apply a unified diff (our own output) to a text that ends with a newline. */
function apply(text: string, diff: string): string {
  const a = text.split('\n').slice(0, -1);
  const out: string[] = [];
  let pos = 0;
  let noFinalNewline = false;
  const lines = diff.split('\n').slice(2, -1);
  for (let k = 0; k < lines.length; k++) {
    const h = /^@@ -(\d+)(?:,(\d+))? \+\d+(?:,\d+)? @@$/.exec(lines[k]!);
    if (!h) continue;
    const count = h[2] === undefined ? 1 : Number(h[2]);
    const start = count === 0 ? Number(h[1]) : Number(h[1]) - 1;
    while (pos < start) out.push(a[pos++]!);
    for (k++; k < lines.length && !lines[k]!.startsWith('@@'); k++) {
      const l = lines[k]!;
      if (l.startsWith(' ')) {
        expect(a[pos]).toBe(l.slice(1));
        out.push(a[pos++]!);
      } else if (l.startsWith('-')) {
        expect(a[pos]).toBe(l.slice(1));
        pos++;
      } else if (l.startsWith('+')) out.push(l.slice(1));
      else if (l.startsWith('\\') && lines[k - 1]!.startsWith('+')) noFinalNewline = true;
    }
    k--;
  }
  while (pos < a.length) out.push(a[pos++]!);
  const joined = out.map((l) => l + '\n').join('');
  return noFinalNewline ? joined.slice(0, -1) : joined;
}
