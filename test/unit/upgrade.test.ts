/** core/upgrade.ts: which way a pull request moves conda, and why an older head is refused (rebase on main). */
import { describe, expect, test } from 'vitest';
import { isOlderInstallation, olderCondaRefusal, versionLine } from '../../scripts/core/upgrade.js';

const conda = (version: string) => ({ version, line: versionLine('conda') });

describe('olderCondaRefusal', () => {
  const where = 'inventory.ini:2';

  test('a head older than the base commit (a branch cut before main upgraded, or a downgrade) is refused', () => {
    const m = olderCondaRefusal({ head: conda('23.11.0'), base: conda('24.1.2'), where });
    expect(m).toMatch(/^inventory\.ini:2: \[conda\] version 23\.11\.0 is older than 24\.1\.2 \(the base commit/);
    expect(m).toContain('rebase on main');
    expect(m).not.toMatch(/conda upgrade/);
  });

  test('a head older than the live installation is refused even when the base names the same version', () => {
    const m = olderCondaRefusal({ head: conda('23.11.0'), base: conda('23.11.0'), live: conda('24.1.2'), where });
    expect(m).toMatch(/older than 24\.1\.2 \(the live installation, ROOT\/current\)/);
    expect(m).toContain('rebase on main');
  });

  test('the same version, or a newer one, is built', () => {
    expect(olderCondaRefusal({ head: conda('24.1.2'), base: conda('24.1.2'), live: conda('24.1.2'), where })).toBe(
      undefined,
    );
    expect(olderCondaRefusal({ head: conda('24.1.2'), base: conda('23.11.0'), live: conda('4.3.22'), where })).toBe(
      undefined,
    );
    expect(olderCondaRefusal({ head: conda('24.1.2'), where })).toBe(undefined);
  });

  test("versions compare in conda's order, not as text", () => {
    expect(olderCondaRefusal({ head: conda('4.10.3'), base: conda('4.9.2'), where })).toBe(undefined);
    expect(olderCondaRefusal({ head: conda('4.3.22'), base: conda('4.10.3'), where })).toContain('rebase on main');
  });

  test("micromamba's versions are its own: a move between conda and micromamba is never called older", () => {
    const micro = { version: '2.0.5', line: versionLine('micromamba') };
    expect(olderCondaRefusal({ head: micro, base: conda('4.3.22'), live: conda('4.3.22'), where })).toBe(undefined);
    expect(olderCondaRefusal({ head: conda('23.11.0'), base: micro, where })).toBe(undefined);
    // mamba's installation is conda's version line
    expect(versionLine('mamba')).toBe(versionLine('conda'));
  });
});

describe('isOlderInstallation', () => {
  test('only within one version line, and not when a line is unknown', () => {
    expect(isOlderInstallation(conda('23.11.0'), conda('24.1.2'))).toBe(true);
    expect(isOlderInstallation(conda('24.1.2'), conda('23.11.0'))).toBe(false);
    expect(isOlderInstallation(conda('24.1.2'), conda('24.1.2'))).toBe(false);
    expect(isOlderInstallation({ version: '2.0.5', line: 'micromamba' }, conda('23.11.0'))).toBe(false);
    expect(isOlderInstallation({ version: '2.0.5' }, conda('23.11.0'))).toBe(false);
  });
});
