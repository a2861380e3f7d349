/**
 * Reading the repository for a QA run: tolerant of broken specs, a commit's files through git, and the raw
 * texts that decide which envs a pull request changed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SPECS_DIR } from '../core/repo.js';
import { versionSpecChecker } from '../core/matchspec.js';
import { parseInventory } from '../core/inventory.js';
import { decodeInput } from '../core/input.js';
import type { Inventory } from '../core/types.js';
import { changedEnvs, type Changes, type RepoSnapshot } from '../core/changes.js';
import { checkRepoTolerant, emptyInventory, type TolerantRepo } from '../core/qarun.js';
import { exportRepoFiles, resolveCommit } from '../engine/git.js';
import { makeTempDir, removeTempDir } from '../engine/tempdir.js';
import { readRepoFiles } from './repo.js';

/** Load a repository where a broken env spec fails only that env (see checkRepoTolerant). */
export async function loadRepoTolerant(dir: string): Promise<TolerantRepo> {
  return checkRepoTolerant(dir, readRepoFiles(dir), await versionSpecChecker());
}

/** Raw texts of specs and per-env tests: what `changedEnvs` compares. */
function snapshotOf(dir: string, inventory: Inventory): RepoSnapshot {
  const read = (p: string) => (existsSync(p) ? readFileSync(p, 'utf8') : undefined);
  const specTexts = new Map<string, string>();
  const testTexts = new Map<string, string>();
  for (const e of inventory.environments) {
    const spec = read(join(dir, SPECS_DIR, `${e.name}.yml`));
    if (spec !== undefined) specTexts.set(e.name, spec);
    const tests = ['sh', 'py'].map((x) => read(join(dir, SPECS_DIR, `${e.name}.test.${x}`)) ?? '').join('\0');
    if (tests !== '\0') testTexts.set(e.name, tests);
  }
  return { inventory, specTexts, testTexts };
}

/** The repository files of a commit in a temp dir (removed by `cleanup`). */
export interface CommitCheckout {
  ref: string;
  commit: string;
  dir: string;
  cleanup(): void;
}

export async function checkoutCommit(repoDir: string, ref: string): Promise<CommitCheckout> {
  const commit = await resolveCommit(repoDir, ref);
  const dir = makeTempDir(`cg-ref-${commit.slice(0, 8)}-`);
  await exportRepoFiles(repoDir, commit, dir);
  return { ref, commit, dir, cleanup: () => removeTempDir(dir) };
}

/**
 * The base side of a comparison: its inventory as written (even if some specs there were broken).
 * A base without a readable inventory counts as empty: everything at head is new.
 */
function baseSnapshot(dir: string, head: Inventory): RepoSnapshot {
  const files = readRepoFiles(dir);
  const text = files.inventory ? decodeInput(files.inventory, 'inventory.ini').text : undefined;
  const inventory = (text !== undefined ? parseInventory(text).inventory : undefined) ?? emptyInventory(head);
  return snapshotOf(dir, inventory);
}

export function changesBetween(baseDir: string, headDir: string, head: Inventory): Changes {
  return changedEnvs(baseSnapshot(baseDir, head), snapshotOf(headDir, head));
}
