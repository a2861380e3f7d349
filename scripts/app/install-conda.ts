/**
 * The install-conda use case (docs/admin.md, "Upgrading conda"): install conda V at ROOT/vV with the installer
 * `[conda] installer` names, verify it, write its `.condarc` from the inventory and mark it as conda-gitops's.
 * `qa` and `build` call this same function when the head names a version that has no installation (the upgrade
 * pull request). Holds the ROOT lock. A failed installer leaves `current` and `qa` untouched, removes what it
 * wrote, and its output stays in a log whose path is returned.
 */
import { existsSync, mkdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Output } from './output.js';
import type { Inventory } from '../core/types.js';
import { BusyError, InputError, RefusedError, UsageError, environmentError } from '../core/errors.js';
import { existingRoot } from '../state/fsutil.js';
import { newRunId } from './run-setup.js';
import { installationLayout, layout } from '../core/layout.js';
import {
  installerFileName,
  installerSource,
  isCondaVersion,
  type InstallerSource,
  outputTail,
  renderCondarc,
  sameDigest,
  versionMatches,
} from '../core/install-conda.js';
import { withLock } from '../state/lock.js';
import {
  clearInstalling,
  installationState,
  type InstallingMarker,
  readInstalling,
  removeInstallationTree,
  runningInstallers,
  writeCondarc,
  writeInstalling,
} from '../state/installation.js';
import { markInstallation } from '../state/marker.js';
import { Conda, installConda, type CallResult } from '../engine/conda.js';
import { download, sha256File } from '../engine/download.js';
import { failedIf, type Outcome } from '../core/outcome.js';

export interface InstallCondaOptions {
  /** the installation root (must exist) */
  root: string;
  inventory: Inventory;
  /** the conda version to install (default: the inventory's) */
  version?: string;
  out: Output;
  /** how long to wait for the ROOT lock */
  waitSeconds: number;
  /** directory for the installer's log (a run directory) */
  logDir: string;
  /** who holds the lock, for a busy message: `conda-gitops install-conda`, `conda-gitops qa` */
  command: string;
  /** limit of the installer run (default 1800 s) */
  timeoutSeconds?: number;
}

export interface InstallCondaResult {
  ok: boolean;
  root: string;
  version: string;
  /** ROOT/vV */
  dir: string;
  /** installed now; present: a matching installation was already there (left alone); failed: nothing installed */
  status: 'installed' | 'present' | 'failed';
  message: string;
  /** the installer's output (status installed or failed) */
  log?: string;
  installer?: string;
  sha256?: string;
  condarc?: string;
  /** a half-finished installation from an earlier crash was removed first */
  recovered?: boolean;
  /** the installer's last lines (status failed) */
  output?: string[];
}

/** A problem with a [conda] value: at the key's line when it is written, else at the section. */
const inventoryProblem = (inv: Inventory, message: string, key?: string) =>
  new InputError([
    { file: inv.file, line: (key && inv.conda.keyLines?.[key]) || inv.conda.line, message, severity: 'error' },
  ]);

/** Install conda `version` (default the inventory's) at ROOT/v<version>, or say it is already there. */
export async function installCondaVersion(opts: InstallCondaOptions): Promise<InstallCondaResult> {
  const { root, inventory } = opts;
  const version = opts.version ?? inventory.conda.version;
  if (!isCondaVersion(version)) throw inventoryProblem(inventory, `'${version}' is not a conda version (e.g. 24.1.2)`);
  const run: InstallRun = {
    root,
    version,
    dir: installationLayout(root, version).dir,
    inventory,
    out: opts.out,
    versionFromFlag: opts.version !== undefined,
    logDir: opts.logDir,
    timeoutSeconds: opts.timeoutSeconds ?? 1800,
  };
  return withLock(root, { waitSeconds: opts.waitSeconds, command: opts.command }, () => installLocked(run));
}

/** One install-conda run: what each of its steps needs. */
interface InstallRun {
  root: string;
  version: string;
  /** ROOT/vV */
  dir: string;
  inventory: Inventory;
  out: Output;
  /** the version came from --version (a missing installer file then asks whether it is the full version) */
  versionFromFlag: boolean;
  /** directory for the installer's log */
  logDir: string;
  timeoutSeconds: number;
}

/** The installer to run: a local file, or a download under ROOT/.gitops (removed once it ran). */
interface Installer {
  source: InstallerSource;
  path: string;
  sha256: string;
}

/** What the installer run left: its log, exit code and last lines of output. */
interface InstallerRun {
  log: string;
  code: number;
  output: string[];
}

/** The fields every result carries. */
const where = (run: InstallRun) => ({ root: run.root, version: run.version, dir: run.dir });

/**
 * The steps under the ROOT lock, in this order: recover from a crashed earlier install, leave a matching
 * installation alone (or refuse a foreign one), get and check the installer, run it, verify, write `.condarc`.
 */
async function installLocked(run: InstallRun): Promise<InstallCondaResult> {
  const crashed = recoverCrashedInstall(run);
  const present = await existingInstallation(run);
  if (present) return present;
  const installer = await obtainInstaller(run);
  const refused = digestRefusal(run, installer);
  if (refused) return refused;
  const ran = await runInstaller(run, installer);
  const why = await installFailure(run, installer, ran);
  if (why) return failedInstall(run, installer, ran, why);
  return finishInstall(run, installer, ran, crashed !== undefined);
}

/**
 * A crash (kill -9, power cut) during an earlier install left the marker: that tree is ours, half-finished, and
 * is removed. Its installer is not killed with it: while that one still writes the tree, nothing may reinstall.
 */
function recoverCrashedInstall(run: InstallRun): InstallingMarker | undefined {
  const { root, version, dir, out } = run;
  const crashed = readInstalling(root, version);
  if (!crashed) return undefined;
  const orphans = runningInstallers(dir);
  if (orphans.length)
    throw new BusyError(
      `install-conda: the installer of an earlier install-conda of conda ${version} (killed before it ended) ` +
        `is still running into ${dir}: ${orphans.map((o) => `pid ${o.pid} (${o.command})`).join(', ')}. ` +
        'Wait for it to end or kill it, then run install-conda again: the half-installed tree is then redone',
    );
  out.warn(
    `install-conda: an earlier install of conda ${version} (pid ${crashed.pid} on ${crashed.host}, ` +
      `started ${crashed.since}) did not finish: removing ${dir} and installing again`,
  );
  removeInstallationTree(root, version);
  clearInstalling(root, version);
  return crashed;
}

/** ROOT/vV already there: a conda of this version is left alone (the result); anything else is refused. */
async function existingInstallation(run: InstallRun): Promise<InstallCondaResult | undefined> {
  const { root, version, dir, out } = run;
  const frontend = run.inventory.conda.frontend;
  const state = installationState(root, version, frontend);
  if (state.kind === 'installation') {
    const said = await reportedVersion(dir, frontend, version);
    if (said.ok) {
      const message = `conda ${version} is already installed at ${dir}: left alone`;
      out.info(`install-conda: ${message}`);
      return { ok: true, ...where(run), status: 'present', message };
    }
    throw new RefusedError(
      `${dir} is a conda installation but ${said.what}, not ${version}: refused, nothing was changed ` +
        '(move it away by hand if it should be replaced)',
    );
  }
  if (state.kind === 'other') {
    const shown = state.entries.slice(0, 5).join(', ') + (state.entries.length > 5 ? ', ...' : '');
    throw new RefusedError(
      `${dir} exists and is not a conda installation (no bin/${frontend}` +
        `${shown ? `; it holds ${shown}` : ''}): refused, nothing was changed or deleted. Move it away, then run ` +
        '`conda-gitops install-conda` again',
    );
  }
  return undefined;
}

/** The installer `[conda] installer` names: a path, or a URL downloaded under ROOT/.gitops. */
async function obtainInstaller(run: InstallRun): Promise<Installer> {
  const { inventory, version } = run;
  const template = inventory.conda.installer;
  if (!template)
    throw inventoryProblem(
      inventory,
      `[conda] needs 'installer' (path or URL of the installer, {version} replaced) to install conda ${version}`,
    );
  const source = installerSource(template, version);
  if (source.kind === 'url') {
    const downloads = join(layout(run.root).gitops, 'downloads');
    mkdirSync(downloads, { recursive: true });
    const got = await download(
      source.url,
      join(downloads, `${process.pid}-${installerFileName(source.url, version)}`),
      (line) => run.out.progress(line),
    );
    return { source, path: got.path, sha256: got.sha256 };
  }
  if (!existsSync(source.path))
    throw inventoryProblem(
      inventory,
      `installer ${source.path} (from [conda] installer) does not exist` +
        (run.versionFromFlag && template.includes('{version}')
          ? ` (is --version ${version} the full version the installer file is named with, e.g. 24.1.2?)`
          : ''),
      'installer',
    );
  return { source, path: source.path, sha256: await sha256File(source.path) };
}

/** A downloaded installer is removed once it ran (or was refused); a local one is the admin's. */
function removeDownload(installer: Installer): void {
  if (installer.source.kind === 'url') rmSync(installer.path, { force: true });
}

/** An installer whose SHA-256 is not [conda] installer-sha256: the failed result, nothing installed. */
function digestRefusal(run: InstallRun, installer: Installer): InstallCondaResult | undefined {
  const want = run.inventory.conda.installerSha256;
  const { source, path, sha256 } = installer;
  if (!want || sameDigest(sha256, want)) return undefined;
  removeDownload(installer);
  const message =
    `installer ${source.kind === 'url' ? source.url : path} has SHA-256 ${sha256}, but [conda] ` +
    `installer-sha256 says ${want}: refused, nothing was installed`;
  run.out.warn(`install-conda: ${message}`);
  return { ok: false, ...where(run), status: 'failed', message, installer: path, sha256 };
}

/** `bash INSTALLER -b -p ROOT/vV`, the marker written first so a crash is recognised next time. */
async function runInstaller(run: InstallRun, installer: Installer): Promise<InstallerRun> {
  const { root, version, dir } = run;
  mkdirSync(run.logDir, { recursive: true });
  const log = join(run.logDir, `install-conda-${version}.log`);
  run.out.info(`install-conda: installing conda ${version} into ${dir} with ${installer.path} (log: ${log})`);
  writeInstalling(root, version, installer.path);
  let call: CallResult;
  try {
    call = await installConda(installer.path, dir, {
      log,
      logTitle: `install-conda ${version}`,
      timeoutSeconds: run.timeoutSeconds,
      passEnv: run.inventory.conda.passEnv ?? [],
    });
  } catch (e) {
    // the machine refused (a full disk writing the log, a read-only ROOT): nothing half-installed stays behind,
    // no marker claims an install is running; the error says which path (exit 4)
    removeDownload(installer);
    removeInstallationTree(root, version);
    clearInstalling(root, version);
    throw environmentError(e) ?? e;
  }
  removeDownload(installer);
  return { log, code: call.code, output: outputTail(`${call.stdout}\n${call.stderr}`) };
}

/** Why what the installer left is not conda `version` (undefined: it is). */
async function installFailure(run: InstallRun, installer: Installer, ran: InstallerRun): Promise<string | undefined> {
  const { root, version, dir } = run;
  const frontend = run.inventory.conda.frontend;
  if (ran.code !== 0) return `the installer ${installer.path} failed (exit ${ran.code})`;
  if (installationState(root, version, frontend).kind !== 'installation')
    return `the installer ${installer.path} exited 0 but ${dir} is not a conda installation (no bin/${frontend})`;
  const said = await reportedVersion(dir, frontend, version);
  if (!said.ok) return `the installer ${installer.path} installed a conda that ${said.what}, not ${version}`;
  return undefined;
}

/** A failed install: its tree and marker removed, the installer's last lines shown. */
function failedInstall(run: InstallRun, installer: Installer, ran: InstallerRun, why: string): InstallCondaResult {
  const { root, version, dir, out } = run;
  removeInstallationTree(root, version);
  clearInstalling(root, version);
  const message = `${why}; ${dir} was removed, nothing was installed (current and qa unchanged). Log: ${ran.log}`;
  out.warn(`install-conda: ${message}`);
  for (const l of ran.output) out.warn(`  ${l}`);
  const { log, output } = ran;
  return {
    ok: false,
    ...where(run),
    status: 'failed',
    message,
    log,
    installer: installer.path,
    sha256: installer.sha256,
    output,
  };
}

/** The installation verified: its `.condarc` from the inventory, marked as conda-gitops's, the marker cleared. */
function finishInstall(
  run: InstallRun,
  installer: Installer,
  ran: InstallerRun,
  recovered: boolean,
): InstallCondaResult {
  const { root, version, dir } = run;
  const condarc = writeCondarc(root, version, renderCondarc(run.inventory.conda));
  markInstallation(dir);
  clearInstalling(root, version);
  const message = `installed conda ${version} at ${dir} (.condarc from inventory.ini)`;
  run.out.info(`install-conda: ${message}`);
  return {
    ok: true,
    ...where(run),
    status: 'installed',
    message,
    log: ran.log,
    installer: installer.path,
    sha256: installer.sha256,
    condarc,
    ...(recovered ? { recovered: true } : {}),
  };
}

/** Does the installation's conda say `version`? (A micromamba-only installation has no conda: it must run.) */
async function reportedVersion(
  dir: string,
  frontend: Inventory['conda']['frontend'],
  version: string,
): Promise<{ ok: true } | { ok: false; what: string }> {
  const exe = existsSync(join(dir, 'bin', 'conda')) ? 'conda' : frontend;
  const call = await Conda.forInstallation(dir, exe, { timeoutSeconds: 120 }).version();
  if (call.code !== 0) return { ok: false, what: `whose \`${exe} --version\` fails (exit ${call.code})` };
  const said = call.value?.conda ?? (exe === 'conda' ? undefined : 'any');
  if (said === 'any' || versionMatches(said, version)) return { ok: true };
  return { ok: false, what: `says conda ${said ?? '(no version)'}` };
}

export interface InstallCondaCommandOptions {
  repoDir: string;
  rootFlag?: string;
  env: Record<string, string | undefined>;
  out: Output;
  version?: string;
  waitSeconds: number;
  timeoutSeconds?: number;
}

/** `conda-gitops install-conda`: the repository's inventory, the root, a run directory for the log. */
export async function installCondaCommand(
  opts: InstallCondaCommandOptions,
): Promise<InstallCondaResult & { outcome: Outcome }> {
  if (opts.version !== undefined && !isCondaVersion(opts.version))
    throw new UsageError(`--version: '${opts.version}' is not a conda version (e.g. 24.1.2)`);
  const { loadRepo, resolveRoot } = await import('../repo/repo.js');
  const repo = await loadRepo(opts.repoDir);
  const root = existingRoot(resolveRoot({ options: { root: opts.rootFlag }, env: opts.env }, repo.inventory));
  const result = await installCondaVersion({
    root: realpathSync(root),
    inventory: repo.inventory,
    ...(opts.version ? { version: opts.version } : {}),
    out: opts.out,
    waitSeconds: opts.waitSeconds,
    logDir: join(layout(root).runs, newRunId()),
    command: 'conda-gitops install-conda',
    ...(opts.timeoutSeconds ? { timeoutSeconds: opts.timeoutSeconds } : {}),
  });
  return { ...result, outcome: failedIf(!result.ok) };
}

/** How long qa and build wait for the ROOT lock (a deploy or rollback holding it) before installing conda. */
export const INSTALL_LOCK_WAIT_SECONDS = 600;

/**
 * An installation install-conda wrote keeps the `.condarc` the (trusted) inventory says: one written from other
 * settings (an abandoned pull request's, before the trust rule; a hand edit) is rewritten, and said. A `.condarc`
 * the tool did not write (an adopted installation's) is never touched.
 */
function repairCondarc(root: string, inventory: Inventory, out: Output): void {
  const path = join(installationLayout(root, inventory.conda.version).dir, '.condarc');
  let current: string;
  try {
    current = readFileSync(path, 'utf8');
  } catch {
    return;
  }
  const wanted = renderCondarc(inventory.conda);
  if (current === wanted || !current.startsWith(wanted.split('\n')[0]!)) return;
  writeCondarc(root, inventory.conda.version, wanted);
  out.warn(
    `install-conda: ${path} differed from inventory.ini [conda] (the channels, channel mapping or package ` +
      'caches builds use): rewritten from it',
  );
}

/**
 * Called by qa and build before building: when the installation the head names (ROOT/v<version>) is not there,
 * install it with this same use case. Undefined when it is there already (nothing to do).
 */
export async function ensureInstallation(o: {
  root: string;
  inventory: Inventory;
  out: Output;
  logDir: string;
  command: string;
}): Promise<InstallCondaResult | undefined> {
  const { version, frontend } = o.inventory.conda;
  if (installationState(o.root, version, frontend).kind === 'installation') {
    repairCondarc(o.root, o.inventory, o.out);
    return undefined;
  }
  o.out.info(`conda ${version} is not installed under ${o.root}: installing it (install-conda)`);
  return installCondaVersion({
    root: o.root,
    inventory: o.inventory,
    out: o.out,
    waitSeconds: INSTALL_LOCK_WAIT_SECONDS,
    logDir: o.logDir,
    command: o.command,
  });
}
