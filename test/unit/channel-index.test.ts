import { systemRcLeakWarning } from '../../scripts/core/hermetic.js';
import { describe, expect, it } from 'vitest';
import {
  channelUrls,
  effectiveChannels,
  emptyRc,
  mergeCondarc,
  nameVariants,
  rcSearchPath,
  recordsFromRepodata,
  recordsFromSearch,
  toPackage,
} from '../../scripts/core/channel-index.js';
import { channelList as fakeChannelList } from '../fake-conda/channels.js';

describe('.condarc and channel URLs', () => {
  it("layers rc files like conda: a later file's lists come first, its scalars and custom channels win", () => {
    const rc = mergeCondarc(emptyRc(), 'channels: [conda-forge]\ncustom_channels:\n  internal: https://conda.corp/\n');
    mergeCondarc(rc, 'channels: [bioconda, conda-forge]\nchannel_alias: https://mirror.corp/\n');
    expect(rc.channels).toEqual(['bioconda', 'conda-forge']);
    mergeCondarc(rc, 'default_channels: [https://a.corp/main]\n');
    mergeCondarc(rc, 'default_channels: [https://b.corp/main]\n');
    expect(rc.defaultChannels).toEqual(['https://b.corp/main', 'https://a.corp/main']);
    expect(channelUrls('internal/label/dev', rc)).toEqual(['https://conda.corp/internal/label/dev']);
    expect(rc.channelAlias).toBe('https://mirror.corp');
    expect(channelUrls('internal', rc)).toEqual(['https://conda.corp/internal']);
    expect(channelUrls('bioconda', rc)).toEqual(['https://mirror.corp/bioconda']);
  });

  it("lists conda's rc search path in reading order (CONDARC adds a file, it removes none)", () => {
    const path = rcSearchPath({ root: '/opt/c', home: '/home/u', condarc: '/opt/c/.condarc', condaPrefix: '/env' });
    expect(path[0]).toBe('/etc/conda/.condarc');
    expect(path.indexOf('/opt/c/.condarc')).toBeLessThan(path.indexOf('/home/u/.condarc'));
    expect(path.indexOf('/home/u/.condarc')).toBeLessThan(path.indexOf('/env/.condarc'));
    expect(path).toContain('/home/u/.config/conda/condarc.d');
    expect(path.at(-1)).toBe('/opt/c/.condarc');
  });

  it('maps a platform URL to its channel, a path to file://, and defaults to the default channels', () => {
    const rc = emptyRc();
    expect(channelUrls('https://repo.example/ch/linux-64/', rc)).toEqual(['https://repo.example/ch']);
    expect(channelUrls('/srv/chan', rc)).toEqual(['file:///srv/chan']);
    expect(channelUrls('defaults', rc)).toEqual(rc.defaultChannels);
  });

  it('nodefaults in a spec drops the defaults the rc would add', () => {
    const rc = mergeCondarc(emptyRc(), 'channels: [defaults]\n');
    expect(effectiveChannels(['conda-forge'], rc)).toEqual([
      'https://conda.anaconda.org/conda-forge',
      ...rc.defaultChannels,
    ]);
    expect(effectiveChannels(['conda-forge', 'nodefaults'], rc)).toEqual(['https://conda.anaconda.org/conda-forge']);
  });

  it('nodefaults keeps a defaults the spec itself lists, as conda does (conda_env/installers/conda.py)', () => {
    const rc = mergeCondarc(emptyRc(), 'channels: [bioconda]\n');
    expect(effectiveChannels(['conda-forge', 'defaults', 'nodefaults'], rc)).toEqual([
      'https://conda.anaconda.org/conda-forge',
      ...rc.defaultChannels,
    ]);
    // the fake conda models the same
    const cfg = {
      channels: ['bioconda'],
      channelAlias: 'https://conda.anaconda.org',
      customChannels: {},
      defaultChannels: rc.defaultChannels,
    };
    expect(fakeChannelList(cfg, ['conda-forge', 'defaults', 'nodefaults'], false, true).map((c) => c.url)).toEqual([
      'https://conda.anaconda.org/conda-forge',
      ...rc.defaultChannels,
    ]);
  });

  it('nodefaults drops every configured channel, not only defaults (real conda, probe nodefaults)', () => {
    const rc = mergeCondarc(emptyRc(), 'channels: [bioconda, defaults]\n');
    expect(effectiveChannels(['conda-forge', 'nodefaults'], rc)).toEqual(['https://conda.anaconda.org/conda-forge']);
    // without nodefaults the configured channels follow the spec's
    expect(effectiveChannels(['conda-forge'], rc)).toEqual([
      'https://conda.anaconda.org/conda-forge',
      'https://conda.anaconda.org/bioconda',
      ...rc.defaultChannels,
    ]);
  });
});

describe('records', () => {
  const repodata = {
    packages: {
      'legacy-1.0-py_0.tar.bz2': { name: 'legacy', version: '1.0', build: 'py_0', noarch: true },
      'numpy-1.26-0.tar.bz2': { name: 'numpy', version: '1.26.4', build: '0', subdir: 'linux-64' },
      broken: { name: 'x' },
    },
    'packages.conda': { 'tool-2.0-0.conda': { name: 'tool', version: '2.0', noarch: 'python' } },
  };

  it('reads both package groups of repodata.json and skips records without a name and version', () => {
    const records = recordsFromRepodata(repodata, 'file:///c', 'noarch');
    expect(records.map((r) => `${r.name} ${r.version} ${r.subdir} ${String(r.noarch)}`)).toEqual([
      'legacy 1.0 noarch true',
      'numpy 1.26.4 linux-64 undefined',
      'tool 2.0 noarch python',
    ]);
  });

  it('reads conda search --json in both shapes; a noarch subdir means generic', () => {
    const classic = JSON.stringify({ zlib: [{ name: 'zlib', version: '1.3', subdir: 'noarch' }] });
    expect(recordsFromSearch(classic, 'c')).toEqual([
      { name: 'zlib', version: '1.3', channel: 'c', subdir: 'noarch', noarch: 'generic' },
    ]);
    const mamba = JSON.stringify({ result: { pkgs: [{ name: 'zlib', version: '1.2', subdir: 'linux-64' }] } });
    expect(recordsFromSearch(mamba, 'c')).toEqual([{ name: 'zlib', version: '1.2', channel: 'c', subdir: 'linux-64' }]);
  });

  it('a package comes from the first channel that has it (channel priority)', () => {
    const pkg = toPackage([
      { name: 'zlib', version: '1.3', channel: 'a', subdir: 'linux-64' },
      { name: 'zlib', version: '1.4', channel: 'b', subdir: 'linux-64' },
      { name: 'zlib', version: '1.2', channel: 'a', subdir: 'linux-64' },
    ]);
    expect(pkg).toEqual({ name: 'zlib', versions: ['1.3', '1.2'], noarch: false });
  });

  it('looks a name up in its conda and PyPI spellings', () => {
    expect([...nameVariants('Ipums.Utils')].sort()).toEqual(['ipums-utils', 'ipums.utils', 'ipums_utils']);
  });
});

describe('rc files that leak into builds', () => {
  it('names the system file, the conda version, why, and what to do', () => {
    const w = systemRcLeakWarning('/etc/conda/.condarc', '24.11.3', '/pkg/conda/v24.11.3/.condarc');
    expect(w).toBe(
      'warning: /etc/conda/.condarc is read by every build on conda 24.11.3 that runs without the bubblewrap ' +
        'sandbox (conda reads /etc/conda and /var/lib/conda whatever CONDARC says; the sandbox hides them): its ' +
        'settings leak into builds and may differ between runners; move what builds need into ' +
        '/pkg/conda/v24.11.3/.condarc and remove it, or install bubblewrap on the runner ' +
        '(docs/security.md, "Hermetic builds")',
    );
  });
});
