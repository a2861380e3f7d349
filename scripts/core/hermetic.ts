/**
 * Hermetic builds (docs/security.md, "Hermetic builds"): what a build's conda must not read, and the private home
 * that keeps the runner user's configuration out. Pure: the engine creates the directories.
 *
 * conda reads an rc search path it has hard-coded (`conda/base/constants.py` SEARCH_PATH, every release 4.3 to 26.x):
 * `/etc/conda/…`, `/var/lib/conda/…`, the root, `$XDG_CONFIG_HOME/conda/…` (4.11+), `~/.config/conda/…` (4.11+),
 * `~/.conda/…`, `~/.condarc`, `$CONDA_PREFIX/…`, then `$CONDARC`. Setting CONDARC adds a file, it never removes
 * one, and no conda release reads CONDA_RESTRICT_RC_SEARCH_PATH (a conda-standalone patch for the installer's own
 * `_conda`). So a build gets its own empty home (HOME, XDG_CONFIG_HOME, XDG_DATA_HOME in it): the `~` part of the
 * path is then the build's, and writable (conda 4.4.0–4.6.8 fail a transaction that cannot touch
 * `~/.conda/environments.txt`; libmamba 2.x fails a create when that file is missing and cannot be made). The
 * system part cannot be moved: the sandbox hides those directories, and without a sandbox the runner check names
 * each file (app/runner-rc.ts).
 */

/** conda's system-wide rc directories (SEARCH_PATH): read by every build whatever CONDARC or HOME say. */
export const SYSTEM_RC_DIRS = ['/etc/conda', '/var/lib/conda'] as const;

/** The rc entries conda reads in each directory of its search path (`condarc.d` stands for its *.yml files). */
export const RC_NAMES = ['.condarc', 'condarc', 'condarc.d'] as const;

export interface PrivateHome {
  /** the home directory itself */
  home: string;
  /** what a build's programs get in their environment */
  env: { HOME: string; XDG_CONFIG_HOME: string; XDG_DATA_HOME: string };
  /** directories to create (parents first) */
  dirs: string[];
  /** empty files to create: conda's and libmamba's env registry */
  files: string[];
}

/** The private home of one build, inside the build's own temporary directory `work`. */
export function privateHome(work: string): PrivateHome {
  const home = `${work.replace(/\/+$/, '')}/home`;
  const config = `${home}/.config`;
  const data = `${home}/.local/share`;
  return {
    home,
    env: { HOME: home, XDG_CONFIG_HOME: config, XDG_DATA_HOME: data },
    dirs: [home, `${home}/.conda`, config, data],
    files: [`${home}/.conda/environments.txt`],
  };
}

/**
 * The warning for a system rc file (`/etc/conda/…`, `/var/lib/conda/…`) that builds read: conda reads them on every
 * version whatever CONDARC and HOME say; the bubblewrap sandbox hides them, a run without it does not.
 */
export function systemRcLeakWarning(file: string, condaVersion: string, installationRc: string): string {
  return (
    `warning: ${file} is read by every build on conda ${condaVersion} that runs without the bubblewrap sandbox ` +
    '(conda reads /etc/conda and /var/lib/conda whatever CONDARC says; the sandbox hides them): its settings leak ' +
    `into builds and may differ between runners; move what builds need into ${installationRc} and remove it, ` +
    'or install bubblewrap on the runner (docs/security.md, "Hermetic builds")'
  );
}
