import { describe, expect, test } from 'vitest';
import {
  formatMatchSpec,
  ignoredBracketText,
  isPlainVersionSpec,
  matchesVersion,
  MatchSpecError,
  parseDependencyText,
  parseMatchSpec,
  versionSpecChecker,
  withoutIgnoredBrackets,
} from '../../scripts/core/matchspec.js';
import { parseSpec } from '../../scripts/core/spec.js';
import { corpusFiles, corpusText } from '../fixtures/repo.js';

describe('parseMatchSpec', () => {
  test.each([
    ['numpy', { name: 'numpy' }],
    ['numpy=1.21', { name: 'numpy', version: '1.21.*' }],
    ['numpy=1.21.*', { name: 'numpy', version: '1.21.*' }],
    ['numpy==1.21.0', { name: 'numpy', version: '==1.21.0' }],
    ['numpy>=1.20,<2', { name: 'numpy', version: '>=1.20,<2' }],
    ['numpy >= 1.20, < 2', { name: 'numpy', version: '>=1.20,<2' }],
    ['python 3.9.*', { name: 'python', version: '3.9.*' }],
    ['python=3.9=h12debd9_0', { name: 'python', version: '3.9.*', build: 'h12debd9_0' }],
    ['python==3.9.7=h12debd9_0', { name: 'python', version: '==3.9.7', build: 'h12debd9_0' }],
    ['blas=*=mkl', { name: 'blas', version: '*', build: 'mkl' }],
    ['blas * *openblas', { name: 'blas', version: '*', build: '*openblas' }],
    ['numpy *', { name: 'numpy' }],
    ['libarchive>=3.8 lgpl_*', { name: 'libarchive', version: '>=3.8', build: 'lgpl_*' }],
    ['python 2.7|>=3.6', { name: 'python', version: '2.7|>=3.6' }],
    ['conda-forge::numpy>=1.20', { channel: 'conda-forge', name: 'numpy', version: '>=1.20' }],
    ['pytorch/label/nightly::pytorch', { channel: 'pytorch/label/nightly', name: 'pytorch' }],
    ["numpy[version='>=1.2',build=py39*]", { name: 'numpy', version: '>=1.2', build: 'py39*' }],
    ['PyYAML', { name: 'pyyaml' }],
    ['r-base=4.3', { name: 'r-base', version: '4.3.*' }],
    ['_libgcc_mutex=0.1=conda_forge', { name: '_libgcc_mutex', version: '0.1.*', build: 'conda_forge' }],
    ['numpy  # with a comment', { name: 'numpy' }],
  ])('%s', (text, expected) => {
    expect(parseMatchSpec(text)).toEqual(expected);
  });

  test.each([
    ['', /empty package specification/],
    ['x;rm', /invalid package name 'x;rm'/],
    ['../x', /invalid package name '\.\.\/x'/],
    ['$(id)', /invalid package name/],
    ['::numpy', /empty channel/],
    ['numpy=1=2=3', /too many '='/],
    ['numpy >=1 py39 extra', /unexpected 'extra'/],
    ["numpy[version='1'", /unbalanced '\['/],
    ['=1.2', /no package name/],
  ])('rejects %j', (text, message) => {
    expect(() => parseMatchSpec(text)).toThrow(MatchSpecError);
    expect(() => parseMatchSpec(text)).toThrow(message);
  });

  test('bracket text that is not key=value is ignored, as conda does (tiled[all] means tiled)', () => {
    expect(parseMatchSpec('tiled[all]')).toEqual({ name: 'tiled' });
    expect(parseMatchSpec("numpy[1.2,version='>=1.2']")).toEqual({ name: 'numpy', version: '>=1.2' });
    expect(ignoredBracketText('tiled[all]')).toEqual(['all']);
    expect(ignoredBracketText("numpy[version='>=1.2']")).toEqual([]);
    expect(withoutIgnoredBrackets('conda-forge::tiled[all]  # extras')).toBe('conda-forge::tiled');
    expect(withoutIgnoredBrackets("numpy[1.2,version='>=1.2']")).toBe("numpy[version='>=1.2']");
    expect(withoutIgnoredBrackets('numpy>=1')).toBe('numpy>=1');
  });

  test('equal lines share one frozen result (big repos repeat the same deps)', () => {
    const a = parseDependencyText('  scipy>=1.11  ');
    const b = parseDependencyText('  scipy>=1.11  ');
    expect(b).toBe(a);
    expect(a.text).toBe('scipy>=1.11');
    expect(Object.isFrozen(a.spec)).toBe(true);
    expect(() => {
      (a.spec as { name: string }).name = 'x';
    }).toThrow(TypeError);
    expect(parseMatchSpec('scipy>=1.11')).toEqual({ name: 'scipy', version: '>=1.11' });
  });
});

describe('formatMatchSpec', () => {
  test.each([
    ['numpy', 'numpy'],
    ['numpy=1.21', 'numpy 1.21.*'],
    ['numpy >= 1.20, < 2', 'numpy >=1.20,<2'],
    ['blas=*=mkl', 'blas * mkl'],
    ['conda-forge::numpy==1.26.4=py311h64a7726_0', 'conda-forge::numpy ==1.26.4 py311h64a7726_0'],
    ["numpy[version='>=1.2',build=py39*]", 'numpy >=1.2 py39*'],
  ])('%s -> %s, which parses back to the same spec', (text, canonical) => {
    const ms = parseMatchSpec(text);
    expect(formatMatchSpec(ms)).toBe(canonical);
    expect(parseMatchSpec(canonical)).toEqual(ms);
  });
});

describe('matchesVersion: conda semantics, not string comparison', () => {
  test.each([
    ['1.2.*', '1.2.5', true],
    ['1.2.*', '1.20.0', false],
    ['==1.2', '1.2.0', true],
    ['==1.2', '1.2.1', false],
    ['>=1.20,<2', '1.9.9', false],
    ['>=1.20,<2', '1.21.0', true],
    ['>=1.20,<2', '2.0.0', false],
    ['>=1.10', '1.9', false],
    ['<2', '2.0.0rc1', true],
    ['2.7.*|>=3.6', '2.7.18', true],
    ['2.7.*|>=3.6', '3.5.0', false],
    ['2.7.*|>=3.6', '3.11.4', true],
    ['!=1.5', '1.5.0', false],
    ['~=1.4.2', '1.4.9', true],
    ['~=1.4.2', '1.5.0', false],
    ['>=1.0', '1.0.post1', true],
  ])('%s matches %s: %s', async (spec, version, expected) => {
    expect(await matchesVersion(spec, version)).toBe(expected);
  });

  test('no spec or * matches everything', async () => {
    expect(await matchesVersion(undefined, '0.0.1')).toBe(true);
    expect(await matchesVersion('*', '99')).toBe(true);
  });
});

describe('versionSpecChecker', () => {
  test('accepts conda version specs, rejects broken ones with the spec in the message', async () => {
    const check = await versionSpecChecker();
    for (const ok of ['1.2.*', '>=1.20,<2', '==1.21.0', '2.7|>=3.6', '!=1.5', '~=1.4.2', '1.0.0rc1'])
      expect(check(ok), ok).toBeUndefined();
    for (const bad of ['>=1.2,,<<2', '==', '3.x.y..*', '>='])
      expect(check(bad), bad).toMatch(
        new RegExp(`^invalid version spec '${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}'`),
      );
  });
});

describe('isPlainVersionSpec: a shortcut that must never accept what rattler rejects', () => {
  const versions = [
    '0',
    '1',
    '1.2',
    '1.2.3',
    '01.2',
    '1.2.3.4.5.6',
    '1.1.1w',
    '2023c',
    '1.0rc1',
    '1.0post',
    '4.3_1',
    '1_2',
    '1e5',
    '1.',
    '1..2',
    '.1',
    '1.2.',
    'a1',
    'v1.0',
    '1.0-1',
    '1.0+local',
    '2!1.0',
    '1.2a_',
    '1__2',
    '1._2',
    '1.2*',
    '1.*.*',
    'RC1',
    '1.0RC1',
    '',
  ];
  const atoms = versions.flatMap((v) => [
    v,
    `${v}.*`,
    ...['==', '!=', '>=', '<=', '>', '<', '~=', '=', '=>'].map((op) => `${op}${v}`),
  ]);
  const specs = [
    ...atoms,
    '*',
    '>=*',
    '**',
    ...atoms.slice(0, 60).flatMap((a) => [`${a},<2`, `>=1,${a}`, `${a}|>=3.6`, `${a},,<2`, `${a}|`]),
  ];

  test('everything it accepts, rattler accepts', async () => {
    const check = await versionSpecChecker();
    const accepted = specs.filter(isPlainVersionSpec);
    for (const v of accepted) expect(check(v), v).toBeUndefined();
    expect(accepted.length).toBeGreaterThan(100);
  });

  test('every version in the real corpus it accepts is valid, and it accepts nearly all of them', async () => {
    const check = await versionSpecChecker();
    const seen = new Set<string>();
    for (const f of corpusFiles())
      for (const d of parseSpec(corpusText(f), f, 'x').spec?.dependencies ?? [])
        if (d.spec.version) seen.add(d.spec.version);
    const plain = [...seen].filter(isPlainVersionSpec);
    for (const v of plain) expect(check(v), v).toBeUndefined();
    if (seen.size) expect(plain.length).toBeGreaterThan(seen.size * 0.95);
  });

  test('the common shapes are plain; rare ones are left to rattler', () => {
    for (const v of ['3.11.*', '>=1.20,<2', '==1.26.4', '2.7.*|>=3.6', '1.1.1w', '4.3_1.*', '*'])
      expect(isPlainVersionSpec(v), v).toBe(true);
    for (const v of ['~=1.4', '>=1.2.*', '1!152.2018', '1.0+local', '>=1.2,,<<2', '3.x.y..*'])
      expect(isPlainVersionSpec(v), v).toBe(false);
  });
});

describe('bracket fields that choose where a package comes from', () => {
  test('reads [channel=...] as the channel of the spec', () => {
    expect(parseMatchSpec('numpy[channel=file:///ANYWHERE/evilchan]')).toEqual({
      name: 'numpy',
      channel: 'file:///ANYWHERE/evilchan',
    });
    expect(parseMatchSpec("numpy[version='>=1.2', channel='conda-forge']").channel).toBe('conda-forge');
  });

  test('keeps [url=...]', () => {
    expect(parseMatchSpec('numpy[url=https://evil.example/c/linux-64/numpy-1.0-0.conda]').url).toBe(
      'https://evil.example/c/linux-64/numpy-1.0-0.conda',
    );
  });

  test('refuses two different channels in one spec', () => {
    expect(() => parseMatchSpec('conda-forge::numpy[channel=evil]')).toThrow(/two channels/);
  });
});
