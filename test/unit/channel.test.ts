import { describe, expect, it } from 'vitest';
import { canonicalChannel, channelAllowed, channelProblem } from '../../scripts/core/channel.js';

describe('canonicalChannel', () => {
  it('reduces the spellings of one anaconda.org channel to its name', () => {
    const spellings = [
      'conda-forge',
      'Conda-Forge',
      ' conda-forge ',
      'conda-forge/',
      'conda-forge/linux-64',
      'conda-forge/noarch',
      'https://conda.anaconda.org/conda-forge',
      'http://conda.anaconda.org/conda-forge/osx-arm64/',
    ];
    expect(new Set(spellings.map(canonicalChannel))).toEqual(new Set(['conda-forge']));
  });

  it('keeps the case of URL and path channels (paths are case-sensitive) but drops a subdir', () => {
    expect(canonicalChannel('file:///srv/Channels/MPC/win-64/')).toBe('file:///srv/Channels/MPC');
    expect(canonicalChannel('https://repo.example.org/MPC')).toBe('https://repo.example.org/MPC');
  });

  it('keeps labels: conda-forge/label/dev is not conda-forge', () => {
    expect(canonicalChannel('https://conda.anaconda.org/conda-forge/label/dev/linux-64')).toBe('conda-forge/label/dev');
  });
});

describe('channelAllowed', () => {
  const allowed = ['conda-forge', 'file:///srv/mpc'];

  it('allows a listed channel however it is spelled, and nodefaults always', () => {
    expect(channelAllowed('https://conda.anaconda.org/conda-forge/', allowed)).toBe(true);
    expect(channelAllowed('CONDA-FORGE/linux-64', allowed)).toBe(true);
    expect(channelAllowed('file:///srv/mpc/noarch', allowed)).toBe(true);
    expect(channelAllowed('nodefaults', allowed)).toBe(true);
    expect(channelAllowed('nodefaults', [])).toBe(true);
  });

  it('allows a label of a listed channel: same owner, same trust', () => {
    expect(channelAllowed('conda-forge/label/main', allowed)).toBe(true);
    expect(channelAllowed('https://conda.anaconda.org/conda-forge/label/rc', allowed)).toBe(true);
  });

  it('refuses other channels, look-alike names and paths differing in case', () => {
    expect(channelAllowed('bioconda', allowed)).toBe(false);
    expect(channelAllowed('conda-forge-extra', allowed)).toBe(false);
    expect(channelAllowed('defaults', allowed)).toBe(false);
    expect(channelAllowed('file:///srv/MPC', allowed)).toBe(false);
    expect(channelAllowed('file:///srv/mpc-old', allowed)).toBe(false);
  });

  it('matches an allow-list written as URLs against channels written as names', () => {
    expect(channelAllowed('conda-forge', ['https://conda.anaconda.org/conda-forge/'])).toBe(true);
    expect(channelAllowed('pytorch', ['https://conda.anaconda.org/conda-forge/'])).toBe(false);
  });
});

describe('channel names that escape their channel', () => {
  const allowed = ['conda-forge', 'file:///srv/mpc'];

  it.each([
    'conda-forge/label/../../evil',
    'conda-forge/label/..',
    'conda-forge/label/x/../../../evil',
    'conda-forge/label/%2e%2e/%2e%2e/evil',
    'https://conda.anaconda.org/conda-forge/label/../../evil',
    'conda-forge/./label/main',
    'conda-forge//evil',
    'file:///srv/mpc/../evil',
    'file:///srv/mpc/%2e%2e/evil',
    '/srv/mpc/../evil',
    'conda-forge/label/main/extra',
  ])('%s is not allowed, and says why', (channel) => {
    expect(channelAllowed(channel, allowed)).toBe(false);
  });

  it('names the problem of a non-canonical channel', () => {
    expect(channelProblem('conda-forge/label/../../evil')).toMatch(/'\.\.'/);
    expect(channelProblem('conda-forge/label/main')).toBeUndefined();
    expect(channelProblem('/srv/mpc')).toBeUndefined();
  });

  it('treats a local path and its file:// URL as one channel', () => {
    expect(channelAllowed('/srv/mpc', allowed)).toBe(true);
    expect(channelAllowed('/srv/mpc/label/dev', allowed)).toBe(true);
  });
});
