import { describe, expect, test } from 'vitest';
import { childEnv, envNameList, isSecretName, secretEntries } from '../../scripts/core/childenv.js';
import { parseInventory } from '../../scripts/core/inventory.js';

const RUNNER = {
  PATH: '/usr/bin:/bin',
  HOME: '/home/runner',
  LANG: 'C.UTF-8',
  LC_ALL: 'C.UTF-8',
  TZ: 'UTC',
  https_proxy: 'http://proxy:3128',
  NO_PROXY: 'localhost',
  CONDA_PKGS_DIRS: '/cache/pkgs',
  PIP_INDEX_URL: 'https://pypi.internal/simple',
  GITHUB_TOKEN: 'ghs_abcdefghijklmnopqrstuvwxyz',
  GITHUB_WORKSPACE: '/home/runner/work/x/x',
  ACTIONS_RUNTIME_TOKEN: 'eyJhbGciOi',
  ACTIONS_ID_TOKEN_REQUEST_URL: 'https://token.actions',
  AWS_SECRET_ACCESS_KEY: 'aws-secret',
  PIP_PASSWORD: 'pip-pass',
  CONDA_GITOPS_ROOT: '/opt/conda',
  SSH_AUTH_SOCK: '/tmp/agent.sock',
  NODE_OPTIONS: '--require /evil.js',
  LD_PRELOAD: '/evil.so',
  MY_VAR: 'x',
};

describe('isSecretName', () => {
  test.each([
    'GITHUB_TOKEN',
    'GH_TOKEN',
    'ACTIONS_RUNTIME_TOKEN',
    'ACTIONS_ID_TOKEN_REQUEST_URL',
    'ACTIONS_CACHE_URL',
    'NPM_TOKEN',
    'AWS_SECRET_ACCESS_KEY',
    'PIP_PASSWORD',
    'CONDA_PASSWD',
    'API_KEY',
    'my_api_key',
    'DB_PASS',
    'SSH_AUTH_SOCK',
    'INPUT_TOKEN',
    'SOME_CREDENTIALS',
    'MYTOKEN',
  ])('%s is a secret', (name) => expect(isSecretName(name)).toBe(true));
  test.each(['PATH', 'HOME', 'PWD', 'PIP_KEYRING_PROVIDER', 'CONDA_PKGS_DIRS', 'CONDA_GITOPS_PASS_ENV', 'KEYBOARD'])(
    '%s is not',
    (name) => expect(isSecretName(name)).toBe(false),
  );
});

describe('childEnv', () => {
  test('keeps the allow-list, drops the runner rest and every secret', () => {
    expect(childEnv(RUNNER)).toEqual({
      PATH: '/usr/bin:/bin',
      HOME: '/home/runner',
      LANG: 'C.UTF-8',
      LC_ALL: 'C.UTF-8',
      TZ: 'UTC',
      https_proxy: 'http://proxy:3128',
      NO_PROXY: 'localhost',
      CONDA_PKGS_DIRS: '/cache/pkgs',
      PIP_INDEX_URL: 'https://pypi.internal/simple',
    });
  });
  test('names listed in pass are added; secrets never, even when listed', () => {
    const env = childEnv(RUNNER, { pass: ['MY_VAR', 'GITHUB_TOKEN', 'ACTIONS_RUNTIME_TOKEN', 'PIP_PASSWORD'] });
    expect(env.MY_VAR).toBe('x');
    expect(env).not.toHaveProperty('GITHUB_TOKEN');
    expect(env).not.toHaveProperty('ACTIONS_RUNTIME_TOKEN');
    expect(env).not.toHaveProperty('PIP_PASSWORD');
  });
  test('set adds computed variables but never a secret one', () => {
    const env = childEnv({}, { set: { PIP_FIND_LINKS: '/w', GITHUB_TOKEN: 'x', UNSET: undefined } });
    expect(env).toEqual({ PIP_FIND_LINKS: '/w' });
  });
  test("the tool's own settings (CONDA_GITOPS_*) are not passed", () => {
    expect(childEnv(RUNNER)).not.toHaveProperty('CONDA_GITOPS_ROOT');
  });
});

test('envNameList keeps valid names only', () => {
  expect(envNameList('A, B_2 ,,bad-name $X C')).toEqual(['A', 'B_2', 'C']);
  expect(envNameList(undefined)).toEqual([]);
});

test('secretEntries lists the secret-looking variables with their values', () => {
  expect(secretEntries(RUNNER).map(([n]) => n)).toEqual([
    'GITHUB_TOKEN',
    'ACTIONS_RUNTIME_TOKEN',
    'ACTIONS_ID_TOKEN_REQUEST_URL',
    'AWS_SECRET_ACCESS_KEY',
    'PIP_PASSWORD',
    'SSH_AUTH_SOCK',
  ]);
});

describe('inventory [conda] pass-env', () => {
  const inv = (line: string) =>
    parseInventory(`[conda]\nversion = 23.11.0\nchannels = conda-forge\n${line}\n\n[environments]\na = REPLICATE\n`);
  test('a list of variable names', () => {
    expect(inv('pass-env = FOO, BAR_2').inventory?.conda.passEnv).toEqual(['FOO', 'BAR_2']);
    expect(inv('').inventory?.conda.passEnv).toBeUndefined();
  });
  test('a secret-looking name is refused with its line', () => {
    const r = inv('pass-env = FOO, GITHUB_TOKEN');
    expect(r.inventory).toBeUndefined();
    expect(r.problems).toEqual([
      expect.objectContaining({ line: 4, message: expect.stringContaining("'GITHUB_TOKEN' looks like a secret") }),
    ]);
  });
  test('a name that is not a variable name is refused', () => {
    const r = inv('pass-env = FOO, $(id)');
    expect(r.inventory).toBeUndefined();
    expect(r.problems[0]).toMatchObject({ line: 4 });
  });
});

describe('childEnv: the runner shell`s conda/mamba activation never reaches a child', () => {
  const ACTIVATED = {
    PATH: '/usr/bin',
    MAMBA_ROOT_PREFIX: '/home/runner/micromamba',
    CONDA_PREFIX: '/home/runner/miniforge3/envs/tools',
    CONDA_PREFIX_1: '/home/runner/miniforge3',
    CONDA_DEFAULT_ENV: 'tools',
    CONDA_SHLVL: '2',
    CONDA_EXE: '/home/runner/miniforge3/bin/conda',
    CONDA_PYTHON_EXE: '/home/runner/miniforge3/bin/python',
    MAMBA_EXE: '/home/runner/.local/bin/micromamba',
    CONDARC: '/home/runner/.condarc-personal',
    CONDA_PKGS_DIRS: '/cache/pkgs',
  };
  test('dropped from what is passed, even when pass-env names them', () => {
    const env = childEnv(ACTIVATED, { pass: ['MAMBA_ROOT_PREFIX', 'CONDA_PREFIX'] });
    expect(env).toEqual({ PATH: '/usr/bin', CONDA_PKGS_DIRS: '/cache/pkgs' });
  });
  test('the tool may still set them itself (the env test`s CONDA_PREFIX, the root of a mamba call)', () => {
    const env = childEnv(ACTIVATED, { set: { CONDA_PREFIX: '/r/v1/builds/x/1', MAMBA_ROOT_PREFIX: '/r/v1' } });
    expect(env).toMatchObject({ CONDA_PREFIX: '/r/v1/builds/x/1', MAMBA_ROOT_PREFIX: '/r/v1' });
  });
});
