/**
 * Jupyter kernelspecs for `[kernels]` entries: `ROOT/kernels/NAME/kernel.json` (JUPYTER_PATH=ROOT finds them).
 * argv goes through `ROOT/envs/NAME`, the stable path, so a cutover never needs the kernels rewritten.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from './fsutil.js';
import { layout } from '../core/layout.js';

export interface KernelSpecJson {
  argv: string[];
  display_name: string;
  language: 'python';
  metadata: { debugger: true; conda_gitops: { env: string } };
}

export interface KernelEntry {
  /** kernelspec directory name (lowercase) */
  kernel: string;
  env: string;
  displayName: string;
}

/**
 * Jupyter treats kernel names case-insensitively and stores them lowercase (letters, digits, `-`, `.`, `_`);
 * env names allow exactly those characters plus upper case, so lowercasing is the whole mapping.
 */
export function kernelName(env: string): string {
  return env.toLowerCase();
}

export function isValidKernelName(name: string): boolean {
  return /^[a-z0-9._-]+$/.test(name) && name !== '.' && name !== '..';
}

/** The kernel.json of an env, exactly as written (pure). */
export function kernelSpec(root: string, env: string, displayName: string): KernelSpecJson {
  return {
    argv: [join(layout(root).envs, env, 'bin', 'python'), '-m', 'ipykernel_launcher', '-f', '{connection_file}'],
    display_name: displayName,
    language: 'python',
    metadata: { debugger: true, conda_gitops: { env } },
  };
}

export function renderKernelSpec(spec: KernelSpecJson): string {
  return JSON.stringify(spec, null, 1) + '\n';
}

/** Kernel entries for the `[kernels]` list; two envs differing only by case would share a directory: an error. */
export function planKernels(kernels: Array<{ name: string; displayName: string }>): { entries: KernelEntry[]; problems: string[] } {
  const entries: KernelEntry[] = [];
  const problems: string[] = [];
  const seen = new Map<string, string>();
  for (const k of kernels) {
    const kernel = kernelName(k.name);
    if (!isValidKernelName(kernel)) { problems.push(`kernel '${k.name}': not a valid kernel name`); continue; }
    const other = seen.get(kernel);
    if (other) { problems.push(`kernels '${other}' and '${k.name}' both map to kernelspec '${kernel}' (names are case-insensitive)`); continue; }
    seen.set(kernel, k.name);
    entries.push({ kernel, env: k.name, displayName: k.displayName });
  }
  return { entries, problems };
}

/** Kernelspec dirs under ROOT/kernels that conda-gitops wrote (metadata.conda_gitops); hand-made ones are left alone. */
export function managedKernels(root: string): string[] {
  const dir = layout(root).kernels;
  let names: string[];
  try { names = readdirSync(dir); } catch { return []; }
  return names.filter((n) => {
    try {
      const spec = JSON.parse(readFileSync(join(dir, n, 'kernel.json'), 'utf8')) as Partial<KernelSpecJson>;
      return !!spec.metadata?.conda_gitops;
    } catch {
      return false;
    }
  }).sort();
}

/** Entries a killed write or removal leaves in ROOT/kernels (swept under the lock by cleanTemporaries). */
export const KERNEL_SCRATCH = /^\.[a-z0-9._-]+\.(new|gone)-\d+$/;

/**
 * A new kernelspec directory appears whole (built under a dot name, then renamed), so Jupyter and a later
 * removal never meet an empty `kernels/NAME/`; an existing one gets its kernel.json replaced atomically.
 */
function writeKernel(dir: string, kernel: string, text: string): void {
  const final = join(dir, kernel);
  if (existsSync(final)) { writeFileAtomic(join(final, 'kernel.json'), text); return; }
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

/** Write every wanted kernelspec (atomically, only when its content differs) and delete managed ones no longer wanted. */
export function syncKernels(root: string, entries: KernelEntry[], opts: { dryRun?: boolean; afterWrite?: () => void } = {}): KernelSync {
  const dir = layout(root).kernels;
  const result: KernelSync = { written: [], unchanged: [], removed: [] };
  for (const e of entries) {
    const path = join(dir, e.kernel, 'kernel.json');
    const text = renderKernelSpec(kernelSpec(root, e.env, e.displayName));
    let old: string | undefined;
    try { old = readFileSync(path, 'utf8'); } catch { old = undefined; }
    if (old === text) { result.unchanged.push(e.kernel); continue; }
    if (!opts.dryRun) writeKernel(dir, e.kernel, text);
    result.written.push(e.kernel);
    opts.afterWrite?.();
  }
  const wanted = new Set(entries.map((e) => e.kernel));
  for (const name of managedKernels(root)) {
    if (wanted.has(name)) continue;
    if (!opts.dryRun) removeKernel(dir, name);
    result.removed.push(name);
  }
  return result;
}
