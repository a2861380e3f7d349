/** Writing an env's `variables:` as activation scripts into its prefix (core/activation.ts makes them). */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { VARIABLES_SCRIPT, variableScripts } from '../core/activation.js';
import { writeFileAtomic } from './fsutil.js';

/** Write `etc/conda/activate.d` and `deactivate.d` scripts setting `vars` in `prefix`; returns their paths. */
export function writeVariableScripts(prefix: string, vars: Record<string, string>): string[] {
  const scripts = variableScripts(vars);
  const written: string[] = [];
  for (const [dir, text] of [
    ['activate.d', scripts.activate],
    ['deactivate.d', scripts.deactivate],
  ] as const) {
    const d = join(prefix, 'etc', 'conda', dir);
    mkdirSync(d, { recursive: true });
    const file = join(d, VARIABLES_SCRIPT);
    writeFileAtomic(file, text, { mode: 0o644 });
    written.push(file);
  }
  return written;
}
