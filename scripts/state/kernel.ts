/**
 * Kernelspec files under ROOT/kernels: written whole, removed by rename first, only the ones we wrote.
 * What they contain is core/kernel.ts.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from './fsutil.js';
import { layout } from '../core/layout.js';
import { renderKernelSpec, kernelSpec } from '../core/kernel.js';
import type { KernelSpecJson, KernelEntry } from '../core/kernel.js';

/**
 * Kernelspec dirs under ROOT/kernels that conda-gitops wrote (metadata.conda_gitops); hand-made ones are left
 * alone.
 */
export function managedKernels(root: string): string[] {
  const dir = layout(root).kernels;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => {
      try {
        const spec = JSON.parse(readFileSync(join(dir, n, 'kernel.json'), 'utf8')) as Partial<KernelSpecJson>;
        return !!spec.metadata?.conda_gitops;
      } catch {
        return false;
      }
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
export function syncKernels(
  root: string,
  entries: KernelEntry[],
  opts: { dryRun?: boolean; afterWrite?: () => void } = {},
): KernelSync {
  const dir = layout(root).kernels;
  const result: KernelSync = { written: [], unchanged: [], removed: [] };
  for (const e of entries) {
    const path = join(dir, e.kernel, 'kernel.json');
    const text = renderKernelSpec(kernelSpec(root, e.env, e.displayName));
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
  for (const name of managedKernels(root)) {
    if (wanted.has(name)) continue;
    if (!opts.dryRun) removeKernel(dir, name);
    result.removed.push(name);
  }
  return result;
}
