import { describe, expect, it } from 'vitest';
import {
  brokenResults,
  checkRepoTolerant,
  guardResults,
  preflightResult,
  selectEnvs,
  withoutBroken,
} from '../../scripts/core/qarun.js';
import { desiredState } from '../../scripts/core/desired.js';
import { InputError, UsageError } from '../../scripts/core/errors.js';

const bytes = (s: string) => new TextEncoder().encode(s);
const inventory =
  '[conda]\nversion = 23.11.0\nchannels = conda-forge\n\n[environments]\ngood = REPLICATE\nbad = REPLICATE\n';
const good = 'channels:\n  - conda-forge\ndependencies:\n  - python=3.11\n';
const bad = 'channels:\n  - conda-forge\ndependencies:\n  - python=3.11\n  - numpy>=>1\n';
const accept = (v: string) => (v.includes('=>') ? `invalid version spec '${v}'` : undefined);

describe('a repository where one broken spec fails only its env', () => {
  it('keeps the good envs and reports the broken one at its file and line', () => {
    const files = {
      inventory: bytes(inventory),
      specs: new Map([
        ['good.yml', bytes(good)],
        ['bad.yml', bytes(bad)],
      ]),
    };
    const { repo, broken } = checkRepoTolerant('/repo', files, accept);
    expect([...broken.keys()]).toEqual(['bad']);
    expect(broken.get('bad')![0]).toMatchObject({ file: 'env-specs/bad.yml', line: 5, severity: 'error' });
    const desired = withoutBroken(desiredState(repo), broken);
    expect(desired.envs.map((e) => e.name)).toEqual(['good']);
    const [result] = brokenResults(broken);
    expect(result).toMatchObject({ env: 'bad', status: 'failed', phase: 'spec', file: 'env-specs/bad.yml', line: 5 });
    expect(result!.hint).toMatch(/^fix the spec: /);
    expect(brokenResults(broken, new Set(['good']))).toEqual([]);
  });

  it('a broken inventory still stops everything', () => {
    const files = { inventory: bytes('[conda]\nversion = x\n'), specs: new Map([['good.yml', bytes(good)]]) };
    expect(() => checkRepoTolerant('/repo', files, accept)).toThrow(InputError);
  });
});

describe('results before any build', () => {
  it('a guard failure becomes a plan-phase failure with the build id of its env', () => {
    const files = {
      inventory: bytes(inventory.replace('bad = REPLICATE\n', '')),
      specs: new Map([['good.yml', bytes(good)]]),
    };
    const desired = desiredState(checkRepoTolerant('/repo', files, accept).repo);
    const [r] = guardResults(
      [{ env: 'good', kind: 'channel', file: 'env-specs/good.yml', line: 2, message: 'channel not allowed' }],
      desired,
    );
    expect(r).toMatchObject({
      env: 'good',
      buildId: desired.envs[0]!.buildId,
      phase: 'plan',
      hint: 'channel not allowed',
      line: 2,
    });
    expect(preflightResult('x', 'spec', [{ file: 'f', line: 1, message: 'm' }]).failure?.excerpt).toEqual(['f:1: m']);
  });

  it('--env names only REPLICATE envs; none means all', () => {
    expect(selectEnvs([], new Set(['a']))).toBeUndefined();
    expect([...selectEnvs(['a'], new Set(['a', 'b']))!]).toEqual(['a']);
    expect(() => selectEnvs(['zz'], new Set(['a']))).toThrow(
      new UsageError('--env zz: not a REPLICATE environment in inventory.ini'),
    );
  });
});
