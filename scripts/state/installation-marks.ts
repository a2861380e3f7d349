/**
 * Installation marks: `ROOT/.gitops/installation-marks.jsonl`, the append-only journal of installation rollbacks
 * (installation-marks schema), written like the build marks of state/marks.ts (one write + fsync, a torn last
 * line skipped and reported). A rollback that switches `ROOT/current` away from an installation appends `bad` with
 * the links its live generation had; a deploy that would make those same links current again is refused until the
 * repository changes them, or with --force (core/deploy.ts decides). A deploy or rollback that makes the
 * installation current again appends `clear`. The last line naming an installation wins.
 */
import { existsSync, readFileSync } from 'node:fs';
import { layout } from '../core/layout.js';
import type { InstallationMark } from '../core/deploy.js';
import type { LinkMap } from '../core/generation.js';
import { appendJournal, readJournalText } from './marks.js';

export interface InstallationMarkLine {
  format: 1;
  at: string;
  op: 'bad' | 'clear';
  installation: string;
  reason?: string;
  generation?: number;
  commit?: string;
  links?: LinkMap;
}

export interface InstallationMarks {
  /** installation -> the mark in force (null: the last line cleared it) */
  marks: Map<string, InstallationMark | null>;
  /** a torn last line was skipped */
  skipped: number;
  path: string;
}

/** The journal (empty when there is none); a corrupt line other than the last one throws. */
export function readInstallationMarks(root: string): InstallationMarks {
  const path = layout(root).installationMarks;
  const marks = new Map<string, InstallationMark | null>();
  if (!existsSync(path)) return { marks, skipped: 0, path };
  const { lines, skipped } = readJournalText<InstallationMarkLine>(
    path,
    readFileSync(path, 'utf8'),
    'installation-marks',
  );
  for (const v of lines)
    marks.set(
      v.installation,
      v.op === 'bad'
        ? {
            installation: v.installation,
            at: v.at,
            reason: v.reason ?? '',
            generation: v.generation ?? 0,
            links: v.links ?? {},
            ...(v.commit ? { commit: v.commit } : {}),
          }
        : null,
    );
  return { marks, skipped, path };
}

/** The mark in force on an installation, if any. */
export function installationMarkOf(root: string, installation: string): InstallationMark | undefined {
  return readInstallationMarks(root).marks.get(installation) ?? undefined;
}

/** Mark an installation bad (a rollback left it). */
export function markInstallationBad(root: string, mark: InstallationMark): void {
  appendJournal(layout(root).installationMarks, [
    {
      format: 1,
      at: mark.at,
      op: 'bad',
      installation: mark.installation,
      reason: mark.reason,
      generation: mark.generation,
      ...(mark.commit ? { commit: mark.commit } : {}),
      links: mark.links,
    } satisfies InstallationMarkLine,
  ]);
}

/** Clear an installation's mark (it is current again); nothing is written without one. True if it had one. */
export function clearInstallationMark(root: string, installation: string): boolean {
  if (!installationMarkOf(root, installation)) return false;
  appendJournal(layout(root).installationMarks, [
    { format: 1, at: new Date().toISOString(), op: 'clear', installation } satisfies InstallationMarkLine,
  ]);
  return true;
}

/** A warning about a torn last line, for the commands that read the journal. */
export function installationMarksWarnings(root: string): string[] {
  const j = readInstallationMarks(root);
  return j.skipped
    ? [`installation marks: skipped the torn last line of ${j.path} (a write cut short by a crash)`]
    : [];
}
