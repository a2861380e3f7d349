/**
 * Git executor: read a commit's files without touching the work tree or the index.
 * Argument arrays only, run through the process layer (./process.ts).
 */
import { mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { dirname, join, normalize, isAbsolute, relative, sep } from 'node:path';
import { UsageError } from '../core/errors.js';
import { childEnv, envNameList } from '../core/childenv.js';
import { runProgram } from './process.js';

interface GitResult {
  stdout: Buffer;
  stderr: string;
  code: number;
}
interface GitOptions {
  input?: Buffer;
  timeoutSeconds?: number;
}

/** One git call in `repo` (stdin: `input`, or closed); rejects only when git cannot be started. */
async function git(repo: string, args: string[], opts: GitOptions = {}): Promise<GitResult> {
  // the allow-listed environment: git never sees the runner's tokens (nor would a hook or helper it runs)
  const env = childEnv(process.env, { pass: envNameList(process.env.CONDA_GITOPS_PASS_ENV) });
  const r = await runProgram(['git', '-C', repo, ...args], { env, ...opts });
  if (r.startError) throw r.startError;
  return { stdout: r.stdout, stderr: r.stderr.toString('utf8'), code: r.code ?? 1 };
}

/** The trimmed output of a git call, or undefined when it failed, printed nothing or git is missing. */
export async function gitLine(dir: string, args: string[], opts: GitOptions = {}): Promise<string | undefined> {
  try {
    const r = await git(dir, args, opts);
    return r.code === 0 ? r.stdout.toString('utf8').trim() || undefined : undefined;
  } catch {
    return undefined;
  }
}

/** A ref given on the command line; refuse option-looking refs so they can never become git flags. */
function checkRef(ref: string): void {
  if (!ref || ref.startsWith('-') || /[\0\n]/.test(ref)) throw new UsageError(`invalid git ref '${ref}'`);
}

/** The commit a ref names (full sha). UsageError when the ref does not exist in the repository. */
export async function resolveCommit(repo: string, ref: string): Promise<string> {
  checkRef(ref);
  const r = await git(repo, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`]);
  if (r.code !== 0) throw new UsageError(`git ref '${ref}' not found in ${repo}`);
  return r.stdout.toString('utf8').trim();
}

/** The text of `path` at `ref` (`git show REF:path`), or undefined when the file does not exist there. */
export async function showFile(repo: string, ref: string, path: string): Promise<string | undefined> {
  checkRef(ref);
  const r = await git(repo, ['show', `${ref}:${path}`]);
  if (r.code !== 0) return undefined;
  return r.stdout.toString('utf8');
}

/** Paths (relative to the repository top) that differ between two commits. */
export async function changedFiles(repo: string, base: string, head: string): Promise<string[]> {
  checkRef(base);
  checkRef(head);
  const r = await git(repo, ['diff', '--name-only', '-z', '--no-renames', base, head, '--']);
  if (r.code !== 0) throw new UsageError(`git diff ${base} ${head} failed: ${r.stderr.trim()}`);
  return r.stdout.toString('utf8').split('\0').filter(Boolean);
}

/** One entry of `git ls-tree -l`: a file (blob), a symlink (blob, mode 120000), a directory or a submodule. */
export interface TreeEntry {
  mode: string;
  type: string;
  sha: string;
  /** bytes, for blobs */
  size?: number;
  /** relative to the top of the work tree */
  path: string;
}

/** The entries named by `paths` (a directory with a trailing `/` lists its children) at `ref`: one ls-tree. */
export async function treeEntries(repo: string, ref: string, paths: string[]): Promise<TreeEntry[]> {
  checkRef(ref);
  const ls = await git(repo, ['ls-tree', '-z', '-l', '--full-tree', ref, '--', ...paths]);
  if (ls.code !== 0) throw new UsageError(`git ls-tree ${ref} failed: ${ls.stderr.trim()}`);
  const out: TreeEntry[] = [];
  for (const entry of ls.stdout.toString('utf8').split('\0').filter(Boolean)) {
    // "<mode> <type> <sha> <size or ->\t<path>"
    const tab = entry.indexOf('\t');
    const [mode, type, sha, size] = entry.slice(0, tab).trim().split(/ +/);
    out.push({
      mode: mode!,
      type: type!,
      sha: sha!,
      ...(size && /^\d+$/.test(size) ? { size: Number(size) } : {}),
      path: entry.slice(tab + 1),
    });
  }
  return out;
}

/** Every file under `dirs` (and the named files) at `ref`, read with one `git cat-file --batch`: path -> text. */
export async function readFilesAt(repo: string, ref: string, paths: string[]): Promise<Map<string, string>> {
  checkRef(ref);
  const ls = await git(repo, ['ls-tree', '-r', '-z', '--full-tree', ref, '--', ...paths]);
  if (ls.code !== 0) throw new UsageError(`git ls-tree ${ref} failed: ${ls.stderr.trim()}`);
  const blobs: Array<{ path: string; sha: string }> = [];
  for (const entry of ls.stdout.toString('utf8').split('\0').filter(Boolean)) {
    // "<mode> blob <sha>\t<path>"
    const tab = entry.indexOf('\t');
    const [, type, sha] = entry.slice(0, tab).split(' ');
    if (type === 'blob') blobs.push({ path: entry.slice(tab + 1), sha: sha! });
  }
  const objects = await catFiles(
    repo,
    blobs.map((b) => b.sha),
  );
  const files = new Map<string, string>();
  for (const blob of blobs) {
    const bytes = objects.get(blob.sha);
    if (bytes) files.set(blob.path, bytes.toString('utf8'));
  }
  return files;
}

/**
 * Objects read with one `git cat-file --batch`: each name (a blob sha, or `COMMIT:path`) -> its bytes, or
 * undefined when it does not exist. Names never reach a shell; a name with a newline is refused.
 */
export async function catFiles(repo: string, names: string[]): Promise<Map<string, Buffer | undefined>> {
  const out = new Map<string, Buffer | undefined>();
  if (names.length === 0) return out;
  for (const n of names) if (/[\n\0]/.test(n)) throw new UsageError(`invalid git object name '${n}'`);
  const batch = await git(repo, ['cat-file', '--batch'], { input: Buffer.from(names.join('\n') + '\n') });
  if (batch.code !== 0) throw new UsageError(`git cat-file failed: ${batch.stderr.trim()}`);
  const buf = batch.stdout;
  let pos = 0;
  for (const name of names) {
    const nl = buf.indexOf(0x0a, pos);
    if (nl < 0) break;
    const header = buf.subarray(pos, nl).toString('utf8'); // "<sha> <type> <size>" or "<name> missing"
    const parts = header.split(' ');
    if (parts.length !== 3 || parts[2] === undefined || !/^\d+$/.test(parts[2])) {
      out.set(name, undefined);
      pos = nl + 1;
      continue;
    }
    const size = Number(parts[2]);
    out.set(name, parts[1] === 'blob' ? buf.subarray(nl + 1, nl + 1 + size) : undefined);
    pos = nl + 1 + size + 1; // content is followed by a newline
  }
  return out;
}

export interface DiffEntry {
  /** path relative to `repo` (which may be a subdirectory of the work tree) */
  path: string;
  /** blob at base / head; undefined when the file does not exist on that side */
  baseSha?: string;
  headSha?: string;
  /** git file modes on each side (`100644`, `100755`, `120000` for a symlink, `160000` for a submodule) */
  baseMode?: string;
  headMode?: string;
}

const NULL_SHA = /^0+$/;

/**
 * The files under `paths` that differ between two commits, with their blob ids on both sides: one
 * `git diff --raw` (no renames: a renamed spec is one env dropped and one added). Paths relative to `repo`.
 */
export async function diffRaw(repo: string, base: string, head: string, paths: string[]): Promise<DiffEntry[]> {
  checkRef(base);
  checkRef(head);
  const r = await git(repo, [
    'diff',
    '--raw',
    '-z',
    '--no-renames',
    '--no-abbrev',
    '--relative',
    base,
    head,
    '--',
    ...paths,
  ]);
  if (r.code !== 0) throw new UsageError(`git diff ${base} ${head} failed: ${r.stderr.trim()}`);
  // ":<mode> <mode> <sha> <sha> <status>\0<path>\0" per file
  const fields = r.stdout.toString('utf8').split('\0');
  const out: DiffEntry[] = [];
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const meta = fields[i]!.split(' ');
    const path = fields[i + 1]!;
    if (meta.length < 5 || !path) continue;
    const [baseMode, headMode, baseSha, headSha] = [meta[0]!.replace(/^:/, ''), meta[1]!, meta[2]!, meta[3]!];
    out.push({
      path,
      ...(NULL_SHA.test(baseSha) ? {} : { baseSha, baseMode }),
      ...(NULL_SHA.test(headSha) ? {} : { headSha, headMode }),
    });
  }
  return out;
}

/** The names of the files directly in `dir` (relative to `repo`) at `ref`: one `git ls-tree`. */
export async function listDirAt(repo: string, ref: string, dir: string): Promise<string[]> {
  checkRef(ref);
  const r = await git(repo, ['ls-tree', '-z', '--name-only', ref, '--', `${dir}/`]);
  if (r.code !== 0) throw new UsageError(`git ls-tree ${ref} failed: ${r.stderr.trim()}`);
  return r.stdout
    .toString('utf8')
    .split('\0')
    .filter(Boolean)
    .map((p) => p.slice(p.lastIndexOf('/') + 1));
}

/** The path of `repo` inside its work tree (`sub/dir/`, or '' at the top): what `COMMIT:path` names need. */
export async function repoPrefix(repo: string): Promise<string> {
  const r = await git(repo, ['rev-parse', '--show-prefix']);
  if (r.code !== 0) throw new UsageError(`${repo} is not inside a git repository (needed for --base/--head)`);
  return r.stdout.toString('utf8').trim();
}

/**
 * Write the repository files a plan needs (inventory.ini, env-specs/) as of `ref` into `dest`,
 * so the normal loaders read a commit exactly like a checkout. The work tree and index are untouched.
 * `repo` may be a subdirectory of the git work tree (the template copied into a monorepo).
 */
export async function exportRepoFiles(
  repo: string,
  ref: string,
  dest: string,
  paths = ['inventory.ini', 'env-specs'],
): Promise<string[]> {
  const top = await topLevel(repo);
  if (!top) throw new UsageError(`${repo} is not inside a git repository (needed for --base/--head)`);
  const sub = relative(realpathSync(top), realpathSync(repo)).split(sep).filter(Boolean).join('/');
  const prefix = sub ? `${sub}/` : '';
  const files = await readFilesAt(
    repo,
    ref,
    paths.map((p) => prefix + p),
  );
  const written: string[] = [];
  for (const [path, text] of files) {
    const rel = normalize(path.slice(prefix.length));
    if (isAbsolute(rel) || rel.startsWith('..')) continue; // git never stores these; be strict anyway
    mkdirSync(dirname(join(dest, rel)), { recursive: true });
    writeFileSync(join(dest, rel), text);
    written.push(rel);
  }
  return written;
}

/** The top of the work tree that contains `dir`, or undefined when `dir` is not inside a git repository. */
export function topLevel(dir: string): Promise<string | undefined> {
  return gitLine(dir, ['rev-parse', '--show-toplevel']);
}

/** `git rev-parse HEAD` of the repository, or undefined outside git (deploying a plain directory is allowed). */
export function headCommit(repoDir: string): Promise<string | undefined> {
  return gitLine(repoDir, ['rev-parse', '--verify', '--quiet', 'HEAD']);
}

/**
 * Does `head` descend from `ancestor` (`git merge-base --is-ancestor`)? `unknown`: git cannot tell, e.g. the
 * ancestor commit is not in this clone (a shallow checkout) or `repoDir` is not a git repository.
 */
export async function isAncestor(repoDir: string, ancestor: string, head: string): Promise<'yes' | 'no' | 'unknown'> {
  checkRef(ancestor);
  checkRef(head);
  try {
    const r = await git(repoDir, ['merge-base', '--is-ancestor', '--end-of-options', ancestor, head]);
    return r.code === 0 ? 'yes' : r.code === 1 ? 'no' : 'unknown';
  } catch {
    return 'unknown';
  }
}
