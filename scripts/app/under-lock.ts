/**
 * The first steps of a writer (deploy, rollback) once it holds the ROOT lock: remove what a killed run left
 * half-written, log a cutover a killed run had not recorded, and warn about unreadable mark journals.
 */
import { join } from 'node:path';
import type { Output } from './output.js';
import { cleanTemporaries, versionOf } from '../state/generation.js';
import { reconcileHistory } from '../state/history.js';
import { marksWarnings } from '../state/marks.js';
import { installationMarksWarnings } from '../state/installation-marks.js';
import { listInstallations } from '../state/gc.js';

/** `reportRecovered`: say so when history gets a cutover a killed run had not logged (deploy does, rollback not). */
export function recoverUnderLock(
  root: string,
  env: NodeJS.ProcessEnv,
  out: Output,
  opts: { reportRecovered: boolean },
): void {
  cleanTemporaries(
    root,
    listInstallations(root).map((n) => join(root, n)),
  );
  const recovered = reconcileHistory(root, env);
  if (recovered && opts.reportRecovered) {
    const to = `${recovered.to.installation}/generations/${recovered.to.generation}`;
    out.warn(`history: recorded a cutover a killed run had not logged (${to})`);
  }
  for (const w of marksWarnings(root, listInstallations(root).map(versionOf))) out.warn(w);
  for (const w of installationMarksWarnings(root)) out.warn(w);
}
