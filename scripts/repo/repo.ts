/**
 * Reading the repository: a directory's inventory.ini + env-specs/ into core/repo.ts's checkRepo, and the root.
 */
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  openSync,
  readdirSync,
  readSync,
  realpathSync,
  statSync,
  type Stats,
} from 'node:fs';
import { isAbsolute, join, relative, sep } from 'node:path';
import { inputFileProblem, type InputFileInfo } from '../core/input.js';
import { InputError, UsageError, type Problem } from '../core/errors.js';
import type { Inventory } from '../core/types.js';
import { isPlainVersionSpec, versionSpecChecker } from '../core/matchspec.js';
import { checkRepo, INVENTORY_FILE, SPECS_DIR } from '../core/repo.js';
import type { Repo, RepoFiles } from '../core/repo.js';
import { existingRoot } from '../state/fsutil.js';

/** Read a repository directory. Throws InputError listing every problem when anything is invalid. */
export async function loadRepo(dir: string): Promise<Repo> {
  const { repo, problems } = await checkRepoDir(dir);
  if (!repo) throw new InputError(problems);
  return repo;
}

/** Like loadRepo but returns problems instead of throwing (validate prints them all). */
export async function checkRepoDir(dir: string): Promise<{ repo?: Repo; problems: Problem[] }> {
  let files: RepoFiles;
  try {
    files = readRepoFiles(dir);
  } catch (e) {
    if (e instanceof InputError) return { problems: e.problems }; // a hostile file: reported like any other
    throw e;
  }
  return checkRepoFiles(dir, files);
}

/**
 * Check a snapshot's files (read from a work tree or a commit: the same bytes give the same repo). Most repos
 * only use plain version specs: check those without loading rattler (150 ms, 25 MB), and ask rattler about the
 * rest afterwards.
 */
export async function checkRepoFiles(dir: string, files: RepoFiles): Promise<{ repo?: Repo; problems: Problem[] }> {
  const rare = new Set<string>();
  const first = checkRepo(dir, files, (v) => {
    if (!isPlainVersionSpec(v)) rare.add(v);
    return undefined;
  });
  if (!rare.size) return first;
  const check = await versionSpecChecker();
  if ([...rare].every((v) => check(v) === undefined)) return first;
  // some version spec is invalid: check again with rattler so each error lands at its line
  return checkRepo(dir, files, check);
}

function kindOf(st: Stats): InputFileInfo['kind'] {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isFIFO()) return 'fifo';
  if (st.isSocket()) return 'socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'device';
  return 'other';
}

function insideTree(treeReal: string, path: string): boolean {
  const rel = relative(treeReal, path);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/**
 * Read `rel` from the repository defensively: lstat first, a symlink only when it resolves inside the
 * repository, a regular file only (never a FIFO, which blocks, or a device, which never ends), its size checked
 * before reading and again on the open descriptor. Absent: no bytes, no problem.
 */
function checkedRead(repoDir: string, rel: string): { bytes?: Uint8Array; problem?: Problem } {
  const path = join(repoDir, rel);
  let lst: Stats;
  try {
    lst = lstatSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return {};
    throw e;
  }
  let st = lst;
  if (lst.isSymbolicLink()) {
    let real: string | undefined;
    try {
      real = realpathSync(path);
    } catch {
      real = undefined; // dangling or looping: not inside anything
    }
    if (!real || !insideTree(realpathSync(repoDir), real))
      return { problem: inputFileProblem(rel, { kind: 'symlink', size: 0, leavesTree: true }) };
    st = statSync(path);
  }
  const before = inputFileProblem(rel, { kind: kindOf(st), size: st.size });
  if (before) return { problem: before };
  const flags = constants.O_RDONLY | constants.O_NONBLOCK | (lst.isSymbolicLink() ? 0 : constants.O_NOFOLLOW);
  const fd = openSync(path, flags);
  try {
    const fst = fstatSync(fd); // what was opened, in case the path changed since lstat
    const again = inputFileProblem(rel, { kind: kindOf(fst), size: fst.size });
    if (again) return { problem: again };
    const buf = Buffer.alloc(fst.size);
    let n = 0;
    while (n < buf.length) {
      const k = readSync(fd, buf, n, buf.length - n, n);
      if (k === 0) break;
      n += k;
    }
    return { bytes: buf.subarray(0, n) };
  } finally {
    closeSync(fd);
  }
}

/** One repository file, read defensively (see checkedRead); InputError naming it when it may not be read. */
export function readRepoFile(repoDir: string, rel: string): Uint8Array | undefined {
  const { bytes, problem } = checkedRead(repoDir, rel);
  if (problem) throw new InputError([problem]);
  return bytes;
}

/**
 * The work-tree reader of a repository snapshot: inventory.ini and every file directly in env-specs/ (specs,
 * test scripts, requirements files), each read defensively (see checkedRead). A commit is read into the same
 * RepoFiles by repo/snapshot.ts `readCommitFiles`: the same bytes give the same desired state. env-specs itself
 * must be a real directory: a committed symlink could point anywhere on the runner.
 */
export function readRepoFiles(dir: string): RepoFiles {
  const problems: Problem[] = [];
  const read = (rel: string) => {
    const r = checkedRead(dir, rel);
    if (r.problem) problems.push(r.problem);
    return r.bytes;
  };
  const inventory = read(INVENTORY_FILE);
  const specsDir = join(dir, SPECS_DIR);
  const specs = new Map<string, Uint8Array>();
  let lst: Stats | undefined;
  try {
    lst = lstatSync(specsDir);
  } catch {
    lst = undefined;
  }
  const dirProblem = (message: string) => problems.push({ file: SPECS_DIR, line: 1, severity: 'error', message });
  if (lst?.isSymbolicLink())
    dirProblem('is a symlink: env-specs must be a directory in the repository (a symlink could lead anywhere)');
  else if (lst && !lst.isDirectory()) dirProblem('is not a directory');
  else if (lst) {
    for (const f of readdirSync(specsDir, { withFileTypes: true })) {
      if (f.isDirectory()) continue; // local pip sources (-e ./pkg) live in subdirectories: read by the build
      const bytes = read(`${SPECS_DIR}/${f.name}`);
      if (bytes) specs.set(f.name, bytes);
    }
  }
  if (problems.length) throw new InputError(problems);
  return { inventory, specs };
}

/** The installation root: --root, then $CONDA_GITOPS_ROOT, then [conda] root; it must exist (UsageError). */
export function resolveRoot(
  ctx: { options: Record<string, unknown>; env: Record<string, string | undefined> },
  inventory?: Inventory,
  opts: { mustExist?: boolean } = {},
): string {
  const flag = ctx.options.root;
  const root = (typeof flag === 'string' && flag) || ctx.env.CONDA_GITOPS_ROOT || inventory?.conda.root;
  if (!root)
    throw new UsageError(
      'no installation root: pass --root DIR, set CONDA_GITOPS_ROOT, or set [conda] root in inventory.ini',
    );
  const abs = root.startsWith('/') ? root : join(process.cwd(), root);
  // a root that does not exist is a usage error everywhere, except where it is only a path (a PR plan on a runner)
  const source =
    typeof flag === 'string' && flag ? '--root' : ctx.env.CONDA_GITOPS_ROOT ? 'CONDA_GITOPS_ROOT' : '[conda] root';
  return opts.mustExist === false ? abs : existingRoot(abs, source);
}
