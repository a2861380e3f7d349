import { describe, expect, test } from 'vitest';
import { planAgainstRoot, renderPlan } from '../../scripts/core/plan.js';
import { desiredState, type Desired } from '../../scripts/core/desired.js';
import { checkRepo } from '../../scripts/core/repo.js';
import type { BuildRecord, BuildStatus, EnvSpec } from '../../scripts/core/types.js';
import { inventoryText, specText } from '../fixtures/repo.js';

const spec = (name: string): EnvSpec => ({
  file: `env-specs/${name}.yml`,
  name,
  channels: [],
  dependencies: [],
  pip: [],
  variables: {},
});

function desired(envs: Record<string, string>): Desired {
  return {
    condaVersion: '23.11.0',
    frontend: 'conda',
    envs: Object.entries(envs).map(([name, buildId]) => ({ name, spec: spec(name), buildId, legacyNoarch: [] })),
    kernels: [],
  };
}

function record(env: string, buildId: string, status: BuildStatus, bad?: string): BuildRecord {
  return {
    format: 1,
    env,
    buildId,
    specHash: 'h',
    status,
    condaVersion: '23.11.0',
    frontend: 'conda',
    prefix: `/root/v23.11.0/builds/${env}/${buildId}`,
    phases: [],
    startedAt: '2024-01-01T00:00:00Z',
    log: 'x.log',
    ...(bad ? { bad: { at: '2024-01-02T00:00:00Z', reason: bad } } : {}),
  };
}

const records = (...rs: BuildRecord[]) => new Map<string, BuildRecord | undefined>(rs.map((r) => [r.env, r]));

describe('planAgainstRoot', () => {
  test('an empty root: every desired env is to build, nothing else', () => {
    const plan = planAgainstRoot(desired({ a: 'aaa', b: 'bbb' }), new Map(), {});
    expect(plan.envs).toEqual([
      { name: 'a', buildId: 'aaa', action: 'build', reason: 'no build yet' },
      { name: 'b', buildId: 'bbb', action: 'build', reason: 'no build yet' },
    ]);
    expect(plan.unlink).toEqual([]);
    expect(plan.counts).toEqual({ keep: 0, link: 0, build: 2, blocked: 0, unlink: 0 });
    expect(plan.condaVersion).toBe('23.11.0');
  });

  test('the live build is the desired one: keep, whatever records say', () => {
    const plan = planAgainstRoot(desired({ a: 'aaa' }), records(record('a', 'aaa', 'tested')), { a: 'aaa' });
    expect(plan.envs).toEqual([
      { name: 'a', buildId: 'aaa', action: 'keep', reason: 'live build is up to date', record: 'tested', live: 'aaa' },
    ]);
  });

  test('a tested build not yet live is linked; it names the build it replaces', () => {
    const plan = planAgainstRoot(
      desired({ a: 'new', b: 'bbb' }),
      records(record('a', 'new', 'tested'), record('b', 'bbb', 'tested')),
      { a: 'old' },
    );
    expect(plan.envs.map((e) => [e.name, e.action, e.reason, e.live])).toEqual([
      ['a', 'link', 'tested build replaces old', 'old'],
      ['b', 'link', 'tested build, not yet live', undefined],
    ]);
    expect(plan.counts.link).toBe(2);
  });

  test.each<[BuildStatus, string]>([
    ['building', 'a build is in progress or crashed'],
    ['built', 'built but not tested'],
    ['failed', 'last build failed'],
  ])('a %s build is to build again (%s)', (status, reason) => {
    const plan = planAgainstRoot(desired({ a: 'aaa' }), records(record('a', 'aaa', status)), { a: 'old' });
    expect(plan.envs).toEqual([{ name: 'a', buildId: 'aaa', action: 'build', reason, record: status, live: 'old' }]);
  });

  test('a build rolled back as bad is blocked, even when tested', () => {
    const plan = planAgainstRoot(desired({ a: 'aaa' }), records(record('a', 'aaa', 'tested', 'broke hlink')), {
      a: 'old',
    });
    expect(plan.envs[0]).toMatchObject({
      action: 'blocked',
      reason: 'build was rolled back (broke hlink): revert or fix in git, or deploy --force',
    });
    expect(plan.counts).toEqual({ keep: 0, link: 0, build: 0, blocked: 1, unlink: 0 });
  });

  test('live envs the repo no longer wants are unlinked, sorted', () => {
    const plan = planAgainstRoot(desired({ b: 'bbb' }), new Map(), { zeta: 'z1', b: 'bbb', alpha: 'a1' });
    expect(plan.unlink).toEqual(['alpha', 'zeta']);
    expect(plan.counts).toMatchObject({ keep: 1, unlink: 2 });
  });

  test('every action at once, in desired order', () => {
    const plan = planAgainstRoot(
      desired({ a: 'a2', b: 'b1', c: 'c2', d: 'd1', e: 'e1' }),
      records(record('a', 'a2', 'tested'), record('c', 'c2', 'failed'), record('d', 'd1', 'tested', 'rollback')),
      { a: 'a1', b: 'b1', c: 'c1', gone: 'g1' },
    );
    expect(plan.envs.map((e) => `${e.name}:${e.action}`)).toEqual([
      'a:link',
      'b:keep',
      'c:build',
      'd:blocked',
      'e:build',
    ]);
    expect(plan.counts).toEqual({ keep: 1, link: 1, build: 2, blocked: 1, unlink: 1 });
    expect(renderPlan(plan)).toEqual([
      '~ link  a a2  (tested build replaces a1)',
      '+ build c c2  (last build failed)',
      '! block d d1  (build was rolled back (rollback): revert or fix in git, or deploy --force)',
      '+ build e e1  (no build yet)',
      '- unlink gone  (no longer REPLICATE in the repo)',
      'plan: 2 to build, 1 to link, 1 unchanged, 1 to unlink, 1 blocked (conda 23.11.0)',
    ]);
  });

  test('nothing to do renders one summary line', () => {
    const plan = planAgainstRoot(desired({ a: 'aaa' }), new Map(), { a: 'aaa' });
    expect(renderPlan(plan)).toEqual(['plan: 0 to build, 0 to link, 1 unchanged, 0 to unlink (conda 23.11.0)']);
  });
});

describe('desiredState from a repo', () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  const { repo } = checkRepo('/r', {
    inventory: enc(
      inventoryText({
        envs: { zed: 'REPLICATE', alpha: 'REPLICATE', old: 'export' },
        kernels: { alpha: 'Alpha (Py 3.11)' },
        legacyNoarch: ['ipums_utils'],
        channels: ['conda-forge', 'mpc'],
      }),
    ),
    specs: new Map([
      ['zed.yml', enc(specText('zed', { deps: ['python=3.11'] }))],
      [
        'alpha.yml',
        enc(specText('alpha', { channels: ['conda-forge', 'mpc'], deps: ['python=3.11', 'ipums_utils', 'ipykernel'] })),
      ],
      ['old.yml', enc(specText('old', { deps: ['python=2.7'] }))],
    ]),
  });

  test('REPLICATE envs only, sorted by name, each with its build id and legacy-noarch packages', () => {
    const d = desiredState(repo!);
    expect(d.condaVersion).toBe('23.11.0');
    expect(d.frontend).toBe('conda');
    expect(d.envs.map((e) => [e.name, e.legacyNoarch])).toEqual([
      ['alpha', ['ipums_utils']],
      ['zed', []],
    ]);
    for (const e of d.envs) expect(e.buildId).toMatch(/^[0-9a-f]{12}$/);
    expect(d.kernels).toEqual([{ name: 'alpha', displayName: 'Alpha (Py 3.11)' }]);
    const plan = planAgainstRoot(d, new Map(), {});
    expect(plan.envs.map((e) => e.name)).toEqual(['alpha', 'zed']);
  });
});
