import { describe, expect, test } from 'vitest';
import { legacyVerdict, verdictKey, testsHash } from '../../scripts/core/verdict.js';
import { schemaProblem } from '../../scripts/state/checked.js';
import type { BuildRecord } from '../../scripts/core/types.js';

const key = (o: Partial<Parameters<typeof verdictKey>[0]> = {}) =>
  verdictKey({ buildId: 'abc', tests: '', kernel: false, procedure: 1, ...o });

describe('verdict keys', () => {
  test('the key changes with the test scripts, the kernel check, the procedure and the build', () => {
    const k = key();
    expect(k).toMatch(/^[0-9a-f]{16}$/);
    expect(key({ tests: 'exit 1\0' })).not.toBe(k);
    expect(key({ kernel: true })).not.toBe(k);
    expect(key({ procedure: 2 })).not.toBe(k);
    expect(key({ buildId: 'abd' })).not.toBe(k);
    expect(key({ tests: '\0' })).toBe(k); // no scripts at all, however the texts are joined
    expect(testsHash('')).toBe('');
  });

  test('an old `tested` record is a passing verdict for the no-tests, not-a-kernel key only', () => {
    const rec = { buildId: 'abc', status: 'tested' } as BuildRecord;
    expect(legacyVerdict(rec, key())).toEqual({ ok: true, legacy: true });
    expect(legacyVerdict(rec, key({ kernel: true }))).toBeUndefined();
    expect(legacyVerdict(rec, key({ tests: 'x' }))).toBeUndefined();
    expect(legacyVerdict({ ...rec, status: 'failed' }, key())).toBeUndefined();
  });

  test('the live build of an old ROOT keeps its verdict after the upgrade, but a new kernel is still checked', () => {
    const rec = { buildId: 'abc', status: 'tested' } as BuildRecord;
    const ok = { ok: true, legacy: true };
    // its tests as they are: upgrading the tool does not turn a working installation red
    expect(legacyVerdict(rec, key({ tests: 'x' }), { live: true })).toEqual(ok);
    // already served as a kernel (its kernelspec is written): fine; newly listed in [kernels]: ipykernel check
    expect(legacyVerdict(rec, key({ kernel: true }), { live: true, kernel: true, servedAsKernel: true })).toEqual(ok);
    expect(legacyVerdict(rec, key({ kernel: true }), { live: true, kernel: true })).toBeUndefined();
    // not live: only the no-tests, not-a-kernel key
    expect(legacyVerdict(rec, key({ tests: 'x' }), { live: false })).toBeUndefined();
  });

  test('a verdict file is checked against its schema, which names what is wrong', () => {
    const verdict = {
      format: 1,
      env: 'e',
      buildId: 'abcdef012345.r1',
      key: '0123456789abcdef',
      inputs: { tests: '', kernel: false, procedure: 1 },
      ok: true,
      testedAt: '2024-01-01T00:00:00.000Z',
      phase: { name: 'test', ok: true, seconds: 1 },
    };
    expect(schemaProblem(verdict, 'verdict')).toBeUndefined();
    expect(schemaProblem('x', 'verdict')).toMatch(/must be object/);
    expect(schemaProblem({ ...verdict, format: 9 }, 'verdict')).toMatch(/format 9 is not one this release reads/);
    expect(schemaProblem({ ...verdict, ok: 'yes' }, 'verdict')).toMatch(/\/ok must be boolean/);
  });
});
