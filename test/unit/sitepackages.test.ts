import { describe, expect, test } from 'vitest';
import {
  accountPipEntries,
  archiveName,
  comparableUrl,
  eggLinkDist,
  parseDirectUrl,
  parseMetadata,
  type InstalledDist,
} from '../../scripts/core/sitepackages.js';
import { classifyPipEntry } from '../../scripts/core/pip.js';

const entries = (...lines: string[]) => lines.map((l, i) => classifyPipEntry(l, i + 10).entry);
const short = (lines: string[], dists: InstalledDist[]) =>
  accountPipEntries(entries(...lines), dists, {
    resolvePath: (p) => (p.startsWith('/') ? p : `/repo/env-specs/${p.replace(/^\.\//, '')}`),
  }).map((s) => `${s.entry.line}: ${s.entry.text}: ${s.reason}`);

describe('reading site-packages metadata', () => {
  test('METADATA / PKG-INFO headers, direct_url.json, egg-link', () => {
    expect(parseMetadata('Metadata-Version: 2.1\r\nName: Foo_Bar\r\nVersion: 1.0\r\n\r\nName: body\n')).toEqual({
      name: 'Foo_Bar',
      version: '1.0',
    });
    expect(parseDirectUrl('{"url":"https://h/x.git","vcs_info":{"vcs":"git","commit_id":"abc"}}')).toEqual({
      url: 'https://h/x.git',
      vcs: 'git',
    });
    expect(parseDirectUrl('{"url":"file:///src/p","dir_info":{"editable":true}}')).toEqual({
      url: 'file:///src/p',
      editable: true,
    });
    expect(parseDirectUrl('not json')).toBeUndefined();
    expect(eggLinkDist('mypkg.egg-link', '/src/mypkg\n.\n')).toEqual({
      name: 'mypkg',
      directUrl: { url: 'file:///src/mypkg', editable: true },
    });
    expect(comparableUrl('git+https://h/o/r.git@v1.2#egg=r')).toBe('https://h/o/r');
    expect(archiveName('./w/pkg_a-1.0-py3-none-any.whl')).toEqual({ name: 'pkg_a', version: '1.0' });
    expect(archiveName('pkg-a-2.0.tar.gz')).toEqual({ name: 'pkg-a', version: '2.0' });
  });
});

describe('accountPipEntries: every pip entry is accounted for', () => {
  const dists: InstalledDist[] = [
    { name: 'tabulate', version: '0.9.0', installer: 'pip' },
    { name: 'Rich', version: '13.1', installer: 'pip' },
    { name: 'hlinktool', version: '0.3.0', directUrl: { url: 'file:///srv/hlinktool', vcs: 'git' } },
    { name: 'localpkg', version: '0.1', directUrl: { url: 'file:///repo/env-specs/localpkg', editable: true } },
    { name: 'pkg_a', version: '1.0' },
  ];

  test('present entries of every kind pass', () => {
    expect(
      short(
        [
          'tabulate==0.9',
          'rich>=13,<14',
          'rich',
          'git+file:///srv/hlinktool@main',
          'git+https://h/o/other.git#egg=hlinktool',
          '-e ./localpkg',
          './wheels/pkg_a-1.0-py3-none-any.whl',
          '--extra-index-url https://x',
        ],
        dists,
      ),
    ).toEqual([]);
  });

  test('missing or wrong ones are named with their line and reason', () => {
    expect(
      short(
        [
          'tabulate==0.8.0',
          'rich<13',
          'nosuch',
          'git+file:///srv/other',
          '-e ./otherpkg',
          './w/pkg_b-1.0-py3-none-any.whl',
        ],
        dists,
      ),
    ).toEqual([
      '10: tabulate==0.8.0: installed 0.9.0 does not match ==0.8.0',
      '11: rich<13: installed 13.1 does not match <13',
      '12: nosuch: not installed (pip)',
      '13: git+file:///srv/other: not installed (pip)',
      '14: -e ./otherpkg: not installed (pip)',
      '15: ./w/pkg_b-1.0-py3-none-any.whl: not installed (pip)',
    ]);
  });
});
