/**
 * An env's `variables:` as activation scripts. conda stores `variables:` (in conda-meta/state) only from 4.9;
 * 4.3–4.5 crash on the key and 4.6–4.8 drop it, libmamba (micromamba, mamba 2) ignores it before 2.2.0, so for
 * those the build writes the variables as
 * `etc/conda/activate.d` / `deactivate.d` scripts in the prefix instead, which every conda sources on activation
 * (and `conda run`). Pure: the caller writes the files.
 */
import { compareCondaVersions } from './conda-version.js';
import type { Frontend } from './types.js';

/** File name of the scripts, in `etc/conda/activate.d/` and `etc/conda/deactivate.d/`. */
export const VARIABLES_SCRIPT = 'conda-gitops-variables.sh';

/**
 * True when the frontend cannot be given `variables:` in an environment file: conda < 4.9 (and mamba 1 over it);
 * libmamba reads them only from 2.2.0 (mamba-org/mamba libmamba/src/api/install.cpp), so micromamba < 2.2
 * (`version` is micromamba's) and mamba, whose own version the inventory does not name (2.0–2.1 drop them).
 */
export function variablesNeedScripts(version: string, frontend: Frontend): boolean {
  if (frontend === 'micromamba') return compareCondaVersions(version, '2.2') < 0;
  if (frontend === 'mamba') return true;
  return compareCondaVersions(version, '4.9') < 0;
}

/** A POSIX-shell single-quoted word: the value is never expanded by the shell. */
function quote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The activate and deactivate scripts for `vars` (names are shell identifiers: core/spec.ts checks them).
 * Activation saves a value the variable already had; deactivation restores it, or unsets the variable.
 */
export function variableScripts(vars: Record<string, string>): { activate: string; deactivate: string } {
  const head = "# written by conda-gitops: the env's `variables:` (this conda cannot store them itself)\n";
  const activate: string[] = [head];
  const deactivate: string[] = [head];
  for (const [name, value] of Object.entries(vars)) {
    if (!NAME.test(name)) throw new Error(`invalid variable name '${name}'`);
    const backup = `_CONDA_GITOPS_BACKUP_${name}`;
    activate.push(
      `if [ -n "\${${name}+x}" ]; then export ${backup}="\$${name}"; fi\n`,
      `export ${name}=${quote(value)}\n`,
    );
    deactivate.push(
      `if [ -n "\${${backup}+x}" ]; then export ${name}="\$${backup}"; unset ${backup}; else unset ${name}; fi\n`,
    );
  }
  return { activate: activate.join(''), deactivate: deactivate.join('') };
}
