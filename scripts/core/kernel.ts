/**
 * Jupyter kernelspecs, the pure half: names, the kernel.json of an env, the entries for `[kernels]`.
 * `ROOT/kernels/NAME/kernel.json` (JUPYTER_PATH=ROOT finds them); argv goes through `ROOT/envs/NAME`, the stable
 * path, so a cutover never needs the kernels rewritten. Writing them is state/kernel.ts.
 */
import { join } from 'node:path';
import { layout } from './layout.js';

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
  /** the python to run when the env is not under ROOT/envs (left out of a conda upgrade: the old installation's) */
  python?: string;
}

/**
 * Jupyter treats kernel names case-insensitively and stores them lowercase (letters, digits, `-`, `.`, `_`);
 * env names allow exactly those characters plus upper case, so lowercasing is the whole mapping.
 */
export function kernelName(env: string): string {
  return env.toLowerCase();
}

function isValidKernelName(name: string): boolean {
  return /^[a-z0-9._-]+$/.test(name) && name !== '.' && name !== '..';
}

/** The kernel.json of an env, exactly as written (pure). */
export function kernelSpec(root: string, env: string, displayName: string, python?: string): KernelSpecJson {
  return {
    argv: [
      python ?? join(layout(root).envs, env, 'bin', 'python'),
      '-m',
      'ipykernel_launcher',
      '-f',
      '{connection_file}',
    ],
    display_name: displayName,
    language: 'python',
    metadata: { debugger: true, conda_gitops: { env } },
  };
}

export function renderKernelSpec(spec: KernelSpecJson): string {
  return JSON.stringify(spec, null, 1) + '\n';
}

/** Kernel entries for the `[kernels]` list; two envs differing only by case would share a directory: an error. */
export function planKernels(kernels: Array<{ name: string; displayName: string }>): {
  entries: KernelEntry[];
  problems: string[];
} {
  const entries: KernelEntry[] = [];
  const problems: string[] = [];
  const seen = new Map<string, string>();
  for (const k of kernels) {
    const kernel = kernelName(k.name);
    if (!isValidKernelName(kernel)) {
      problems.push(`kernel '${k.name}': not a valid kernel name`);
      continue;
    }
    const other = seen.get(kernel);
    if (other) {
      problems.push(
        `kernels '${other}' and '${k.name}' both map to kernelspec '${kernel}' (names are case-insensitive)`,
      );
      continue;
    }
    seen.set(kernel, k.name);
    entries.push({ kernel, env: k.name, displayName: k.displayName });
  }
  return { entries, problems };
}

/** Entries a killed write or removal leaves in ROOT/kernels (swept under the lock by cleanTemporaries). */
export const KERNEL_SCRATCH = /^\.[a-z0-9._-]+\.(new|gone)-\d+$/;
