import { describe, expect, it } from 'vitest';
import {
  allowListOf,
  gitUrlAllowed,
  onlyAllowListDiffers,
  pipSourcesOf,
  pipSourceProblem,
  repoPathProblem,
  specSourceProblems,
  urlUnder,
  widenings,
  type AllowList,
} from '../../scripts/core/allowlist.js';
import { classifyPipEntry } from '../../scripts/core/pip.js';
import { parseSpec } from '../../scripts/core/spec.js';
import { parseInventory } from '../../scripts/core/inventory.js';

const allow: AllowList = {
  channels: ['conda-forge', 'file:///srv/mpc'],
  pipGitHosts: ['github.com', 'file:///srv/git/'],
  pipIndexes: ['https://pypi.example.org/simple/'],
};
const FILE = 'env-specs/a.yml';
const pip = (line: string) => pipSourceProblem(classifyPipEntry(line, 5).entry, allow, FILE);

describe('pip lines that reach outside the allowed sources are refused with the rule they break', () => {
  it.each([
    ['--index-url https://evil.example/simple', /pip-indexes/],
    ['--extra-index-url https://evil.example/simple', /pip-indexes/],
    ['-i https://evil.example/simple', /pip-indexes/],
    ['-f https://evil.example/wheels', /pip-indexes/],
    ['--find-links=https://evil.example/wheels', /pip-indexes/],
    ['-e ../../', /leaves the repository/],
    ['-e /opt/src/pkg', /outside the repository/],
    ['-r /etc/passwd', /outside the repository/],
    ['-r ../../etc/passwd', /leaves the repository/],
    ['-r https://evil.example/reqs.txt', /is a URL/],
    ['git+https://evil.example/o/r.git@v1#egg=r', /pip-git-hosts/],
    ['git+file:///srv/git/../../tmp/evil#egg=r', /pip-git-hosts/],
    ['r @ git+https://evil.example/o/r.git', /pip-git-hosts/],
    ['pkg @ https://evil.example/pkg-1.0.tar.gz', /pip-indexes/],
    ['--trusted-host evil.example', /not allowed/],
    ['numpy -f https://evil.example/wheels', /per-requirement option '-f'/],
    ['numpy --config-settings=x=y', /per-requirement option/],
    ['~/src/pkg', /outside the repository/],
  ])('%s', (line, why) => {
    expect(pip(line)).toMatch(why);
  });

  it.each([
    'numpy',
    'numpy==1.26.4',
    'rich>=13; python_version >= "3.8"',
    'numpy==1.26.4 --hash=sha256:abc',
    '--index-url https://pypi.example.org/simple/',
    '--extra-index-url=https://pypi.example.org/simple/team',
    '-f ./wheels',
    '-r requirements.txt',
    '-r ../requirements.txt',
    '-e ../src/pkg',
    './local-pkg',
    'git+https://github.com/ipums/tool.git@v1#egg=tool',
    'git+ssh://git@github.com/ipums/tool.git@v1#egg=tool',
    'tool @ git+file:///srv/git/tool@v1',
  ])('%s is allowed', (line) => {
    expect(pip(line)).toBeUndefined();
  });
});

describe('urlUnder, gitUrlAllowed, repoPathProblem', () => {
  it('matches URL prefixes on segment boundaries, after resolving ..', () => {
    expect(urlUnder('https://pypi.example.org/simple/x', 'https://pypi.example.org/simple')).toBe(true);
    expect(urlUnder('https://pypi.example.org/simple-evil', 'https://pypi.example.org/simple')).toBe(false);
    expect(urlUnder('https://pypi.example.org/simple/../evil', 'https://pypi.example.org/simple')).toBe(false);
    expect(urlUnder('https://pypi.example.org.evil/simple', 'https://pypi.example.org/simple')).toBe(false);
    expect(urlUnder('http://pypi.example.org/simple', 'https://pypi.example.org/simple')).toBe(false);
  });

  it('never lets a file: git URL through a host name', () => {
    expect(gitUrlAllowed('git+file:///srv/x', ['github.com'])).toBe(false);
    expect(gitUrlAllowed('git+https://GitHub.com/o/r', ['github.com'])).toBe(true);
  });

  it('keeps paths inside the repository', () => {
    expect(repoPathProblem('..', FILE)).toBeUndefined();
    expect(repoPathProblem('../..', FILE)).toMatch(/leaves/);
    expect(repoPathProblem('a/../../..', FILE)).toMatch(/leaves/);
  });
});

describe('specSourceProblems', () => {
  const spec = (text: string) => parseSpec(text, FILE, 'a').spec!;

  it('checks channels in the list, as chan::pkg, in [channel=...] and in [url=...]', () => {
    const problems = specSourceProblems(
      spec(
        [
          'name: a',
          'channels:',
          '  - conda-forge/label/../../evil',
          'dependencies:',
          '  - conda-forge/label/../../evil::numpy',
          '  - numpy[channel=file:///ANYWHERE/evilchan]',
          '  - scipy[url=https://evil.example/c/linux-64/scipy-1.0-0.conda]',
          '  - conda-forge::pandas',
        ].join('\n') + '\n',
      ),
      allow,
    );
    expect(problems.map((p) => [p.line, p.kind])).toEqual([
      [3, 'channel'],
      [5, 'channel'],
      [6, 'channel'],
      [7, 'channel'],
    ]);
    expect(problems[0]!.message).toMatch(/not a channel name: '\.\.'/);
    expect(problems[2]!.message).toMatch(/file:\/\/\/ANYWHERE\/evilchan.*not allowed by \[conda\] channels/);
  });
});

describe('widenings and allow-list-only changes', () => {
  const inv = (extra: string) =>
    parseInventory(`[conda]\nversion = 23.11.0\nchannels = conda-forge\n${extra}\n[environments]\na = REPLICATE\n`)
      .inventory!;

  it('reads the new inventory keys', () => {
    const a = allowListOf(
      inv('pip-git-hosts = github.com, file:///srv/git/\npip-indexes = https://p.example/simple\n'),
    );
    expect(a).toEqual({
      channels: ['conda-forge'],
      pipGitHosts: ['github.com', 'file:///srv/git/'],
      pipIndexes: ['https://p.example/simple'],
    });
    expect(allowListOf(inv(''))).toEqual({ channels: ['conda-forge'], pipGitHosts: [], pipIndexes: [] });
  });

  it('names what the head adds, never what it removes', () => {
    const base = { channels: ['conda-forge'], pipGitHosts: ['github.com'], pipIndexes: ['https://p.example/simple'] };
    expect(widenings(base, { ...base, channels: ['conda-forge/label/dev'] })).toEqual([]);
    expect(widenings(base, { channels: [], pipGitHosts: [], pipIndexes: [] })).toEqual([]);
    expect(
      widenings(base, {
        channels: ['conda-forge', 'conda-forge/label/../../evil', 'evil'],
        pipGitHosts: ['github.com', 'evil.example'],
        pipIndexes: ['https://p.example/simple/sub', 'https://evil.example/'],
      }),
    ).toEqual([
      "adds channel 'conda-forge/label/../../evil' to [conda] channels",
      "adds channel 'evil' to [conda] channels",
      "adds 'evil.example' to [conda] pip-git-hosts",
      "adds 'https://evil.example/' to [conda] pip-indexes",
    ]);
  });

  it('an allow-list-only change touches only channels, pip-git-hosts and pip-indexes of [conda]', () => {
    const base = '[conda]\nversion = 23.11.0\nchannels = conda-forge\n\n[environments]\na = REPLICATE\n';
    expect(onlyAllowListDiffers(base, base.replace('conda-forge', 'conda-forge, evil'))).toBe(true);
    expect(onlyAllowListDiffers(base, base.replace('channels', 'pip-indexes = https://x/\nchannels'))).toBe(true);
    expect(onlyAllowListDiffers(base, base.replace('a = REPLICATE', 'a = REPLICATE\nb = REPLICATE'))).toBe(false);
    expect(onlyAllowListDiffers(base, base.replace('23.11.0', '24.1.0'))).toBe(false);
    // a key named channels in another section is not the allow-list
    expect(onlyAllowListDiffers(base, base + 'channels = REPLICATE\n')).toBe(false);
  });
});

describe('pipSourcesOf (what adopt writes into the allow-list)', () => {
  it('collects git hosts, local git directories and index URLs', () => {
    const spec = parseSpec(
      [
        'name: a',
        'dependencies:',
        '  - pip',
        '  - pip:',
        '    - git+https://github.com/o/r.git@v1#egg=r',
        '    - s @ git+file:///srv/git/s@v2',
        '    - --extra-index-url https://p.example/simple',
        '    - numpy',
      ].join('\n') + '\n',
      FILE,
      'a',
    ).spec!;
    expect(pipSourcesOf([spec])).toEqual({
      pipGitHosts: ['file:///srv/git/', 'github.com'],
      pipIndexes: ['https://p.example/simple'],
    });
  });
});
