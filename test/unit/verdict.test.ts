import { describe, expect, test } from 'vitest';
import { legacyVerdict, verdictKey, verdictShapeProblem, testsHash } from '../../scripts/core/verdict.js';
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

  test('the shape check names what is wrong', () => {
    expect(verdictShapeProblem('x')).toBe('not a JSON object');
    expect(verdictShapeProblem({ format: 9 })).toMatch(/unknown format 9/);
    expect(
      verdictShapeProblem({
        format: 1,
        env: 'e',
        buildId: 'b',
        key: 'k',
        testedAt: 't',
        ok: true,
        inputs: {},
        phase: {},
      }),
    ).toBeUndefined();
  });
});
