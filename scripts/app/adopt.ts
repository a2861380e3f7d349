/**
 * The `adopt` use case: inventory an existing, unmanaged conda installation into this repository.
 * read (conda env list, env export per env, site-packages) -> fix up the exports -> write env-specs/ and
 * inventory.ini -> check what was written -> say what changed.
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { UsageError, formatProblem, type Problem } from '../core/errors.js';
import { badInput, failedIf, type Outcome } from '../core/outcome.js';
import { Conda } from '../engine/conda.js';
import { writeFileAtomic } from '../state/fsutil.js';
import { INVENTORY_FILE, SPECS_DIR } from '../core/repo.js';
import { parseInventory } from '../core/inventory.js';
import { parseSpec } from '../core/spec.js';
import { pipSourcesOf } from '../core/allowlist.js';
import type { EnvSpec } from '../core/types.js';
import { readCondarc } from '../engine/channel-index.js';
import { nameVariants } from '../core/channel-index.js';
import { legacyNoarchInstalled } from '../engine/legacy-noarch.js';
import {
  ENV_NAME,
  exportOne,
  findKernelspecs,
  managedRootOf,
  renderInventory,
  replicateSelector,
  type ExportedEnv,
} from '../engine/adopt.js';
import { reportExports } from './export.js';
import { kernelsToAdopt } from '../core/kernel.js';
import { shippedKernelSpecs } from '../state/kernel.js';

/** Where adopt looks for the kernelspecs users have: the installation's own, the system-wide one, --kernels-from. */
export function kernelspecDirs(root: string, kernelsFrom: string[] = []): string[] {
  return [join(root, 'share', 'jupyter', 'kernels'), '/usr/local/share/jupyter/kernels', ...kernelsFrom];
}
import type { Output } from './output.js';

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

/** The outcome: the exit code (0 all adopted, 1 some env skipped, 2 what was written does not validate). */
export async function adoptInstallation(
  opts: AdoptOptions,
): Promise<{ outcome: Outcome; result: Record<string, unknown> }> {
  const out = opts.out;
  const rootOpt = opts.root;
  if (!rootOpt)
    throw new UsageError('adopt needs --root DIR: the existing conda installation (the directory with bin/conda)');
  const root = realpathOrSelf(resolve(rootOpt));
  refuseManaged(resolve(rootOpt), root);
  const exe = join(root, 'bin', 'conda');
  if (!existsSync(exe)) throw new UsageError(`${root} is not a conda installation: ${exe} not found`);
  const force = opts.force;
  const invPath = join(opts.repoDir, INVENTORY_FILE);
  if (existsSync(invPath) && !force) {
    throw new UsageError(
      `${invPath} exists: adopt writes a new inventory (use 'export' to refresh specs, or --force to overwrite)`,
    );
  }

  // read: the installation as conda sees it
  const conda = new Conda({ frontend: 'conda', exe, defaults: { timeoutSeconds: 600 } });
  const v = await conda.version();
  if (!v.value)
    throw new UsageError(`cannot run ${exe} --version: ${(v.stderr || v.parseError || '').trim() || `exit ${v.code}`}`);
  const condaVersion = v.value.version;
  const list = await conda.envList();
  if (!list.value)
    throw new UsageError(
      `'conda env list --json' failed: ${(list.stderr || list.parseError || '').trim() || `exit ${list.code}`}`,
    );

  const skipped: Array<{ name: string; reason: string }> = [];
  const envs: Array<{ name: string; prefix: string }> = [];
  const ownEnvs = join(root, 'envs');
  for (const prefix of list.value) {
    const real = realpathOrSelf(resolve(prefix));
    if (real === root) continue; // base: the installation itself, not an env to replicate
    // conda env list also shows other users' envs (~/.conda/environments.txt): only this installation's own
    if (dirname(real) !== ownEnvs) {
      out.info(`ignored ${prefix}: not under ${ownEnvs} (an env of another installation or user)`);
      continue;
    }
    const name = basename(prefix);
    if (!ENV_NAME.test(name)) {
      skipped.push({ name, reason: `'${name}' is not a valid env name (${prefix})` });
      continue;
    }
    if (envs.some((e) => e.name === name)) {
      skipped.push({ name, reason: `a second env named '${name}' at ${prefix}` });
      continue;
    }
    envs.push({ name, prefix });
  }
  envs.sort((a, b) => a.name.localeCompare(b.name));
  const selector = replicateSelector(
    opts.replicate,
    envs.map((e) => e.name),
  );
  if (selector.unknown.length)
    throw new UsageError(`--replicate names envs the installation does not have: ${selector.unknown.join(', ')}`);

  // export every env; one failing export skips that env only
  const exported: ExportedEnv[] = [];
  for (const [i, e] of envs.entries()) {
    out.progress(`[${i + 1}/${envs.length}] export ${e.name}`);
    const x = await exportOne(conda, condaVersion, e.name, e.prefix);
    if (x.error) skipped.push({ name: e.name, reason: x.error });
    else exported.push(x);
  }

  // the user's own conda: their rc files count (a build's do not: core/hermetic.ts)
  const rc = readCondarc(root, opts.env, 'user');
  const specChannels: string[] = [];
  const adoptedSpecs: EnvSpec[] = [];
  const used = new Set<string>();
  const problems: Problem[] = [];
  for (const x of exported) {
    const file = `${SPECS_DIR}/${x.name}.yml`;
    const parsed = parseSpec(x.text, file, x.name);
    problems.push(...parsed.problems);
    if (!parsed.spec) continue;
    for (const c of parsed.spec.channels) if (!specChannels.includes(c)) specChannels.push(c);
    for (const d of parsed.spec.dependencies) for (const n of nameVariants(d.spec.name)) used.add(n);
    for (const p of parsed.spec.pip) if (p.name) for (const n of nameVariants(p.name)) used.add(n);
    adoptedSpecs.push(parsed.spec);
  }
  // [legacy-noarch]: the packages the adopted envs have installed with a pre-link script of their own (conda-meta
  // records, or the package cache), never repodata's `noarch` (a boolean there means generic)
  const legacy = new Set<string>();
  const installed = legacyNoarchInstalled(
    exported.map((x) => x.prefix),
    [join(root, 'pkgs')],
  );
  for (const n of installed) if (used.has(n.toLowerCase())) legacy.add(n);

  // [kernels]: the kernelspecs users have that point into the adopted envs, with their display names
  const found = kernelsToAdopt(
    findKernelspecs(kernelspecDirs(root, opts.kernelsFrom)),
    exported.map((x) => ({
      name: x.name,
      prefix: realpathOrSelf(x.prefix),
      replicate: selector.isReplicate(x.name),
      shipped: shippedKernelSpecs(x.prefix),
    })),
  );

  // write
  for (const x of exported) writeFileAtomic(join(opts.repoDir, SPECS_DIR, `${x.name}.yml`), x.text);
  const channels = specChannels.filter((c) => c !== 'nodefaults');
  const inventoryText = renderInventory({
    source: root,
    condaVersion,
    ...(managedRootOf(root, condaVersion) ? { root: managedRootOf(root, condaVersion)! } : {}),
    channels: channels.length ? channels : rc.channels.length ? rc.channels : ['defaults'],
    // what the installation already uses: the allow-list the admin reviews in the adopt PR
    ...pipSourcesOf(adoptedSpecs),
    envs: exported.map((x) => ({ name: x.name, mode: selector.isReplicate(x.name) ? 'REPLICATE' : 'export' })),
    legacyNoarch: [...legacy].sort(),
    kernels: found.kernels,
    skipped,
  });
  writeFileAtomic(invPath, inventoryText);

  // check what was written: the repository must validate as it stands
  const check = parseInventory(readFileSync(invPath, 'utf8'), INVENTORY_FILE);
  problems.push(...check.problems);

  // report
  for (const p of problems) out.warn(formatProblem(p));
  reportExports(out, exported, skipped);
  for (const k of found.kernels)
    out.info(
      `kernel ${k.key} = ${k.displayName} (from ${k.from})${k.commented ? `: commented out, ${k.commented}` : ''}`,
    );
  for (const i of found.ignored) out.info(`kernelspec ${i.from} not adopted: ${i.reason}`);
  const commented = found.kernels.filter((k) => k.commented).length;
  out.info(
    `kernels found: ${found.kernels.length} (${found.kernels.length - commented} written` +
      (commented ? `, ${commented} commented out: its env is \`export\`` : '') +
      `) in ${kernelspecDirs(root, opts.kernelsFrom).join(', ')}`,
  );
  const replicate = exported.filter((x) => selector.isReplicate(x.name)).length;
  out.info(
    `adopted ${exported.length} env${exported.length === 1 ? '' : 's'} from ${root} (conda ${condaVersion}): ` +
      `${replicate} REPLICATE, ${exported.length - replicate} export; ` +
      `wrote ${INVENTORY_FILE} and ${exported.length} spec${exported.length === 1 ? '' : 's'}` +
      (legacy.size ? `; [legacy-noarch]: ${[...legacy].sort().join(', ')}` : ''),
  );
  const result = {
    ok: skipped.length === 0 && !problems.some((p) => p.severity === 'error'),
    root,
    condaVersion,
    inventory: invPath,
    envs: exported.map((x) => ({
      name: x.name,
      prefix: x.prefix,
      mode: selector.isReplicate(x.name) ? 'REPLICATE' : 'export',
      spec: `${SPECS_DIR}/${x.name}.yml`,
      changes: x.changes,
      unrecovered: x.unrecovered,
    })),
    skipped,
    legacyNoarch: [...legacy].sort(),
    kernels: found.kernels,
    kernelsIgnored: found.ignored,
    problems,
  };
  const outcome = problems.some((p) => p.severity === 'error') ? badInput() : failedIf(skipped.length > 0);
  return { outcome, result };
}
