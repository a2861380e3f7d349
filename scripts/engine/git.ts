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
    if (type === 'blob') blobs.push({ path: entry.slice(tab + 1), sha });
  }
  const files = new Map<string, string>();
  if (blobs.length === 0) return files;
  const shas = Buffer.from(blobs.map((b) => b.sha).join('\n') + '\n');
  const batch = await git(repo, ['cat-file', '--batch'], { input: shas });
  if (batch.code !== 0) throw new UsageError(`git cat-file failed: ${batch.stderr.trim()}`);
  let pos = 0;
  const buf = batch.stdout;
  for (const blob of blobs) {
    const nl = buf.indexOf(0x0a, pos);
    const header = buf.subarray(pos, nl).toString('utf8'); // "<sha> blob <size>"
    const size = Number(header.split(' ')[2]);
    files.set(blob.path, buf.subarray(nl + 1, nl + 1 + size).toString('utf8'));
    pos = nl + 1 + size + 1; // content is followed by a newline
  }
  return files;
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
