/**
 * Kernelspec files under ROOT/kernels: written whole, removed by rename first, only the ones we wrote.
 * What they contain is core/kernel.ts.
 */
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join, relative } from 'node:path';
import { UnsafePathError } from '../core/errors.js';
import { writeFileAtomic } from './fsutil.js';
import { readChecked } from './checked.js';
import { layout } from '../core/layout.js';
import { KERNEL_SCRATCH, renderKernelSpec, kernelSpec } from '../core/kernel.js';
import type { KernelSpecJson, KernelEntry } from '../core/kernel.js';

/**
 * Kernelspec dirs under ROOT/kernels that conda-gitops wrote (metadata.conda_gitops); hand-made ones are left
 * alone. A kernel.json that is not a kernelspec (cut short, garbage) cannot be told from ours: CorruptStateError.
 */
export function managedKernels(root: string): string[] {
  const dir = layout(root).kernels;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const kind = (p: string) => {
    try {
      const st = lstatSync(p);
      return st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other';
    } catch {
      return 'absent';
    }
  };
  return names
    .filter((n) => {
      // a killed write's scratch directory (KERNEL_SCRATCH) is swept under the lock, never read
      if (KERNEL_SCRATCH.test(n)) return false;
      const file = join(dir, n, 'kernel.json');
      if (kind(join(dir, n)) !== 'dir' || kind(file) !== 'file') return false;
      const spec = readChecked<Partial<KernelSpecJson>>(
        file,
        'kernelspec',
        `fix it or delete ${join(dir, n)} (a kernel conda-gitops manages is written again by ` +
          '`conda-gitops kernels` or the next deploy)',
      );
      return !!spec?.metadata?.conda_gitops;
    })
    .sort();
}

/**
 * A new kernelspec directory appears whole (built under a dot name, then renamed), so Jupyter and a later
 * removal never meet an empty `kernels/NAME/`; an existing one gets its kernel.json replaced atomically.
 */
function writeKernel(dir: string, kernel: string, text: string): void {
  const final = join(dir, kernel);
  if (existsSync(final)) {
    writeFileAtomic(join(final, 'kernel.json'), text);
    return;
  }
  const tmp = join(dir, `.${kernel}.new-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  writeFileSync(join(tmp, 'kernel.json'), text);
  renameSync(tmp, final);
}

/** Rename away first: a kill mid-removal never leaves a kernelspec without its kernel.json. */
function removeKernel(dir: string, kernel: string): void {
  const away = join(dir, `.${kernel}.gone-${process.pid}`);
  renameSync(join(dir, kernel), away);
  rmSync(away, { recursive: true, force: true });
}

export interface KernelSync {
  written: string[];
  unchanged: string[];
  removed: string[];
}

/**
 * Write every wanted kernelspec (atomically, only when its content differs) and delete managed ones no longer
 * wanted.
 */
/**
 * Refuse to read or write a kernelspec path that is a symlink (it could lead out of ROOT: a planted
 * `kernels/NAME -> /elsewhere` would have kernel.json written there) or not what it must be.
 */
function refuseUnsafe(root: string, path: string, want: 'dir' | 'file'): void {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return; // absent: will be created
  }
  const shown = relative(root, path);
  if (st.isSymbolicLink())
    throw new UnsafePathError(
      `${shown} is a symlink: refused (kernelspecs are never written through a symlink; remove it). Nothing written.`,
    );
  if (want === 'dir' ? !st.isDirectory() : !st.isFile())
    throw new UnsafePathError(`${shown} is not a ${want === 'dir' ? 'directory' : 'regular file'}: refused`);
}

/** Throws UnsafePathError when a kernelspec path to be written is a symlink (deploy checks before its cutover). */
export function checkKernelPaths(root: string, entries: KernelEntry[]): void {
  const dir = layout(root).kernels;
  refuseUnsafe(root, dir, 'dir');
  for (const e of entries) {
    refuseUnsafe(root, join(dir, e.kernel), 'dir');
    refuseUnsafe(root, join(dir, e.kernel, 'kernel.json'), 'file');
  }
}

export function syncKernels(
  root: string,
  entries: KernelEntry[],
  opts: { dryRun?: boolean; afterWrite?: () => void } = {},
): KernelSync {
  const dir = layout(root).kernels;
  const result: KernelSync = { written: [], unchanged: [], removed: [] };
  checkKernelPaths(root, entries);
  // every kernelspec read (and checked) before anything is written: a corrupt one stops the sync untouched
  const managed = managedKernels(root);
  for (const e of entries) {
    const path = join(dir, e.kernel, 'kernel.json');
    const text = renderKernelSpec(kernelSpec(root, e.env, e.displayName, e.python));
    let old: string | undefined;
    try {
      old = readFileSync(path, 'utf8');
    } catch {
      old = undefined;
    }
    if (old === text) {
      result.unchanged.push(e.kernel);
      continue;
    }
    if (!opts.dryRun) writeKernel(dir, e.kernel, text);
    result.written.push(e.kernel);
    opts.afterWrite?.();
  }
  const wanted = new Set(entries.map((e) => e.kernel));
  for (const name of managed) {
    if (wanted.has(name)) continue;
    if (!opts.dryRun) removeKernel(dir, name);
    result.removed.push(name);
  }
  return result;
}
