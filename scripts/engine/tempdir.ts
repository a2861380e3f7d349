/**
 * Temporary directories of this process (cg-build-*, cg-ref-*, cg-test-*): made here so that an interrupted
 * CLI removes every one it still holds (cli/dispatch.ts), even when the code that made it never unwinds.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const held = new Set<string>();

/** A new private directory `$TMPDIR/<prefix>XXXXXX`, removed by `removeTempDir` or at an interrupt. */
export function makeTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  held.add(dir);
  return dir;
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  held.delete(dir);
}

/** Remove every temporary directory this process still holds. */
export function removeAllTempDirs(): void {
  for (const dir of [...held]) {
    try {
      removeTempDir(dir);
    } catch {
      // best effort at exit
    }
  }
}
