/**
 * Issue 12 (conda fidelity), items 3, 4, 5, 7, 8, 11: each replays a real conda behaviour the fake now imitates
 * (test/fake-conda/README.md, "Fidelity by version") against the product.
 */
import { afterAll, describe, expect, test } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildEnv, type BuildOutcome } from '../../scripts/engine/build.js';
import { installationTools } from '../../scripts/app/pipeline.js';
import { loadRepo } from '../../scripts/repo/repo.js';
import { desiredState } from '../../scripts/core/desired.js';
import { buildPaths } from '../../scripts/core/layout.js';
import { makeQaWorld, worldSpec, writeRepo, type QaWorld, type WorldOptions } from '../fixtures/qa-world.js';

const worlds = new Map<string, QaWorld>();
afterAll(() => worlds.forEach((w) => w.cleanup()));

function world(version: string, o: WorldOptions = {}, key = version): QaWorld {
  let w = worlds.get(key);
  if (!w) {
    w = makeQaWorld({ ...o, version });
    worlds.set(key, w);
  }
  return w;
}

let repoCount = 0;
/** Build env `name` from `spec` (text, or deps + pip on the world's channel) on the world's installation. */
async function build(
  w: QaWorld,
  version: string,
  name: string,
  spec: string,
  files: Record<string, string> = {},
): Promise<BuildOutcome & { prefix: string; log: string }> {
  const repoDir = writeRepo(
    join(w.base, `repo${++repoCount}`),
    { version, envs: { [name]: 'REPLICATE' }, channels: [w.channel], pipGitHosts: ['file:///'] },
    { [name]: spec },
    files,
  );
  const desired = desiredState(await loadRepo(repoDir));
  const env = desired.envs.find((e) => e.name === name)!;
  const out = await buildEnv({
    root: w.root,
    condaVersion: version,
    frontend: 'conda',
    env,
    specDir: join(repoDir, 'env-specs'),
    tools: installationTools(w.root, desired),
  });
  const paths = buildPaths(w.root, version, name, env.buildId);
  return { ...out, prefix: paths.prefix, log: existsSync(paths.log) ? readFileSync(paths.log, 'utf8') : '' };
}

/** The value a POSIX shell sees for `name` after sourcing the prefix's activate.d scripts. */
function activatedValue(prefix: string, name: string): string {
  const script =
    'for f in "$1"/etc/conda/activate.d/*.sh; do [ -f "$f" ] && . "$f"; done; printf %s "${' + name + '-}"';
  return execFileSync('sh', ['-c', script, 'sh', prefix], { encoding: 'utf8', env: { PATH: process.env.PATH } });
}

describe('item 5: variables: on conda < 4.9 become activation scripts', () => {
  const spec = (w: QaWorld) =>
    worldSpec(w, 'vars', ['python=3.11']) + 'variables:\n  HLINK_MODE: strict\n  QUOTED: "it\'s $HOME"\n';

  test.each(['4.5.12', '4.7.12'])('conda %s: the build succeeds and activation sets the variables', async (v) => {
    const w = world(v);
    const out = await build(w, v, 'vars', spec(w));
    expect(out.status, JSON.stringify(out.failure)).toBe('built');
    // conda was not given the key it crashes on (4.3-4.5) or drops (4.6-4.8)
    expect(out.log).not.toMatch(/TypeError|EnvironmentSectionNotValid/);
    expect(activatedValue(out.prefix, 'HLINK_MODE')).toBe('strict');
    expect(activatedValue(out.prefix, 'QUOTED')).toBe("it's $HOME");
    expect(existsSync(join(out.prefix, 'etc', 'conda', 'deactivate.d', 'conda-gitops-variables.sh'))).toBe(true);
  });

  test('conda 23.11.0: conda stores them itself (conda-meta/state), no scripts', async () => {
    const w = world('23.11.0');
    const out = await build(w, '23.11.0', 'vars', spec(w));
    expect(out.status).toBe('built');
    expect(JSON.parse(readFileSync(join(out.prefix, 'conda-meta', 'state'), 'utf8'))).toEqual({
      env_vars: { HLINK_MODE: 'strict', QUOTED: "it's $HOME" },
    });
    expect(existsSync(join(out.prefix, 'etc', 'conda', 'activate.d'))).toBe(false);
  });
});
