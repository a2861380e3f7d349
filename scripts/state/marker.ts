/**
 * The installation marker `ROOT/vX/.conda-gitops-installation`: written the first time this tool writes a build
 * record or a generation into an installation. gc removes a whole installation only when it carries the marker
 * (an installation it did not write into, like the adopted hand-run one, needs `gc --retire NAME`).
 */
import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import { INSTALLATION_MARKER } from '../core/layout.js';
import { writeFileAtomic } from './fsutil.js';

export function isMarked(instDir: string): boolean {
  try {
    return lstatSync(join(instDir, INSTALLATION_MARKER)).isFile();
  } catch {
    return false;
  }
}

/** Mark an installation as written by conda-gitops (idempotent; never through a symlink). */
export function markInstallation(instDir: string): void {
  const path = join(instDir, INSTALLATION_MARKER);
  try {
    lstatSync(path);
    return; // present (a symlink there is left alone: isMarked says no)
  } catch {
    /* absent: write it */
  }
  const text = JSON.stringify({ format: 1, writtenBy: 'conda-gitops', at: new Date().toISOString() }) + '\n';
  writeFileAtomic(path, text);
}
