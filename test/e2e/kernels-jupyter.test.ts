/**
 * Kernels started for real, as JupyterHub starts them: Debian's python3-jupyter-client 7.4 and python3-ipykernel
 * 6.17 (test/jupyter/packages.txt, installed by .ci/run) list ROOT/kernels with `jupyter kernelspec list`
 * (JUPYTER_PATH=ROOT) and start a kernel with jupyter_client; code run in it sees the env activated (sys.prefix,
 * a variable from `variables:`, one an activate.d script sets, PATH led by the env's bin), before and after a
 * cutover and after a rollback, with the kernelspec never rewritten. And an env shipping a non-python kernelspec
 * published through `[kernels] ENV:SPEC`. Outside CI the test skips with one line where the packages are missing;
 * under CI=true it fails.
 */
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryOutput } from '../../scripts/cli/output.js';
import type { OptionValues } from '../../scripts/core/options.js';
import { buildPaths } from '../../scripts/core/layout.js';
import type { Desired } from '../../scripts/core/desired.js';
import { runCommand } from '../fixtures/command.js';
import {
  addTestedBuilds,
  commitAll,
  makeInstallation,
  writeRepo,
  type FakeInstallation,
} from '../fixtures/installation.js';

/** Debian's python, where python3-jupyter-client and python3-ipykernel install their modules. */
const PYTHON = '/usr/bin/python3';
const probe = existsSync(PYTHON)
  ? spawnSync(PYTHON, ['-c', 'import jupyter_client, ipykernel; print(jupyter_client.__version__)'], {
      encoding: 'utf8',
    })
  : undefined;
const missing =
  probe?.status === 0
    ? undefined
    : `${PYTHON} cannot import jupyter_client and ipykernel (apt-get install python3-jupyter-client ` +
      'python3-ipykernel: test/jupyter/packages.txt)';

/** Start kernel NAME with jupyter_client, run code that reports what the kernel sees, shut it down. */
const START = `
import json, sys
from jupyter_client.manager import start_new_kernel
km, kc = start_new_kernel(kernel_name=sys.argv[1], startup_timeout=60)
out = []
def hook(msg):
    if msg["msg_type"] == "stream":
        out.append(msg["content"]["text"])
    elif msg["msg_type"] == "error":
        out.append("ERROR " + "\\n".join(msg["content"]["traceback"]))
try:
    code = "import json, os, sys; print(json.dumps({'prefix': sys.prefix, 'env': dict(os.environ)}))"
    kc.execute_interactive(code, timeout=60, output_hook=hook)
finally:
    kc.stop_channels()
    km.shutdown_kernel(now=True)
print("".join(out))
`;

let fi: FakeInstallation | undefined;
let home: string;

function jupyterEnv(): NodeJS.ProcessEnv {
  return {
    PATH: '/usr/bin:/bin',
    HOME: home,
    JUPYTER_PATH: fi!.root,
    JUPYTER_DATA_DIR: join(home, 'data'),
    JUPYTER_CONFIG_DIR: join(home, 'config'),
    JUPYTER_RUNTIME_DIR: join(home, 'runtime'),
    PYDEVD_DISABLE_FILE_VALIDATION: '1',
    LANG: 'C.UTF-8',
  };
}

/** `jupyter kernelspec list --json` (the same app as the `jupyter kernelspec` subcommand) */
function kernelspecList(): Record<string, { resource_dir: string; spec: { argv: string[]; display_name: string } }> {
  const r = spawnSync(PYTHON, ['-m', 'jupyter_client.kernelspecapp', 'list', '--json'], {
    encoding: 'utf8',
    env: jupyterEnv(),
  });
  expect(r.status, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { kernelspecs: ReturnType<typeof kernelspecList> }).kernelspecs;
}

function startKernel(name: string): { prefix: string; env: Record<string, string> } {
  const r = spawnSync(PYTHON, ['-c', START, name], { encoding: 'utf8', env: jupyterEnv(), timeout: 120_000 });
  expect(r.status, r.stderr + r.stdout).toBe(0);
  const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
  expect(line, r.stdout + r.stderr).toBeDefined();
  return JSON.parse(line!) as { prefix: string; env: Record<string, string> };
}

async function cli(repo: string, name: string, options: OptionValues = {}) {
  const out = memoryOutput();
  const ctx = { options: { root: fi!.root, ...options }, positionals: [], out, repo, env: process.env };
  const code = await runCommand(name, ctx);
  return { code, stdout: out.lines.join('\n'), stderr: out.errors.join('\n') };
}

/**
 * The builds a conda would leave for `desired`, made real where the kernels need it: geo's python is Debian's
 * (a venv with the system site-packages, where ipykernel is), its `variables:` in conda-meta/state, an
 * activate.d script as packages ship them; rlang ships a kernelspec of a tiny language of its own.
 */
function makeBuilds(d: Desired): void {
  addTestedBuilds(fi!.root, d);
  for (const e of d.envs) {
    const prefix = buildPaths(fi!.root, d.condaVersion, e.name, e.buildId).prefix;
    if (existsSync(join(prefix, 'pyvenv.cfg')) || existsSync(join(prefix, 'share'))) continue;
    if (e.name === 'geo') {
      rmSync(join(prefix, 'bin', 'python'));
      symlinkSync(PYTHON, join(prefix, 'bin', 'python'));
      writeFileSync(
        join(prefix, 'pyvenv.cfg'),
        `home = /usr/bin\ninclude-system-site-packages = true\nversion = 3\nexecutable = ${PYTHON}\n`,
      );
      writeFileSync(
        join(prefix, 'conda-meta', 'state'),
        JSON.stringify({ env_vars: { GDAL_DATA: `/gdal of ${e.buildId}`, QUOTED: `it's "quoted" $HOME` } }),
      );
      mkdirSync(join(prefix, 'etc', 'conda', 'activate.d'), { recursive: true });
      writeFileSync(
        join(prefix, 'etc', 'conda', 'activate.d', 'proj4-activate.sh'),
        'export PROJ_LIB="$CONDA_PREFIX/share/proj"\n',
      );
    } else {
      // a kernel language of its own: share/jupyter/kernels/fakelang, argv into the build's own prefix
      const spec = join(prefix, 'share', 'jupyter', 'kernels', 'fakelang');
      mkdirSync(spec, { recursive: true });
      writeFileSync(
        join(spec, 'kernel.json'),
        JSON.stringify({
          argv: [join(prefix, 'bin', 'fakelang'), '--kernel', '{connection_file}', '{resource_dir}/kernel.js'],
          display_name: 'FakeLang',
          language: 'fakelang',
        }),
      );
      writeFileSync(join(spec, 'logo-64x64.png'), 'not really a png\n');
      writeFileSync(join(spec, 'kernel.js'), '// its resources\n');
      const exe = join(prefix, 'bin', 'fakelang');
      writeFileSync(exe, '#!/bin/sh\necho "fakelang in $CONDA_PREFIX: $*"\n');
      chmodSync(exe, 0o755);
    }
  }
}

if (missing) {
  describe('kernels under Jupyter', () => {
    if (process.env.CI === 'true') it('has its prerequisites (CI=true)', () => expect.fail(missing));
    else {
      console.info(`kernels-jupyter skipped: ${missing}`);
      it.skip(`skipped: ${missing}`, () => {});
    }
  });
} else {
  describe('kernels under Jupyter', () => {
    let repo: string;
    beforeAll(() => {
      fi = makeInstallation();
      repo = join(fi.root, 'repo');
      home = join(fi.root, 'home');
      mkdirSync(home);
    });
    afterAll(() => fi?.cleanup());

    it('a kernel started by jupyter_client runs activated, before and after a cutover and a rollback', async () => {
      const kernels = { geo: 'Geo (Python)', 'rlang:fakelang': 'R-ish (FakeLang)' };
      const first = await writeRepo(repo, { envs: { geo: 1, rlang: 1 }, kernels });
      makeBuilds(first);
      commitAll(repo, 'geo and rlang');
      const d1 = await cli(repo, 'deploy');
      expect(d1.code, d1.stderr + d1.stdout).toBe(0);

      // status reads the published kernelspecs as deploy wrote them: no kernel drift
      const st = await cli(repo, 'status');
      expect(st.stdout).not.toMatch(/kernel /);
      expect(st.code, st.stdout + st.stderr).toBe(0);
      const listed = kernelspecList();
      expect(
        Object.keys(listed)
          .filter((k) => k !== 'python3')
          .sort(),
      ).toEqual(['geo', 'rlang-fakelang']);
      expect(listed.geo!.spec.display_name).toBe('Geo (Python)');
      expect(realpathSync(listed.geo!.resource_dir)).toBe(realpathSync(join(fi!.root, 'kernels', 'geo')));
      const kernelJson = readFileSync(join(fi!.root, 'kernels', 'geo', 'kernel.json'), 'utf8');

      const envs = join(fi!.root, 'envs');
      const buildOf = (d: Desired) =>
        buildPaths(fi!.root, d.condaVersion, 'geo', d.envs.find((e) => e.name === 'geo')!.buildId).prefix;
      const check = (seen: { prefix: string; env: Record<string, string> }, d: Desired) => {
        expect(seen.prefix).toBe(join(envs, 'geo'));
        expect(realpathSync(seen.prefix)).toBe(realpathSync(buildOf(d)));
        expect(seen.env.CONDA_PREFIX).toBe(join(envs, 'geo'));
        expect(seen.env.CONDA_DEFAULT_ENV).toBe('geo');
        expect(seen.env.PATH!.split(':')[0]).toBe(join(envs, 'geo', 'bin'));
        const id = d.envs.find((e) => e.name === 'geo')!.buildId;
        expect(seen.env.GDAL_DATA).toBe(`/gdal of ${id}`); // variables: (conda-meta/state)
        expect(seen.env.QUOTED).toBe(`it's "quoted" $HOME`);
        expect(seen.env.PROJ_LIB).toBe(join(envs, 'geo', 'share', 'proj')); // activate.d
      };
      check(startKernel('geo'), first);

      // a cutover: geo's spec changes, a new build goes live; the kernelspec is not rewritten and follows it
      const second = await writeRepo(repo, { envs: { geo: 2, rlang: 1 }, kernels });
      makeBuilds(second);
      commitAll(repo, 'geo changed');
      const d2 = await cli(repo, 'deploy');
      expect(d2.code, d2.stderr + d2.stdout).toBe(0);
      expect(d2.stdout).not.toMatch(/kernels: \d+ written/); // nothing rewritten
      expect(readFileSync(join(fi!.root, 'kernels', 'geo', 'kernel.json'), 'utf8')).toBe(kernelJson);
      check(startKernel('geo'), second);

      // a rollback: the previous build again, the same kernelspec
      const rb = await cli(repo, 'rollback');
      expect(rb.code, rb.stderr + rb.stdout).toBe(0);
      expect(readFileSync(join(fi!.root, 'kernels', 'geo', 'kernel.json'), 'utf8')).toBe(kernelJson);
      check(startKernel('geo'), first);
    }, 300_000);

    it('an env shipping a non-python kernelspec is published through [kernels] ENV:SPEC', async () => {
      const spec = JSON.parse(readFileSync(join(fi!.root, 'kernels', 'rlang-fakelang', 'kernel.json'), 'utf8')) as {
        argv: string[];
        language: string;
      };
      const prefix = join(fi!.root, 'envs', 'rlang');
      // through the launcher; the build's own paths moved onto ROOT/envs/rlang (follows every cutover)
      expect(spec.argv).toEqual([
        join(fi!.root, 'kernels', '.conda-gitops-launch'),
        prefix,
        'rlang',
        join(prefix, 'bin', 'fakelang'),
        '--kernel',
        '{connection_file}',
        join(prefix, 'share', 'jupyter', 'kernels', 'fakelang', 'kernel.js'),
      ]);
      expect(spec.language).toBe('fakelang');
      expect(readFileSync(join(fi!.root, 'kernels', 'rlang-fakelang', 'logo-64x64.png'), 'utf8')).toBe(
        'not really a png\n',
      );
      const listed = kernelspecList()['rlang-fakelang'];
      expect(listed?.spec.display_name).toBe('R-ish (FakeLang)');
      // what Jupyter would run: the env's own program, activated
      const argv = spec.argv.map((a) => a.replace('{connection_file}', '/tmp/k.json'));
      const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', env: { PATH: '/usr/bin:/bin' } });
      expect(r.stdout.trim()).toBe(`fakelang in ${prefix}: --kernel /tmp/k.json ${argv[6]}`);
    });

    it('a kernelspec the env does not ship is bad input: exit 2 naming its line, nothing written', async () => {
      await writeRepo(repo, { envs: { geo: 2, rlang: 1 }, kernels: { geo: 'Geo', 'rlang:fakelng': 'R-ish' } });
      commitAll(repo, 'a typo');
      const before = readFileSync(join(fi!.root, 'kernels', 'rlang-fakelang', 'kernel.json'), 'utf8');
      const r = await cli(repo, 'kernels');
      expect(r.code).toBe(2);
      const line = readFileSync(join(repo, 'inventory.ini'), 'utf8').split('\n').indexOf('rlang:fakelng = R-ish') + 1;
      expect(r.stderr).toContain(
        `inventory.ini:${line}: error: kernel 'rlang:fakelng': env rlang ships no kernelspec 'fakelng'`,
      );
      expect(r.stderr).toContain("did you mean 'fakelang'?");
      expect(existsSync(join(fi!.root, 'kernels', 'rlang-fakelng'))).toBe(false);
      expect(readFileSync(join(fi!.root, 'kernels', 'rlang-fakelang', 'kernel.json'), 'utf8')).toBe(before);
    });
  });
}
