/**
 * Reading the repository for a QA run: tolerant of broken specs, a commit's files through git, and the raw
 * texts that decide which envs a pull request changed.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SPECS_DIR } from '../core/repo.js';
import { versionSpecChecker } from '../core/matchspec.js';
import { parseInventory } from '../core/inventory.js';
import { decodeInput } from '../core/input.js';
import type { Inventory } from '../core/types.js';
import { changedEnvs, type Changes, type RepoSnapshot } from '../core/changes.js';
import { checkRepoTolerant, emptyInventory, type TolerantRepo } from '../core/qarun.js';
import { exportRepoFiles, resolveCommit } from '../engine/git.js';
import { readRepoFiles } from './repo.js';
import type { RepoFiles } from '../core/repo.js';
import { allowListOf, onlyAllowListDiffers, widenings, type AllowList } from '../core/allowlist.js';

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
  const dir = mkdtempSync(join(tmpdir(), `cg-ref-${commit.slice(0, 8)}-`));
  await exportRepoFiles(repoDir, commit, dir);
  return { ref, commit, dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
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

/** The allow-list a QA run checks a pull request against, and what the PR's own inventory would add to it. */
export interface AllowListCheck {
  /** the allow-list in effect: the base commit's (the head's only when the base has no readable inventory) */
  allow: AllowList;
  from: 'base' | 'head';
  /** what the head's inventory would add, one line each (empty: it does not widen the list) */
  widened: string[];
  /**
   * the PR changes only the allow-list: inventory.ini differs from the base only in the `channels`,
   * `pip-git-hosts` and `pip-indexes` lines of [conda], and no file under env-specs/ differs
   */
  allowListOnly: boolean;
}

function inventoryText(files: RepoFiles): string | undefined {
  return files.inventory ? decodeInput(files.inventory, 'inventory.ini').text : undefined;
}

function sameFiles(a: Map<string, Uint8Array>, b: Map<string, Uint8Array>): boolean {
  if (a.size !== b.size) return false;
  for (const [name, bytes] of a) {
    const other = b.get(name);
    if (!other || !Buffer.from(bytes).equals(Buffer.from(other))) return false;
  }
  return true;
}

/** Compare the base commit's allow-list with the head's (pure comparisons in core/allowlist.ts). */
export function allowListBetween(baseDir: string, headDir: string, head: Inventory): AllowListCheck {
  const headAllow = allowListOf(head);
  const baseFiles = readRepoFiles(baseDir);
  const baseText = inventoryText(baseFiles);
  const base = baseText !== undefined ? parseInventory(baseText).inventory : undefined;
  if (!base) return { allow: headAllow, from: 'head', widened: [], allowListOnly: false };
  const allow = allowListOf(base);
  const widened = widenings(allow, headAllow);
  const headFiles = readRepoFiles(headDir);
  const headText = inventoryText(headFiles);
  const allowListOnly =
    widened.length > 0 &&
    headText !== undefined &&
    onlyAllowListDiffers(baseText!, headText) &&
    sameFiles(baseFiles.specs, headFiles.specs);
  return { allow, from: 'base', widened, allowListOnly };
}
