/**
 * Kernelspec files under ROOT/kernels: written whole, removed by rename first, only the ones we wrote.
 * What they contain is core/kernel.ts.
 */
import {
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join, relative } from 'node:path';
import { InputError, UnsafePathError } from '../core/errors.js';
import { writeFileAtomic } from './fsutil.js';
import { readChecked } from './checked.js';
import { layout } from '../core/layout.js';
import {
  attachShipped,
  KERNEL_SCRATCH,
  kernelPrefix,
  LAUNCHER_SCRIPT,
  launcherPath,
  renderKernelSpec,
  kernelSpec,
} from '../core/kernel.js';
import type { KernelSpecJson, KernelEntry, ShippedKernelSpec } from '../core/kernel.js';

/**
 * The kernelspecs an env ships: PREFIX/share/jupyter/kernels/NAME/kernel.json (r-irkernel's `ir`, ipykernel's
 * `python3`...). Read from a build a pull request made: a kernel.json or logo that is a symlink, or not a
 * kernelspec, is skipped (never followed, never copied).
 */
export function shippedKernelSpecs(prefix: string): Record<string, ShippedKernelSpec> {
  const dir = join(prefix, 'share', 'jupyter', 'kernels');
  let builtPrefix: string;
  let names: string[];
  try {
    builtPrefix = realpathSync(prefix);
    names = readdirSync(dir).sort();
  } catch {
    return {};
  }
  const found: Record<string, ShippedKernelSpec> = {};
  for (const name of names) {
    const file = join(dir, name, 'kernel.json');
    let spec: Partial<KernelSpecJson> & { metadata?: Record<string, unknown> };
    try {
      if (!lstatSync(join(dir, name)).isDirectory() || !lstatSync(file).isFile()) continue;
      spec = JSON.parse(readFileSync(file, 'utf8'));
    } catch {
      continue;
    }
    if (!Array.isArray(spec.argv) || !spec.argv.length || !spec.argv.every((a) => typeof a === 'string')) continue;
    const logos = readdirSync(join(dir, name))
      .filter((f) => /^logo-[A-Za-z0-9._-]+$/.test(f) && lstatSync(join(dir, name, f)).isFile())
      .sort();
    found[name] = {
      name,
      argv: spec.argv,
      display_name: typeof spec.display_name === 'string' ? spec.display_name : name,
      ...(typeof spec.language === 'string' ? { language: spec.language } : {}),
      ...(spec.env && typeof spec.env === 'object' ? { env: spec.env } : {}),
      ...(typeof spec.interrupt_mode === 'string' ? { interrupt_mode: spec.interrupt_mode } : {}),
      ...(spec.metadata && typeof spec.metadata === 'object' ? { metadata: spec.metadata } : {}),
      builtPrefix,
      logos,
    };
  }
  return found;
}

/**
 * Attach to every `ENV:SPEC` entry the kernelspec its env ships, read from the prefix the kernel runs from.
 * A SPEC the env does not ship is bad input (InputError, exit 2: inventory.ini:LINE and the nearest name); an env
 * not there at all is left as it is (the callers report it as not live).
 */
export function withShippedSpecs(
  root: string,
  entries: KernelEntry[],
  prefixOf: (e: KernelEntry) => string = (e) => kernelPrefix(root, e),
  file = 'inventory.ini',
): KernelEntry[] {
  const problems: Array<{ file: string; line: number; message: string; severity: 'error' }> = [];
  const out = entries.map((e) => {
    if (!e.spec) return e;
    const prefix = prefixOf(e);
    if (!existsSync(prefix)) return e;
    const r = attachShipped(e, shippedKernelSpecs(prefix));
    if ('entry' in r) return r.entry;
    problems.push({ file, line: e.line ?? 1, message: r.problem, severity: 'error' });
    return e;
  });
  if (problems.length) throw new InputError(problems);
  return out;
}

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
function writeKernel(dir: string, kernel: string, text: string, logos: string[]): void {
  const final = join(dir, kernel);
  if (existsSync(final)) {
    copyLogos(final, logos);
    writeFileAtomic(join(final, 'kernel.json'), text);
    return;
  }
  const tmp = join(dir, `.${kernel}.new-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  copyLogos(tmp, logos);
  writeFileSync(join(tmp, 'kernel.json'), text);
  renameSync(tmp, final);
}

/** Copy a shipped kernelspec's logo-* files (regular files only, checked when read) next to its kernel.json. */
function copyLogos(dir: string, logos: string[]): void {
  for (const from of logos) {
    const to = join(dir, from.slice(from.lastIndexOf('/') + 1));
    if (!lstatSync(from).isFile()) continue;
    rmSync(to, { force: true }); // never write through a planted symlink
    copyFileSync(from, to);
  }
}

/** The launcher every kernel starts through (core/kernel.ts): written whole when it is missing or differs. */
function writeLauncher(root: string, dryRun: boolean): boolean {
  const path = launcherPath(root);
  let old: string | undefined;
  try {
    old = lstatSync(path).isFile() ? readFileSync(path, 'utf8') : undefined;
  } catch {
    old = undefined;
  }
  if (old === LAUNCHER_SCRIPT) return false;
  if (!dryRun) {
    mkdirSync(layout(root).kernels, { recursive: true });
    // the rename replaces whatever is there (a planted symlink included) without following it
    writeFileAtomic(path, LAUNCHER_SCRIPT, { mode: 0o755 });
  }
  return true;
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
  if (entries.length) writeLauncher(root, opts.dryRun === true);
  for (const e of entries) {
    const path = join(dir, e.kernel, 'kernel.json');
    const text = renderKernelSpec(kernelSpec(root, e));
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
    const shipped = e.shipped;
    const logos = shipped
      ? shipped.logos.map((l) => join(kernelPrefix(root, e), 'share', 'jupyter', 'kernels', shipped.name, l))
      : [];
    if (!opts.dryRun) writeKernel(dir, e.kernel, text, logos);
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
