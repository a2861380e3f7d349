/**
 * Which sandbox this run has (docs/security.md, "Isolation of builds and tests"): bubblewrap when it is installed
 * and works here, none otherwise; CONDA_GITOPS_SANDBOX=auto|bwrap|none overrides the choice. The argv is built by
 * core/sandbox.ts; engine/process.ts runs it.
 */
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { FailedError } from '../core/errors.js';
import { SANDBOX_VARIABLE, sandboxRequest, type Sandbox } from '../core/sandbox.js';
import { runProgram } from './process.js';

const FALLBACK_DIRS = ['/usr/bin', '/usr/local/bin', '/bin'];

/** bwrap on PATH (or in the usual places), if any. */
function findBwrap(path: string | undefined): string | undefined {
  const dirs = [...(path ?? '').split(':').filter((d) => d.startsWith('/')), ...FALLBACK_DIRS];
  for (const dir of dirs) {
    const exe = join(dir, 'bwrap');
    try {
      accessSync(exe, constants.X_OK);
      return exe;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

/** bwrap may be installed but unusable (no user namespaces in a container): try it once. */
async function probe(bwrap: string): Promise<string | undefined> {
  // the probe runs as every call will: all namespaces, no capabilities, the host's secrets hidden
  const sandbox = { bwrap, writable: [], network: false };
  const r = await runProgram(['/bin/true'], { env: { PATH: '/usr/bin:/bin' }, timeoutSeconds: 30, sandbox });
  if (r.code === 0) return undefined;
  const why = (r.startError?.message ?? r.stderr.toString('utf8')).trim().split('\n')[0] ?? '';
  return `${bwrap} does not work here${why ? `: ${why}` : ` (exit ${r.code})`}`;
}

const cache = new Map<string, Promise<Sandbox>>();

/**
 * The sandbox for builds and tests. `auto` (the default) takes bwrap when it is installed and works, and says
 * why not otherwise; `bwrap` requires it (a run fails when it is missing); `none` turns isolation off.
 */
export function detectSandbox(env: Record<string, string | undefined>): Promise<Sandbox> {
  const request = sandboxRequest(env[SANDBOX_VARIABLE]);
  const key = `${request}\0${env.PATH ?? ''}`;
  let found = cache.get(key);
  if (!found) {
    found = (async (): Promise<Sandbox> => {
      // a root runner is warned about in the run's output and its summary, sandbox or not
      const root = process.getuid?.() === 0 ? { asRoot: true } : {};
      if (request === 'none') return { kind: 'none', reason: `${SANDBOX_VARIABLE}=none`, ...root };
      const bwrap = findBwrap(env.PATH);
      const broken = bwrap ? await probe(bwrap) : 'bubblewrap (bwrap) is not installed';
      if (bwrap && !broken) return { kind: 'bwrap', bwrap, ...root };
      if (request === 'bwrap') throw new FailedError(`${SANDBOX_VARIABLE}=bwrap but ${broken}`);
      return { kind: 'none', reason: broken!, ...root };
    })();
    cache.set(key, found);
    // a failure is not remembered: the next run looks again
    found.catch(() => cache.delete(key));
  }
  return found;
}
