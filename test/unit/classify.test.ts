import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  classify,
  hintFor,
  isBareSpec,
  showsFailure,
  requestedVersion,
  specName,
  confineToSpec,
  type ClassificationDetail,
} from '../../scripts/core/classify.js';
import { parseSpec } from '../../scripts/core/spec.js';
import { formatCallBlock, timeoutLine } from '../../scripts/core/conda-log.js';
import { compareCondaVersions, nearestVersion, sortVersions } from '../../scripts/core/conda-version.js';
import { runCommand } from '../fixtures/command.js';
const runClassify = (c: Context) => runCommand('classify', c);
import { memoryOutput } from '../../scripts/cli/output.js';
import type { FailureClass } from '../../scripts/core/types.js';
import type { Context } from '../../scripts/app/context.js';

/** temp dirs of this file, removed after its tests */
const tempDirs: string[] = [];
const tracked = (dir: string): string => (tempDirs.push(dir), dir);
afterAll(() => tempDirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const CORPUS = '/work/shared/conda-errors';

/** Loose spec equality: whitespace, `==` vs `=`, trailing `*` and case do not matter. */
const loose = (s: string) => s.toLowerCase().replace(/\s+/g, '').replace(/==/g, '=').replace(/\*+$/, '');

function corresponds(c: ClassificationDetail, label: string): boolean {
  if (c.spec && loose(c.spec) === loose(label)) return true;
  if (c.package && loose(c.package) === loose(label)) return true;
  // the label names a spec whose name part is the package we found
  return c.package !== undefined && specName(label).toLowerCase() === c.package.toLowerCase();
}

const labels = readFileSync(join(CORPUS, 'LABELS.tsv'), 'utf8')
  .trim()
  .split('\n')
  .slice(1)
  .map((l) => l.split('\t'))
  .map(([file, cls, pkg]) => ({ file: file!, cls: cls as FailureClass, pkg: pkg ?? '' }));

describe('classify: labelled real logs', () => {
  it('covers every log file in the corpus', () => {
    const files = readdirSync(CORPUS)
      .filter((f) => f.endsWith('.txt'))
      .sort();
    expect(labels.map((l) => l.file).sort()).toEqual(files);
  });

  for (const { file, cls, pkg } of labels) {
    it(`${file} -> ${cls}${pkg ? ` (${pkg})` : ''}`, () => {
      const log = readFileSync(join(CORPUS, file), 'utf8');
      const c = classify(log);
      expect(c.class).toBe(cls);
      if (pkg) expect(corresponds(c, pkg), `spec=${c.spec} package=${c.package}`).toBe(true);
      // the excerpt is short and made of the log's own lines
      expect(c.excerpt.length).toBeGreaterThan(0);
      expect(c.excerpt.length).toBeLessThanOrEqual(16);
      const logLines = log
        .replace(/\r/g, '')
        .split('\n')
        .map((l) => l.trimEnd());
      for (const line of c.excerpt) {
        if (line.startsWith('… (')) continue;
        const text = line.replace(/…$/, '');
        expect(
          logLines.some((l) => l.startsWith(text)),
          line,
        ).toBe(true);
      }
    });
  }
});

/** Messages in the shapes the fake conda (and real conda/mamba/pip) print. */
/** The git repository and clone directory of the git-clone-failure case. */
const MISSING_REPO = 'file:///srv/git/missing.git';
const CLONE_DIR = '/tmp/pip-install-x/hlinkutils_abc';

const FAKE_STYLE: Array<{
  name: string;
  log: string;
  cls: FailureClass;
  pkg?: string;
  spec?: string;
  extra?: Partial<ClassificationDetail>;
}> = [
  {
    name: 'ResolvePackageNotFound with builds (conda 4.4-4.6 env create)',
    log: [
      'Solving environment: failed',
      '',
      'ResolvePackageNotFound:',
      '  - ipums_utils==1.2.0=py_0',
      '  - numpy==1.11.3=py36_0',
      '',
    ].join('\n'),
    cls: 'missing-version',
    pkg: 'ipums_utils',
    spec: 'ipums_utils==1.2.0=py_0',
  },
  {
    name: 'ResolvePackageNotFound mixing a bare name and pins names the bare one',
    log: 'ResolvePackageNotFound:\n  - numpy==1.11.3=py36_0\n  - nosuchpkg\n',
    cls: 'missing-package',
    pkg: 'nosuchpkg',
    spec: 'nosuchpkg',
  },
  {
    name: 'PackagesNotFoundError, versioned',
    log: [
      'Collecting package metadata (repodata.json): done',
      'Solving environment: failed',
      '',
      'PackagesNotFoundError: The following packages are not available from current channels:',
      '',
      '  - ipums_utils=1.2.0',
      '',
      'Current channels:',
      '',
      '  - file:///srv/channel/linux-64',
      '  - file:///srv/channel/noarch',
    ].join('\n'),
    cls: 'missing-version',
    pkg: 'ipums_utils',
    spec: 'ipums_utils=1.2.0',
  },
  {
    name: 'PackagesNotFoundError, bare name',
    log: [
      'PackagesNotFoundError: The following packages are not available from current channels:',
      '',
      '  - nosuchpkg',
      '',
      'Current channels:',
      '',
      '  - https://conda.anaconda.org/conda-forge/linux-64',
      '',
    ].join('\n'),
    cls: 'missing-package',
    pkg: 'nosuchpkg',
  },
  {
    name: 'LibMambaUnsatisfiableError: nothing provides requested bare name',
    log: [
      'LibMambaUnsatisfiableError: Encountered problems while solving:',
      '  - nothing provides requested nosuchpkg',
      '',
      'Could not solve for environment specs',
      '',
    ].join('\n'),
    cls: 'missing-package',
    pkg: 'nosuchpkg',
  },
  {
    name: 'LibMambaUnsatisfiableError: nothing provides requested name + version',
    log: [
      'LibMambaUnsatisfiableError: Encountered problems while solving:',
      '  - nothing provides requested ipums_utils 1.2.0**',
      '',
    ].join('\n'),
    cls: 'missing-version',
    pkg: 'ipums_utils',
    spec: 'ipums_utils 1.2.0**',
  },
  {
    name: 'micromamba: requested name does not exist',
    log: [
      'error    libmamba Could not solve for environment specs',
      '    The following package could not be installed',
      '    └─ nosuchpkg   does not exist (perhaps a typo or a missing channel).',
      'critical libmamba Could not solve for environment specs',
      '',
    ].join('\n'),
    cls: 'missing-package',
    pkg: 'nosuchpkg',
  },
  {
    name: 'classic UnsatisfiableError',
    log: [
      'Found conflicts! Looking for incompatible packages.',
      'failed',
      '',
      'UnsatisfiableError: The following specifications were found to be incompatible with each other:',
      '',
      'Package python conflicts for:',
      "numpy=1.11 -> python[version='>=2.7,<2.8.0a0']",
      'python=3.11',
      '',
    ].join('\n'),
    cls: 'unsatisfiable',
    pkg: 'python',
  },
  {
    name: 'libmamba conflict between requested specs',
    log: [
      'LibMambaUnsatisfiableError: Encountered problems while solving:',
      '  - package pandas-2.2.0-py312_0 requires python ' +
        '>=3.12,<3.13.0a0, but none of the providers can be installed',
      '',
      'Could not solve for environment specs',
      'The following packages are incompatible',
      '├─ pandas 2.2.0  is installable ...',
      '└─ python 3.8**  is not installable because it conflicts with any installable versions previously reported.',
      '',
    ].join('\n'),
    cls: 'unsatisfiable',
    pkg: 'pandas',
    spec: 'python >=3.12,<3.13.0a0',
  },
  {
    name: 'CondaHTTPError HTTP 000',
    log: [
      'CondaHTTPError: HTTP 000 CONNECTION FAILED for url ' +
        '<https://conda.internal.example/mpc/linux-64/repodata.json>',
      'Elapsed: -',
      '',
      'An HTTP error occurred when trying to retrieve this URL.',
      'HTTP errors are often intermittent, and a simple retry will get you on your way.',
      "'https://conda.internal.example/mpc/linux-64'",
      '',
    ].join('\n'),
    cls: 'channel-unreachable',
    extra: { url: 'https://conda.internal.example/mpc/linux-64/repodata.json' },
  },
  {
    name: 'micromamba 404 on repodata',
    log: [
      'critical libmamba Multiple errors occured:',
      '    Transfer finalized, status: 404 ' +
        '[https://conda.anaconda.org/nosuchchannel/linux-64/repodata.json] 2 bytes',
      '',
    ].join('\n'),
    cls: 'channel-unreachable',
    extra: { url: 'https://conda.anaconda.org/nosuchchannel/linux-64/repodata.json' },
  },
  {
    name: "conda's own network error without an exception class line is a channel failure",
    log: [
      'Collecting package metadata (current_repodata.json): failed',
      '',
      "SSLError(MaxRetryError('HTTPSConnectionPool(host=\\'repo.anaconda.com\\', port=443): Max " +
        'retries exceeded with url: /pkgs/main/linux-64/current_repodata.json (Caused by ' +
        "SSLError(SSLError(1, \\'[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed\\')))'))",
      '',
    ].join('\n'),
    cls: 'channel-unreachable',
    extra: { url: 'https://repo.anaconda.com/pkgs/main/linux-64/current_repodata.json' },
  },
  {
    name: 'a read timeout inside an HTTP error is a timeout',
    log: [
      'CondaHTTPError: HTTP 000 CONNECTION FAILED for url ' +
        '<https://conda.anaconda.org/conda-forge/noarch/repodata.json>',
      'Elapsed: -',
      '',
      "ReadTimeoutError(\"HTTPSConnectionPool(host='conda.anaconda.org', " +
        'port=443): Read timed out. (read timeout=9.15)")',
      '',
    ].join('\n'),
    cls: 'timeout',
    extra: { url: 'https://conda.anaconda.org/conda-forge/noarch/repodata.json' },
  },
  {
    name: 'Pip failed: no matching distribution',
    log: [
      'Ran pip subprocess with arguments:',
      "['/r/v23.11.0/builds/hlink/abc/bin/python', '-m', 'pip', 'install', '-U', '-r', " +
        "'/repo/env-specs/condaenv.x1.requirements.txt', '--exists-action=b']",
      'Pip subprocess output:',
      'Looking in links: /srv/wheelhouse',
      '',
      'Pip subprocess error:',
      'ERROR: Could not find a version that satisfies the requirement requests==9.9 (from versions: 2.31.0)',
      'ERROR: No matching distribution found for requests==9.9',
      '',
      'failed',
      '',
      'CondaEnvException: Pip failed',
    ].join('\n'),
    cls: 'pip-failure',
    pkg: 'requests',
    spec: 'requests==9.9',
  },
  {
    name: 'retried timeouts that pip recovered from do not hide the pip failure',
    log: [
      'WARNING: Retrying (Retry(total=4, connect=None, read=None)) after ' +
        "connection broken by 'ReadTimeoutError(\"HTTPSConnectionPool(host='pypi.org', " +
        'port=443): Read timed out. (read timeout=15)")\': /simple/foo/',
      'ERROR: Could not find a version that satisfies the requirement foo==1.0 (from versions: none)',
      'ERROR: No matching distribution found for foo==1.0',
      '',
    ].join('\n'),
    cls: 'pip-failure',
    pkg: 'foo',
    spec: 'foo==1.0',
  },
  {
    name: "pip's own SSL trouble is a pip failure, not a conda channel",
    log: [
      'Pip subprocess output:',
      'Collecting foo==1.0',
      '',
      'Pip subprocess error:',
      "ERROR: Could not install packages due to an OSError: HTTPSConnectionPool(host='pypi.org', " +
        'port=443): Max retries exceeded with url: /simple/foo/ (Caused by ' +
        "SSLError(SSLCertVerificationError(1, 'certificate verify failed')))",
      '',
      'CondaEnvException: Pip failed',
      '',
    ].join('\n'),
    cls: 'pip-failure',
    pkg: 'foo',
  },
  {
    name: 'pip: wheel build failure of a pyproject package',
    log: [
      "  Building wheel for pycocotools (pyproject.toml): finished with status 'error'",
      'Failed to build pycocotools',
      '',
      'Pip subprocess error:',
      '  error: subprocess-exited-with-error',
      '  × Building wheel for pycocotools (pyproject.toml) did not run successfully.',
      '  ERROR: Failed building wheel for pycocotools',
      'ERROR: Could not build wheels for pycocotools, which is required to install pyproject.toml-based projects',
      '',
      'CondaEnvException: Pip failed',
      '',
    ].join('\n'),
    cls: 'pip-failure',
    pkg: 'pycocotools',
  },
  {
    name: "pip: resolver conflict names the user's requirement",
    log: [
      'Pip subprocess error:',
      'ERROR: Cannot install -r /tmp/condaenv.abc.requirements.txt (line 3) and ' +
        'numpy==1.19.0 because these package versions have conflicting dependencies.',
      '',
      'The conflict is caused by:',
      '    The user requested numpy==1.19.0',
      '    pandas 2.0.0 depends on numpy>=1.20.3',
      '',
      'ERROR: ResolutionImpossible: for help visit https://pip.pypa.io/en/latest/topics/dependency-resolution/',
      '',
    ].join('\n'),
    cls: 'pip-failure',
    pkg: 'numpy',
    spec: 'numpy==1.19.0',
  },
  {
    name: 'micromamba: host name not resolved',
    log: [
      'critical libmamba Multiple errors occured:',
      "    Download error (6) Couldn't resolve host name " +
        '[https://conda.anaconda.org/conda-forge/linux-64/repodata.json]',
      '    Subdir conda-forge/linux-64 not loaded!',
      '',
    ].join('\n'),
    cls: 'channel-unreachable',
    extra: { url: 'https://conda.anaconda.org/conda-forge/linux-64/repodata.json' },
  },
  {
    name: 'libmamba strict channel priority',
    log: [
      'LibMambaUnsatisfiableError: Encountered problems while solving:',
      '  - package pytorch-2.0.1-py3.10_cuda11.8_cudnn8.7.0_0 is excluded by strict repo priority',
      '',
    ].join('\n'),
    cls: 'unsatisfiable',
    pkg: 'pytorch',
  },
  {
    name: 'git clone failure inside a Pip failed block',
    log: [
      'Pip subprocess output:',
      'Collecting hlinkutils@ git+file:///srv/git/missing.git@v1.0',
      '  Cloning file:///srv/git/missing.git (to revision v1.0) to /tmp/pip-install-x/hlinkutils_abc',
      `  Running command git clone --filter=blob:none --quiet ${MISSING_REPO} ${CLONE_DIR}`,
      '',
      'Pip subprocess error:',
      "  fatal: '/srv/git/missing.git' does not appear to be a git repository",
      '  fatal: Could not read from remote repository.',
      '  error: subprocess-exited-with-error',
      '',
      `  × git clone --filter=blob:none --quiet ${MISSING_REPO} ${CLONE_DIR} did not run successfully.`,
      '  │ exit code: 128',
      '  ╰─> See above for output.',
      '',
      'failed',
      '',
      'CondaEnvException: Pip failed',
    ].join('\n'),
    cls: 'git-clone-failure',
    pkg: 'hlinkutils',
    spec: 'git+file:///srv/git/missing.git@v1.0',
  },
  {
    name: 'bad git ref',
    log: [
      'Collecting git+https://github.com/o/tool.git@v9#egg=tool',
      '  Cloning https://github.com/o/tool.git (to revision v9) to /tmp/pip-req-build-1',
      '  Running command git checkout -q v9',
      "  error: pathspec 'v9' did not match any file(s) known to git",
      '',
    ].join('\n'),
    cls: 'git-clone-failure',
    pkg: 'tool',
    spec: 'git+https://github.com/o/tool.git@v9#egg=tool',
  },
  {
    name: 'git not installed',
    log: [
      'Collecting git+https://github.com/o/tool.git',
      "ERROR: Cannot find command 'git' - do you have 'git' installed and in your PATH?",
      '',
    ].join('\n'),
    cls: 'git-clone-failure',
    pkg: 'tool',
  },
  {
    name: 'legacy noarch pre-link failure',
    log: [
      'Preparing transaction: done',
      'Verifying transaction: done',
      'Executing transaction: failed',
      '',
      'LinkError: pre-link script failed for package mpc::ipums_utils-0.3.1-py_0',
      'location of failed script: /r/builds/hlink/abc/bin/.ipums_utils-pre-link.sh',
      '==> script messages <==',
      '<None>',
      '',
    ].join('\n'),
    cls: 'unknown',
    pkg: 'ipums_utils',
    spec: 'ipums_utils-0.3.1-py_0',
    extra: { legacyNoarch: true },
  },
  {
    name: 'prefix already exists is unknown',
    log: '\nCondaValueError: prefix already exists: /r/builds/hlink/abc\n',
    cls: 'unknown',
  },
];

describe('classify: message shapes', () => {
  for (const t of FAKE_STYLE) {
    it(t.name, () => {
      const c = classify(t.log);
      expect(c.class).toBe(t.cls);
      if (t.pkg) expect(c.package).toBe(t.pkg);
      if (t.spec) expect(c.spec).toBe(t.spec);
      if (t.extra) expect(c).toMatchObject(t.extra);
      if (!t.extra?.legacyNoarch) expect(c.legacyNoarch).toBeUndefined();
    });
  }

  it("maps the adapter's own kill line to timeout, whatever came before it", () => {
    const log =
      'Solving environment: ...working... \nLibMambaUnsatisfiableError: Encountered problems while solving:\n' +
      `  - nothing provides requested foo\n${timeoutLine(600)}\n`;
    const c = classify(log);
    expect(c.class).toBe('timeout');
    expect(c.excerpt.at(-1)).toBe('conda-gitops: timed out after 600 s');
  });

  it('handles CRLF, ANSI colours and progress-bar redraws', () => {
    const log =
      '\x1b[31mCollecting package metadata: \\\r|\r/\rdone\x1b[0m\r\n\r\n' +
      'PackagesNotFoundError: The following packages are not available from current channels:\r\n\r\n' +
      '  - \x1b[1mnosuchpkg\x1b[0m\r\n';
    const c = classify(log);
    expect(c).toMatchObject({ class: 'missing-package', package: 'nosuchpkg', spec: 'nosuchpkg' });
    expect(c.excerpt.every((l) => !/[\r\x1b]/.test(l))).toBe(true);
  });

  it('classifies the last failed call of a per-env log, not an earlier one', () => {
    const at = new Date('2024-05-01T10:00:00Z');
    const call = (argv: string[], stdout: string, stderr: string, code: number, timedOut = false) =>
      formatCallBlock({ argv, stdout, stderr, code, seconds: 1.5, timedOut, startedAt: at });
    const log =
      call(
        ['conda', 'env', 'create', '-f', 'e.yml', '-p', '/p'],
        'Pip subprocess output:\nSuccessfully installed requests-2.31.0\n',
        '',
        0,
      ) +
      call(
        ['conda', 'install', '-y', '-p', '/p', 'ipums_utils'],
        '',
        '\nCondaHTTPError: HTTP 000 CONNECTION FAILED for url <file:///srv/channel/noarch/repodata.json>\n',
        1,
      ) +
      call(
        ['conda', 'install', '-y', '-p', '/p', 'ipums_utils=0.3'],
        '',
        '\nPackagesNotFoundError: The following packages are not available from current channels:\n\n' +
          '  - ipums_utils=0.3\n',
        1,
      ) +
      call(['conda', 'list', '--json', '-p', '/p'], '[]\n', '', 0);
    const c = classify(log);
    expect(c).toMatchObject({ class: 'missing-version', spec: 'ipums_utils=0.3' });
    expect(c.excerpt.join('\n')).not.toMatch(/==> conda-gitops call|<== exit|--- stderr/);
  });

  it('keeps the excerpt short and says how much was left out', () => {
    const items = Array.from({ length: 40 }, (_, i) => `  - pkg${i}==1.${i}=py_0`);
    const c = classify(`ResolvePackageNotFound:\n${items.join('\n')}\n`);
    expect(c.excerpt.length).toBe(16);
    expect(c.excerpt.at(-1)).toBe('… (26 more lines in the log)');
  });

  it('an empty log is unknown with an empty excerpt', () => {
    expect(classify('')).toEqual({ class: 'unknown', excerpt: [] });
  });
});

describe('spec helpers', () => {
  it('splits names and versions loosely', () => {
    expect(specName('conda-forge::numpy>=1.20,<2')).toBe('numpy');
    expect(specName('ld_impl_linux-64=2.40*')).toBe('ld_impl_linux-64');
    expect(specName('zlib ==1.2.13 h5eee18b_0')).toBe('zlib');
    expect(specName('torch==1.10.1+cu113')).toBe('torch');
    expect(isBareSpec('quarto')).toBe(true);
    expect(isBareSpec('gffread =* *')).toBe(true);
    expect(isBareSpec('pyhton =3.10 *')).toBe(false);
    expect(requestedVersion('numpy==1.11.3=py36_0')).toBe('1.11.3');
    expect(requestedVersion('mkl=2022.2.1*')).toBe('2022.2.1');
    expect(requestedVersion('zlib ==1.2.13 h5eee18b_0')).toBe('1.2.13');
    expect(requestedVersion('quarto')).toBeUndefined();
  });
});

describe('conda version order', () => {
  it('sorts like conda (the documented VersionOrder sequence)', () => {
    // conda's own docs (conda/models/version.py); `1.1_` and `0.4 < 0.4.0` are special cases we do not need
    const documented = [
      '0.4.1.rc',
      '0.4.1',
      '0.5a1',
      '0.5b3',
      '0.5',
      '0.9.6',
      '0.960923',
      '1.0',
      '1.1dev1',
      '1.1a1',
      '1.1.0dev1',
      '1.1.a1',
      '1.1.0rc1',
      '1.1.0',
      '1.1.0post1',
      '1.1post1',
      '1996.07.12',
      '1!0.4.1',
      '1!3.1.1.6',
      '2!0.4.1',
    ];
    expect(sortVersions([...documented].reverse())).toEqual(documented);
    expect(compareCondaVersions('1.1.0dev1', '1.1.dev1')).toBe(0);
    expect(compareCondaVersions('1.1', '1.1.0')).toBe(0);
    expect(compareCondaVersions('0.4.1.rc', '0.4.1.RC')).toBe(0);
    expect(compareCondaVersions('1.1.0post1', '1.1.post1')).toBe(0);
  });

  it('agrees with rattler on real version lists', async () => {
    const { Version } = await import('@conda-org/rattler');
    const versions = [
      '1.10.0',
      '1.9',
      '1.9.1',
      '1.0a1',
      '1.0',
      '1.0.post1',
      '1.0.dev0',
      '2!0.1',
      '2022.2.1',
      '2022.10',
      '3.12.0rc1',
      '3.12.0',
      '3.11.5',
      '0.1.dev0',
      '1.21.6',
      '1.21.10',
      '4.3.22',
      '4.3.31',
      '23.11.0',
      '1.2.3b1',
    ];
    const byRattler = [...versions].sort((a, b) => new Version(a).compare(new Version(b)));
    expect(sortVersions(versions)).toEqual(byRattler);
  });

  it('suggests the nearest version on the same line, preferring the next newer', () => {
    expect(nearestVersion('1.2.0', ['0.9', '1.1.0', '1.2.3', '1.2.5', '1.3.0'])).toBe('1.2.3');
    expect(nearestVersion('1.2.9', ['1.1.0', '1.2.3', '1.2.5', '2.0'])).toBe('1.2.5');
    expect(nearestVersion('2022.2.1', ['2021.4.0', '2023.0.0'])).toBe('2023.0.0');
    expect(nearestVersion('3.12', ['3.12', '3.13'])).toBe('3.12');
    expect(nearestVersion('1.0', [])).toBeUndefined();
  });
});

describe('hintFor', () => {
  it('missing-version with the channel queried: available versions, nearest and the fix command', () => {
    const h = hintFor({
      class: 'missing-version',
      package: 'ipums_utils',
      spec: 'ipums_utils=1.2.0',
      available: ['1.3.0', '1.1.0', '1.2.4'],
      excerpt: [],
    });
    expect(h).toBe(
      'version 1.2.0 of ipums_utils is not in the channel; available: 1.1.0, 1.2.4, 1.3.0; nearest 1.2.4; ' +
        'run `conda-gitops fix --accept-nearest` to pin it',
    );
  });

  it('missing-version without a channel query points at conda search', () => {
    expect(hintFor({ class: 'missing-version', package: 'mkl', spec: 'mkl=2022.2.1*', excerpt: [] })).toMatch(
      /version 2022\.2\.1 of mkl .*`conda search mkl`/,
    );
  });

  it('a caller-computed nearest wins, and long version lists are cut', () => {
    const available = Array.from({ length: 30 }, (_, i) => `1.${i}`);
    const h = hintFor({
      class: 'missing-version',
      package: 'p',
      spec: 'p=1.99',
      available,
      nearest: '1.29',
      excerpt: [],
    } as ClassificationDetail);
    expect(h).toContain('nearest 1.29');
    expect(h).toContain('(and 18 older)');
  });

  it('legacy noarch failures point at [legacy-noarch]', () => {
    expect(
      hintFor({ class: 'unknown', package: 'ipums_utils', legacyNoarch: true, excerpt: [] } as ClassificationDetail),
    ).toMatch(/ipums_utils .*\[legacy-noarch\] in inventory\.ini/);
  });

  it('a symlink a build planted where the tool writes is unsafe-prefix: the owner removes what planted it', () => {
    const h = hintFor({
      class: 'unsafe-prefix',
      excerpt: [
        '/srv/conda/v4.3.22/builds/vars/0123456789ab/etc/conda/activate.d is a symlink in a built prefix: ' +
          'not written through (something the build ran planted it)',
      ],
    });
    expect(h).toMatch(/^etc\/conda\/activate\.d is a symlink/);
    expect(h).toMatch(/a pip build backend or a package's post-link script/);
    expect(h).toMatch(/remove the package or pip entry that creates it from the spec/);
    expect(h).not.toMatch(/unrecognised/);
  });

  it('gives every class its own hint naming what is at fault', () => {
    const classes: FailureClass[] = [
      'missing-package',
      'missing-version',
      'unsatisfiable',
      'pip-failure',
      'git-clone-failure',
      'channel-unreachable',
      'timeout',
      'unsafe-prefix',
      'unknown',
    ];
    const hints = classes.map((cls) =>
      hintFor({
        class: cls,
        package: 'pkgx',
        spec: 'pkgx==1.0',
        url: 'https://x.example/repodata.json',
        excerpt: [],
      } as ClassificationDetail),
    );
    expect(new Set(hints).size).toBe(classes.length);
    hints.slice(0, 5).forEach((h) => expect(h).toContain('pkgx'));
    hints.slice(5, 7).forEach((h) => expect(h).toContain('https://x.example/repodata.json'));
  });
});

describe('conda-gitops classify', () => {
  const ctx = (positionals: string[], json = false) => {
    const out = memoryOutput(json);
    return { out, ctx: { options: {}, positionals, out, repo: '.', env: process.env } };
  };

  it('prints the class, details and hint as JSON for a file', async () => {
    const { out, ctx: c } = ctx([join(CORPUS, 'missing-version__sugar-55.txt')]);
    expect(await runClassify(c)).toBe(0);
    const r = JSON.parse(out.lines.join('\n'));
    expect(r).toMatchObject({ class: 'missing-version', package: 'pytorch3d', spec: 'pytorch3d==0.7.4' });
    expect(r.hint).toContain('pytorch3d');
    expect(Object.keys(r).slice(0, 2)).toEqual(['file', 'class']);
  });

  it('under --json, the result goes to the machine channel', async () => {
    const { out, ctx: c } = ctx([join(CORPUS, 'timeout__mamba-3454.txt')], true);
    expect(await runClassify(c)).toBe(0);
    expect(out.results).toEqual([expect.objectContaining({ class: 'timeout', spec: 'cmake-3.29.6-h400e5d1_0' })]);
  });

  it('a log without a failure says so; every failure log of the corpus shows one', async () => {
    const dir = tracked(mkdtempSync(join(tmpdir(), 'cg-classify-')));
    const ok = join(dir, 'ok.log');
    writeFileSync(
      ok,
      'Collecting package metadata (repodata.json): done\nSolving environment: done\n' +
        'Preparing transaction: done\nVerifying transaction: done\nExecuting transaction: done\n',
    );
    const human = ctx([ok]);
    expect(await runClassify(human.ctx)).toBe(0);
    expect(JSON.parse(human.out.lines.join('\n'))).toEqual({
      file: ok,
      failure: false,
      message: `no failure found in ${ok}: no error line and no known failure`,
    });
    const json = ctx([ok], true);
    expect(await runClassify(json.ctx)).toBe(0);
    expect(json.out.results).toEqual([expect.objectContaining({ file: ok, failure: false })]);
    for (const f of readdirSync(CORPUS).filter((x) => x.endsWith('.txt')))
      expect([f, showsFailure(readFileSync(join(CORPUS, f), 'utf8'))]).toEqual([f, true]);
  });

  it('a missing file is a usage error (exit 2) naming it', async () => {
    const { ctx: c, out } = ctx(['/nonexistent/build.log']);
    expect(await runClassify(c)).toBe(2);
    expect(out.errors.join('\n')).toMatch(/cannot read log file '\/nonexistent\/build\.log'/);
  });
});

describe('confineToSpec: file contents never reach a message unless the spec wrote them', () => {
  const PASSWD = 'root:x:0:0:root:/root:/bin/bash';
  const spec = parseSpec(
    'name: a\ndependencies:\n  - pip\n  - pip:\n    - -r reqs.txt\n    - rich==13.7.0\n',
    'env-specs/a.yml',
    'a',
  ).spec!;
  const log = [
    'Installing pip dependencies: ...working... Pip subprocess error:',
    `ERROR: Invalid requirement: '${PASSWD}' (from line 1 of /work/repo/env-specs/reqs.txt)`,
    'Hint: = is not a valid operator. Did you mean == ? (from line 1 of /work/repo/env-specs/reqs.txt)',
    'ERROR: Could not find a version that satisfies the requirement ghp_SECRET123 (from -r reqs.txt (line 2))',
    'ERROR: No matching distribution found for ghp_SECRET123',
    '',
    'failed',
    '',
    'CondaEnvException: Pip failed',
  ].join('\n');

  it('classify alone quotes the file (the leak)', () => {
    expect(JSON.stringify(classify(log))).toContain(PASSWD);
  });

  it('the hint, spec, package and excerpt of a confined failure do not', () => {
    const c = confineToSpec(classify(log), spec);
    expect(c.class).toBe('pip-failure');
    expect(JSON.stringify(c)).not.toContain('root:x');
    expect(JSON.stringify(c)).not.toContain('SECRET');
    expect(hintFor(c)).not.toContain('root:x');
    expect(c.excerpt.join('\n')).toMatch(/not shown/);
  });

  it('keeps what the spec wrote', () => {
    const own = [
      'Pip subprocess error:',
      'ERROR: Could not find a version that satisfies the requirement rich==13.7.0 (from versions: 13.0.0)',
      'ERROR: No matching distribution found for rich==13.7.0',
      'CondaEnvException: Pip failed',
    ].join('\n');
    const c = confineToSpec(classify(own), spec);
    expect(c.spec).toBe('rich==13.7.0');
    expect(c.excerpt.join('\n')).toContain('No matching distribution found for rich==13.7.0');
  });
});

describe('classify: micromamba / mamba 2 pip failures', () => {
  // libmamba runs pip `--no-input --quiet` on a temporary requirements file: no "Pip subprocess error:", no
  // "Collecting" line, and the call ends with libmamba's own line
  const tail = ['critical libmamba pip failed to install packages'];
  it('a pip error pip reports in its own words is a pip-failure, the excerpt ending with libmamba`s line', () => {
    const log = [
      'Executing transaction: done',
      "ERROR: Wheel 'tidyup' located at /srv/wheelhouse/tidyup-0.4.2-py3-none-any.whl is invalid.",
      ...tail,
    ].join('\n');
    const c = classify(log);
    expect(c.class).toBe('pip-failure');
    expect(c.excerpt[0]).toMatch(/^ERROR: Wheel 'tidyup'/);
    expect(c.excerpt.at(-1)).toBe('critical libmamba pip failed to install packages');
    expect(hintFor(c)).toMatch(/^pip could not install/);
  });
  it('with pip`s usual lines, the requirement at fault is named', () => {
    const log = [
      'ERROR: Could not find a version that satisfies the requirement requests==2.31.0 (from versions: none)',
      'ERROR: No matching distribution found for requests==2.31.0',
      ...tail,
    ].join('\n');
    expect(classify(log)).toMatchObject({ class: 'pip-failure', package: 'requests', spec: 'requests==2.31.0' });
  });
  it('pip printing nothing at all (--quiet) is still a pip failure', () => {
    expect(classify(['Executing transaction: done', ...tail].join('\n')).class).toBe('pip-failure');
  });
});
