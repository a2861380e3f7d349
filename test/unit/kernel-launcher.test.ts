/**
 * The kernel launcher (core/kernel.ts LAUNCHER_SCRIPT), run for real by /bin/sh as Jupyter runs a kernel.json
 * argv: the kernel starts in its env activated as `conda activate` would (CONDA_PREFIX, CONDA_DEFAULT_ENV, PATH led
 * by the env's bin, the `variables:` conda keeps in conda-meta/state, every activate.d/*.sh in order), whatever
 * the env's values and paths contain.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { chmodSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { syncKernels } from '../../scripts/state/kernel.js';
import { writeVariableScripts } from '../../scripts/state/activation.js';
import { tempDir } from '../fixtures/installation.js';

/** A prefix whose bin/python prints the environment it was started with (JSON) and its own argv. */
function makePrefix(prefix: string): void {
  mkdirSync(join(prefix, 'bin'), { recursive: true });
  mkdirSync(join(prefix, 'conda-meta'), { recursive: true });
  const py = join(prefix, 'bin', 'python');
  writeFileSync(
    py,
    `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} -e ` +
      `'console.log(JSON.stringify({env: process.env, argv: process.argv.slice(1)}))' -- "$@"\n`,
  );
  chmodSync(py, 0o755);
}

/** Start the kernel of ROOT/kernels/NAME as Jupyter would: its argv, {connection_file} filled in. */
function startKernel(root: string, name: string, env: Record<string, string> = {}) {
  const spec = JSON.parse(readFileSync(join(root, 'kernels', name, 'kernel.json'), 'utf8')) as { argv: string[] };
  const argv = spec.argv.map((a) => a.replace('{connection_file}', '/tmp/kernel-1.json'));
  const r = spawnSync(argv[0]!, argv.slice(1), {
    encoding: 'utf8',
    env: { PATH: '/usr/bin:/bin', HOME: '/nonexistent', ...env },
  });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { env: Record<string, string>; argv: string[] };
}

describe('the kernel launcher', () => {
  let root: string;
  let base: string | undefined;
  afterEach(() => {
    rmSync(base ?? root, { recursive: true, force: true });
    base = undefined;
  });

  it('activates the env as conda activate would, then runs the kernel with its own argv', () => {
    // a ROOT whose path a shell would expand or split: the launcher takes paths as arguments, never as its text
    base = tempDir();
    root = join(base, `it's $(touch PWNED) root`);
    const build = join(root, 'v1', 'builds', 'geo', 'abc123');
    makePrefix(build);
    mkdirSync(join(root, 'envs'), { recursive: true });
    symlinkSync(build, join(root, 'envs', 'geo'));
    // variables: as conda >= 4.9 keeps them, values a shell must not touch
    const tricky = `it's "$HOME" $(touch PWNED) \`id\` back\\slash\nsecond line ünïcödé`;
    writeFileSync(
      join(build, 'conda-meta', 'state'),
      JSON.stringify({ env_vars: { GDAL_DATA: '/x/share/gdal', TRICKY: tricky, ESCAPED: 'caf\u00e9 \u2713' } }),
    );
    // activate.d scripts, sourced in lexical order: the second sees what the first set
    const activate = join(build, 'etc', 'conda', 'activate.d');
    mkdirSync(activate, { recursive: true });
    writeFileSync(join(activate, '10-proj.sh'), 'export PROJ_LIB="$CONDA_PREFIX/share/proj"\n');
    writeFileSync(join(activate, '20-after.sh'), 'export ORDER="after:$PROJ_LIB"\n');
    writeFileSync(join(activate, 'not-a-script.csh'), 'setenv CSH 1\n');
    // the scripts conda-gitops writes for variables: on conda < 4.9
    writeVariableScripts(build, { JAVA_HOME: '/opt/java 17' });

    syncKernels(root, [{ kernel: 'geo', env: 'geo', displayName: 'Geo' }]);
    const launcher = join(root, 'kernels', '.conda-gitops-launch');
    expect(statSync(launcher).mode & 0o777).toBe(0o755);
    const { env, argv } = startKernel(root, 'geo', { GDAL_DATA: 'the system one' });

    const prefix = join(root, 'envs', 'geo');
    expect(env.CONDA_PREFIX).toBe(prefix);
    expect(env.CONDA_DEFAULT_ENV).toBe('geo');
    expect(env.PATH!.split(':')[0]).toBe(join(prefix, 'bin'));
    expect(env.PATH).toContain('/usr/bin');
    expect(env.GDAL_DATA).toBe('/x/share/gdal');
    expect(env.TRICKY).toBe(tricky);
    expect(env.ESCAPED).toBe('café ✓');
    expect(env.PROJ_LIB).toBe(join(prefix, 'share', 'proj'));
    expect(env.ORDER).toBe(`after:${join(prefix, 'share', 'proj')}`);
    expect(env.JAVA_HOME).toBe('/opt/java 17');
    expect(env.CSH).toBeUndefined();
    expect(argv.slice(-4)).toEqual(['-m', 'ipykernel_launcher', '-f', '/tmp/kernel-1.json']);
    // nothing the values or paths contain was run
    expect(spawnSync('find', [base, '-name', 'PWNED'], { encoding: 'utf8' }).stdout).toBe('');
  });

  it('a cutover (ROOT/envs/NAME pointing at another build) changes what starts, never the kernelspec', () => {
    root = tempDir();
    const one = join(root, 'v1', 'builds', 'geo', 'one');
    const two = join(root, 'v1', 'builds', 'geo', 'two');
    for (const [p, v] of [
      [one, '1'],
      [two, '2'],
    ] as const) {
      makePrefix(p);
      writeFileSync(join(p, 'conda-meta', 'state'), JSON.stringify({ env_vars: { BUILD: v } }));
    }
    mkdirSync(join(root, 'envs'));
    symlinkSync(one, join(root, 'envs', 'geo'));
    syncKernels(root, [{ kernel: 'geo', env: 'geo', displayName: 'Geo' }]);
    expect(startKernel(root, 'geo').env.BUILD).toBe('1');
    rmSync(join(root, 'envs', 'geo'));
    symlinkSync(two, join(root, 'envs', 'geo'));
    expect(syncKernels(root, [{ kernel: 'geo', env: 'geo', displayName: 'Geo' }]).written).toEqual([]);
    expect(startKernel(root, 'geo').env.BUILD).toBe('2');
  });

  it('an env that is gone: the launcher says so (exit 1) instead of running something else', () => {
    root = tempDir();
    syncKernels(root, [{ kernel: 'geo', env: 'geo', displayName: 'Geo' }]);
    const r = spawnSync(join(root, 'kernels', '.conda-gitops-launch'), [join(root, 'envs', 'geo'), 'geo', 'true'], {
      encoding: 'utf8',
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${join(root, 'envs', 'geo')} is not a conda env (no conda-meta)`);
  });
});
