/**
 * Reading the repository for a QA run: tolerant of broken specs, a commit's files through git, and the raw
 * texts that decide which envs a pull request changed.
 */
import { posix } from 'node:path';
import { checkSpecFile, INVENTORY_FILE, missingSpecProblem, snapshotOf, SPECS_DIR, testTextsOf } from '../core/repo.js';
import { isPlainVersionSpec, versionSpecChecker } from '../core/matchspec.js';
import { InputError, type Problem } from '../core/errors.js';
import { parseInventory } from '../core/inventory.js';
import { decodeInput, inputFileProblem } from '../core/input.js';
import type { EnvSpec, Inventory } from '../core/types.js';
import { changedEnvs, type Changes } from '../core/changes.js';
import { desiredState, type Desired } from '../core/desired.js';
import { trustedInventory } from '../core/trust.js';
import { checkRepoTolerant, emptyInventory, type TolerantRepo } from '../core/qarun.js';
import {
  catFiles,
  diffRaw,
  exportRepoFiles,
  listDirAt,
  repoPrefix,
  resolveCommit,
  treeEntries,
  type TreeEntry,
} from '../engine/git.js';
import { readRepoFiles } from './repo.js';
import type { RepoFiles } from '../core/repo.js';
import { compareAllowLists, type AllowListCheck } from '../core/allowlist.js';
import { makeTempDir, removeTempDir } from '../engine/tempdir.js';

const SYMLINK_MODE = '120000';
const SUBMODULE_MODE = '160000';

/** Load a repository where a broken env spec fails only that env (see checkRepoTolerant). */
export async function loadRepoTolerant(dir: string, files: RepoFiles = readRepoFiles(dir)): Promise<TolerantRepo> {
  return checkRepoTolerant(dir, files, await versionSpecChecker());
}

/** A commit's repository snapshot, read by `readCommitFiles`. */
export interface CommitFiles {
  ref: string;
  commit: string;
  files: RepoFiles;
}

/**
 * The commit reader of a repository snapshot: inventory.ini and every file directly in env-specs/ at `ref`, from
 * one `git ls-tree` and one `git cat-file --batch`, checked like the work tree reader (repo/repo.ts
 * readRepoFiles) checks files: size before reading, a symlink only when it stays inside the repository,
 * env-specs a real directory. The same bytes give the same RepoFiles as a checkout of that commit.
 */
export async function readCommitFiles(repoDir: string, ref: string): Promise<CommitFiles> {
  const [commit, prefix] = await Promise.all([resolveCommit(repoDir, ref), repoPrefix(repoDir)]);
  const entries = await treeEntries(repoDir, commit, [
    `${prefix}${INVENTORY_FILE}`,
    `${prefix}${SPECS_DIR}`,
    `${prefix}${SPECS_DIR}/`,
  ]);
  const problems: Problem[] = [];
  const wanted: Array<{ rel: string; entry: TreeEntry }> = [];
  for (const entry of entries) {
    const rel = entry.path.slice(prefix.length);
    if (rel === SPECS_DIR) {
      const message =
        entry.mode === SYMLINK_MODE
          ? 'is a symlink: env-specs must be a directory in the repository (a symlink could lead anywhere)'
          : entry.type !== 'tree'
            ? 'is not a directory'
            : undefined;
      if (message) problems.push({ file: SPECS_DIR, line: 1, severity: 'error', message });
      continue;
    }
    if (entry.type !== 'blob') {
      // a directory in env-specs/ holds local pip sources, read by the build; inventory.ini must be a file
      if (rel === INVENTORY_FILE) problems.push(inputFileProblem(rel, { kind: 'dir', size: 0 })!);
      continue;
    }
    const tooBig =
      entry.mode === SYMLINK_MODE ? undefined : inputFileProblem(rel, { kind: 'file', size: entry.size ?? 0 });
    if (tooBig) problems.push(tooBig);
    else wanted.push({ rel, entry });
  }
  const blobs = await catFiles(
    repoDir,
    wanted.map((w) => w.entry.sha),
  );
  // a symlink is followed once, inside the repository only (as the work tree reader does)
  const targets = new Map<string, string>();
  for (const { rel, entry } of wanted) {
    if (entry.mode !== SYMLINK_MODE) continue;
    const target = blobs.get(entry.sha)?.toString('utf8') ?? '';
    const resolved = posix.normalize(posix.join(posix.dirname(rel), target));
    if (posix.isAbsolute(target) || resolved === '..' || resolved.startsWith('../'))
      problems.push(inputFileProblem(rel, { kind: 'symlink', size: 0, leavesTree: true })!);
    else targets.set(rel, `${commit}:${prefix}${resolved}`);
  }
  const followed = await catFiles(repoDir, [...targets.values()]);
  const files: RepoFiles = { inventory: undefined, specs: new Map() };
  for (const { rel, entry } of wanted) {
    let bytes: Uint8Array | undefined = blobs.get(entry.sha);
    if (entry.mode === SYMLINK_MODE) {
      const name = targets.get(rel);
      if (!name) continue;
      bytes = followed.get(name);
      const problem = bytes
        ? inputFileProblem(rel, { kind: 'file', size: bytes.length })
        : inputFileProblem(rel, { kind: 'symlink', size: 0, leavesTree: true }); // dangling, or a directory
      if (problem) {
        problems.push(problem);
        continue;
      }
    }
    if (!bytes) continue;
    if (rel === INVENTORY_FILE) files.inventory = bytes;
    else files.specs.set(rel.slice(SPECS_DIR.length + 1), bytes);
  }
  if (problems.length) throw new InputError(problems);
  return { ref, commit, files };
}

/** The snapshot of `ref`, or of the work tree when no ref is given (`plan --base B` compares with the work tree). */
export async function readSnapshot(repoDir: string, ref?: string): Promise<CommitFiles | { files: RepoFiles }> {
  return ref ? readCommitFiles(repoDir, ref) : { files: readRepoFiles(repoDir) };
}

/** The repository files of a commit in a temp dir (removed by `cleanup`). */
export interface CommitCheckout {
  ref: string;
  commit: string;
  dir: string;
  cleanup(): void;
}

/** A commit's files in a temporary directory: inventory.ini and env-specs/, or only `paths`. */
export async function checkoutCommit(repoDir: string, ref: string, paths?: string[]): Promise<CommitCheckout> {
  const commit = await resolveCommit(repoDir, ref);
  const dir = makeTempDir(`cg-ref-${commit.slice(0, 8)}-`);
  await exportRepoFiles(repoDir, commit, dir, ...(paths ? [paths] : []));
  return { ref, commit, dir, cleanup: () => removeTempDir(dir) };
}

/**
 * The base side of a comparison: its inventory as written (even if some specs there were broken).
 * A base without a readable inventory counts as empty: everything at head is new.
 */
function baseInventory(files: RepoFiles, head: Inventory): Inventory {
  return inventoryOf(files) ?? emptyInventory(head);
}

/** A snapshot's inventory as written, or undefined when it has none that parses. */
export function inventoryOf(files: RepoFiles): Inventory | undefined {
  const text = files.inventory ? decodeInput(files.inventory, INVENTORY_FILE).text : undefined;
  return text !== undefined ? parseInventory(text).inventory : undefined;
}

/** What changed between two snapshots (whole ones: a base commit and a head commit or the work tree). */
export function changesBetween(base: RepoFiles, head: RepoFiles, headInventory: Inventory): Changes {
  return changedEnvs(snapshotOf(base, baseInventory(base, headInventory)), snapshotOf(head, headInventory));
}

/**
 * A pull request read from git by what it changed: the head inventory, and the specs of the envs it changed,
 * checked the way checkRepoTolerant checks them. Unchanged specs are neither read nor parsed: their build
 * inputs are the base's.
 */
export interface PrDelta {
  base: { ref: string; commit: string };
  head: { ref: string; commit: string };
  inventory: Inventory;
  changes: Changes;
  /** the changed envs' parsed specs (REPLICATE at head, spec valid) */
  specs: Map<string, EnvSpec>;
  /** the desired state of the changed envs (core/desired.ts, as for a whole repository) */
  desired: Desired;
  /** changed envs whose spec has errors */
  broken: Map<string, Problem[]>;
  /** warnings of inventory.ini and the changed specs */
  warnings: Problem[];
  /** the allow-list the PR's sources are checked against (the base's), and what the PR would add to it */
  allowCheck: AllowListCheck;
  /** the base commit's inventory: its configuration is what the PR's QA runs with (core/trust.ts) */
  baseInventory: Inventory | 'no-base';
}

/** The file name of a path directly in env-specs/, or undefined. */
function specsChild(path: string): string | undefined {
  const rel = path.startsWith(`${SPECS_DIR}/`) ? path.slice(SPECS_DIR.length + 1) : undefined;
  return rel && !rel.includes('/') ? rel : undefined;
}

/**
 * What `plan --base B --head H` needs, from one `git diff --raw` and `git cat-file --batch` of the changed blobs:
 * partial snapshots (the changed files only) read into the same RepoFiles as the whole readers, compared by the
 * same `snapshotOf`, and the changed envs' desired state from the same `desiredState`.
 * Returns undefined when the change touches every env's build inputs ([conda] version or frontend, or
 * [legacy-noarch]), the base inventory does not parse, or a changed entry is a symlink or a submodule: the
 * caller reads both commits whole then.
 */
export async function readPrDelta(repoDir: string, baseRef: string, headRef: string): Promise<PrDelta | undefined> {
  const [baseCommit, headCommit, prefix] = await Promise.all([
    resolveCommit(repoDir, baseRef),
    resolveCommit(repoDir, headRef),
    repoPrefix(repoDir),
  ]);
  const [diff, headNames] = await Promise.all([
    diffRaw(repoDir, baseCommit, headCommit, [INVENTORY_FILE, SPECS_DIR]),
    listDirAt(repoDir, headCommit, SPECS_DIR),
  ]);
  const special = (mode: string | undefined) => mode === SYMLINK_MODE || mode === SUBMODULE_MODE;
  if (diff.some((d) => special(d.baseMode) || special(d.headMode))) return undefined;
  // a changed file that is not a spec or a test script (a requirements file, a local pip source) may be read
  // by any spec: both sides are read whole then
  const ownFile = (name: string) => /^[^/]+\.(yml|test\.sh|test\.py)$/.test(name);
  if (diff.some((d) => d.path !== INVENTORY_FILE && !ownFile(specsChild(d.path) ?? '/'))) return undefined;
  const inv = (c: string) => `${c}:${prefix}${INVENTORY_FILE}`;
  const blobs = await catFiles(repoDir, [
    ...(diff.some((d) => d.path === INVENTORY_FILE) ? [inv(baseCommit)] : []),
    inv(headCommit),
    ...diff.flatMap((d) => [d.baseSha, d.headSha].filter((s): s is string => s !== undefined)),
  ]);
  const headInvBytes = blobs.get(inv(headCommit));
  const baseInvBytes = blobs.get(inv(baseCommit));

  const headNameSet = new Set(headNames);
  const { inventory, headText, invProblems } = headInventoryOf(headInvBytes, headNameSet);
  // an inventory.ini the PR did not touch is parsed once (10,000 envs: the largest file of the repository)
  const inventoryChanged = diff.some((d) => d.path === INVENTORY_FILE);
  const baseText = !inventoryChanged
    ? headText
    : baseInvBytes
      ? decodeInput(baseInvBytes, INVENTORY_FILE).text
      : undefined;
  const baseInventory = !inventoryChanged
    ? inventory
    : baseText === undefined
      ? emptyInventory(inventory)
      : parseInventory(baseText, INVENTORY_FILE).inventory;
  if (!baseInventory) return undefined;
  const sameList = (a: Array<{ name: string }>, b: Array<{ name: string }>) =>
    a.map((x) => x.name).join('\n') === b.map((x) => x.name).join('\n');
  if (
    baseInventory.conda.version !== inventory.conda.version ||
    baseInventory.conda.frontend !== inventory.conda.frontend ||
    !sameList(baseInventory.legacyNoarch, inventory.legacyNoarch)
  )
    return undefined;

  // the changed files of each side, as RepoFiles: an unchanged file is absent on both sides, hence equal
  const side = (which: 'baseSha' | 'headSha', bytes: Uint8Array | undefined): RepoFiles => {
    const specs = new Map<string, Uint8Array>();
    for (const d of diff) {
      const name = specsChild(d.path);
      const content = d[which] ? blobs.get(d[which]!) : undefined;
      if (name && content) specs.set(name, content);
    }
    return { inventory: bytes, specs };
  };
  const changes = changedEnvs(
    snapshotOf(side('baseSha', baseInvBytes), baseInventory),
    snapshotOf(side('headSha', headInvBytes), inventory),
  );

  // every file of each changed env at head (spec and both test scripts, changed or not): what its verdict key
  // and build read, as the whole readers would read them
  const wanted = [...changes.envs.map((e) => e.name), ...changes.exportOnly];
  const headFiles = await headFilesOf(repoDir, `${headCommit}:${prefix}${SPECS_DIR}/`, wanted, headNameSet);
  headFiles.inventory = headInvBytes; // the inventory's bytes, as read with the diff
  const checked = await checkChangedSpecs(wanted, headFiles, inventory, invProblems);
  if (!checked) return undefined;
  const { specs, broken, warnings } = checked;
  const trustBase: Inventory | 'no-base' = inventoryChanged && baseText === undefined ? 'no-base' : baseInventory;
  // the head's data, the base's configuration (core/trust.ts): build ids carry the base's channel mapping
  const desired = desiredState(
    { inventory: trustedInventory(trustBase, inventory), specs, testTexts: testTextsOf(headFiles) },
    { only: changes.envs.map((e) => e.name) },
  );
  return {
    base: { ref: baseRef, commit: baseCommit },
    head: { ref: headRef, commit: headCommit },
    inventory,
    changes,
    specs,
    desired,
    broken,
    warnings,
    baseInventory: trustBase,
    // sources are checked against the base's allow-list; a PR touching env-specs/ is not allow-list-only
    allowCheck: compareAllowLists(
      baseText !== undefined && baseInventory ? { text: baseText, inventory: baseInventory } : undefined,
      headText,
      inventory,
      diff.some((d) => d.path.startsWith(`${SPECS_DIR}/`)),
    ),
  };
}

/** The head inventory: its problems (and an env without its spec) fail the plan, like loadRepoTolerant. */
function headInventoryOf(headInvBytes: Uint8Array | undefined, headNameSet: Set<string>) {
  const invProblems: Problem[] = [];
  let inventory: Inventory | undefined;
  let headText: string | undefined;
  if (!headInvBytes)
    invProblems.push({ file: INVENTORY_FILE, line: 1, severity: 'error', message: `${INVENTORY_FILE} not found` });
  else {
    const decoded = decodeInput(headInvBytes, INVENTORY_FILE);
    headText = decoded.text;
    if (decoded.problem) invProblems.push(decoded.problem);
    else {
      const parsed = parseInventory(decoded.text!, INVENTORY_FILE);
      invProblems.push(...parsed.problems);
      inventory = parsed.inventory;
    }
  }
  for (const env of inventory?.environments ?? [])
    if (!headNameSet.has(`${env.name}.yml`)) invProblems.push(missingSpecProblem(env));
  if (!inventory || invProblems.some((p) => p.severity === 'error')) throw new InputError(invProblems);
  return { inventory, headText, invProblems };
}

/** Every file of the wanted envs at head, each checked as an input file (`at`: `COMMIT:PREFIX/env-specs/`). */
async function headFilesOf(
  repoDir: string,
  at: string,
  wanted: string[],
  headNameSet: Set<string>,
): Promise<RepoFiles> {
  const headPath = (file: string) => `${at}${file}`;
  const ownFiles = wanted
    .flatMap((n) => [`${n}.yml`, `${n}.test.sh`, `${n}.test.py`])
    .filter((f) => headNameSet.has(f));
  const own = await catFiles(repoDir, ownFiles.map(headPath));
  const headFiles: RepoFiles = { inventory: undefined, specs: new Map() };
  const problems: Problem[] = [];
  for (const file of ownFiles) {
    const bytes = own.get(headPath(file));
    const problem = bytes ? inputFileProblem(`${SPECS_DIR}/${file}`, { kind: 'file', size: bytes.length }) : undefined;
    if (problem) problems.push(problem);
    else if (bytes) headFiles.specs.set(file, bytes);
  }
  if (problems.length) throw new InputError(problems);

  return headFiles;
}

/**
 * Check the changed specs: plain version specs without rattler, rattler only when a rare one appears. Undefined
 * when a spec reads requirements files (the whole snapshot checks and hashes those).
 */
async function checkChangedSpecs(wanted: string[], headFiles: RepoFiles, inventory: Inventory, invProblems: Problem[]) {
  const checkAll = (check: (v: string) => string | undefined) =>
    wanted.map((name) => ({
      name,
      ...checkSpecFile(name, headFiles.specs.get(`${name}.yml`) ?? new Uint8Array(), inventory, check),
    }));
  const rare = new Set<string>();
  let checked = checkAll((v) => {
    if (!isPlainVersionSpec(v)) rare.add(v);
    return undefined;
  });
  if (rare.size) checked = checkAll(await versionSpecChecker());
  // a changed spec that reads requirements files: those are checked and hashed with the whole snapshot
  if (checked.some((c) => c.spec?.pip.some((p) => p.kind === 'requirements'))) return undefined;
  const specs = new Map<string, EnvSpec>();
  const broken = new Map<string, Problem[]>();
  const warnings = invProblems.filter((p) => p.severity === 'warning');
  for (const c of checked) {
    warnings.push(...c.problems.filter((p) => p.severity === 'warning'));
    if (c.spec) specs.set(c.name, c.spec);
    else
      broken.set(
        c.name,
        c.problems.filter((p) => p.severity === 'error'),
      );
  }
  return { specs, broken, warnings };
}

function inventoryText(files: RepoFiles): string | undefined {
  return files.inventory ? decodeInput(files.inventory, INVENTORY_FILE).text : undefined;
}

function sameFiles(a: Map<string, Uint8Array>, b: Map<string, Uint8Array>): boolean {
  if (a.size !== b.size) return false;
  for (const [name, bytes] of a) {
    const other = b.get(name);
    if (!other || !Buffer.from(bytes).equals(Buffer.from(other))) return false;
  }
  return true;
}

/** The base snapshot's allow-list against the head's (core/allowlist.ts decides). */
export function allowListBetween(baseFiles: RepoFiles, headFiles: RepoFiles, head: Inventory): AllowListCheck {
  const baseText = inventoryText(baseFiles);
  const base = baseText !== undefined ? parseInventory(baseText).inventory : undefined;
  return compareAllowLists(
    baseText !== undefined && base ? { text: baseText, inventory: base } : undefined,
    inventoryText(headFiles),
    head,
    !sameFiles(baseFiles.specs, headFiles.specs),
  );
}
