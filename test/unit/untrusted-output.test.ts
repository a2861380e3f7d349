/** core/untrusted-output.ts: bounding what a program prints, and showing it as text wherever it is echoed. */
import { describe, expect, test } from 'vitest';
import {
  capMarkdown,
  clipLine,
  cutNotice,
  DEFAULT_OUTPUT_LIMIT,
  echoSafe,
  HeadTail,
  markdownText,
  outputLimit,
  shownLine,
} from '../../scripts/core/untrusted-output.js';

describe('HeadTail: one stream bounded while it streams', () => {
  test('under the limit everything passes at once and nothing is cut', () => {
    const b = new HeadTail(100);
    expect(b.push(Buffer.from('hello\n')).toString()).toBe('hello\n');
    expect(b.end().toString()).toBe('');
  });
  test('over the limit: the head passes, the tail is kept, the middle is counted in a cut notice', () => {
    const b = new HeadTail(10);
    const passed: string[] = [];
    for (const c of ['abc', 'defgh', 'ijklmnop', 'qrstuvwxyz']) passed.push(b.push(Buffer.from(c)).toString());
    expect(passed.join('')).toBe('abcde');
    expect(b.end().toString()).toBe(`${cutNotice(16)}vwxyz`);
  });
  test('a megabyte in one chunk keeps the limit, not the megabyte', () => {
    const b = new HeadTail(4096);
    const head = b.push(Buffer.alloc(1024 * 1024, 'x'));
    expect(head.length).toBe(2048);
    expect(b.end().toString()).toBe(cutNotice(1024 * 1024 - 4096) + 'x'.repeat(2048));
  });
});

describe('outputLimit (CONDA_GITOPS_OUTPUT_LIMIT)', () => {
  test('unset, empty or nonsense: the default; a number of bytes, at least 4096', () => {
    expect([undefined, '', 'lots', '-5'].map(outputLimit)).toEqual(Array(4).fill(DEFAULT_OUTPUT_LIMIT));
    expect(outputLimit('1048576')).toBe(1048576);
    expect(outputLimit('10')).toBe(4096);
  });
});

describe('showing untrusted text', () => {
  test('a long line is clipped with the count of what was cut; CR is shown, not obeyed', () => {
    expect(clipLine('x'.repeat(510), 500)).toBe(`${'x'.repeat(500)} … [10 characters cut]`);
    expect(shownLine('10%\r::warning::x')).toBe('10%\\r::warning::x');
  });
  test('echoSafe: a bare CR and a line starting with :: never become workflow commands', () => {
    expect(echoSafe('progress\r::warning::forged')).toBe('progress\\r::warning::forged');
    expect(echoSafe('ok\n  ::add-mask::x\n::stop-commands::t\nend')).toBe(
      'ok\n\\  ::add-mask::x\n\\::stop-commands::t\nend',
    );
    expect(echoSafe('a\r\nb :: c')).toBe('a\r\nb :: c');
  });
  test('markdownText: HTML and markdown syntax are shown as text', () => {
    expect(markdownText('<img src=x onerror=alert(1)> & [a](http://e) *b*')).toBe(
      '&lt;img src=x onerror=alert\\(1\\)&gt; &amp; \\[a\\]\\(http://e\\) \\*b\\*',
    );
  });
  test('capMarkdown: a summary over the limit is cut at a line, an open fence closed, with a note', () => {
    const md = '## head\n\n```\n' + 'line of output\n'.repeat(1000);
    const cut = capMarkdown(md, 2000);
    expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(2000);
    expect(cut).toMatch(/line of output\n```\n+_\(this summary was cut at the job summary limit/);
    expect(capMarkdown('short\n', 2000)).toBe('short\n');
  });
});
