/** The CLI's terminal output (cli/output.ts): when it colours, and the live line of a long step on a terminal. */
import { afterEach, describe, expect, test, vi } from 'vitest';
import { colourEnabled, paint, processOutput } from '../../scripts/cli/output.js';

describe('colour', () => {
  test('a terminal gets colour; a pipe, NO_COLOR, TERM=dumb and --json do not; FORCE_COLOR wins over NO_COLOR', () => {
    expect(colourEnabled(false, {}, true)).toBe(true);
    expect(colourEnabled(false, {}, false)).toBe(false);
    expect(colourEnabled(false, { NO_COLOR: '1' }, true)).toBe(false);
    expect(colourEnabled(false, { TERM: 'dumb' }, true)).toBe(false);
    expect(colourEnabled(false, { FORCE_COLOR: '1' }, false)).toBe(true);
    expect(colourEnabled(false, { FORCE_COLOR: '1', NO_COLOR: '1' }, false)).toBe(true);
    expect(colourEnabled(false, { FORCE_COLOR: '0' }, true)).toBe(false);
    expect(colourEnabled(true, { FORCE_COLOR: '1' }, true)).toBe(false);
  });

  test('failures are red, warnings yellow, passing statuses green; "0 failed" stays plain', () => {
    expect(paint('[2/3] gone FAILED create (missing-version) 1.0s')).toContain('\x1b[31mFAILED\x1b[39m');
    expect(paint('warning: x')).toBe('\x1b[33mwarning\x1b[39m: x');
    expect(paint('[1/3] tools tested 8.2s')).toContain('\x1b[32mtested\x1b[39m');
    expect(paint('build: 1 built now, 0 failed')).toBe('build: 1 \x1b[32mbuilt\x1b[39m now, 0 failed');
  });
});

describe('the live line of a long step on a terminal', () => {
  afterEach(() => {
    vi.restoreAllMocks();
    vi.useRealTimers();
  });

  test('rewrites one line with the elapsed time, and clears it before any other line and when the step ends', () => {
    vi.useFakeTimers();
    const writes: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => (writes.push(String(c)), true));
    const tty = Object.getOwnPropertyDescriptor(process.stderr, 'isTTY');
    Object.defineProperty(process.stderr, 'isTTY', { value: true, configurable: true });
    try {
      const out = processOutput(false, { NO_COLOR: '1' });
      const stop = out.activity!('[1/1] slow create');
      expect(writes.at(-1)).toBe('\r\x1b[K[1/1] slow create 0s');
      vi.advanceTimersByTime(3000);
      expect(writes.at(-1)).toBe('\r\x1b[K[1/1] slow create 3s');
      out.progress('[2/2] other record 0.1s');
      expect(writes.slice(-3)).toEqual(['\r\x1b[K', '[2/2] other record 0.1s\n', '\r\x1b[K[1/1] slow create 3s']);
      stop();
      expect(writes.at(-1)).toBe('\r\x1b[K');
      vi.advanceTimersByTime(5000);
      expect(writes.at(-1)).toBe('\r\x1b[K'); // stopped: no more rewrites
    } finally {
      if (tty) Object.defineProperty(process.stderr, 'isTTY', tty);
      else delete (process.stderr as { isTTY?: boolean }).isTTY;
    }
  });
});
