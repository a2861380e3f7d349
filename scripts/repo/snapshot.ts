/**
 * Reading the repository for a QA run: tolerant of broken specs, a commit's files through git, and the raw
 * texts that decide which envs a pull request changed.
 */
import { join, relative } from 'node:path';
import { checkSpecFile, INVENTORY_FILE, missingSpecProblem, SPECS_DIR } from '../core/repo.js';
import { isPlainVersionSpec, versionSpecChecker } from '../core/matchspec.js';
import { InputError, type Problem } from '../core/errors.js';
import { parseInventory } from '../core/inventory.js';
import { decodeInput } from '../core/input.js';
import type { EnvSpec, Inventory } from '../core/types.js';
import { changedEnvs, type Changes, type RepoSnapshot } from '../core/changes.js';
import { checkRepoTolerant, emptyInventory, type TolerantRepo } from '../core/qarun.js';
import { catFiles, diffRaw, exportRepoFiles, listDirAt, repoPrefix, resolveCommit } from '../engine/git.js';
import { readRepoFile, readRepoFiles } from './repo.js';
import type { RepoFiles } from '../core/repo.js';
import { compareAllowLists, type AllowListCheck } from '../core/allowlist.js';
import { makeTempDir, removeTempDir } from '../engine/tempdir.js';

/** Load a repository where a broken env spec fails only that env (see checkRepoTolerant). */
export async function loadRepoTolerant(dir: string): Promise<TolerantRepo> {
  return checkRepoTolerant(dir, readRepoFiles(dir), await versionSpecChecker());
}

/** Raw texts of specs and per-env tests: what `changedEnvs` compares. */
function snapshotOf(dir: string, inventory: Inventory): RepoSnapshot {
  const decoder = new TextDecoder();
  const read = (p: string) => {
    const bytes = readRepoFile(dir, relative(dir, p));
    return bytes ? decoder.decode(bytes) : undefined;
  };
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
function baseSnapshot(dir: string, head: Inventory): RepoSnapshot {
  const files = readRepoFiles(dir);
  const text = files.inventory ? decodeInput(files.inventory, 'inventory.ini').text : undefined;
  const inventory = (text !== undefined ? parseInventory(text).inventory : undefined) ?? emptyInventory(head);
  return snapshotOf(dir, inventory);
}

export function changesBetween(baseDir: string, headDir: string, head: Inventory): Changes {
  return changedEnvs(baseSnapshot(baseDir, head), snapshotOf(headDir, head));
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
  /** the changed envs' test scripts at head (`sh` then `py`, NUL between), as a verdict key reads them */
  testTexts: Map<string, string>;
  /** changed envs whose spec has errors */
  broken: Map<string, Problem[]>;
  /** warnings of inventory.ini and the changed specs */
  warnings: Problem[];
  /** the allow-list the PR's sources are checked against (the base's), and what the PR would add to it */
  allowCheck: AllowListCheck;
}

const TEST_FILE = /^(.+)\.test\.(sh|py)$/;
const SPEC_FILE = /^(.+)\.yml$/;

/**
 * What `plan --base B --head H` needs, from one `git diff --raw` and `git cat-file --batch` of the changed blobs.
 * Returns undefined when the change touches every env's build inputs ([conda] version or frontend, or
 * [legacy-noarch]) or the base inventory does not parse: the caller reads both commits whole then.
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
  const inv = (c: string) => `${c}:${prefix}${INVENTORY_FILE}`;
  const blobs = await catFiles(repoDir, [
    ...(diff.some((d) => d.path === INVENTORY_FILE) ? [inv(baseCommit)] : []),
    inv(headCommit),
    ...diff.flatMap((d) => [d.baseSha, d.headSha].filter((s): s is string => s !== undefined)),
  ]);
  const headInvBytes = blobs.get(inv(headCommit));
  const baseInvBytes = blobs.get(inv(baseCommit));

  // the head inventory: its problems fail the plan (like loadRepoTolerant)
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
  const specNames = new Set(headNames.filter((f) => SPEC_FILE.test(f) && !TEST_FILE.test(f)));
  for (const env of inventory?.environments ?? [])
    if (!specNames.has(`${env.name}.yml`)) invProblems.push(missingSpecProblem(env));
  if (!inventory || invProblems.some((p) => p.severity === 'error')) throw new InputError(invProblems);

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

  // the two snapshots hold only the changed files: an unchanged file is absent on both sides, hence equal
  const text = (sha: string | undefined) => (sha ? blobs.get(sha)?.toString('utf8') : undefined);
  const side = (which: 'baseSha' | 'headSha', inventory: Inventory): RepoSnapshot => {
    const specTexts = new Map<string, string>();
    const tests = new Map<string, string[]>();
    for (const d of diff) {
      const rel = d.path.startsWith(`${SPECS_DIR}/`) ? d.path.slice(SPECS_DIR.length + 1) : undefined;
      if (!rel || rel.includes('/')) continue;
      const t = TEST_FILE.exec(rel);
      if (t) {
        const parts = tests.get(t[1]!) ?? ['', ''];
        parts[t[2] === 'sh' ? 0 : 1] = text(d[which]) ?? '';
        tests.set(t[1]!, parts);
        continue;
      }
      const s = SPEC_FILE.exec(rel);
      const content = text(d[which]);
      if (s && content !== undefined) specTexts.set(s[1]!, content);
    }
    const testTexts = new Map<string, string>();
    // a test file that did not change is the same on both sides: only the changed half is compared
    for (const [name, parts] of tests) testTexts.set(name, parts.join('\0'));
    return { inventory, specTexts, testTexts };
  };
  const changes = changedEnvs(side('baseSha', baseInventory), side('headSha', inventory));

  // head specs of the changed envs: those in the diff are read already; the others (mode or kernel changes)
  // are read with one more cat-file
  const changedSpec = new Map<string, Buffer>();
  for (const d of diff)
    if (d.headSha && d.path.startsWith(`${SPECS_DIR}/`)) {
      const m = SPEC_FILE.exec(d.path.slice(SPECS_DIR.length + 1));
      if (m && !TEST_FILE.test(d.path)) changedSpec.set(m[1]!, blobs.get(d.headSha)!);
    }
  const missing = changes.envs.filter((e) => !changedSpec.has(e.name)).map((e) => e.name);
  const spec = (name: string) => `${headCommit}:${prefix}${SPECS_DIR}/${name}.yml`;
  // the whole test scripts of every changed env at head: the verdict key reads both, changed or not
  const headNameSet = new Set(headNames);
  const testPath = (name: string, x: string) => `${headCommit}:${prefix}${SPECS_DIR}/${name}.test.${x}`;
  const testBlobs = changes.envs.flatMap((e) =>
    ['sh', 'py'].filter((x) => headNameSet.has(`${e.name}.test.${x}`)).map((x) => testPath(e.name, x)),
  );
  const more = await catFiles(repoDir, [...missing.map(spec), ...testBlobs]);
  for (const name of missing) {
    const bytes = more.get(spec(name));
    if (bytes) changedSpec.set(name, bytes);
  }
  const testTexts = new Map<string, string>();
  for (const e of changes.envs) {
    const part = (x: string) => more.get(testPath(e.name, x))?.toString('utf8') ?? '';
    if (headNameSet.has(`${e.name}.test.sh`) || headNameSet.has(`${e.name}.test.py`))
      testTexts.set(e.name, `${part('sh')}\0${part('py')}`);
  }

  // check them: plain version specs without rattler, rattler only when a rare one appears
  const wanted = [...changes.envs.map((e) => e.name), ...changes.exportOnly];
  const checkAll = (check: (v: string) => string | undefined) =>
    wanted.map((name) => ({
      name,
      ...checkSpecFile(name, changedSpec.get(name) ?? new Uint8Array(), inventory, check),
    }));
  const rare = new Set<string>();
  let checked = checkAll((v) => {
    if (!isPlainVersionSpec(v)) rare.add(v);
    return undefined;
  });
  if (rare.size) checked = checkAll(await versionSpecChecker());
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
  return {
    base: { ref: baseRef, commit: baseCommit },
    head: { ref: headRef, commit: headCommit },
    inventory,
    changes,
    specs,
    testTexts,
    broken,
    warnings,
    // sources are checked against the base's allow-list; a PR touching env-specs/ is not allow-list-only
    allowCheck: compareAllowLists(
      baseText !== undefined && baseInventory ? { text: baseText, inventory: baseInventory } : undefined,
      headText,
      inventory,
      diff.some((d) => d.path.startsWith(`${SPECS_DIR}/`)),
    ),
  };
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

/** The base commit's allow-list against the head's, from two checked-out trees (core/allowlist.ts decides). */
export function allowListBetween(baseDir: string, headDir: string, head: Inventory): AllowListCheck {
  const baseFiles = readRepoFiles(baseDir);
  const headFiles = readRepoFiles(headDir);
  const baseText = inventoryText(baseFiles);
  const base = baseText !== undefined ? parseInventory(baseText).inventory : undefined;
  return compareAllowLists(
    baseText !== undefined && base ? { text: baseText, inventory: base } : undefined,
    inventoryText(headFiles),
    head,
    !sameFiles(baseFiles.specs, headFiles.specs),
  );
}
