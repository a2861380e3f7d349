import { describe, expect, test } from 'vitest';
import {
  installerFileName,
  installerSource,
  outputTail,
  parseCustomChannels,
  renderCondarc,
  sameDigest,
  versionMatches,
} from '../../scripts/core/install-conda.js';
import { parseInventory } from '../../scripts/core/inventory.js';
import { load } from 'js-yaml';

describe('install-conda (pure parts)', () => {
  test('the installer template names a path or a URL', () => {
    expect(installerSource('/pkg/Miniconda3-{version}-Linux-x86_64.sh', '24.1.2')).toEqual({
      kind: 'path',
      path: '/pkg/Miniconda3-24.1.2-Linux-x86_64.sh',
    });
    expect(installerSource('https://repo.example.org/Miniconda3-{version}.sh', '24.1.2')).toEqual({
      kind: 'url',
      url: 'https://repo.example.org/Miniconda3-24.1.2.sh',
      scheme: 'https',
    });
    expect(installerSource('FILE:///srv/i/{version}/inst.sh', '4.3.22')).toMatchObject({ kind: 'url', scheme: 'file' });
    expect(installerFileName('https://x/y/Miniconda3-24.1.2.sh?token=1', '24.1.2')).toBe('Miniconda3-24.1.2.sh');
    expect(installerFileName('https://x/', '24.1.2')).toBe('x');
    expect(installerFileName('file:///../..', '1.0')).toBe('conda-installer-1.0.sh');
  });

  test('the .condarc is rendered from the inventory and parses back as YAML', () => {
    const { inventory, problems } = parseInventory(
      [
        '[conda]',
        'version = 24.1.2',
        'channels = mpc, conda-forge',
        'custom-channels = mpc=https://conda.internal/, lab=file:///srv/chan',
        'channel-alias = https://conda.example.org',
        'default-channels = https://repo.example.org/main',
        'pkgs-dirs = /srv/pkgs',
        'envs-dirs = /srv/envs, /srv/envs2',
        'solver = libmamba',
        'installer-sha256 = ' + 'AB'.repeat(32),
        '[environments]',
        'a = REPLICATE',
      ].join('\n'),
    );
    expect(problems).toEqual([]);
    expect(inventory!.conda.installerSha256).toBe('ab'.repeat(32));
    const rc = load(renderCondarc(inventory!.conda));
    expect(rc).toEqual({
      channels: ['mpc', 'conda-forge'],
      custom_channels: { mpc: 'https://conda.internal/', lab: 'file:///srv/chan' },
      channel_alias: 'https://conda.example.org',
      default_channels: ['https://repo.example.org/main'],
      pkgs_dirs: ['/srv/pkgs'],
      envs_dirs: ['/srv/envs', '/srv/envs2'],
      solver: 'libmamba',
    });
    // only the channels when nothing else is set (an old conda rejects keys it does not know)
    expect(
      load(
        renderCondarc({
          ...inventory!.conda,
          customChannels: undefined,
          channelAlias: undefined,
          defaultChannels: undefined,
          pkgsDirs: undefined,
          envsDirs: undefined,
          solver: undefined,
        }),
      ),
    ).toEqual({
      channels: ['mpc', 'conda-forge'],
    });
  });

  test('bad new [conda] keys are errors naming the line', () => {
    const { problems } = parseInventory(
      [
        '[conda]',
        'version = 24.1.2',
        'channels = mpc',
        'custom-channels = mpc',
        'solver = fast',
        'installer-sha256 = 1234',
        'pkgs-dirs = relative/dir',
        '[environments]',
        'a = REPLICATE',
      ].join('\n'),
    );
    expect(problems.map((p) => p.line).sort()).toEqual([4, 5, 6, 7]);
    expect(problems.find((p) => p.line === 5)!.message).toMatch(/classic, libmamba/);
  });

  test('custom channels, versions, digests, output tails', () => {
    expect(parseCustomChannels(['a=https://x/', 'b', 'c=ftp://y'])).toEqual({
      channels: { a: 'https://x/' },
      bad: ['b', 'c=ftp://y'],
    });
    expect(versionMatches('24.1.2', '24.1.2')).toBe(true);
    expect(versionMatches('24.1', '24.1.0')).toBe(true);
    expect(versionMatches('24.1.3', '24.1.2')).toBe(false);
    expect(versionMatches(undefined, '24.1.2')).toBe(false);
    expect(sameDigest('AB', 'ab')).toBe(true);
    expect(outputTail('a\n\nb\nc\n', 2)).toEqual(['b', 'c']);
  });
});
