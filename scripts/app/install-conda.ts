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
  outputTail,
  renderCondarc,
  sameDigest,
  versionMatches,
} from '../core/install-conda.js';
import { withLock } from '../state/lock.js';
import {
  clearInstalling,
  installationState,
  readInstalling,
  removeInstallationTree,
  runningInstallers,
  writeCondarc,
  writeInstalling,
} from '../state/installation.js';
import { markInstallation } from '../state/marker.js';
import { Conda, installConda } from '../engine/conda.js';
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
  const { root, inventory, out } = opts;
  const version = opts.version ?? inventory.conda.version;
  if (!isCondaVersion(version)) throw inventoryProblem(inventory, `'${version}' is not a conda version (e.g. 24.1.2)`);
  return withLock(root, { waitSeconds: opts.waitSeconds, command: opts.command }, async () => {
    const frontend = inventory.conda.frontend;
    const dir = installationLayout(root, version).dir;
    const base = { root, version, dir };

    // a crash (kill -9, power cut) during an earlier install left the marker: that tree is ours, half-finished
    const crashed = readInstalling(root, version);
    // its installer is not killed with it: while that one still writes the tree, nothing may reinstall
    const orphans = crashed ? runningInstallers(dir) : [];
    if (orphans.length)
      throw new BusyError(
        `install-conda: the installer of an earlier install-conda of conda ${version} (killed before it ended) ` +
          `is still running into ${dir}: ${orphans.map((o) => `pid ${o.pid} (${o.command})`).join(', ')}. ` +
          'Wait for it to end or kill it, then run install-conda again: the half-installed tree is then redone',
      );
    if (crashed) {
      out.warn(
        `install-conda: an earlier install of conda ${version} (pid ${crashed.pid} on ${crashed.host}, ` +
          `started ${crashed.since}) did not finish: removing ${dir} and installing again`,
      );
      removeInstallationTree(root, version);
      clearInstalling(root, version);
    }

    const state = installationState(root, version, frontend);
    if (state.kind === 'installation') {
      const said = await reportedVersion(dir, frontend, version);
      if (said.ok) {
        const message = `conda ${version} is already installed at ${dir}: left alone`;
        out.info(`install-conda: ${message}`);
        return { ok: true, ...base, status: 'present', message };
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

    // the installer: a path, or a URL downloaded under ROOT/.gitops (checked against installer-sha256)
    if (!inventory.conda.installer)
      throw inventoryProblem(
        inventory,
        `[conda] needs 'installer' (path or URL of the installer, {version} replaced) to install conda ${version}`,
      );
    const source = installerSource(inventory.conda.installer, version);
    const downloads = join(layout(root).gitops, 'downloads');
    let installer: string;
    let sha256: string;
    if (source.kind === 'url') {
      mkdirSync(downloads, { recursive: true });
      const got = await download(
        source.url,
        join(downloads, `${process.pid}-${installerFileName(source.url, version)}`),
        (line) => out.progress(line),
      );
      installer = got.path;
      sha256 = got.sha256;
    } else {
      installer = source.path;
      if (!existsSync(installer))
        throw inventoryProblem(
          inventory,
          `installer ${installer} (from [conda] installer) does not exist` +
            (opts.version && inventory.conda.installer.includes('{version}')
              ? ` (is --version ${version} the full version the installer file is named with, e.g. 24.1.2?)`
              : ''),
          'installer',
        );
      sha256 = await sha256File(installer);
    }
    const cleanupDownload = () => {
      if (source.kind === 'url') removeQuietly(installer);
    };
    const want = inventory.conda.installerSha256;
    if (want && !sameDigest(sha256, want)) {
      cleanupDownload();
      const message =
        `installer ${source.kind === 'url' ? source.url : installer} has SHA-256 ${sha256}, but [conda] ` +
        `installer-sha256 says ${want}: refused, nothing was installed`;
      out.warn(`install-conda: ${message}`);
      return { ok: false, ...base, status: 'failed', message, installer, sha256 };
    }

    // run it: `bash INSTALLER -b -p ROOT/vV`, the marker first so a crash is recognised next time
    mkdirSync(opts.logDir, { recursive: true });
    const log = join(opts.logDir, `install-conda-${version}.log`);
    out.info(`install-conda: installing conda ${version} into ${dir} with ${installer} (log: ${log})`);
    writeInstalling(root, version, installer);
    let call: Awaited<ReturnType<typeof installConda>>;
    try {
      call = await installConda(installer, dir, {
        log,
        logTitle: `install-conda ${version}`,
        timeoutSeconds: opts.timeoutSeconds ?? 1800,
        passEnv: inventory.conda.passEnv ?? [],
      });
    } catch (e) {
      // the machine refused (a full disk writing the log, a read-only ROOT): nothing half-installed stays behind,
      // no marker claims an install is running; the error says which path (exit 4)
      cleanupDownload();
      removeInstallationTree(root, version);
      clearInstalling(root, version);
      throw environmentError(e) ?? e;
    }
    cleanupDownload();
    const fail = (why: string, output: string[]): InstallCondaResult => {
      removeInstallationTree(root, version);
      clearInstalling(root, version);
      const message = `${why}; ${dir} was removed, nothing was installed (current and qa unchanged). Log: ${log}`;
      out.warn(`install-conda: ${message}`);
      for (const l of output) out.warn(`  ${l}`);
      return { ok: false, ...base, status: 'failed', message, log, installer, sha256, output };
    };
    const output = outputTail(`${call.stdout}\n${call.stderr}`);
    if (call.code !== 0) return fail(`the installer ${installer} failed (exit ${call.code})`, output);
    const after = installationState(root, version, frontend);
    if (after.kind !== 'installation')
      return fail(
        `the installer ${installer} exited 0 but ${dir} is not a conda installation ` + `(no bin/${frontend})`,
        output,
      );
    const said = await reportedVersion(dir, frontend, version);
    if (!said.ok) return fail(`the installer ${installer} installed a conda that ${said.what}, not ${version}`, output);

    const condarc = writeCondarc(root, version, renderCondarc(inventory.conda));
    markInstallation(dir);
    clearInstalling(root, version);
    const message = `installed conda ${version} at ${dir} (.condarc from inventory.ini)`;
    out.info(`install-conda: ${message}`);
    return {
      ok: true,
      ...base,
      status: 'installed',
      message,
      log,
      installer,
      sha256,
      condarc,
      ...(crashed ? { recovered: true } : {}),
    };
  });
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

function removeQuietly(path: string): void {
  rmSync(path, { force: true });
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
 * Called by qa and build before building: when the installation the head names (ROOT/v<version>) is not there,
 * install it with this same use case. Undefined when it is there already (nothing to do).
 */
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
