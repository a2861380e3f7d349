/**
 * Jupyter kernelspecs, the pure half: names, the kernel.json of an env, the entries for `[kernels]`, and the
 * launcher every kernel starts through. `ROOT/kernels/NAME/kernel.json` (JUPYTER_PATH=ROOT finds them); argv is
 * `LAUNCHER PREFIX ENV KERNEL-ARGV...` with PREFIX the stable `ROOT/envs/NAME`, so a cutover never needs the
 * kernels rewritten. The launcher activates the env as `conda activate` would, then execs the kernel's own argv.
 * Writing them is state/kernel.ts; reading an env's shipped kernelspecs is state/kernel.ts too.
 */
import { join } from 'node:path';
import { layout } from './layout.js';
import { didYouMean } from './suggest.js';

export interface KernelSpecJson {
  argv: string[];
  display_name: string;
  language: string;
  env?: Record<string, string>;
  interrupt_mode?: string;
  metadata: { debugger?: boolean; conda_gitops: { env: string; kernelspec?: string }; [key: string]: unknown };
}

/** A kernelspec an env ships (PREFIX/share/jupyter/kernels/NAME/kernel.json), as read from its build. */
export interface ShippedKernelSpec {
  /** its directory name in the env */
  name: string;
  argv: string[];
  display_name: string;
  language?: string;
  env?: Record<string, string>;
  interrupt_mode?: string;
  metadata?: Record<string, unknown>;
  /** the prefix the build's files were written for (the build's own directory, as conda relocated it) */
  builtPrefix: string;
  /** `logo-*` files in its directory (file names) */
  logos: string[];
}

export interface KernelEntry {
  /** kernelspec directory name (lowercase) */
  kernel: string;
  env: string;
  displayName: string;
  /** a kernelspec the env ships, published as this kernel (`[kernels]` `ENV:SPEC = Name`); absent: ipykernel */
  spec?: string;
  /** inventory line of the entry (for problems) */
  line?: number;
  /**
   * the env's prefix the kernel runs from when it is not ROOT/envs/ENV (left out of a conda upgrade: the
   * installation still serving it, ROOT/vX/envs/ENV)
   */
  prefix?: string;
  /** the shipped kernelspec `spec` names, read from the env's build */
  shipped?: ShippedKernelSpec;
}

/** The launcher every kernel conda-gitops writes starts through: `ROOT/kernels/.conda-gitops-launch`. */
export const LAUNCHER_NAME = '.conda-gitops-launch';

export function launcherPath(root: string): string {
  return join(layout(root).kernels, LAUNCHER_NAME);
}

/**
 * The launcher, a POSIX sh script (no conda, no node, no python needed): `LAUNCHER PREFIX ENV ARGV...`.
 * It activates PREFIX as `conda activate` does (CONDA_PREFIX, CONDA_DEFAULT_ENV, PATH led by PREFIX/bin, the
 * `variables:` conda stores in conda-meta/state, then every etc/conda/activate.d/*.sh in order, which includes the
 * scripts conda-gitops writes for `variables:` on conda < 4.9) and execs ARGV. Env names and paths are arguments,
 * never text of the script; the state file's values are shell-quoted by awk before they are evaluated.
 */
export const LAUNCHER_SCRIPT = String.raw`#!/bin/sh
# Written by conda-gitops: starts a Jupyter kernel in its conda env, activated as "conda activate" would,
# then runs the kernel. Usage: .conda-gitops-launch PREFIX ENV-NAME KERNEL-ARGV...  (see docs/deploy.md, kernels)
if [ "$#" -lt 3 ]; then
  echo "conda-gitops kernel launcher: usage: $0 PREFIX ENV-NAME KERNEL-ARGV..." >&2
  exit 2
fi
if [ ! -d "$1/conda-meta" ]; then
  echo "conda-gitops kernel launcher: $1 is not a conda env (no conda-meta): was it removed?" >&2
  exit 1
fi
CONDA_PREFIX=$1
CONDA_DEFAULT_ENV=$2
shift 2
CONDA_SHLVL=1
CONDA_PROMPT_MODIFIER="($CONDA_DEFAULT_ENV) "
PATH="$CONDA_PREFIX/bin:$PATH"
export CONDA_PREFIX CONDA_DEFAULT_ENV CONDA_SHLVL CONDA_PROMPT_MODIFIER PATH
# the env's variables as conda (4.9 and later) stores them: {"env_vars": {"NAME": "value", ...}}
if [ -f "$CONDA_PREFIX/conda-meta/state" ]; then
  conda_gitops_vars=$(LC_ALL=C awk '
    function ws() { while (p <= n && index(" \t\r\n", substr(s, p, 1)) > 0) p++ }
    function utf8(cp) {
      if (cp < 128) return sprintf("%c", cp)
      if (cp < 2048) return sprintf("%c%c", 192 + int(cp / 64), 128 + cp % 64)
      return sprintf("%c%c%c", 224 + int(cp / 4096), 128 + int(cp / 64) % 64, 128 + cp % 64)
    }
    function hex(h,   i, v) {
      v = 0
      for (i = 1; i <= 4; i++) v = v * 16 + index("0123456789abcdef", tolower(substr(h, i, 1))) - 1
      return v
    }
    function q(v,   o, i, c) {
      o = ""
      for (i = 1; i <= length(v); i++) { c = substr(v, i, 1); if (c == "\047") o = o "\047\\\047\047"; else o = o c }
      return o
    }
    function str(   o, c, e) {
      o = ""; p++
      while (p <= n) {
        c = substr(s, p, 1)
        if (c == "\"") { p++; return o }
        if (c == "\\") {
          p++; e = substr(s, p, 1)
          if (e == "n") o = o "\n"; else if (e == "t") o = o "\t"; else if (e == "r") o = o "\r"
          else if (e == "b") o = o "\b"; else if (e == "f") o = o "\f"
          else if (e == "u") { o = o utf8(hex(substr(s, p + 1, 4))); p += 4 }
          else o = o e
          p++; continue
        }
        o = o c; p++
      }
      bad = 1; return o
    }
    { s = s $0 "\n" }
    END {
      n = length(s); p = index(s, "\"env_vars\""); if (!p) exit
      p += 10; ws(); if (substr(s, p, 1) != ":") exit
      p++; ws(); if (substr(s, p, 1) != "{") exit
      p++
      while (p <= n) {
        ws(); c = substr(s, p, 1)
        if (c == "}") break
        if (c == ",") { p++; continue }
        if (c != "\"") exit
        k = str(); ws(); if (substr(s, p, 1) != ":") exit
        p++; ws(); if (substr(s, p, 1) != "\"") exit
        v = str(); if (bad) exit
        if (k !~ /^[A-Za-z_][A-Za-z0-9_]*$/) continue
        printf "export %s=\047%s\047\n", k, q(v)
      }
    }' "$CONDA_PREFIX/conda-meta/state")
  eval "$conda_gitops_vars"
  unset conda_gitops_vars
fi
# every activate.d script, in order, as conda activate sources them
for conda_gitops_script in "$CONDA_PREFIX"/etc/conda/activate.d/*.sh; do
  if [ -f "$conda_gitops_script" ]; then
    . "$conda_gitops_script"
  fi
done
unset conda_gitops_script
exec "$@"
`;

/**
 * Jupyter treats kernel names case-insensitively and stores them lowercase (letters, digits, `-`, `.`, `_`);
 * env names allow exactly those characters plus upper case, so lowercasing is the whole mapping. A shipped
 * kernelspec published from an env (`ENV:SPEC`) is `env-spec`.
 */
export function kernelName(env: string, spec?: string): string {
  return spec ? `${env.toLowerCase()}-${spec.toLowerCase()}` : env.toLowerCase();
}

/** A kernelspec directory name (Jupyter's rule): also the rule for the SPEC of `ENV:SPEC`. */
export function isValidKernelName(name: string): boolean {
  return /^[a-z0-9._-]+$/i.test(name) && name !== '.' && name !== '..';
}

/** The env's prefix a kernel runs from: ROOT/envs/ENV (follows every cutover) unless the entry says otherwise. */
export function kernelPrefix(root: string, e: Pick<KernelEntry, 'env' | 'prefix'>): string {
  return e.prefix ?? join(layout(root).envs, e.env);
}

/** An argument of a shipped kernelspec, moved from the build's own prefix onto the prefix the kernel runs from. */
function relocate(arg: string, from: string, to: string): string {
  return arg === from || arg.startsWith(from + '/') ? to + arg.slice(from.length) : arg;
}

/** The kernel.json of an entry, exactly as written (pure). */
export function kernelSpec(root: string, e: KernelEntry): KernelSpecJson {
  const prefix = kernelPrefix(root, e);
  const head = [launcherPath(root), prefix, e.env];
  const s = e.shipped;
  if (!s)
    return {
      argv: [...head, join(prefix, 'bin', 'python'), '-m', 'ipykernel_launcher', '-f', '{connection_file}'],
      display_name: e.displayName,
      language: 'python',
      metadata: { debugger: true, conda_gitops: { env: e.env } },
    };
  const resources = join(prefix, 'share', 'jupyter', 'kernels', s.name);
  const argv = s.argv.map((a) => relocate(a, s.builtPrefix, prefix).split('{resource_dir}').join(resources));
  return {
    argv: [...head, ...argv],
    display_name: e.displayName,
    language: s.language ?? 'unknown',
    ...(s.env ? { env: s.env } : {}),
    ...(s.interrupt_mode ? { interrupt_mode: s.interrupt_mode } : {}),
    metadata: { ...(s.metadata ?? {}), conda_gitops: { env: e.env, kernelspec: s.name } },
  };
}

export function renderKernelSpec(spec: KernelSpecJson): string {
  return JSON.stringify(spec, null, 1) + '\n';
}

/**
 * Attach the shipped kernelspec an `ENV:SPEC` entry names, from the kernelspecs its build ships. An unknown SPEC
 * is bad input: the problem names inventory.ini:LINE, what the env ships and the nearest name.
 */
export function attachShipped(
  e: KernelEntry,
  shipped: Record<string, ShippedKernelSpec>,
): { entry: KernelEntry } | { problem: string } {
  if (!e.spec) return { entry: e };
  const found = shipped[e.spec];
  if (found) return { entry: { ...e, shipped: found } };
  const names = Object.keys(shipped).sort();
  return {
    problem:
      `kernel '${e.env}:${e.spec}': env ${e.env} ships no kernelspec '${e.spec}' ` +
      `(it ships ${names.length ? names.map((n) => `'${n}'`).join(', ') : 'none'} under share/jupyter/kernels)` +
      didYouMean(e.spec, names),
  };
}

/**
 * QA's kernel check for a published shipped kernelspec (the ipykernel gate, generalised): the env ships it, and
 * the program its argv starts is the env's own (argv[0] a name found in PREFIX/bin, or a path inside the env).
 * `has(rel)`: does PREFIX/rel exist as a file. Undefined when the kernel can start; else the problem and the fix.
 */
export function kernelRuntimeProblem(
  name: string,
  shipped: Pick<ShippedKernelSpec, 'argv' | 'builtPrefix'> | undefined,
  has: (rel: string) => boolean,
): { package: string; problem: string; fix: string } | undefined {
  if (!shipped)
    return {
      package: name,
      problem: `the env ships no kernelspec '${name}' (share/jupyter/kernels/${name}/kernel.json)`,
      fix: `add the package that ships kernelspec '${name}' (r-irkernel ships 'ir') or fix the name in [kernels]`,
    };
  const exe = shipped.argv[0]!;
  const rel = exe.startsWith('/')
    ? exe === shipped.builtPrefix || exe.startsWith(shipped.builtPrefix + '/')
      ? exe.slice(shipped.builtPrefix.length + 1)
      : undefined
    : exe.includes('/')
      ? undefined
      : `bin/${exe}`;
  if (rel !== undefined && has(rel)) return undefined;
  const program = exe.slice(exe.lastIndexOf('/') + 1);
  return {
    package: program,
    problem: `kernel '${name}' runs '${exe}', which is not in the env`,
    fix: `add the package that provides '${program}' to the env's dependencies (the kernel must run the env's own)`,
  };
}

/** A kernelspec found on disk when adopting an installation (engine/adopt.ts reads them). */
export interface FoundKernelspec {
  /** its directory */
  path: string;
  argv: string[];
  displayName: string;
  /** argv[0] with its directory's symlinks resolved (undefined: not an absolute path, or gone) */
  argv0Real?: string;
}

/** A `[kernels]` line adopt writes: `KEY = Name`, commented out (with why) when its env is not REPLICATE. */
export interface AdoptedKernel {
  key: string;
  env: string;
  spec?: string;
  displayName: string;
  /** the kernelspec it was found as */
  from: string;
  commented?: string;
}

/** The relative path inside the env a shipped kernelspec's argv[0] runs (`bin/NAME` for a bare name). */
function shippedRunsRel(s: Pick<ShippedKernelSpec, 'argv' | 'builtPrefix'>): string | undefined {
  const exe = s.argv[0]!;
  if (!exe.includes('/')) return `bin/${exe}`;
  return exe.startsWith(s.builtPrefix + '/') ? exe.slice(s.builtPrefix.length + 1) : undefined;
}

/**
 * The `[kernels]` entries of an adopted installation: each kernelspec found (the installation's
 * share/jupyter/kernels, /usr/local/share/jupyter/kernels, --kernels-from DIR) whose argv[0] is inside one of its
 * envs. An ipykernel kernel (bin/python... -m ipykernel_launcher) is `ENV = Name`; anything else is the kernelspec
 * the env ships that runs the same program, `ENV:SPEC = Name`. Others are left out, each with a reason.
 */
export function kernelsToAdopt(
  found: FoundKernelspec[],
  envs: Array<{ name: string; prefix: string; replicate: boolean; shipped: Record<string, ShippedKernelSpec> }>,
): { kernels: AdoptedKernel[]; ignored: Array<{ from: string; reason: string }> } {
  const kernels: AdoptedKernel[] = [];
  const ignored: Array<{ from: string; reason: string }> = [];
  const keys = new Map<string, string>();
  for (const f of found) {
    const real = f.argv0Real;
    const env = real && envs.find((e) => real.startsWith(e.prefix + '/'));
    if (!env) continue; // not a kernel of this installation's envs
    const rel = real.slice(env.prefix.length + 1);
    const ipykernel =
      /^bin\/python[0-9.]*$/.test(rel) && f.argv.some((a) => a === 'ipykernel_launcher' || a === 'ipykernel');
    let spec: string | undefined;
    if (!ipykernel) {
      const dirName = f.path.slice(f.path.lastIndexOf('/') + 1);
      const same = Object.values(env.shipped).filter((s) => shippedRunsRel(s) === rel);
      spec = (same.find((s) => s.name === dirName) ?? same[0])?.name;
      if (!spec) {
        ignored.push({
          from: f.path,
          reason: `runs ${real}, and env ${env.name} ships no kernelspec that runs it (share/jupyter/kernels)`,
        });
        continue;
      }
    }
    const key = spec ? `${env.name}:${spec}` : env.name;
    const first = keys.get(kernelName(env.name, spec));
    if (first) {
      ignored.push({ from: f.path, reason: `the same kernel as ${first} (${key}), found first` });
      continue;
    }
    keys.set(kernelName(env.name, spec), f.path);
    kernels.push({
      key,
      env: env.name,
      ...(spec ? { spec } : {}),
      displayName: f.displayName,
      from: f.path,
      ...(env.replicate ? {} : { commented: `${env.name} is \`export\`: mark it REPLICATE to publish this kernel` }),
    });
  }
  return { kernels, ignored };
}

/** Kernel entries for the `[kernels]` list; two entries mapping to one directory would share it: an error. */
export function planKernels(kernels: Array<{ name: string; displayName: string; spec?: string; line?: number }>): {
  entries: KernelEntry[];
  problems: string[];
} {
  const entries: KernelEntry[] = [];
  const problems: string[] = [];
  const seen = new Map<string, string>();
  for (const k of kernels) {
    const kernel = kernelName(k.name, k.spec);
    const shown = k.spec ? `${k.name}:${k.spec}` : k.name;
    if (!isValidKernelName(kernel)) {
      problems.push(`kernel '${shown}': not a valid kernel name`);
      continue;
    }
    const other = seen.get(kernel);
    if (other) {
      problems.push(
        `kernels '${other}' and '${shown}' both map to kernelspec '${kernel}' (names are case-insensitive)`,
      );
      continue;
    }
    seen.set(kernel, shown);
    entries.push({
      kernel,
      env: k.name,
      displayName: k.displayName,
      ...(k.spec ? { spec: k.spec } : {}),
      ...(k.line !== undefined ? { line: k.line } : {}),
    });
  }
  return { entries, problems };
}

/**
 * Entries a killed write or removal leaves in ROOT/kernels (swept under the lock by cleanTemporaries): a kernelspec
 * directory being written or removed, the launcher's atomic-write temp file.
 */
export const KERNEL_SCRATCH = /^\.[a-z0-9._-]+\.(new|gone)-\d+$|^\.\.conda-gitops-launch\.\d+\.tmp$/;
