import { describe, expect, it } from 'vitest';
import {
  adoptedChannels,
  adoptedLegacyNoarch,
  envsToAdopt,
  isOwnEnv,
  readAdoptedSpecs,
  unlistedLegacyNoarch,
} from '../../scripts/core/adopt.js';

const listed = (...prefixes: Array<string | [string, string]>) =>
  prefixes.map((p) => (typeof p === 'string' ? { prefix: p, real: p } : { prefix: p[0], real: p[1] }));

describe('which envs conda env list shows are the installation own', () => {
  it('an env is own only when it sits directly in the installation envs/', () => {
    expect(isOwnEnv('/opt/conda/envs/census', '/opt/conda')).toBe(true);
    expect(isOwnEnv('/home/ann/.conda/envs/census', '/opt/conda')).toBe(false);
    expect(isOwnEnv('/opt/conda/envs/census/envs/x', '/opt/conda')).toBe(false);
    expect(isOwnEnv('/opt/conda', '/opt/conda')).toBe(false);
  });

  it('adopt takes its own envs sorted, leaves base out, names the others and skips what it cannot hold', () => {
    const found = envsToAdopt(
      listed(
        '/opt/conda',
        '/opt/conda/envs/zeta',
        '/home/ann/.conda/envs/census',
        '/opt/conda/envs/alpha',
        '/opt/conda/envs/+bad',
        // the same env again through a symlinked path: the second one of that name is skipped
        ['/srv/link/envs/alpha', '/opt/conda/envs/alpha'],
      ),
      '/opt/conda',
    );
    expect(found.envs).toEqual([
      { name: 'alpha', prefix: '/opt/conda/envs/alpha' },
      { name: 'zeta', prefix: '/opt/conda/envs/zeta' },
    ]);
    expect(found.ignored).toEqual(['/home/ann/.conda/envs/census']);
    expect(found.skipped).toEqual([
      { name: '+bad', reason: "'+bad' is not a valid env name (/opt/conda/envs/+bad)" },
      { name: 'alpha', reason: "a second env named 'alpha' at /srv/link/envs/alpha" },
    ]);
  });

  it('a listed prefix is judged by its real path, its name by the path conda printed', () => {
    const found = envsToAdopt(
      listed(['/srv/link/envs/web', '/opt/conda/envs/web'], ['/opt/conda/envs/x', '/elsewhere/x']),
      '/opt/conda',
    );
    expect(found.envs).toEqual([{ name: 'web', prefix: '/srv/link/envs/web' }]);
    expect(found.ignored).toEqual(['/opt/conda/envs/x']);
  });
});

describe('what the adopted specs use', () => {
  it('channels in order of first use, every package name in each spelling, and the parse problems by file', () => {
    const read = readAdoptedSpecs([
      {
        name: 'a',
        text:
          'name: a\nchannels:\n  - mpc\n  - defaults\n' +
          'dependencies:\n  - ipums_utils=0.9\n  - pip:\n    - Py.Tool==1\n',
      },
      { name: 'b', text: 'name: b\nchannels:\n  - conda-forge\n  - mpc\ndependencies:\n  - numpy=1.13\n' },
      { name: 'c', text: 'name: c\ndependencies:\n  - numpy\n' },
      { name: 'd', text: '- not\n- a mapping\n' },
    ]);
    expect(read.channels).toEqual(['mpc', 'defaults', 'conda-forge']);
    expect(read.specs.map((s) => s.name)).toEqual(['a', 'b', 'c']);
    for (const n of ['ipums_utils', 'ipums-utils', 'py.tool', 'py_tool', 'py-tool', 'numpy'])
      expect(read.packages.has(n), n).toBe(true);
    expect(read.problems.map((p) => `${p.file}:${p.line}`)).toEqual(['env-specs/a.yml:7', 'env-specs/d.yml:1']);
  });

  it('inventory channels: the specs own without nodefaults, else the user rc channels, else defaults', () => {
    expect(adoptedChannels(['mpc', 'nodefaults'], ['conda-forge'])).toEqual(['mpc']);
    expect(adoptedChannels(['nodefaults'], ['conda-forge'])).toEqual(['conda-forge']);
    expect(adoptedChannels([], [])).toEqual(['defaults']);
  });

  it('[legacy-noarch] lists the installed legacy noarch packages the specs use, sorted', () => {
    const used = readAdoptedSpecs([
      { name: 'a', text: 'name: a\ndependencies:\n  - zlegacy\n  - Ipums-Utils\n' },
    ]).packages;
    expect(adoptedLegacyNoarch(new Set(['zlegacy', 'ipums_utils', 'unused']), used)).toEqual([
      'ipums_utils',
      'zlegacy',
    ]);
  });

  it('export names the legacy noarch packages [legacy-noarch] does not list, whatever their case', () => {
    expect(unlistedLegacyNoarch(new Set(['zpkg', 'IPUMS_utils', 'apkg']), [{ name: 'ipums_utils' }])).toEqual([
      'apkg',
      'zpkg',
    ]);
  });
});
