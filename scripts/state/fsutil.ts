/** Small filesystem executors shared by every module that writes state. */
import {
  chmodSync,
  closeSync,
  fsyncSync,
  openSync,
  renameSync,
  writeFileSync,
  mkdirSync,
  statSync,
  rmSync,
} from 'node:fs';
import { UsageError } from '../core/errors.js';
import { dirname, basename, join } from 'node:path';

/**
 * Fault injection for the tests of environmental errors: `CONDA_GITOPS_FAULT=<step>:<CODE>` (e.g.
 * `mark-write:ENOSPC`) makes that write fail as the OS would, after writing part of it: a full disk without one.
 */
export function faultPoint(step: string, path: string, partial?: () => void): void {
  const spec = process.env.CONDA_GITOPS_FAULT;
  if (!spec || !spec.startsWith(`${step}:`)) return;
  const code = spec.slice(step.length + 1);
  partial?.();
  throw Object.assign(new Error(`${code}: simulated failure, write '${path}'`), { code, path, syscall: 'write' });
}

/**
 * Write a file so readers see the old or the new content, never a torn one: temp file, fsync, rename. `mode`
 * (e.g. 0o755 for a launcher) is set on the temporary file, so the file appears with it.
 */
export function writeFileAtomic(path: string, data: string, opts: { mode?: number } = {}): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    rmSync(tmp, { force: true }); // a leftover, or a symlink planted under that name: never written through
    faultPoint('atomic-write', tmp, () => writeFileSync(tmp, data.slice(0, data.length >> 1)));
    writeFileSync(tmp, data);
    if (opts.mode !== undefined) chmodSync(tmp, opts.mode);
    const fd = openSync(tmp, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true }); // a full disk leaves the old file and no temporary behind
    throw e;
  }
}

export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n');
}

/**
 * The installation root, checked: it must exist and be a directory. A mistyped --root is a usage error (exit 2)
 * and nothing is created for it (deploy, rollback, gc, kernels would otherwise make ROOT/.gitops and parents).
 */
export function existingRoot(root: string, source = '--root / CONDA_GITOPS_ROOT / [conda] root'): string {
  let st;
  try {
    st = statSync(root);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new UsageError(`installation root ${root} does not exist (check ${source}); nothing was created`);
    }
    if (code === 'ENOTDIR')
      throw new UsageError(`installation root ${root}: a path on the way is a file, not a directory`);
    throw e;
  }
  if (!st.isDirectory()) throw new UsageError(`installation root ${root} is not a directory (check ${source})`);
  return root;
}
