/**
 * Conda fidelity by version: each test replays a real conda behaviour the fake now imitates
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
import { testBuild } from '../../scripts/engine/envtest.js';
import { parseSpec } from '../../scripts/core/spec.js';
import {
  makeQaWorld,
  STANDARD_RECORDS,
  worldSpec,
  writeRepo,
  type QaWorld,
  type WorldOptions,
} from '../fixtures/qa-world.js';

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
): Promise<BuildOutcome & { prefix: string; log: string; specDir: string }> {
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
  const log = existsSync(paths.log) ? readFileSync(paths.log, 'utf8') : '';
  return { ...out, prefix: paths.prefix, log, specDir: join(repoDir, 'env-specs') };
}

/** The value a POSIX shell sees for `name` after sourcing the prefix's activate.d scripts. */
function activatedValue(prefix: string, name: string): string {
  const script =
    'for f in "$1"/etc/conda/activate.d/*.sh; do [ -f "$f" ] && . "$f"; done; printf %s "${' + name + '-}"';
  return execFileSync('sh', ['-c', script, 'sh', prefix], { encoding: 'utf8', env: { PATH: process.env.PATH } });
}

describe("a spec's variables: become activation scripts on conda < 4.9", () => {
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

/** The env test of a build, as qa runs it. */
function envTest(out: Awaited<ReturnType<typeof build>>, name: string, text: string) {
  return testBuild({
    env: name,
    prefix: out.prefix,
    spec: parseSpec(text, `env-specs/${name}.yml`, name).spec!,
    packages: out.record.packages ?? [],
    kernel: false,
    specDir: out.specDir,
  });
}

describe('conda 4.6.9-4.6.12 exit 0 when pip fails; the pip section is checked in the env', () => {
  test('a build whose unpinned and -r pip entries did not install fails, naming each entry', async () => {
    const w = world('4.6.11');
    const text = worldSpec(w, 'pipgone', ['python=3.11', 'pip'], ['tabulate', 'nosuchpkg', '-r reqs.txt']);
    const out = await build(w, '4.6.11', 'pipgone', text, { 'env-specs/reqs.txt': 'tabulate\n' });
    // the fake did what conda 4.6.11 does: pip failed, conda said so and exited 0
    expect(out.log).toMatch(/Pip subprocess error:/);
    expect(out.status).toBe('failed');
    expect(out.phase).toBe('create');
    expect(out.failure?.class).toBe('pip-failure');
    expect(out.failure?.excerpt).toEqual(
      expect.arrayContaining([
        'env-specs/pipgone.yml:8: tabulate: not installed (pip)',
        'env-specs/pipgone.yml:9: nosuchpkg: not installed (pip)',
        'env-specs/pipgone.yml:10: tabulate (from -r reqs.txt): not installed (pip)',
      ]),
    );
  });

  test('the same spec without the missing package builds and its env test accounts for every entry', async () => {
    const w = world('4.6.11');
    const text = worldSpec(w, 'pipok', ['python=3.11', 'pip'], ['tabulate', '-r reqs.txt']);
    const out = await build(w, '4.6.11', 'pipok', text, { 'env-specs/reqs.txt': 'tabulate>=0.9\n' });
    expect(out.status, JSON.stringify(out.failure)).toBe('built');
    const tested = await envTest(out, 'pipok', text);
    expect(tested.ok, JSON.stringify(tested.checks)).toBe(true);
  });
});

describe('pip packages of an env on Python < 3.8 (no importlib.metadata), conda < 4.6 (none listed)', () => {
  const records = [...STANDARD_RECORDS, { name: 'python', version: '3.7.12', module: false as const }];

  test('conda 4.5.12, python 3.7: the pinned pip package is found and the env test passes', async () => {
    const w = world('4.5.12', { records }, '4.5.12-py37');
    const text = worldSpec(w, 'py37', ['python=3.7', 'pip'], ['tabulate==0.9.0']);
    const out = await build(w, '4.5.12', 'py37', text);
    expect(out.status, JSON.stringify(out.failure)).toBe('built');
    // the fake plays a python without importlib.metadata, and conda 4.5 lists no pip packages
    const py = join(out.prefix, 'bin', 'python');
    expect(() => execFileSync(py, ['-c', 'from importlib import metadata'], { stdio: 'pipe' })).toThrow();
    expect(out.record.packages!.some((p) => p.name === 'tabulate')).toBe(false);
    const tested = await envTest(out, 'py37', text);
    expect(tested.ok, JSON.stringify(tested.checks)).toBe(true);
  });

  test('conda 4.5.12, python 3.7: a pip package at another version is reported with its line', async () => {
    const w = world('4.5.12', { records }, '4.5.12-py37');
    const text = worldSpec(w, 'py37b', ['python=3.7', 'pip'], ['tabulate==0.9.0']);
    const out = await build(w, '4.5.12', 'py37b', text);
    expect(out.status).toBe('built');
    const wrong = text.replace('tabulate==0.9.0', 'tabulate==0.8.0');
    const tested = await envTest(out, 'py37b', wrong);
    expect(tested.ok).toBe(false);
    expect(tested.failure?.excerpt).toEqual([
      'env-specs/py37b.yml:8: tabulate==0.8.0: installed 0.9.0 does not match ==0.8.0',
    ]);
  });
});

describe('env tests run activated (stored variables, activate.d scripts), as users see the env', () => {
  const spec = (w: QaWorld, name: string) => worldSpec(w, name, ['python=3.11']) + 'variables:\n  HLINK_MODE: strict\n';
  const check = 'test "$HLINK_MODE" = strict || { echo "HLINK_MODE is \'$HLINK_MODE\'" >&2; exit 1; }\n';

  test.each([
    ['4.7.12', 'activate.d scripts'],
    ['23.11.0', 'conda-meta/state'],
  ])('conda %s (%s): the env test script sees the variables', async (v) => {
    const w = world(v);
    const name = `act${v.replace(/\./g, '')}`;
    const text = spec(w, name);
    const out = await build(w, v, name, text, { [`env-specs/${name}.test.sh`]: check });
    expect(out.status, JSON.stringify(out.failure)).toBe('built');
    const tested = await envTest(out, name, text);
    expect(tested.ok, JSON.stringify(tested.failure)).toBe(true);
    expect(tested.checks.map((c) => c.name)).toContain(`${name}.test.sh`);
  });
});
