import { describe, expect, test } from 'vitest';
import { desiredState } from '../../scripts/core/desired.js';
import { TEST_PROCEDURE_VERSION, verdictKey } from '../../scripts/core/verdict.js';
import { matrixSlices } from '../../scripts/core/plan.js';
import { checkRepo } from '../../scripts/core/repo.js';
import { inventoryText, specText } from '../fixtures/repo.js';

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
    expect(d.kernels).toEqual([{ name: 'alpha', displayName: 'Alpha (Py 3.11)', line: expect.any(Number) }]);
    expect(d.envs.map((e) => [e.name, e.kernel])).toEqual([
      ['alpha', true],
      ['zed', false],
    ]);
    for (const e of d.envs) expect(e.verdictKey).toMatch(/^[0-9a-f]{16}$/);
  });
});

describe('desiredState: an env publishing a kernelspec it ships (ENV:SPEC)', () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  const repoWith = (kernels: Record<string, string>) =>
    checkRepo('/r', {
      inventory: enc(inventoryText({ envs: { geo: 'REPLICATE' }, kernels })),
      specs: new Map([['geo.yml', enc(specText('geo', { deps: ['python=3.11', 'r-irkernel'] }))]]),
    }).repo!;

  test('QA checks its runtime (not ipykernel), under a verdict key of its own; old keys are unchanged', () => {
    const plain = desiredState(repoWith({})).envs[0]!;
    const r = desiredState(repoWith({ 'geo:ir': 'Geo (R)' })).envs[0]!;
    expect(r.kernel).toBe(false); // no ipykernel check
    expect(r.kernelSpecs).toEqual(['ir']);
    expect(r.verdictKey).not.toBe(plain.verdictKey);
    // a verdict without the R kernel check does not cover it
    expect(r.coveredBy).toBeUndefined();
    const both = desiredState(repoWith({ geo: 'Geo', 'geo:ir': 'Geo (R)' })).envs[0]!;
    expect([both.kernel, both.kernelSpecs]).toEqual([true, ['ir']]);
    expect(new Set([plain.verdictKey, r.verdictKey, both.verdictKey]).size).toBe(3);
    // without shipped kernelspecs, keys are what they were before they existed
    expect(plain.verdictKey).toBe(
      verdictKey({ buildId: plain.buildId, tests: '', kernel: false, procedure: TEST_PROCEDURE_VERSION }),
    );
  });
});

describe('matrixSlices (plan --matrix N)', () => {
  test('sorted, dealt round-robin, no empty slice, every env exactly once', () => {
    expect(matrixSlices(['gamma', 'alpha', 'delta', 'beta', 'eps'], 2)).toEqual([
      { slice: '1/2', envs: 'alpha delta gamma' },
      { slice: '2/2', envs: 'beta eps' },
    ]);
    expect(matrixSlices(['a'], 4)).toEqual([{ slice: '1/1', envs: 'a' }]);
    expect(matrixSlices([], 3)).toEqual([]);
    const many = Array.from({ length: 101 }, (_, i) => `env${i}`);
    const slices = matrixSlices(many, 8);
    expect(slices).toHaveLength(8);
    expect(slices.flatMap((s) => s.envs.split(' ')).sort()).toEqual([...many].sort());
  });
});
