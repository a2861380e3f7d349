import { describe, expect, it } from 'vitest';
import { rattler } from '../../scripts/core/rattler.js';

describe('rattler', () => {
  it('loads the wasm module once: every caller shares the first load', async () => {
    const first = rattler();
    expect(rattler()).toBe(first);
    expect(await rattler()).toBe(await first);
  });

  it('orders versions as conda does: numerically, pre-releases first, trailing zeros equal, epochs last', async () => {
    const { Version } = await rattler();
    const cmp = (a: string, b: string) => Math.sign(new Version(a).compare(new Version(b)));
    expect(cmp('1.10', '1.9')).toBe(1);
    expect(cmp('1.0a1', '1.0')).toBe(-1);
    expect(cmp('1.0', '1.0.0')).toBe(0);
    expect(cmp('2024.1', '1!0.1')).toBe(-1);
  });

  it('matches version specs as conda does and throws on bad syntax', async () => {
    const { Version, VersionSpec } = await rattler();
    const matches = (spec: string, v: string) => new VersionSpec(spec, 'lenient').matches(new Version(v));
    expect(matches('>=1.20,<2', '1.26.4')).toBe(true);
    expect(matches('>=1.20,<2', '1.3')).toBe(false); // 3 < 20: not a string comparison
    expect(matches('1.2.*', '1.2.9')).toBe(true);
    expect(matches('1.2.*', '1.20')).toBe(false);
    expect(() => new VersionSpec('>=>1', 'lenient')).toThrow();
  });
});
