/**
 * make-channel's packages, installed by real conda: what each kind of record becomes (channel.ts) works in a real
 * env — noarch python modules with their dist-info, a legacy noarch_python package's real pre-link script (links
 * on 4.6, `LinkError` from 4.7), a post-link script that runs, an activate.d script in place.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { classify } from '../../scripts/core/classify.js';
import { writeChannel } from '../fake-conda/index.js';
import { hostPythonInfo, makeRealChannel } from './channel.js';
import { installRealConda, missingPrerequisites, realCondaDir, removeUnlessKept } from './lane.js';

const ready = realCondaDir() && !missingPrerequisites().length;

describe.runIf(ready)('make-channel packages under real conda', () => {
  let root: string;
  let url: string;
  const run = (conda: string, args: string[]) => {
    const r = spawnSync(conda, args, {
      encoding: 'utf8',
      env: { PATH: '/usr/bin:/bin', HOME: join(root, 'home'), LANG: 'C.UTF-8' },
    });
    return { code: r.status ?? 1, out: `${r.stdout}${r.stderr}` };
  };

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'cg-realchan-'));
    const fake = join(root, 'fake');
    writeChannel(fake, [
      { name: 'python', version: '3.9.18', module: false },
      { name: 'pip', version: '23.2.1', depends: ['python'], noarch: 'python' },
      { name: 'tabulate', version: '0.9.0', depends: ['python'], noarch: 'python' },
      { name: 'ipums_utils', version: '1.2', legacyNoarchPython: true, depends: ['python'] },
      { name: 'hooks', version: '1.0', depends: ['python'], module: false },
    ]);
    // the real lane's extras on the `hooks` record (the fake ignores them)
    const file = join(fake, 'linux-64', 'repodata.json');
    const repodata = JSON.parse(readFileSync(file, 'utf8')) as { packages: Record<string, Record<string, unknown>> };
    const hooks = Object.values(repodata.packages).find((r) => r.name === 'hooks')!;
    hooks.real_conda_post_link = '#!/bin/bash\necho "ran for $PKG_NAME" > "$PREFIX/share/hooks-post-link.txt"\n';
    hooks.real_conda_activate = 'export HOOKS_ACTIVE=1\n';
    hooks.real_conda_files = { 'share/hooks/README': 'hooks\n' };
    writeFileSync(file, JSON.stringify(repodata));
    url = makeRealChannel(fake, join(root, 'real'), hostPythonInfo());
  }, 300_000);
  afterAll(() => {
    removeUnlessKept(root);
  });

  it('lays out real packages: info/ metadata, link.json for noarch python, repodata.json(.bz2) per subdir', () => {
    const real = join(root, 'real');
    for (const subdir of ['linux-64', 'noarch']) {
      expect(existsSync(join(real, subdir, 'repodata.json.bz2'))).toBe(true);
      const rd = JSON.parse(readFileSync(join(real, subdir, 'repodata.json'), 'utf8')) as {
        packages: Record<string, Record<string, unknown>>;
      };
      for (const [fn, rec] of Object.entries(rd.packages)) {
        expect(Object.keys(rec).filter((k) => k.startsWith('fake_conda_') || k.startsWith('real_conda_'))).toEqual([]);
        const members = execFileSync('tar', ['-tjf', join(real, subdir, fn)], { encoding: 'utf8' }).split('\n');
        expect(members).toEqual(expect.arrayContaining(['info/index.json', 'info/paths.json', 'info/files']));
        if (rec.noarch === 'python') expect(members).toContain('info/link.json');
      }
    }
  });

  it('conda 4.6.14: everything links; modules import, link.py ran, post-link ran, activate.d in place', () => {
    const c = installRealConda(join(root, 'c4.6.14'), '4.6.14', join(root, 'installers'));
    const prefix = join(root, 'envs', 'all46');
    const r = run(c.conda, [
      'create',
      '-y',
      '-p',
      prefix,
      '--override-channels',
      '-c',
      url,
      'python',
      'tabulate',
      'ipums_utils',
      'hooks',
    ]);
    expect(r.code, r.out).toBe(0);
    const py = execFileSync(
      join(prefix, 'bin', 'python'),
      ['-c', 'import sys, tabulate, ipums_utils; print(sys.prefix, tabulate.__version__, ipums_utils.__version__)'],
      { encoding: 'utf8', env: { PATH: '/usr/bin:/bin' } },
    );
    expect(py.trim()).toBe(`${prefix} 0.9.0 1.2`);
    expect(readFileSync(join(prefix, 'share', 'hooks-post-link.txt'), 'utf8')).toBe('ran for hooks\n');
    expect(readFileSync(join(prefix, 'etc', 'conda', 'activate.d', 'hooks.sh'), 'utf8')).toContain('HOOKS_ACTIVE');
    expect(readFileSync(join(prefix, 'share', 'hooks', 'README'), 'utf8')).toBe('hooks\n');
    // the legacy package is recognised the way the product recognises it: its pre-link script in conda-meta
    const meta = readFileSync(join(prefix, 'conda-meta', 'ipums_utils-1.2-py_0.json'), 'utf8');
    expect(meta).toContain('bin/.ipums_utils-pre-link.sh');
  }, 600_000);

  it('conda 23.11.0: the legacy noarch_python package fails create with LinkError (pre-links run first)', () => {
    const c = installRealConda(join(root, 'c23.11.0'), '23.11.0', join(root, 'installers'));
    const r = run(c.conda, [
      'create',
      '-y',
      '-p',
      join(root, 'envs', 'legacy23'),
      '--override-channels',
      '-c',
      url,
      'python',
      'ipums_utils',
    ]);
    expect(r.code, r.out).toBe(1);
    expect(r.out).toMatch(/LinkError: pre-link script failed for package .*ipums_utils-1\.2-py_0/);
    expect(classify(r.out)).toMatchObject({ legacyNoarch: true });
  }, 600_000);
});
