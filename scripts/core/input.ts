/** Checks every user-written file passes before it is parsed: size and encoding. Pure. */
import type { Problem } from './errors.js';

export const MAX_INPUT_BYTES = 1024 * 1024;

// One decoder for every file: a TextDecoder holds a native converter, and one per file made 10,000
// specs cost ~50 MB of garbage the collector frees late.
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Decode user input. Returns text without BOM, or a problem naming the line of the first bad byte. */
export function decodeInput(bytes: Uint8Array, file: string): { text?: string; problem?: Problem } {
  if (bytes.length > MAX_INPUT_BYTES) {
    return {
      problem: { file, line: 1, severity: 'error', message: `file is ${bytes.length} bytes, over the 1 MB limit` },
    };
  }
  try {
    const text = strictUtf8.decode(bytes);
    return { text: text.replace(/^\uFEFF/, '') };
  } catch {
    const good = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
    const bad = good.indexOf('\uFFFD');
    const line = good.slice(0, Math.max(bad, 0)).split('\n').length;
    return { problem: { file, line, severity: 'error', message: 'file is not valid UTF-8' } };
  }
}

/** What lstat/fstat said about a file the tool is about to read (see repo/repo.ts readRepoFile). */
export interface InputFileInfo {
  kind: 'file' | 'dir' | 'symlink' | 'fifo' | 'socket' | 'device' | 'other';
  size: number;
  /** a symlink whose target resolves outside the tree it lies in (or does not resolve) */
  leavesTree?: boolean;
}

/**
 * Whether a file may be read, decided before a single byte is: a regular file (a symlink only when it stays
 * inside the repository), at most MAX_INPUT_BYTES. A FIFO would block the read, a device (/dev/zero) never
 * ends, a file over 2 GiB cannot even be read into one buffer.
 */
export function inputFileProblem(file: string, info: InputFileInfo): Problem | undefined {
  const problem = (message: string): Problem => ({ file, line: 1, severity: 'error', message });
  if (info.leavesTree) return problem('is a symlink leading out of the repository: not read');
  switch (info.kind) {
    case 'file':
      return info.size > MAX_INPUT_BYTES ? problem(`file is ${info.size} bytes, over the 1 MB limit`) : undefined;
    case 'fifo':
      return problem('is a FIFO, not a regular file: not read');
    case 'device':
      return problem('is a device, not a regular file: not read');
    case 'socket':
      return problem('is a socket, not a regular file: not read');
    case 'dir':
      return problem('is a directory, not a file');
    default:
      return problem('is not a regular file: not read');
  }
}
