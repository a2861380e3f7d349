/**
 * The `adopt` use case: inventory an existing, unmanaged conda installation into this repository.
 * read (conda env list, env export per env, site-packages) -> fix up the exports -> write env-specs/ and
 * inventory.ini -> check what was written -> say what changed.
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { UsageError, formatProblem, type Problem } from '../core/errors.js';
import { badInput, failedIf, type Outcome } from '../core/outcome.js';
import type { Conda } from '../engine/conda.js';
import { writeFileAtomic } from '../state/fsutil.js';
import { INVENTORY_FILE, specFile } from '../core/repo.js';
import { parseInventory } from '../core/inventory.js';
import { pipSourcesOf } from '../core/allowlist.js';
import {
  adoptedChannels,
  adoptedLegacyNoarch,
  envsToAdopt,
  readAdoptedSpecs,
  type AdoptedSpecs,
  type EnvsToAdopt,
  type SkippedEnv,
} from '../core/adopt.js';
import { readCondarc } from '../engine/channel-index.js';
import { legacyNoarchInstalled } from '../engine/legacy-noarch.js';
import {
  condaFailure,
  exportOne,
  findKernelspecs,
  managedRootOf,
  openConda,
  renderInventory,
  replicateSelector,
  type ExportedEnv,
} from '../engine/adopt.js';
import { reportExports } from './export.js';
import { kernelsToAdopt } from '../core/kernel.js';
import { shippedKernelSpecs } from '../state/kernel.js';
import type { Output } from './output.js';

/** Where adopt looks for the kernelspecs users have: the installation's own, the system-wide one, --kernels-from. */
export function kernelspecDirs(root: string, kernelsFrom: string[] = []): string[] {
  return [join(root, 'share', 'jupyter', 'kernels'), '/usr/local/share/jupyter/kernels', ...kernelsFrom];
}

export interface AdoptOptions {
  /** the existing installation (--root) */
  root?: string;
  repoDir: string;
  /** --replicate: which envs become REPLICATE */
  replicate?: string;
  /** --kernels-from DIR (repeatable): more directories of kernelspecs to look in (a JUPYTER_PATH's kernels/) */
  kernelsFrom?: string[];
  force: boolean;
  env: Record<string, string | undefined>;
  out: Output;
}

function realpathOrSelf(path: string): string {
  try {
    return realpathSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    return path; // does not exist: the conda check below says so
  }
}

/**
 * Refuse an installation conda-gitops already manages (ROOT with .gitops/, an installation vX with builds/ or
 * generations/, or ROOT/current): adopting it would take build prefixes for envs. `export` refreshes specs.
 */
function refuseManaged(given: string, root: string): void {
  const marks = [
    join(given, '.gitops'),
    join(root, '.gitops'),
    join(root, 'builds'),
    join(root, 'generations'),
    join(dirname(root), '.gitops'),
  ];
  const found = marks.find((m) => existsSync(m));
  if (!found) return;
  throw new UsageError(
    `${given} is an installation conda-gitops already manages (${found} exists): nothing to adopt. ` +
      "Use 'conda-gitops export' to write its live envs' specs into the repository.",
  );
}

/** The kernelspecs adopt writes into [kernels], and those it leaves out with a reason. */
type FoundKernels = ReturnType<typeof kernelsToAdopt>;

/** An adoption as it goes: what was read from the installation, and what adopt writes and reports. */
interface Adoption {
  /** the installation, a real path */
  root: string;
  condaVersion: string;
  /** inventory.ini in the repository */
  invPath: string;
  exported: ExportedEnv[];
  skipped: SkippedEnv[];
  isReplicate: (name: string) => boolean;
  /** [legacy-noarch], sorted */
  legacyNoarch: string[];
  kernels: FoundKernels;
  /** where the kernelspecs were looked for */
  kernelDirs: string[];
  /** what the written specs and inventory.ini do not pass */
  problems: Problem[];
}

/** The outcome: the exit code (0 all adopted, 1 some env skipped, 2 what was written does not validate). */
export async function adoptInstallation(
  opts: AdoptOptions,
): Promise<{ outcome: Outcome; result: Record<string, unknown> }> {
  const { root, invPath } = checkAdoptable(opts);
  const { conda, condaVersion } = await openConda(join(root, 'bin', 'conda'));
  const listed = await listOwnEnvs(conda, root, opts.out);
  const selector = replicateOf(opts.replicate, listed.envs);
  const exports = await exportEach(conda, condaVersion, listed.envs, opts.out);
  const specs = readAdoptedSpecs(exports.exported);
  const kernelDirs = kernelspecDirs(root, opts.kernelsFrom);
  const a: Adoption = {
    root,
    condaVersion,
    invPath,
    exported: exports.exported,
    skipped: [...listed.skipped, ...exports.skipped],
    isReplicate: selector.isReplicate,
    legacyNoarch: legacyNoarchOf(root, exports.exported, specs.packages),
    kernels: kernelsOf(kernelDirs, exports.exported, selector.isReplicate),
    kernelDirs,
    problems: specs.problems,
  };
  // the user's own conda: their rc files count (a build's do not: core/hermetic.ts)
  const rcChannels = readCondarc(root, opts.env, 'user').channels;
  writeAdoption(opts.repoDir, a, adoptedInventory(a, specs, rcChannels));
  a.problems.push(...checkWritten(invPath));
  reportAdoption(opts.out, a);
  const invalid = a.problems.some((p) => p.severity === 'error');
  return { outcome: invalid ? badInput() : failedIf(a.skipped.length > 0), result: adoptionResult(a, invalid) };
}

/** The installation to adopt (a real path) and the inventory to write; what cannot be adopted is a usage error. */
function checkAdoptable(opts: AdoptOptions): { root: string; invPath: string } {
  const rootOpt = opts.root;
  if (!rootOpt)
    throw new UsageError('adopt needs --root DIR: the existing conda installation (the directory with bin/conda)');
  const root = realpathOrSelf(resolve(rootOpt));
  refuseManaged(resolve(rootOpt), root);
  const exe = join(root, 'bin', 'conda');
  if (!existsSync(exe)) throw new UsageError(`${root} is not a conda installation: ${exe} not found`);
  const invPath = join(opts.repoDir, INVENTORY_FILE);
  if (existsSync(invPath) && !opts.force) {
    throw new UsageError(
      `${invPath} exists: adopt writes a new inventory (use 'export' to refresh specs, or --force to overwrite)`,
    );
  }
  return { root, invPath };
}

/** The installation's own envs as conda lists them; the prefixes of other installations and users are named. */
async function listOwnEnvs(conda: Conda, root: string, out: Output): Promise<EnvsToAdopt> {
  const list = await conda.envList();
  if (!list.value) throw new UsageError(`'conda env list --json' failed: ${condaFailure(list)}`);
  const found = envsToAdopt(
    list.value.map((prefix) => ({ prefix, real: realpathOrSelf(resolve(prefix)) })),
    root,
  );
  const ownEnvs = join(root, 'envs');
  for (const prefix of found.ignored)
    out.info(`ignored ${prefix}: not under ${ownEnvs} (an env of another installation or user)`);
  return found;
}

/** --replicate all|NAME,...: naming an env the installation does not have is a usage error. */
function replicateOf(
  replicate: string | undefined,
  envs: Array<{ name: string }>,
): ReturnType<typeof replicateSelector> {
  const selector = replicateSelector(
    replicate,
    envs.map((e) => e.name),
  );
  if (selector.unknown.length)
    throw new UsageError(`--replicate names envs the installation does not have: ${selector.unknown.join(', ')}`);
  return selector;
}

/** Export every env; one failing export skips that env only. */
async function exportEach(
  conda: Conda,
  condaVersion: string,
  envs: Array<{ name: string; prefix: string }>,
  out: Output,
): Promise<{ exported: ExportedEnv[]; skipped: SkippedEnv[] }> {
  const exported: ExportedEnv[] = [];
  const skipped: SkippedEnv[] = [];
  for (const [i, e] of envs.entries()) {
    out.progress(`[${i + 1}/${envs.length}] export ${e.name}`);
    const x = await exportOne(conda, condaVersion, e.name, e.prefix);
    if (x.error) skipped.push({ name: e.name, reason: x.error });
    else exported.push(x);
  }
  return { exported, skipped };
}

/**
 * [legacy-noarch]: the packages the adopted envs have installed with a pre-link script of their own (conda-meta
 * records, or the package cache), never repodata's `noarch` (a boolean there means generic)
 */
function legacyNoarchOf(root: string, exported: ExportedEnv[], packages: Set<string>): string[] {
  const installed = legacyNoarchInstalled(
    exported.map((x) => x.prefix),
    [join(root, 'pkgs')],
  );
  return adoptedLegacyNoarch(installed, packages);
}

/** [kernels]: the kernelspecs users have that point into the adopted envs, with their display names */
function kernelsOf(
  kernelDirs: string[],
  exported: ExportedEnv[],
  isReplicate: (name: string) => boolean,
): FoundKernels {
  return kernelsToAdopt(
    findKernelspecs(kernelDirs),
    exported.map((x) => ({
      name: x.name,
      prefix: realpathOrSelf(x.prefix),
      replicate: isReplicate(x.name),
      shipped: shippedKernelSpecs(x.prefix),
    })),
  );
}

function modeOf(a: Adoption, name: string): 'REPLICATE' | 'export' {
  return a.isReplicate(name) ? 'REPLICATE' : 'export';
}

/** inventory.ini's text. */
function adoptedInventory(a: Adoption, specs: AdoptedSpecs, rcChannels: string[]): string {
  const managedRoot = managedRootOf(a.root, a.condaVersion);
  return renderInventory({
    source: a.root,
    condaVersion: a.condaVersion,
    ...(managedRoot ? { root: managedRoot } : {}),
    channels: adoptedChannels(specs.channels, rcChannels),
    // what the installation already uses: the allow-list the admin reviews in the adopt PR
    ...pipSourcesOf(specs.specs),
    envs: a.exported.map((x) => ({ name: x.name, mode: modeOf(a, x.name) })),
    legacyNoarch: a.legacyNoarch,
    kernels: a.kernels.kernels,
    skipped: a.skipped,
  });
}

/** Write every spec, then inventory.ini (each file atomically). */
function writeAdoption(repoDir: string, a: Adoption, inventoryText: string): void {
  for (const x of a.exported) writeFileAtomic(join(repoDir, specFile(x.name)), x.text);
  writeFileAtomic(a.invPath, inventoryText);
}

/** Check what was written: the repository must validate as it stands. */
function checkWritten(invPath: string): Problem[] {
  return parseInventory(readFileSync(invPath, 'utf8'), INVENTORY_FILE).problems;
}

function reportAdoption(out: Output, a: Adoption): void {
  for (const p of a.problems) out.warn(formatProblem(p));
  reportExports(out, a.exported, a.skipped);
  reportKernels(out, a.kernels, a.kernelDirs);
  const n = a.exported.length;
  const replicate = a.exported.filter((x) => a.isReplicate(x.name)).length;
  out.info(
    `adopted ${n} env${n === 1 ? '' : 's'} from ${a.root} (conda ${a.condaVersion}): ` +
      `${replicate} REPLICATE, ${n - replicate} export; ` +
      `wrote ${INVENTORY_FILE} and ${n} spec${n === 1 ? '' : 's'}` +
      (a.legacyNoarch.length ? `; [legacy-noarch]: ${a.legacyNoarch.join(', ')}` : ''),
  );
}

function reportKernels(out: Output, found: FoundKernels, kernelDirs: string[]): void {
  for (const k of found.kernels)
    out.info(
      `kernel ${k.key} = ${k.displayName} (from ${k.from})${k.commented ? `: commented out, ${k.commented}` : ''}`,
    );
  for (const i of found.ignored) out.info(`kernelspec ${i.from} not adopted: ${i.reason}`);
  const commented = found.kernels.filter((k) => k.commented).length;
  out.info(
    `kernels found: ${found.kernels.length} (${found.kernels.length - commented} written` +
      (commented ? `, ${commented} commented out: its env is \`export\`` : '') +
      `) in ${kernelDirs.join(', ')}`,
  );
}

/** adopt's --json. */
function adoptionResult(a: Adoption, invalid: boolean): Record<string, unknown> {
  return {
    ok: a.skipped.length === 0 && !invalid,
    root: a.root,
    condaVersion: a.condaVersion,
    inventory: a.invPath,
    envs: a.exported.map((x) => ({
      name: x.name,
      prefix: x.prefix,
      mode: modeOf(a, x.name),
      spec: specFile(x.name),
      changes: x.changes,
      unrecovered: x.unrecovered,
    })),
    skipped: a.skipped,
    legacyNoarch: a.legacyNoarch,
    kernels: a.kernels.kernels,
    kernelsIgnored: a.kernels.ignored,
    problems: a.problems,
  };
}
