/** core/sandbox.ts: the bubblewrap command line, CONDA_GITOPS_SANDBOX, the report's isolation note. */
import { describe, expect, test } from 'vitest';
import {
  hiddenDirs,
  isolationNote,
  refusedTestMessage,
  sandboxArgv,
  sandboxRequest,
} from '../../scripts/core/sandbox.js';
import { parseInventory } from '../../scripts/core/inventory.js';
import { UsageError } from '../../scripts/core/errors.js';

describe('sandboxArgv', () => {
  const BASE =
    'every namespace its own, no capabilities, new session; read-only root, fresh /dev /proc /dev/shm, ' +
    'writable binds after it, no network';
  test(BASE, () => {
    const argv = sandboxArgv({ bwrap: '/usr/bin/bwrap', writable: ['/tmp/home'], network: false, cwd: '/tmp/home' }, [
      '/bin/sh',
      '/repo/env-specs/census.test.sh',
    ]);
    expect(argv).toEqual([
      '/usr/bin/bwrap',
      '--unshare-all',
      '--cap-drop',
      'ALL',
      '--new-session',
      '--die-with-parent',
      '--ro-bind',
      '/',
      '/',
      '--dev',
      '/dev',
      '--proc',
      '/proc',
      '--tmpfs',
      '/dev/shm',
      '--bind',
      '/tmp/home',
      '/tmp/home',
      '--chdir',
      '/tmp/home',
      '--',
      '/bin/sh',
      '/repo/env-specs/census.test.sh',
    ]);
  });

  test('a build keeps the network; moved binds and read-only binds come after the writable ones, in order', () => {
    const argv = sandboxArgv(
      {
        bwrap: 'bwrap',
        writable: ['/tmp/work', '/root/v1/pkgs'],
        binds: [['/root/v1/builds/a/.stage-x', '/root/v1/builds/a']],
        readonly: ['/root/v1/pkgs/keep'],
        network: true,
      },
      ['conda', 'env', 'create'],
    );
    expect(argv.slice(0, 7)).toEqual([
      'bwrap',
      '--unshare-all',
      '--cap-drop',
      'ALL',
      '--new-session',
      '--die-with-parent',
      '--share-net',
    ]);
    const tail = argv.slice(argv.indexOf('/dev/shm') + 1);
    expect(tail).toEqual([
      '--bind',
      '/tmp/work',
      '/tmp/work',
      '--bind',
      '/root/v1/pkgs',
      '/root/v1/pkgs',
      '--bind',
      '/root/v1/builds/a/.stage-x',
      '/root/v1/builds/a',
      '--ro-bind',
      '/root/v1/pkgs/keep',
      '/root/v1/pkgs/keep',
      '--',
      'conda',
      'env',
      'create',
    ]);
  });

  test('hidden directories become empty tmpfs, the exposed ones come back read-only, then the writable binds', () => {
    const argv = sandboxArgv(
      {
        bwrap: 'bwrap',
        writable: ['/tmp/cg-test-x'],
        hide: ['/run', '/tmp', '/home/runner'],
        expose: ['/home/runner/conda'],
        network: false,
      },
      ['true'],
    );
    expect(argv.slice(argv.indexOf('/dev/shm') + 1, argv.indexOf('--'))).toEqual([
      ...['--tmpfs', '/run', '--tmpfs', '/tmp', '--tmpfs', '/home/runner'],
      ...['--ro-bind', '/home/runner/conda', '/home/runner/conda'],
      ...['--bind', '/tmp/cg-test-x', '/tmp/cg-test-x'],
    ]);
    expect(() => sandboxArgv({ bwrap: 'b', writable: [], hide: ['/usr'], network: false }, ['x'])).toThrow(
      /system directory/,
    );
  });

  test('the command is passed verbatim after --, even when it looks like an option or holds shell syntax', () => {
    const argv = sandboxArgv({ bwrap: 'bwrap', writable: [], network: false }, ['--ro-bind', '$(id)', '; rm -rf /']);
    expect(argv.slice(argv.indexOf('--') + 1)).toEqual(['--ro-bind', '$(id)', '; rm -rf /']);
  });

  test('relative paths and paths with .. are refused (a bug, not user input)', () => {
    expect(() => sandboxArgv({ bwrap: 'b', writable: ['tmp'], network: false }, ['x'])).toThrow(/absolute path/);
    expect(() => sandboxArgv({ bwrap: 'b', writable: ['/a/../etc'], network: false }, ['x'])).toThrow(/'\.\.'/);
    expect(() => sandboxArgv({ bwrap: 'b', writable: [], network: false }, [])).toThrow(/program/);
  });
});

describe('hiddenDirs: what a sandboxed call must not see on this host', () => {
  test("the runner's home, the Actions runner's own directory (above _work), /run, /tmp and /var/tmp", () => {
    const workspaces = ['/opt/actions-runner/_work/repo', '/opt/actions-runner/_work/repo/repo'];
    expect(hiddenDirs({ home: '/home/runner', workspaces }).sort()).toEqual(
      ['/home/runner', '/opt/actions-runner', '/run', '/tmp', '/var/run', '/var/tmp'].sort(),
    );
    // a build (with the network) gets a private /tmp too: no host socket there
    expect(hiddenDirs({ home: '/home/runner/', workspaces: [] }).sort()).toEqual(
      ['/home/runner', '/run', '/tmp', '/var/run', '/var/tmp'].sort(),
    );
  });
  test('a home that is / or holds a system directory is not hidden (a service user with HOME=/)', () => {
    for (const home of ['/', '', '/var', '/usr'])
      expect(hiddenDirs({ home, workspaces: [] })).toEqual(['/run', '/var/run', '/tmp', '/var/tmp']);
  });
});

describe('sandboxRequest (CONDA_GITOPS_SANDBOX)', () => {
  test('unset, empty and auto mean auto; bwrap and none are taken as they are', () => {
    expect([undefined, '', 'auto', ' bwrap ', 'none'].map(sandboxRequest)).toEqual([
      'auto',
      'auto',
      'auto',
      'bwrap',
      'none',
    ]);
  });
  test('anything else is a usage error (exit 2) naming the variable and the values it takes', () => {
    expect(() => sandboxRequest('firejail')).toThrow(UsageError);
    expect(() => sandboxRequest('firejail')).toThrow('CONDA_GITOPS_SANDBOX=firejail: expected auto, bwrap or none');
  });
});

describe('the report note and the refusal', () => {
  test('with bwrap, without it (refused), without it (allowed by the inventory)', () => {
    expect(isolationNote({ kind: 'bwrap', bwrap: '/usr/bin/bwrap' }, false)).toBe(
      'builds and tests ran in a bubblewrap sandbox',
    );
    const reason = 'bubblewrap (bwrap) is not installed';
    expect(isolationNote({ kind: 'none', reason }, false)).toBe(
      `builds and tests ran WITHOUT a sandbox (${reason}); env test scripts were not run: install bubblewrap on ` +
        'the runner, or set unsandboxed-tests = allow in [conda] of inventory.ini to accept the risk',
    );
    expect(isolationNote({ kind: 'none', reason }, true)).toMatch(
      /ran unsandboxed because inventory.ini sets unsandboxed-tests = allow$/,
    );
    expect(isolationNote({ kind: 'bwrap', bwrap: '/usr/bin/bwrap', asRoot: true }, false)).toMatch(
      /^builds and tests ran in a bubblewrap sandbox; WARNING: the runner runs as root: .*unprivileged service user/,
    );
    expect(refusedTestMessage('census.test.sh', reason)).toBe(
      `census.test.sh was not run: there is no sandbox (${reason}) and inventory.ini does not set ` +
        'unsandboxed-tests = allow in [conda]; install bubblewrap on the runner',
    );
  });
});

describe('[conda] unsandboxed-tests in inventory.ini', () => {
  const inv = (line: string) =>
    ['[conda]', 'version = 23.11.0', 'channels = conda-forge', line, '', '[environments]', 'a = REPLICATE'].join('\n') +
    '\n';
  test('allow sets it; deny and absence leave it off', () => {
    expect(parseInventory(inv('unsandboxed-tests = allow')).inventory!.conda.unsandboxedTests).toBe(true);
    expect(parseInventory(inv('unsandboxed-tests = deny')).inventory!.conda.unsandboxedTests).toBeUndefined();
    expect(parseInventory(inv('')).inventory!.conda.unsandboxedTests).toBeUndefined();
  });
  test('any other value is an error at its line', () => {
    const { problems } = parseInventory(inv('unsandboxed-tests = yes'));
    expect(problems.map((p) => `${p.file}:${p.line}`)).toEqual(['inventory.ini:4']);
    expect(problems[0]!.message).toMatch(/unsandboxed-tests/);
  });
});
