/** Writing an env's `variables:` as activation scripts into its prefix (core/activation.ts makes them). */
import { lstatSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { VARIABLES_SCRIPT, variableScripts } from '../core/activation.js';
import { UnsafePathError } from '../core/errors.js';
import { writeFileAtomic } from './fsutil.js';

/**
 * `prefix/parts...` as a directory, made one component at a time, none of them a symlink: the prefix was built
 * by a pull request's code (its pip build backend could plant `etc/conda/activate.d -> a live env`), and the
 * tool, outside the sandbox, must never write through what it planted.
 */
function ownDirectory(prefix: string, parts: string[]): string {
  let dir = prefix;
  for (const part of parts) {
    dir = join(dir, part);
    let st;
    try {
      st = lstatSync(dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      mkdirSync(dir);
      continue;
    }
    if (st.isSymbolicLink() || !st.isDirectory())
      throw new UnsafePathError(
        `${dir} is ${st.isSymbolicLink() ? 'a symlink' : 'not a directory'} in a built prefix: ` +
          'not written through (something the build ran planted it)',
      );
  }
  return dir;
}

/** Write `etc/conda/activate.d` and `deactivate.d` scripts setting `vars` in `prefix`; returns their paths. */
export function writeVariableScripts(prefix: string, vars: Record<string, string>): string[] {
  const scripts = variableScripts(vars);
  const written: string[] = [];
  for (const [dir, text] of [
    ['activate.d', scripts.activate],
    ['deactivate.d', scripts.deactivate],
  ] as const) {
    const d = ownDirectory(prefix, ['etc', 'conda', dir]);
    // the rename of writeFileAtomic replaces a planted symlink named like the script; it never follows it
    const file = join(d, VARIABLES_SCRIPT);
    writeFileAtomic(file, text, { mode: 0o644 });
    written.push(file);
  }
  return written;
}
