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
