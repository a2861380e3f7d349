import { describe, expect, it } from 'vitest';
import { diffCounts, diffPackages, isEmptyDiff, renderPackageDiff } from '../../scripts/core/pkgdiff.js';

const live = [
  { name: 'python', version: '3.11.5', build: 'h1_0', channel: 'conda-forge' },
  { name: 'numpy', version: '1.24.0', build: 'py311_0', channel: 'conda-forge' },
  { name: 'six', version: '1.16.0', build: 'pyh_0', channel: 'conda-forge' },
  { name: 'requests', version: '2.31.0', build: 'pypi_0', channel: 'pypi' },
  { name: 'openssl', version: '3.0.12', build: 'h7f_0', channel: 'conda-forge' },
];

describe('diffPackages', () => {
  it('lists added, removed and version-changed packages', () => {
    const candidate = [
      { name: 'python', version: '3.11.5', build: 'h1_0', channel: 'conda-forge' },
      { name: 'numpy', version: '1.26.0', build: 'py311_0', channel: 'conda-forge' },
      { name: 'scipy', version: '1.11.0', build: 'py311_0', channel: 'conda-forge' },
      { name: 'requests', version: '2.31.0', build: 'pypi_0', channel: 'pypi' },
      { name: 'openssl', version: '3.0.12', build: 'h7f_1', channel: 'conda-forge' },
    ];
    const d = diffPackages(live, candidate);
    expect(d.added.map((p) => p.name)).toEqual(['scipy']);
    expect(d.removed.map((p) => p.name)).toEqual(['six']);
    expect(d.changed).toEqual([{ name: 'numpy', from: '1.24.0', to: '1.26.0' }]);
    expect(d.rebuilt).toEqual([{ name: 'openssl', from: '3.0.12 h7f_0 conda-forge', to: '3.0.12 h7f_1 conda-forge' }]);
    expect(d.unchanged).toBe(2);
    expect(diffCounts(d)).toBe('+1 -1 ~1 1 rebuilt');
  });

  it('a package moving from pip to conda at the same version is a rebuild, not a removal', () => {
    const candidate = live.map((p) => (p.name === 'requests' ? { ...p, build: 'pyhd8_0', channel: 'conda-forge' } : p));
    const d = diffPackages(live, candidate);
    expect(d.added).toEqual([]);
    expect(d.removed).toEqual([]);
    expect(d.rebuilt.map((c) => c.name)).toEqual(['requests']);
  });

  it('names compare case-insensitively and a conda record wins over its pypi twin', () => {
    const d = diffPackages(
      [
        { name: 'PyYAML', version: '5.1', channel: 'pypi' },
        { name: 'pyyaml', version: '6.0', channel: 'conda-forge' },
      ],
      [{ name: 'pyyaml', version: '6.0', channel: 'conda-forge' }],
    );
    expect(isEmptyDiff(d)).toBe(true);
  });

  it('a new env has no live build: everything is added', () => {
    const d = diffPackages(undefined, live);
    expect(d.hasLive).toBe(false);
    expect(d.added).toHaveLength(5);
    expect(diffCounts(d)).toBe('new env (5 packages)');
    expect(renderPackageDiff('x', d)).toEqual(['**x**: new env, 5 packages']);
  });

  it('an identical rebuild shows no change', () => {
    const d = diffPackages(live, [...live].reverse());
    expect(isEmptyDiff(d)).toBe(true);
    expect(diffCounts(d)).toBe('no change');
  });

  it('renders a diff block for reviewers, truncated when long', () => {
    const many = Array.from({ length: 80 }, (_, i) => ({ name: `p${String(i).padStart(2, '0')}`, version: '1.0' }));
    const lines = renderPackageDiff('big', diffPackages(live, [...live, ...many]), 10);
    expect(lines[0]).toBe('**big**: +80 -0 ~0 (5 unchanged)');
    expect(lines).toContain('+ p00 1.0');
    expect(lines).toContain('... 70 more (see report.json)');
    expect(lines.at(-1)).toBe('```');
  });
});
