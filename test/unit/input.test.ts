import { describe, expect, it } from 'vitest';
import { decodeInput, inputFileProblem, MAX_INPUT_BYTES } from '../../scripts/core/input.js';

const utf8 = (s: string) => new TextEncoder().encode(s);
const concat = (...parts: Uint8Array[]) => new Uint8Array(parts.flatMap((p) => [...p]));

describe('decodeInput', () => {
  it('returns UTF-8 text as written: non-ASCII, CRLF and a missing final newline kept', () => {
    const text = 'name: café\r\ndependencies:\r\n  - python=3.11  # Zürich';
    expect(decodeInput(utf8(text), 'env-specs/a.yml')).toEqual({ text });
  });

  it('drops a leading byte-order mark (editors on Windows add one) and only that one', () => {
    expect(decodeInput(utf8('\uFEFFname: a\n'), 'f').text).toBe('name: a\n');
    expect(decodeInput(utf8('a: "\uFEFF"\n'), 'f').text).toBe('a: "\uFEFF"\n');
  });

  it('refuses a Latin-1 file, naming the file and the line of the first bad byte', () => {
    const latin1 = concat(utf8('name: a\ndependencies:\n  - caf'), new Uint8Array([0xe9]), utf8('\n  - b\n'));
    expect(decodeInput(latin1, 'env-specs/a.yml')).toEqual({
      problem: { file: 'env-specs/a.yml', line: 3, severity: 'error', message: 'file is not valid UTF-8' },
    });
  });

  it('counts lines in characters, not bytes: multi-byte text before the bad byte does not shift the line', () => {
    // a multi-byte sequence cut short at the end of the file
    const bytes = concat(utf8('ü ü ü\n日本語\n'), new Uint8Array([0xc3]));
    expect(decodeInput(bytes, 'f').problem?.line).toBe(3);
  });

  it('accepts exactly 1 MB and refuses one byte more, before decoding, giving the size', () => {
    expect(decodeInput(new Uint8Array(MAX_INPUT_BYTES).fill(0x61), 'f').text).toHaveLength(MAX_INPUT_BYTES);
    const big = new Uint8Array(MAX_INPUT_BYTES + 1).fill(0xff);
    expect(decodeInput(big, 'inventory.ini')).toEqual({
      problem: {
        file: 'inventory.ini',
        line: 1,
        severity: 'error',
        message: 'file is 1048577 bytes, over the 1 MB limit',
      },
    });
  });
});

describe('inputFileProblem: what may be read, decided before reading', () => {
  const msg = (info: Parameters<typeof inputFileProblem>[1]) => inputFileProblem('inventory.ini', info)?.message;
  it('a regular file up to the limit passes; one byte more is refused by its size', () => {
    expect(inputFileProblem('f', { kind: 'file', size: MAX_INPUT_BYTES })).toBeUndefined();
    expect(msg({ kind: 'file', size: 2 ** 31 + 1 })).toBe('file is 2147483649 bytes, over the 1 MB limit');
  });
  it('FIFOs, devices, sockets, directories and symlinks leaving the repository are refused', () => {
    expect(msg({ kind: 'fifo', size: 0 })).toBe('is a FIFO, not a regular file: not read');
    expect(msg({ kind: 'device', size: 0 })).toBe('is a device, not a regular file: not read');
    expect(msg({ kind: 'socket', size: 0 })).toMatch(/socket/);
    expect(msg({ kind: 'dir', size: 4096 })).toBe('is a directory, not a file');
    expect(msg({ kind: 'file', size: 10, leavesTree: true })).toBe(
      'is a symlink leading out of the repository: not read',
    );
    expect(inputFileProblem('inventory.ini', { kind: 'fifo', size: 0 })).toMatchObject({
      file: 'inventory.ini',
      line: 1,
    });
  });
});
