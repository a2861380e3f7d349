/**
 * The fake conda behaves like real conda where conda-gitops depends on it: installer, --version, info,
 * env create with conda + pip + git deps, export per version, error text per version family, faults.
 */
import { execFile } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  hostPython,
  installerPath,
  installerTemplate,
  installFakeConda,
  makeGitPackage,
  runCondaAsync,
  writeChannel,
  writeWheel,
  type FakeConda,
} from '../fake-conda/index.js';

const VERSIONS = ['4.3.22', '4.8.5', '23.11.0'] as const;
type V = (typeof VERSIONS)[number];

let tmp: string;
let channel: string;
let wheelhouse: string;
let gitUrl: string;
const conda = {} as Record<V, FakeConda>;

/** env for pip steps: only the test wheelhouse, never an index */
const pipEnv = (): NodeJS.ProcessEnv => ({
  ...process.env,
  PIP_NO_INDEX: '1',
  PIP_FIND_LINKS: wheelhouse,
  PIP_CONFIG_FILE: '/dev/null',
});

function envFile(name: string, deps: string[], pip?: string[], channels = [channel]): string {
  const lines = [
    `name: ${name}`,
    'channels:',
    ...channels.map((c) => `  - ${c}`),
    'dependencies:',
    ...deps.map((d) => `  - ${d}`),
  ];
  if (pip) lines.push('  - pip:', ...pip.map((p) => `    - ${p}`));
  const path = join(tmp, 'specs', `${name}.yml`);
  mkdirSync(join(tmp, 'specs'), { recursive: true });
  writeFileSync(path, lines.join('\n') + '\n');
  return path;
}

const exec = promisify(execFile);
/** run the env's python; resolves to its stdout, rejects when it fails */
const py = async (prefix: string, code: string): Promise<string> =>
  (await exec(join(prefix, 'bin', 'python'), ['-c', code])).stdout.trim();
const run = runCondaAsync;
/** the installer run directly, with the host python resolved once (a pyenv shim per run is slow) */
const installer = (path: string, args: string[], env: NodeJS.ProcessEnv = {}) =>
  new Promise<{ status: number | null; stdout: string; stderr: string }>((res) => {
    execFile(
      'bash',
      [path, ...args],
      {
        env: {
          ...process.env,
          FAKE_CONDA_PYTHON: hostPython().python,
          FAKE_CONDA_PYTHON_VERSION: hostPython().version,
          ...env,
        },
      },
      (err, stdout, stderr) => res({ status: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'fake-conda-test-'));
  channel = writeChannel(join(tmp, 'channel'), [
    { name: 'python', version: '3.11.7', module: false },
    { name: 'pip', version: '23.2.1', depends: ['python >=3.7'], noarch: 'python' },
    { name: 'numpy', version: '1.21.0', depends: ['python'] },
    { name: 'numpy', version: '1.26.4', depends: ['python'] },
    { name: 'requests', version: '2.31.0', depends: ['python', 'idna'], noarch: 'python' },
    { name: 'idna', version: '3.4', noarch: 'python' },
    { name: 'seaborn', version: '0.13.0', depends: ['numpy >=1.25'], noarch: 'python' },
    { name: 'needs-libfoo', version: '1.0', depends: ['libfoo >=2'] },
    { name: 'zlib', version: '1.2.13', module: false, depends: ['__glibc >=2.17'] },
    { name: 'ipums_utils', version: '2.1', legacyNoarchPython: true, build: 'py_0' },
    { name: 'fontpkg', version: '1.0', noarch: true, module: false },
  ]);
  wheelhouse = join(tmp, 'wheels');
  writeWheel(wheelhouse, 'tidyup', '0.4.2');
  writeWheel(wheelhouse, 'Data_Tools', '1.0.1');
  gitUrl = makeGitPackage(join(tmp, 'src', 'hlinkx'), 'hlinkx', '3.0.1').url;
  for (const v of VERSIONS) conda[v] = installFakeConda(join(tmp, `conda-${v}`), v, { channels: [channel] });
}, 120_000);

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

// Tests run concurrently (each spawns processes and waits); they share the three installations
// but never each other's envs, so none of them depends on another's order.
describe.concurrent('installer', () => {
  it('takes the conda version from its file name, else FAKE_CONDA_VERSION, else 23.11.0', async () => {
    for (const v of VERSIONS) expect((await run(conda[v], ['--version'])).stdout).toBe(`conda ${v}\n`);
    const template = installerTemplate(join(tmp, 'installers'));
    expect(template).toContain('{version}');
    const [tpl, plain, dflt] = await Promise.all([
      installer(template.replace('{version}', '4.8.5'), ['-b', '-p', join(tmp, 'tpl')]),
      installer(installerPath(), ['-b', '-p', join(tmp, 'plain')], { FAKE_CONDA_VERSION: '4.14.0' }),
      installer(installerPath(), ['-b', '-p', join(tmp, 'dflt')], { FAKE_CONDA_VERSION: '' }),
    ]);
    expect([tpl.status, plain.status, dflt.status]).toEqual([0, 0, 0]);
    expect((await run(join(tmp, 'tpl', 'bin', 'conda'), ['-V'])).stdout).toBe('conda 4.8.5\n');
    expect((await run(join(tmp, 'plain', 'bin', 'conda'), ['--version'])).stdout).toBe('conda 4.14.0\n');
    expect((await run(join(tmp, 'dflt', 'bin', 'conda'), ['--version'])).stdout).toBe('conda 23.11.0\n');

    // an existing prefix needs -u; -u replaces the conda version in place
    const again = await installer(template.replace('{version}', '4.8.5'), ['-b', '-p', join(tmp, 'plain')]);
    expect(again.status).toBe(1);
    expect(again.stderr).toContain(`ERROR: File or directory already exists: '${join(tmp, 'plain')}'`);
    expect(again.stderr).toContain('If you want to update an existing installation, use the -u option.');
    expect(
      (await installer(template.replace('{version}', '4.8.5'), ['-b', '-u', '-p', join(tmp, 'plain')])).status,
    ).toBe(0);
    expect((await run(join(tmp, 'plain', 'bin', 'conda'), ['--version'])).stdout).toBe('conda 4.8.5\n');
    expect(readdirSync(join(tmp, 'plain', 'conda-meta')).filter((f) => f.startsWith('conda-'))).toEqual([
      'conda-4.8.5-py_0.json',
    ]);
  }, 120_000);

  it('lays out a Miniconda-like root', () => {
    const root = conda['23.11.0'].prefix;
    for (const p of ['bin/conda', 'condabin/conda', 'envs', 'pkgs', 'conda-meta/history', '.condarc'])
      expect(existsSync(join(root, p)), p).toBe(true);
    expect(readdirSync(join(root, 'conda-meta'))).toContain('conda-23.11.0-py_0.json');
  });

  it('bin/conda works by absolute path from any cwd with an empty environment', async () => {
    const r = await run(conda['23.11.0'], ['info', '--json'], { cwd: '/', env: {} });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).conda_version).toBe('23.11.0');
  });
});

describe.concurrent('info and env list', () => {
  it('info --json has the safe key subset, channels with subdirs', async () => {
    const fake = conda['4.8.5'];
    const info = JSON.parse((await run(fake, ['info', '--json'])).stdout);
    for (const k of [
      'conda_version',
      'root_prefix',
      'envs_dirs',
      'pkgs_dirs',
      'channels',
      'platform',
      'envs',
      'default_prefix',
    ])
      expect(info).toHaveProperty(k);
    expect(info.conda_version).toBe('4.8.5');
    expect(info.root_prefix).toBe(fake.prefix);
    // then ~/.conda/envs and ~/.conda/pkgs, as real conda (test/real-conda, probe install)
    expect(info.envs_dirs).toEqual([
      join(fake.prefix, 'envs'),
      join(fake.prefix, '.fake-conda', 'home', '.conda', 'envs'),
    ]);
    expect(info.pkgs_dirs).toEqual([
      join(fake.prefix, 'pkgs'),
      join(fake.prefix, '.fake-conda', 'home', '.conda', 'pkgs'),
    ]);
    expect(info.channels).toEqual([`${channel}/linux-64`, `${channel}/noarch`]);
    expect(info.platform).toBe('linux-64');
    expect(info.envs[0]).toBe(fake.prefix);
  });

  it('env list --json and info --envs list the root, named envs and envs created by path', async () => {
    const fake = conda['4.8.5'];
    const byPath = join(tmp, 'elsewhere', 'env1');
    const [a, b] = await Promise.all([
      run(fake, ['create', '-y', '-q', '-n', 'named', 'idna']),
      run(fake, ['create', '-y', '-q', '-p', byPath, 'idna']),
    ]);
    expect([a.code, b.code]).toEqual([0, 0]);
    const envs: string[] = JSON.parse((await run(fake, ['env', 'list', '--json'])).stdout).envs;
    expect(envs[0]).toBe(fake.prefix);
    expect(envs).toContain(byPath);
    expect(envs).toContain(join(fake.prefix, 'envs', 'named'));
    expect(envs.slice(1)).toEqual([...envs.slice(1)].sort());
    expect((await run(fake, ['info', '--envs'])).stdout).toMatch(/^named\s+\/.*\/envs\/named$/m);
    expect((await run(fake, ['env', 'remove', '-y', '-p', byPath])).code).toBe(0);
    expect(JSON.parse((await run(fake, ['env', 'list', '--json'])).stdout).envs).not.toContain(byPath);
  });
});

describe.concurrent('env create', () => {
  it('conda deps + wheelhouse pip + git+file: what python imports agrees with conda list --json', async () => {
    const fake = conda['23.11.0'];
    const prefix = join(tmp, 'envs', 'story');
    const file = envFile(
      'story',
      ['python=3.11', 'numpy=1.21', 'requests', 'zlib', 'pip'],
      ['tidyup==0.4.2', 'data-tools', gitUrl],
    );
    const r = await run(fake, ['env', 'create', '-f', file, '-p', prefix], { env: pipEnv() });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Ran pip subprocess with arguments:');
    expect(r.stdout).toContain('conda activate');
    const listed = JSON.parse((await run(fake, ['list', '--json', '-p', prefix])).stdout) as Array<
      Record<string, string>
    >;
    const byName = Object.fromEntries(listed.map((e) => [e.name, e]));
    expect(Object.keys(byName).sort()).toEqual([
      'data-tools',
      'hlinkx',
      'idna',
      'numpy',
      'pip',
      'python',
      'requests',
      'tidyup',
      'zlib',
    ]);
    // list --json names a file:// channel by its last path segment, base_url is the URL (real conda, test/real-conda)
    expect(byName.numpy).toMatchObject({
      version: '1.21.0',
      channel: channel.split('/').pop(),
      base_url: channel,
      platform: 'linux-64',
    });
    for (const n of ['tidyup', 'data-tools', 'hlinkx'])
      expect(byName[n]).toMatchObject({ channel: 'pypi', build_string: 'pypi_0', platform: 'pypi' });
    const importable = listed.filter((x) => !['python', 'pip', 'zlib'].includes(x.name));
    const modules = importable.map((e) => e.name.replace(/-/g, '_'));
    const versions = JSON.parse(
      await py(
        prefix,
        'import importlib, json; ' +
          `print(json.dumps([importlib.import_module(m).__version__ for m in ${JSON.stringify(modules)}]))`,
      ),
    );
    expect(versions).toEqual(importable.map((e) => e.version));
    expect(await py(prefix, 'import sys; print(sys.prefix)')).toBe(prefix);
    await expect(py(prefix, 'import zlib_fake_nothing')).rejects.toThrow();
    // pip writes PEP 610 direct_url.json itself for the VCS install
    const sp = join(prefix, 'lib', readdirSync(join(prefix, 'lib'))[0], 'site-packages');
    const direct = JSON.parse(readFileSync(join(sp, 'hlinkx-3.0.1.dist-info', 'direct_url.json'), 'utf8'));
    expect(direct.vcs_info.vcs).toBe('git');
    // conda-meta record fields and a real history block
    const meta = readdirSync(join(prefix, 'conda-meta'));
    const rec = JSON.parse(
      readFileSync(join(prefix, 'conda-meta', meta.find((f) => f.startsWith('requests-')) as string), 'utf8'),
    );
    expect(rec).toMatchObject({
      name: 'requests',
      version: '2.31.0',
      channel: `${channel}/noarch`,
      subdir: 'noarch',
      noarch: 'python',
      requested_spec: 'requests',
    });
    expect(rec.files.length).toBeGreaterThan(0);
    const history = readFileSync(join(prefix, 'conda-meta', 'history'), 'utf8');
    expect(history).toMatch(/^==> \d{4}-\d\d-\d\d \d\d:\d\d:\d\d <==\n# cmd: .*env create/m);
    expect(history).toContain(`+${channel}/linux-64::numpy-1.21.0-`);
    expect(history).toContain("# update specs: ['python=3.11', 'numpy=1.21', 'requests', 'zlib', 'pip']");
    // the requirements file conda wrote next to the env file is gone again
    expect(readdirSync(join(tmp, 'specs')).filter((f) => f.startsWith('condaenv.'))).toEqual([]);
  }, 120_000);

  it('refuses an existing env without --force; --force recreates it', async () => {
    const fake = conda['4.8.5'];
    const prefix = join(tmp, 'envs', 'twice');
    const file = envFile('twice', ['idna']);
    expect((await run(fake, ['env', 'create', '-q', '-f', file, '-p', prefix])).code).toBe(0);
    const again = await run(fake, ['env', 'create', '-f', file, '-p', prefix]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`CondaValueError: prefix already exists: ${prefix}`);
    expect((await run(fake, ['env', 'create', '--force', '-q', '-f', file, '-p', prefix])).code).toBe(0);
  });

  it('-n NAME means ROOT/envs/NAME; the env file name is used without -n/-p', async () => {
    const fake = conda['4.8.5'];
    const r = await run(fake, ['env', 'create', '-q', '-f', envFile('fromfile', ['idna'])]);
    expect(r.code).toBe(0);
    expect(existsSync(join(fake.prefix, 'envs', 'fromfile', 'conda-meta'))).toBe(true);
    expect((await run(fake, ['list', '--json', '-n', 'fromfile'])).stdout).toContain('"name": "idna"');
  });
});

describe('env export', () => {
  const exported = {} as Record<V, { builds: string; noBuilds: string; prefix: string }>;
  beforeAll(async () => {
    await Promise.all(
      VERSIONS.map(async (v) => {
        const prefix = join(tmp, 'exp', v);
        const r = await run(conda[v], [
          'env',
          'create',
          '-q',
          '-f',
          envFile(`exp${v}`, ['python', 'numpy=1.26']),
          '-p',
          prefix,
        ]);
        expect(r.code, r.stderr).toBe(0);
        exported[v] = {
          prefix,
          builds: (await run(conda[v], ['env', 'export', '-p', prefix])).stdout,
          noBuilds: (await run(conda[v], ['env', 'export', '-p', prefix, '--no-builds'])).stdout,
        };
      }),
    );
  }, 120_000);

  it('writes name, channels, name=version=build deps (modern indent) and prefix: last', () => {
    const { builds, prefix } = exported['23.11.0'];
    const esc = (x: string) => x.replace(/[/.]/g, '\\$&');
    expect(builds).toMatch(
      new RegExp(
        `^name: 23\\.11\\.0\\nchannels:\\n  - ${esc(channel)}\\ndependencies:\\n` +
          `  - numpy=1\\.26\\.4=h[0-9a-f]{7}_0\\n  - python=3\\.11\\.7=h[0-9a-f]{7}_0\\nprefix: ${esc(prefix)}\\n$`,
      ),
    );
  });

  it('--no-builds strips builds on 4.8.5 and 23.11.0 but is ignored by 4.3.22 (the 4.3.0-4.3.30 bug)', () => {
    expect(exported['4.3.22'].noBuilds).toBe(exported['4.3.22'].builds);
    expect(exported['4.3.22'].noBuilds).toMatch(/- numpy=1\.26\.4=h[0-9a-f]{7}_0/);
    for (const v of ['4.8.5', '23.11.0'] as const) {
      expect(exported[v].noBuilds).toContain('  - numpy=1.26.4\n  - python=3.11.7\n');
      expect(exported[v].noBuilds).not.toBe(exported[v].builds);
    }
  });

  it('pip-installed dists go under - pip: as name==version; -f writes a file', async () => {
    const { prefix } = exported['4.8.5'];
    // pip is the conda package's shim: host pip acting on this env's interpreter
    const inst = await run(conda['4.8.5'], ['install', '-y', '-q', '-p', prefix, 'pip']);
    expect(inst.code, inst.stderr).toBe(0);
    await exec(join(prefix, 'bin', 'pip'), ['install', 'tidyup==0.4.2'], { env: pipEnv() });
    const out = join(tmp, 'exported.yml');
    expect((await run(conda['4.8.5'], ['env', 'export', '-p', prefix, '-f', out])).code).toBe(0);
    expect(readFileSync(out, 'utf8')).toMatch(/  - pip:\n      - tidyup==0\.4\.2\nprefix: /);
  }, 120_000);
});

const NOT_AVAILABLE = 'PackagesNotFoundError: The following packages are not available from current channels:';
const MAMBA_PROBLEMS = 'LibMambaUnsatisfiableError: Encountered problems while solving:';

describe.concurrent('solve failures read like the conda version in use', () => {
  const cases: Array<{ what: string; deps: string[]; expect: Record<V, RegExp[]> }> = [
    {
      what: 'missing package',
      deps: ['python', 'nosuchpkg'],
      expect: {
        '4.3.22': [/^NoPackagesFoundError: Package missing in current linux-64 channels: \n  - nosuchpkg$/m],
        '4.8.5': [/^ResolvePackageNotFound: \n  - nosuchpkg$/m],
        '23.11.0': [new RegExp(String.raw`^${NOT_AVAILABLE}\n\n  - nosuchpkg$`, 'm')],
      },
    },
    {
      what: 'missing version',
      deps: ['numpy=1.11.3'],
      expect: {
        '4.3.22': [/^NoPackagesFoundError: Package missing in current linux-64 channels: \n  - numpy=1\.11\.3\*$/m],
        '4.8.5': [/^ResolvePackageNotFound: \n  - numpy=1\.11\.3\*$/m],
        '23.11.0': [new RegExp(String.raw`^${NOT_AVAILABLE}\n\n  - numpy=1\.11\.3$`, 'm')],
      },
    },
    {
      what: 'unsatisfiable',
      deps: ['seaborn', 'numpy<1.22'],
      expect: {
        '4.3.22': [
          new RegExp(
            String.raw`^UnsatisfiableError: The following specifications were found to be in conflict:` +
              String.raw`\n  - seaborn\n  - numpy<1\.22$`,
            'm',
          ),
        ],
        '4.8.5': [
          /^UnsatisfiableError: The following specifications were found to be incompatible with each other:/m,
          /^Package numpy conflicts for:\nseaborn -> numpy\[version='>=1\.25'\]$/m,
        ],
        '23.11.0': [
          new RegExp(
            String.raw`^${MAMBA_PROBLEMS}\n` +
              String.raw`  - package seaborn-0\.13\.0-\S+ requires numpy >=1\.25, ` +
              String.raw`but none of the providers can be installed$`,
            'm',
          ),
        ],
      },
    },
    {
      what: 'missing dependency',
      deps: ['needs-libfoo'],
      expect: {
        '4.3.22': [
          /^NoPackagesFoundError: Dependency missing in current linux-64 channels: \n  - needs-libfoo -> libfoo >=2$/m,
        ],
        '4.8.5': [/^UnsatisfiableError: /m, /needs-libfoo -> libfoo\[version='>=2'\]/],
        '23.11.0': [/^  - nothing provides libfoo >=2 needed by needs-libfoo-1\.0-/m],
      },
    },
  ];
  for (const c of cases) {
    it(c.what, async () => {
      await Promise.all(
        VERSIONS.map(async (v) => {
          const name = `${c.what.replace(/ /g, '-')}-${v}`;
          const prefix = join(tmp, 'fail', name);
          const r = await run(conda[v], ['env', 'create', '-f', envFile(name, c.deps), '-p', prefix]);
          expect(r.code, `${v}: ${r.stderr}`).toBe(1);
          expect(r.stderr.startsWith('\n'), v).toBe(true);
          for (const re of c.expect[v]) expect(r.stderr, v).toMatch(re);
          expect(existsSync(prefix), v).toBe(false);
        }),
      );
    });
  }

  it('--json puts a conda error object on stdout', async () => {
    const r = await run(conda['4.8.5'], ['create', '--json', '-y', '-p', join(tmp, 'fail', 'json'), 'nosuchpkg']);
    expect(r.code).toBe(1);
    const err = JSON.parse(r.stdout);
    expect(err).toMatchObject({ exception_name: 'PackagesNotFoundError', packages: ['nosuchpkg'], caused_by: 'None' });
    expect(err.error).toMatch(/^PackagesNotFoundError: /);
    expect(err.exception_type).toBe("<class 'conda.exceptions.PackagesNotFoundError'>");
    expect(err.channel_urls).toEqual([`${channel}/linux-64`, `${channel}/noarch`]);
  });

  it('an http(s) channel is unreachable offline: CondaHTTPError HTTP 000', async () => {
    const url = 'https://conda.anaconda.org/conda-forge';
    const r = await run(conda['23.11.0'], [
      'env',
      'create',
      '-f',
      envFile('http', ['python'], undefined, ['conda-forge']),
      '-p',
      join(tmp, 'fail', 'http'),
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('Collecting package metadata (repodata.json): failed');
    expect(r.stderr).toContain(`CondaHTTPError: HTTP 000 CONNECTION FAILED for url <${url}/linux-64/repodata.json>`);
  });
});

describe.concurrent('pip and noarch failures', () => {
  it('git+https fails offline as pip does: Pip failed, the conda part stays', async () => {
    const prefix = join(tmp, 'envs', 'gitfail');
    const file = envFile('gitfail', ['python', 'pip'], ['git+https://github.com/example/nothing.git@v1#egg=nothing']);
    const r = await run(conda['23.11.0'], ['env', 'create', '-f', file, '-p', prefix], { env: pipEnv() });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Pip subprocess error:');
    expect(r.stderr).toMatch(/git clone .*https:\/\/github\.com\/example\/nothing\.git/);
    expect(r.stderr).toMatch(/\nCondaEnvException: Pip failed\n$/);
    expect(readdirSync(join(prefix, 'conda-meta')).some((f) => f.startsWith('python-'))).toBe(true);
  }, 120_000);

  it('legacy noarch: env create fails naming the package from 4.7; install into the created env works', async () => {
    const fake = conda['23.11.0'];
    const prefix = join(tmp, 'envs', 'legacy');
    const bad = await run(fake, ['env', 'create', '-f', envFile('legacy', ['python', 'ipums_utils']), '-p', prefix]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(
      new RegExp(
        `LinkError: pre-link script failed for package ${channel.replace(/[/.]/g, '\\$&')}::ipums_utils-2\\.1-py_0`,
      ),
    );
    expect(existsSync(join(prefix, 'conda-meta'))).toBe(false);
    expect((await run(fake, ['env', 'create', '-q', '-f', envFile('legacy2', ['python']), '-p', prefix])).code).toBe(0);
    const inst = await run(fake, ['install', '-y', '-p', prefix, 'ipums_utils']);
    expect(inst.code, inst.stderr).toBe(0);
    expect(await py(prefix, 'import ipums_utils; print(ipums_utils.__version__)')).toBe('2.1');
    // conda 4.3 linked legacy noarch packages without trouble
    const old = await run(conda['4.3.22'], [
      'env',
      'create',
      '-q',
      '-f',
      envFile('legacy3', ['python', 'ipums_utils']),
      '-p',
      join(tmp, 'envs', 'legacy-old'),
    ]);
    expect(old.code, old.stderr).toBe(0);
    // 4.4–4.6 run each pre-link just before its package links: python is there, it works
    const mid = join(tmp, 'envs', 'legacy-46');
    const fake46 = installFakeConda(join(tmp, 'conda-4.6.14'), '4.6.14', { channels: [channel] });
    const r46 = await run(fake46, [
      'env',
      'create',
      '-q',
      '-f',
      envFile('legacy4', ['python', 'ipums_utils']),
      '-p',
      mid,
    ]);
    expect(r46.code, r46.stderr).toBe(0);
    // no noarch key anywhere; the pre-link script is in the record's files and in the package cache
    const meta = JSON.parse(readFileSync(join(mid, 'conda-meta', 'ipums_utils-2.1-py_0.json'), 'utf8')) as {
      noarch?: unknown;
      files: string[];
      subdir: string;
    };
    expect(meta.noarch).toBeUndefined();
    expect(meta.subdir).toBe('linux-64');
    expect(meta.files).toContain('bin/.ipums_utils-pre-link.sh');
    expect(existsSync(join(fake46.prefix, 'pkgs', 'ipums_utils-2.1-py_0', 'bin', '.ipums_utils-pre-link.sh'))).toBe(
      true,
    );
  }, 120_000);

  it('a boolean "noarch": true in repodata is generic: env create links it on every version', async () => {
    for (const v of VERSIONS) {
      const prefix = join(tmp, 'envs', `generic-${v}`);
      const r = await run(conda[v], [
        'env',
        'create',
        '-q',
        '-f',
        envFile(`generic-${v}`, ['python', 'fontpkg']),
        '-p',
        prefix,
      ]);
      expect(r.code, r.stderr).toBe(0);
      expect(readdirSync(join(prefix, 'conda-meta')).filter((f) => f.startsWith('fontpkg-1.0-'))).toHaveLength(1);
    }
  }, 120_000);
});

describe.concurrent('fault injection', () => {
  it('FAKE_CONDA_CRASH_AT kills env create with SIGKILL, leaving a half-built prefix', async () => {
    const prefix = join(tmp, 'envs', 'crashed');
    const r = await run(
      conda['23.11.0'],
      ['env', 'create', '-f', envFile('crash', ['python', 'numpy', 'requests']), '-p', prefix],
      {
        env: { ...process.env, FAKE_CONDA_CRASH_AT: 'after-python' },
      },
    );
    expect(r.signal).toBe('SIGKILL');
    expect(r.stdout).not.toContain('conda activate');
    expect(existsSync(join(prefix, 'bin', 'python'))).toBe(true);
    expect(
      readdirSync(join(prefix, 'conda-meta'))
        .filter((f) => f.endsWith('.json'))
        .map((f) => f.split('-')[0]),
    ).toEqual(['python']);
    // the next create of that prefix sees a conda env there
    const again = await run(conda['23.11.0'], ['env', 'create', '-f', envFile('crash', ['python']), '-p', prefix]);
    expect(again.stderr).toContain('prefix already exists');
  });

  it('FAKE_CONDA_DELAY_MS sleeps in every command', async () => {
    const t0 = Date.now();
    const r = await run(conda['23.11.0'], ['--version'], { env: { ...process.env, FAKE_CONDA_DELAY_MS: '400' } });
    expect(r.code).toBe(0);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(400);
  });
});

describe.concurrent('command line', () => {
  it('unknown flags are argparse usage errors, exit 2', async () => {
    const fake = conda['23.11.0'];
    const r = await run(fake, ['env', 'export', '-p', fake.prefix, '--no-such-flag']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^usage: conda .*\nconda: error: unrecognized arguments: --no-such-flag\n$/);
    const both = await run(fake, ['list', '-n', 'x', '-p', '/tmp/x']);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('argument -p/--prefix: not allowed with argument -n/--name');
    // argparse takes unambiguous prefixes of long options
    expect((await run(fake, ['env', 'export', '-p', fake.prefix, '--no-build'])).code).toBe(0);
  });

  it('commands missing from old versions are errors there', async () => {
    const r = await run(conda['4.3.22'], ['run', '-p', conda['4.3.22'].prefix, 'true']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("CommandNotFoundError: No command 'conda run'.");
    expect((await run(conda['4.3.22'], ['env', 'export', '--from-history'])).code).toBe(2);
  });

  it('list/export of a missing prefix: EnvironmentLocationNotFound', async () => {
    const r = await run(conda['4.8.5'], ['list', '--json', '-p', join(tmp, 'nope')]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).exception_name).toBe('EnvironmentLocationNotFound');
    expect((await run(conda['4.8.5'], ['env', 'export', '-n', 'nope'])).stderr).toContain(
      `EnvironmentLocationNotFound: Not a conda environment: ${join(conda['4.8.5'].prefix, 'envs', 'nope')}`,
    );
  });

  it("run: exit code is the command's, in the env's PATH", async () => {
    const fake = conda['23.11.0'];
    const ok = await run(fake, ['run', '-p', fake.prefix, 'python', '-c', 'import sys; print(sys.prefix)']);
    expect(ok.code).toBe(0);
    expect(ok.stdout.trim()).toBe(fake.prefix);
    const bad = await run(fake, ['run', '-p', fake.prefix, 'python', '-c', 'import sys; sys.exit(7)']);
    expect(bad.code).toBe(7);
    expect(bad.stderr).toContain('failed. (See above for error)');
  });

  it('search --json lists what a channel has; PackagesNotFoundError when absent', async () => {
    const fake = conda['23.11.0'];
    const found = JSON.parse(
      (await run(fake, ['search', '--json', '-c', channel, '--override-channels', 'numpy'])).stdout,
    );
    expect(Object.keys(found)).toEqual(['numpy']);
    expect(found.numpy.map((r: { version: string }) => r.version)).toEqual(['1.21.0', '1.26.4']);
    expect(found.numpy[0]).toMatchObject({ name: 'numpy', subdir: 'linux-64', channel: `${channel}/linux-64` });
    const ranged = JSON.parse((await run(fake, ['search', '--json', 'numpy>=1.22'])).stdout);
    expect(ranged.numpy.map((r: { version: string }) => r.version)).toEqual(['1.26.4']);
    const none = await run(fake, ['search', '--json', 'nosuchpkg']);
    expect(none.code).toBe(1);
    expect(JSON.parse(none.stdout).exception_name).toBe('PackagesNotFoundError');
  });

  it('channels by name through .condarc custom_channels / channel_alias', async () => {
    const base = join(tmp, 'chan-host');
    writeChannel(join(base, 'mpc'), [{ name: 'hlink', version: '4.2' }]);
    writeChannel(join(base, 'alias', 'labs'), [{ name: 'labtool', version: '0.1' }]);
    // $CONDARC adds to ROOT/.condarc, as conda's search path does: the later file's channels come first
    const rc = join(tmp, 'named.condarc');
    writeFileSync(
      rc,
      `channels:\n  - mpc\n  - labs\nchannel_alias: file://${base}/alias\ncustom_channels:\n  mpc: file://${base}\n`,
    );
    const env = { ...process.env, CONDARC: rc };
    const fake = conda['23.11.0'];
    const prefix = join(tmp, 'envs', 'named-ch');
    const r = await run(fake, ['create', '-y', '-p', prefix, 'hlink', 'labtool'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Channels:\n - mpc\n - labs\n - ${channel}\n`);
    const exported = (await run(fake, ['env', 'export', '-p', prefix], { env })).stdout;
    expect(exported).toMatch(
      new RegExp(`^channels:\\n  - mpc\\n  - labs\\n  - ${channel.replace(/[/.]/g, '\\$&')}\\n`, 'm'),
    );
    expect(readFileSync(join(prefix, 'conda-meta', 'history'), 'utf8')).toContain('+mpc/linux-64::hlink-4.2-');
    expect(JSON.parse((await run(fake, ['info', '--json'], { env })).stdout).channels).toContain(
      `file://${base}/mpc/linux-64`,
    );
  });

  it('clean --all -y drops cached packages no env uses', async () => {
    const fake = conda['4.3.22'];
    const prefix = join(tmp, 'envs', 'cleanme');
    expect((await run(fake, ['create', '-y', '-q', '-p', prefix, 'zlib'])).code).toBe(0);
    const cached = () => readdirSync(join(fake.prefix, 'pkgs')).filter((f) => f.startsWith('zlib-'));
    expect(cached().length).toBe(1);
    expect((await run(fake, ['clean', '--all', '-y'])).code).toBe(0);
    expect(cached().length).toBe(1);
    expect((await run(fake, ['env', 'remove', '-y', '-p', prefix])).code).toBe(0);
    expect((await run(fake, ['clean', '--all', '-y'])).stdout).toMatch(/Will remove \d+ package\(s\)/);
    expect(cached()).toEqual([]);
  });

  it('env remove of a symlinked env removes the link, not its target', async () => {
    const fake = conda['4.8.5'];
    const real = join(tmp, 'builds', 'x1');
    expect((await run(fake, ['create', '-y', '-q', '-p', real, 'idna'])).code).toBe(0);
    symlinkSync(real, join(fake.prefix, 'envs', 'linked'));
    expect((await run(fake, ['env', 'remove', '-y', '-n', 'linked'])).code).toBe(0);
    expect(() => lstatSync(join(fake.prefix, 'envs', 'linked'))).toThrow();
    expect(existsSync(join(real, 'conda-meta'))).toBe(true);
  });
});
