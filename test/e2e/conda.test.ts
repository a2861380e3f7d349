import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Conda,
  buildArgv,
  cliOf,
  execute,
  installConda,
  installCondaArgv,
  normalizeInfo,
  parseList,
  parseSearch,
  parseVersionOutput,
  pipInstallArgv,
  ABORTED_EXIT,
  NOT_FOUND_EXIT,
  TIMEOUT_EXIT,
  type Op,
} from '../../scripts/engine/conda.js';
import { KILL_GRACE_MS } from '../../scripts/engine/process.js';
import { classify, hintFor } from '../../scripts/core/classify.js';
import { ensureBuilt, installerTemplate, writeChannel, writeCondarc, writeWheel } from '../fake-conda/index.js';
import { lastFailedBlock } from '../../scripts/core/conda-log.js';

let tmp: string;

/** A killed orphan may linger as a zombie until init reaps it: that counts as not running. */
function running(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'cg-conda-'));
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

describe('buildArgv', () => {
  const P = '/r/v23.11.0/builds/hlink/0123456789ab';
  const table: Array<[Op, string[], string[]]> = [
    // op, conda/mamba args, micromamba args (root prefix /r/v1)
    [{ op: 'version' }, ['--version'], ['--version']],
    [{ op: 'info' }, ['info', '--json'], ['info', '--json', '-r', '/r/v1']],
    [{ op: 'envList' }, ['env', 'list', '--json'], ['env', 'list', '--json', '-r', '/r/v1']],
    [{ op: 'list', prefix: P }, ['list', '--json', '-p', P], ['list', '--json', '-r', '/r/v1', '-p', P]],
    [{ op: 'export', prefix: P }, ['env', 'export', '-p', P], ['env', 'export', '-r', '/r/v1', '-p', P]],
    [
      { op: 'export', prefix: P, noBuilds: true },
      ['env', 'export', '-p', P, '--no-builds'],
      ['env', 'export', '-r', '/r/v1', '-p', P, '--no-build'],
    ],
    [
      { op: 'createFromFile', file: '/tmp/hlink.yml', prefix: P },
      ['env', 'create', '-f', '/tmp/hlink.yml', '-p', P],
      ['create', '-y', '-r', '/r/v1', '-f', '/tmp/hlink.yml', '-p', P],
    ],
    [
      {
        op: 'create',
        prefix: P,
        specs: ['python=3.11', 'numpy>=1.2,<2'],
        channels: ['conda-forge', 'file:///srv/mpc'],
      },
      [
        'create',
        '-y',
        '-p',
        P,
        '--override-channels',
        '-c',
        'conda-forge',
        '-c',
        'file:///srv/mpc',
        'python=3.11',
        'numpy>=1.2,<2',
      ],
      [
        'create',
        '-y',
        '-r',
        '/r/v1',
        '-p',
        P,
        '--override-channels',
        '-c',
        'conda-forge',
        '-c',
        'file:///srv/mpc',
        'python=3.11',
        'numpy>=1.2,<2',
      ],
    ],
    [
      { op: 'install', prefix: P, specs: ['ipums_utils=0.3.1'], channels: [] },
      ['install', '-y', '-p', P, 'ipums_utils=0.3.1'],
      ['install', '-y', '-r', '/r/v1', '-p', P, 'ipums_utils=0.3.1'],
    ],
    [{ op: 'remove', prefix: P }, ['env', 'remove', '-y', '-p', P], ['env', 'remove', '-y', '-r', '/r/v1', '-p', P]],
    [
      { op: 'run', prefix: P, argv: ['python', '-c', 'print(1)'] },
      ['run', '-p', P, 'python', '-c', 'print(1)'],
      ['run', '-r', '/r/v1', '-p', P, 'python', '-c', 'print(1)'],
    ],
    // micromamba's clean refuses -r (the adapter sets MAMBA_ROOT_PREFIX for it)
    [{ op: 'clean' }, ['clean', '--all', '-y'], ['clean', '--all', '-y']],
    [
      { op: 'search', name: 'ipums_utils', channels: ['file:///srv/mpc'] },
      ['search', '--json', '--override-channels', '-c', 'file:///srv/mpc', 'ipums_utils'],
      ['search', '--json', '-r', '/r/v1', '--override-channels', '-c', 'file:///srv/mpc', 'ipums_utils'],
    ],
  ];
  for (const [op, conda, micro] of table) {
    it(`${op.op}${'noBuilds' in op && op.noBuilds ? ' --no-builds' : ''}`, () => {
      expect(buildArgv('conda', op)).toEqual(conda);
      // mamba 1.x is conda's CLI; a root prefix only matters to micromamba
      expect(buildArgv('mamba', op, '/r/v1')).toEqual(conda);
      expect(buildArgv('micromamba', op, '/r/v1')).toEqual(micro);
    });
  }

  it('mamba 2.x speaks micromamba`s command line, mamba 1.x conda`s', () => {
    const op: Op = { op: 'list', prefix: P };
    expect(buildArgv('mamba', op, '/r/v1', 'libmamba')).toEqual(['list', '--json', '-r', '/r/v1', '-p', P]);
    expect(buildArgv('mamba', op, '/r/v1', 'conda')).toEqual(['list', '--json', '-p', P]);
    expect(cliOf('mamba', { frontend: 'mamba', version: '2.0.5' })).toBe('libmamba');
    expect(cliOf('mamba', { frontend: 'mamba', version: '1.5.8', conda: '23.11.0' })).toBe('conda');
    expect(cliOf('micromamba')).toBe('libmamba');
  });

  it('micromamba without a root prefix uses its default root', () => {
    expect(buildArgv('micromamba', { op: 'list', prefix: P })).toEqual(['list', '--json', '-p', P]);
  });

  it('refuses values that would be read as options', () => {
    expect(() => buildArgv('conda', { op: 'install', prefix: P, specs: ['--force'], channels: [] })).toThrow(/option/);
    expect(() => buildArgv('conda', { op: 'create', prefix: P, specs: ['x'], channels: ['-c'] })).toThrow(/option/);
    expect(() => buildArgv('conda', { op: 'search', name: '-h', channels: [] })).toThrow(/option/);
    expect(() => buildArgv('conda', { op: 'run', prefix: P, argv: [] })).toThrow(/command/);
  });

  it('pip and the installer are run directly', () => {
    expect(pipInstallArgv(P, ['--no-index', 'git+file:///srv/git/x.git'])).toEqual([
      `${P}/bin/python`,
      '-m',
      'pip',
      'install',
      '--no-index',
      'git+file:///srv/git/x.git',
    ]);
    expect(installCondaArgv('/srv/Miniconda3-23.11.0.sh', '/r/v23.11.0')).toEqual([
      'bash',
      '/srv/Miniconda3-23.11.0.sh',
      '-b',
      '-p',
      '/r/v23.11.0',
    ]);
  });
});

describe('output parsing', () => {
  it('reads every --version shape', () => {
    expect(parseVersionOutput('conda', 'conda 23.11.0\n', '')).toEqual({
      frontend: 'conda',
      version: '23.11.0',
      conda: '23.11.0',
    });
    // conda under Python 2 printed its version to stderr
    expect(parseVersionOutput('conda', '', 'conda 4.3.22\n')).toEqual({
      frontend: 'conda',
      version: '4.3.22',
      conda: '4.3.22',
    });
    expect(parseVersionOutput('mamba', 'mamba 1.5.8\nconda 23.11.0\n', '')).toEqual({
      frontend: 'mamba',
      version: '1.5.8',
      conda: '23.11.0',
    });
    expect(parseVersionOutput('mamba', '2.0.5\n', '')).toEqual({ frontend: 'mamba', version: '2.0.5' });
    expect(parseVersionOutput('micromamba', '1.5.8\n', '')).toEqual({ frontend: 'micromamba', version: '1.5.8' });
    expect(parseVersionOutput('conda', 'usage: conda [-h]\n', '')).toBeUndefined();
    expect(parseVersionOutput('micromamba', 'hello\n', '')).toBeUndefined();
  });

  it('normalises conda and micromamba info --json', () => {
    const conda = normalizeInfo({
      conda_version: '23.11.0',
      platform: 'linux-64',
      root_prefix: '/r/v23.11.0',
      envs_dirs: ['/r/v23.11.0/envs'],
      pkgs_dirs: ['/r/v23.11.0/pkgs'],
      channels: ['https://conda.anaconda.org/conda-forge/linux-64'],
      envs: ['/r/v23.11.0'],
    });
    expect(conda).toMatchObject({
      version: '23.11.0',
      platform: 'linux-64',
      rootPrefix: '/r/v23.11.0',
      envsDirs: ['/r/v23.11.0/envs'],
      pkgsDirs: ['/r/v23.11.0/pkgs'],
      envs: ['/r/v23.11.0'],
    });
    const micro = normalizeInfo({
      'micromamba version': '1.5.8',
      'base environment': '/r/v1',
      'envs directories': ['/r/v1/envs'],
      'package cache': ['/r/v1/pkgs'],
      platform: 'linux-64',
      channels: ['https://conda.anaconda.org/conda-forge/linux-64'],
    });
    expect(micro).toMatchObject({
      version: '1.5.8',
      rootPrefix: '/r/v1',
      envsDirs: ['/r/v1/envs'],
      pkgsDirs: ['/r/v1/pkgs'],
      envs: [],
    });
  });

  it('reads search results of conda and micromamba, oldest first, this name only', () => {
    const conda = JSON.stringify({
      ipums_utils: [
        { name: 'ipums_utils', version: '0.10.0' },
        { name: 'ipums_utils', version: '0.3.1' },
        { name: 'ipums_utils', version: '0.3.1', build: 'py_1' },
      ],
    });
    expect(parseSearch(conda, 'ipums_utils')).toEqual(['0.3.1', '0.10.0']);
    const micro = JSON.stringify({
      query: { query: 'numpy' },
      result: {
        msg: '',
        status: 'OK',
        pkgs: [
          { name: 'numpy', version: '1.26.4' },
          { name: 'numpy-base', version: '1.26.4' },
          { name: 'numpy', version: '1.9.3' },
        ],
      },
    });
    expect(parseSearch(micro, 'numpy')).toEqual(['1.9.3', '1.26.4']);
  });

  it('reads conda list --json', () => {
    const rows = [
      { name: 'python', version: '3.11.5', build_string: 'h_0', channel: 'conda-forge' },
      { name: 'requests', version: '2.31.0', channel: 'pypi', platform: 'pypi' },
    ];
    // conda's build_string becomes `build`; fields nobody reads are not carried
    expect(parseList(JSON.stringify(rows))).toEqual([
      { name: 'python', version: '3.11.5', build: 'h_0', channel: 'conda-forge' },
      { name: 'requests', version: '2.31.0', channel: 'pypi' },
    ]);
    expect(() => parseList('{"error": "x"}')).toThrow(/array/);
  });
});

describe('execute', () => {
  it('captures stdout, stderr, exit code and time, and appends the call to the log', async () => {
    const log = join(tmp, 'logs', 'hlink.log');
    const r = await execute(['sh', '-c', 'echo out; echo err >&2; exit 3'], { log });
    expect(r).toMatchObject({
      argv: ['sh', '-c', 'echo out; echo err >&2; exit 3'],
      stdout: 'out\n',
      stderr: 'err\n',
      code: 3,
      timedOut: false,
    });
    expect(r.seconds).toBeGreaterThan(0);
    await execute(['sh', '-c', 'echo second'], { log });
    const text = readFileSync(log, 'utf8');
    expect(text).toMatch(
      new RegExp(
        String.raw`^==> conda-gitops call \d{4}-\d\d-\d\dT[\d:.]+Z: sh -c 'echo out; echo err >&2; exit 3'\n` +
          String.raw`--- stdout\nout\n--- stderr\nerr\n<== exit 3 after \d+\.\d\d s\n`,
      ),
    );
    expect(text).toMatch(/==> conda-gitops call .*: sh -c 'echo second'\n--- stdout\nsecond\n<== exit 0 after/);
    // the log narrows to the failed call for classification
    expect(lastFailedBlock(text)).toContain('exit 3');
  });

  it('passes extra environment on top of the inherited one', async () => {
    const r = await execute(['sh', '-c', 'echo "$PIP_FIND_LINKS:$HOME"'], {
      env: { PIP_FIND_LINKS: '/srv/wheelhouse' },
    });
    expect(r.stdout).toBe(`/srv/wheelhouse:${process.env.HOME}\n`);
  });

  it('a missing program is a failed value, not an exception', async () => {
    const r = await execute([join(tmp, 'no-such-conda'), '--version']);
    expect(r.code).toBe(NOT_FOUND_EXIT);
    expect(r.stderr).toMatch(/cannot run .*no-such-conda/);
  });

  it('a timeout kills the whole process group, marks the call and logs the timeout line', async () => {
    const pidFile = join(tmp, 'grandchild.pid');
    const log = join(tmp, 'timeout.log');
    // the grandchild stands for the solver or pip process conda starts
    const script = `sleep 30 & echo $! > ${pidFile}; echo solving; wait`;
    const t0 = Date.now();
    const r = await execute(['sh', '-c', script], { timeoutSeconds: 0.5, log });
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(r).toMatchObject({ timedOut: true, code: TIMEOUT_EXIT, stdout: 'solving\n' });
    expect(r.stderr).toBe('conda-gitops: timed out after 0.5 s\n');
    expect(readFileSync(log, 'utf8')).toMatch(
      /conda-gitops: timed out after 0\.5 s\n<== exit 124 after 0\.\d+ s \(timed out\)/,
    );
    const grandchild = Number(readFileSync(pidFile, 'utf8'));
    await new Promise((r) => setTimeout(r, 100));
    expect(running(grandchild)).toBe(false);
    expect(classify(`${r.stdout}\n${r.stderr}`).class).toBe('timeout');
  });

  it('reports a signal death as 128 + signal', async () => {
    const r = await execute(['sh', '-c', 'kill -TERM $$']);
    expect(r.code).toBe(128 + 15);
  });

  it('hands arguments to the program verbatim: no shell reads quotes, $(...), globs or newlines', async () => {
    const marker = join(tmp, 'shell-ran');
    const args = [
      'a b',
      `it's "quoted"`,
      `$(touch ${marker})`,
      `\`touch ${marker}\``,
      `; touch ${marker}`,
      '*',
      '$HOME',
      'two\nlines',
      '',
    ];
    const r = await execute([process.execPath, '-e', 'console.log(JSON.stringify(process.argv.slice(1)))', ...args]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(args);
    expect(existsSync(marker)).toBe(false);
  });

  it('passes exactly the environment it is given (no shell adding PWD or SHLVL)', async () => {
    const printEnv = [process.execPath, '-e', 'console.log(JSON.stringify(process.env))'];
    const r = await execute(printEnv, { env: { ONLY: 'this one' }, inheritEnv: false });
    // plus the run marker that lets the CLI find descendants which left the process group (docs/security.md)
    const { CONDA_GITOPS_RUN: marker, ...rest } = JSON.parse(r.stdout) as Record<string, string>;
    expect(rest).toEqual({ ONLY: 'this one' });
    expect(marker).toMatch(/^\d+-[0-9a-f]+\.\d+$/);
  });

  it('streams output to the log while the program runs', async () => {
    const log = join(tmp, 'stream.log');
    const go = join(tmp, 'stream.go');
    // the program waits (up to 10 s) for the test to see its first line in the log
    const waitForGo = `i=0; while [ ! -e ${go} ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done`;
    const script = `echo first; echo warn >&2; ${waitForGo}; echo last`;
    const call = execute(['sh', '-c', script], { log });
    let seen = '';
    for (let i = 0; i < 100 && !/warn\n/.test(seen); i++) {
      await new Promise((r) => setTimeout(r, 100));
      seen = existsSync(log) ? readFileSync(log, 'utf8') : '';
    }
    writeFileSync(go, '');
    const r = await call;
    expect(seen).toMatch(/^==> conda-gitops call .*\n--- stdout\nfirst\n--- stderr\nwarn\n$/);
    expect(seen).not.toContain('<== exit');
    expect(r).toMatchObject({ code: 0, stdout: 'first\nlast\n', stderr: 'warn\n' });
    expect(readFileSync(log, 'utf8')).toMatch(/--- stderr\nwarn\n--- stdout\nlast\n<== exit 0 after/);
  });

  it('a timeout SIGKILLs a program that ignores SIGTERM after the grace period', async () => {
    const pidFile = join(tmp, 'stubborn.pid');
    const script = `trap '' TERM; echo $$ > ${pidFile}; while :; do sleep 0.1; done`;
    const t0 = Date.now();
    const r = await execute(['sh', '-c', script], { timeoutSeconds: 0.3 });
    const elapsed = Date.now() - t0;
    expect(elapsed).toBeGreaterThanOrEqual(300 + KILL_GRACE_MS - 100);
    expect(elapsed).toBeLessThan(300 + KILL_GRACE_MS + 3000);
    expect(r).toMatchObject({ timedOut: true, code: TIMEOUT_EXIT });
    expect(running(Number(readFileSync(pidFile, 'utf8')))).toBe(false);
  });

  it('an abort kills the whole process group and marks the call', async () => {
    const pidFile = join(tmp, 'aborted-grandchild.pid');
    const log = join(tmp, 'abort.log');
    const ac = new AbortController();
    const script = `sleep 30 & echo $! > ${pidFile}; echo started; wait`;
    const call = execute(['sh', '-c', script], { signal: ac.signal, log });
    // a loaded 2-core machine can take seconds to start sh: wait for it (the abort must hit a running program)
    const started = () => existsSync(log) && readFileSync(log, 'utf8').includes('started');
    for (let i = 0; i < 600 && !started(); i++) await new Promise((r) => setTimeout(r, 50));
    expect(started()).toBe(true);
    const t0 = Date.now();
    ac.abort();
    const r = await call;
    // far less than the 30 s the grandchild sleeps: the abort did not wait for it
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(r).toMatchObject({ code: ABORTED_EXIT, timedOut: false, stdout: 'started\n' });
    expect(r.stderr).toBe('conda-gitops: aborted\n');
    expect(readFileSync(log, 'utf8')).toMatch(/--- stderr\nconda-gitops: aborted\n<== exit 130 after/);
    await new Promise((r) => setTimeout(r, 100));
    expect(running(Number(readFileSync(pidFile, 'utf8')))).toBe(false);
  });

  it('an already aborted call does not start the program', async () => {
    const marker = join(tmp, 'never-started');
    const r = await execute(['sh', '-c', `touch ${marker}`], { signal: AbortSignal.abort() });
    expect(r.code).toBe(ABORTED_EXIT);
    expect(existsSync(marker)).toBe(false);
  });
});

describe('Conda adapter with a stand-in executable', () => {
  // a tiny script standing in for conda: prints its argv and answers the JSON calls
  let exe: string;
  beforeAll(() => {
    exe = join(tmp, 'bin', 'conda');
    mkdirSync(join(tmp, 'bin'), { recursive: true });
    writeFileSync(
      exe,
      [
        '#!/bin/sh',
        'case "$1" in',
        '  --version) echo "conda 4.3.22" >&2 ;;',
        '  info) echo \'{"conda_version": "4.3.22", "root_prefix": "/r/v4.3.22", "envs_dirs": [], ' +
          '"pkgs_dirs": [], "channels": [], "envs": ["/r/v4.3.22/envs/a"]}\' ;;',
        '  env) [ "$2" = list ] && echo \'{"envs": ["/r/v4.3.22", "/r/v4.3.22/envs/a"]}\' || ' +
          '{ echo "$@"; printf "name: a\\ndependencies:\\n  - python=3.6\\n"; } ;;',
        '  list) echo \'[{"name": "python", "version": "3.6.2", "build_string": "0", "channel": "defaults"}]\' ;;',
        '  search) if [ "$5" = nosuchpkg ]; then ' +
          'echo \'{"error": "PackagesNotFoundError: ' +
          'The following packages are not available from current channels:"}\'; ' +
          'exit 1; fi;',
        '          echo \'{"x": [{"name": "x", "version": "1.10"}, {"name": "x", "version": "1.2"}]}\' ;;',
        '  *) echo "args: $*"; echo "extra: $EXTRA"; exit 1 ;;',
        'esac',
      ].join('\n'),
    );
    chmodSync(exe, 0o755);
  });

  it('parses what each call prints and keeps the call details', async () => {
    const conda = Conda.forInstallation(tmp, 'conda', { env: { EXTRA: 'from-defaults' } });
    expect(conda.config.exe).toBe(exe);
    expect((await conda.version()).value).toEqual({ frontend: 'conda', version: '4.3.22', conda: '4.3.22' });
    expect((await conda.info()).value?.rootPrefix).toBe('/r/v4.3.22');
    expect((await conda.envList()).value).toEqual(['/r/v4.3.22', '/r/v4.3.22/envs/a']);
    expect((await conda.list('/r/v4.3.22/envs/a')).value).toEqual([
      { name: 'python', version: '3.6.2', build: '0', channel: 'defaults' },
    ]);
    const exp = await conda.exportEnv('/r/v4.3.22/envs/a', { noBuilds: true });
    expect(exp.value).toContain('export -p /r/v4.3.22/envs/a --no-builds\nname: a\n');
    expect((await conda.search('x', [])).value).toEqual(['1.2', '1.10']);
    // nothing found is an empty answer, not a failure to ask
    expect((await conda.search('nosuchpkg', ['c1'])).value).toEqual([]);
    const failed = await conda.install('/p', ['foo'], [], { env: { EXTRA: 'per-call' } });
    expect(failed).toMatchObject({ code: 1, stdout: 'args: install -y -p /p foo\nextra: per-call\n', timedOut: false });
    expect(failed.argv).toEqual([exe, 'install', '-y', '-p', '/p', 'foo']);
  });

  it('a successful call with unparsable output says why instead of throwing', async () => {
    // /bin/echo "succeeds" at anything and prints its arguments, which are not JSON
    const bad = new Conda({ frontend: 'conda', exe: '/bin/echo' });
    const r = await bad.list('/p');
    expect(r.code).toBe(0);
    expect(r.value).toBeUndefined();
    expect(r.parseError).toMatch(/JSON/);
  });
});

describe('Conda adapter against the fake conda', () => {
  let t: string;
  let inst: string;
  let ch: string;
  let conda: Conda;
  let installer: string;
  let log: string;
  const spec = (name: string, deps: string[]) => {
    const file = join(t, `${name}.yml`);
    writeFileSync(
      file,
      `name: ${name}\nchannels:\n  - ${ch}\ndependencies:\n${deps.map((d) => `  - ${d}`).join('\n')}\n`,
    );
    return file;
  };
  const failure = (r: { stdout: string; stderr: string }) => classify(`${r.stdout}\n${r.stderr}`);

  beforeAll(async () => {
    ensureBuilt();
    t = mkdtempSync(join(tmpdir(), 'cg-conda-fake-'));
    ch = writeChannel(join(t, 'channel'), [
      { name: 'python', version: '3.11.7', module: false },
      { name: 'numpy', version: '1.26.4', depends: ['python >=3.11'] },
      { name: 'foo', version: '1.0', noarch: 'python' },
      { name: 'foo', version: '1.2', noarch: 'python' },
      { name: 'ipums_utils', version: '0.3.1', legacyNoarchPython: true },
      { name: 'pip', version: '23.3', noarch: 'python' },
    ]);
    installer = installerTemplate(join(t, 'installers'), ['23.11.0']).replace('{version}', '23.11.0');
    inst = join(t, 'root', 'v23.11.0');
    log = join(t, 'logs', 'hlink.log');
    conda = Conda.forInstallation(inst, 'conda');
  }, 180_000);
  afterAll(() => {
    if (t) rmSync(t, { recursive: true, force: true });
  });

  it('installs conda with the installer, and refuses an existing prefix', async () => {
    const installLog = join(t, 'logs', 'install.log');
    const r = await installConda(installer, inst, { log: installLog, env: { FAKE_CONDA_NODE: process.execPath } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.argv).toEqual(['bash', installer, '-b', '-p', inst]);
    expect(existsSync(join(inst, 'bin', 'conda'))).toBe(true);
    // the spec's channel is the installation's channel (conda adds .condarc channels to env files' own)
    writeCondarc(inst, { channels: [ch] });
    const again = await installConda(installer, inst, { log: installLog });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('already exists');
    expect(readFileSync(installLog, 'utf8').match(/^==> conda-gitops call /gm)).toHaveLength(2);
  });

  it('reports its version and installation', async () => {
    const [version, info] = await Promise.all([conda.version(), conda.info()]);
    expect(version.value).toEqual({ frontend: 'conda', version: '23.11.0', conda: '23.11.0' });
    expect(info.value).toMatchObject({ version: '23.11.0', rootPrefix: inst, platform: 'linux-64' });
    expect(info.value?.channels).toContain(`${ch}/noarch`);
  });

  it('creates an env from a file, then lists, exports and runs it', async () => {
    const prefix = join(inst, 'builds', 'hlink', '0123456789ab');
    const created = await conda.createFromFile(spec('hlink', ['python=3.11', 'numpy', 'pip']), prefix, { log });
    expect(created.code, created.stderr).toBe(0);
    expect(readFileSync(log, 'utf8')).toContain(
      `: ${inst}/bin/conda env create -f ${t}/hlink.yml -p ${prefix}\n--- stdout\n`,
    );
    const [list, exported, envs, run] = await Promise.all([
      conda.list(prefix, { log }),
      conda.exportEnv(prefix, { noBuilds: true }),
      conda.envList(),
      conda.run(prefix, ['python', '-c', 'import sys; print(sys.prefix)']),
    ]);
    // `channel` is the channel's name as real conda prints it: a file:// channel's last path segment
    const numpy = list.value?.find((p) => p.name === 'numpy');
    expect(numpy).toMatchObject({ version: '1.26.4', channel: ch.split('/').at(-1) });
    expect(exported.value).toMatch(/^ {2}- numpy=1\.26\.4$/m);
    expect(exported.value).not.toMatch(/numpy=1\.26\.4=/);
    expect(envs.value).toContain(prefix);
    expect(run).toMatchObject({ code: 0, stdout: `${prefix}\n` });
  });

  it('failed creates are values that classify to the right class', async () => {
    const [version, name, legacy, channel, versions] = await Promise.all([
      conda.createFromFile(spec('v', ['python=3.11', 'foo=9.9']), join(t, 'p-version')),
      conda.createFromFile(spec('n', ['python=3.11', 'nosuchpkg']), join(t, 'p-name')),
      conda.createFromFile(spec('l', ['python=3.11', 'ipums_utils']), join(t, 'p-legacy')),
      conda.create(join(t, 'p-http'), ['python'], ['https://conda.internal.example/mpc']),
      conda.search('foo', [ch]),
    ]);
    for (const r of [version, name, legacy, channel]) expect(r.code).toBe(1);
    const missing = failure(version);
    expect(missing).toMatchObject({ class: 'missing-version', package: 'foo' });
    expect(versions.value).toEqual(['1.0', '1.2']);
    expect(hintFor({ ...missing, available: versions.value })).toContain('available: 1.0, 1.2; nearest 1.2');
    expect(failure(name)).toMatchObject({ class: 'missing-package', package: 'nosuchpkg' });
    expect(failure(legacy)).toMatchObject({ class: 'unknown', legacyNoarch: true, package: 'ipums_utils' });
    expect(failure(channel)).toMatchObject({
      class: 'channel-unreachable',
      url: 'https://conda.internal.example/mpc/linux-64/repodata.json',
    });
    expect((await conda.search('nosuchpkg', [ch])).value).toEqual([]);
  });

  it('installs a legacy noarch package into the env, and pip entries with the env’s own pip', async () => {
    const prefix = join(inst, 'builds', 'hlink', '0123456789ab'); // created above
    const wheelhouse = join(t, 'wheelhouse');
    writeWheel(wheelhouse, 'hlinkutils', '1.0');
    // the git failure writes nothing into the env, so it can run beside the conda install
    const [legacy, git] = await Promise.all([
      conda.install(prefix, ['ipums_utils'], [ch], { log }),
      conda.pipInstall(prefix, ['--no-index', `git+file://${t}/no-such-repo.git@v1`], { log }),
    ]);
    expect(legacy.code, legacy.stderr).toBe(0);
    const wheel = await conda.pipInstall(prefix, ['--no-index', 'hlinkutils==1.0'], {
      env: { PIP_FIND_LINKS: wheelhouse },
      log,
    });
    expect(wheel.code, wheel.stderr).toBe(0);
    expect(wheel.argv.slice(0, 4)).toEqual([join(prefix, 'bin', 'python'), '-m', 'pip', 'install']);
    expect(git.code).not.toBe(0);
    expect(failure(git)).toMatchObject({ class: 'git-clone-failure', package: 'no-such-repo' });
    const names = (await conda.list(prefix)).value?.map((p) => p.name);
    expect(names).toEqual(expect.arrayContaining(['python', 'ipums_utils', 'hlinkutils']));
  });

  it('kills a call that outlives its timeout and says so in the log', async () => {
    const prefix = join(t, 'p-slow');
    const r = await conda.createFromFile(spec('slow', ['python=3.11']), prefix, {
      env: { FAKE_CONDA_DELAY_MS: '20000' },
      timeoutSeconds: 1,
      log,
    });
    expect(r).toMatchObject({ code: TIMEOUT_EXIT, timedOut: true });
    expect(r.seconds).toBeLessThan(5);
    expect(failure(r).class).toBe('timeout');
    expect(classify(readFileSync(log, 'utf8')).class).toBe('timeout');
    expect(existsSync(join(prefix, 'conda-meta'))).toBe(false);
  });

  it('removes an env and cleans the caches', async () => {
    const prefix = join(inst, 'builds', 'hlink', '0123456789ab');
    const removed = await conda.remove(prefix);
    expect(removed.code, removed.stderr).toBe(0);
    expect(existsSync(join(prefix, 'conda-meta'))).toBe(false);
    expect((await conda.envList()).value).not.toContain(prefix);
    expect((await conda.clean()).code).toBe(0);
    // a removed env is not an env any more: a failed value, classified as nothing we know
    const gone = await conda.list(prefix);
    expect(gone.code).toBe(1);
    expect(gone.value).toBeUndefined();
  });
});
