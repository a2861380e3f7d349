import { describe, expect, it } from 'vitest';
import {
  compareCondaMeta,
  compareManifest,
  condaPathsOf,
  describeDrift,
  isDrift,
  manifestOf,
  type FileMap,
} from '../../scripts/core/integrity.js';

const files = (entries: Array<[string, number, number, string?]>): FileMap =>
  new Map(entries.map(([p, size, mtimeMs, sha256]) => [p, { size, mtimeMs, ...(sha256 ? { sha256 } : {}) }]));

describe('compareManifest', () => {
  const tested = files([
    ['lib/m/__init__.py', 10, 100, 'aa'],
    ['bin/python', 5, 100, 'bb'],
    ['lib/m/__pycache__/x.pyc', 3, 100, 'cc'],
  ]);
  const manifest = manifestOf('e', 'id', tested);

  it('leaves __pycache__ out of the manifest', () => {
    expect(Object.keys(manifest.files)).toEqual(['bin/python', 'lib/m/__init__.py']);
  });

  it('fast: size or mtime changed, added, removed', () => {
    const now = files([
      ['lib/m/__init__.py', 11, 100],
      ['bin/evil', 1, 1],
      ['lib/m/__pycache__/y.pyc', 1, 1],
    ]);
    const d = compareManifest(manifest, now, false);
    expect(d).toMatchObject({ changed: ['lib/m/__init__.py'], added: ['bin/evil'], removed: ['bin/python'] });
    expect(isDrift(d)).toBe(true);
    expect(describeDrift('e', d)).toEqual([
      'e: 1 file(s) changed since it was tested: lib/m/__init__.py',
      'e: 1 file(s) added since it was tested: bin/evil',
      'e: 1 file(s) removed since it was tested: bin/python',
    ]);
  });

  it('a same-size same-mtime change is seen only by the full mode', () => {
    const now = files([
      ['lib/m/__init__.py', 10, 100, 'XX'],
      ['bin/python', 5, 100, 'bb'],
    ]);
    expect(isDrift(compareManifest(manifest, now, false))).toBe(false);
    expect(compareManifest(manifest, now, true).changed).toEqual(['lib/m/__init__.py']);
  });

  it('a symlink pointing elsewhere is a change', () => {
    const m = manifestOf('e', 'id', new Map([['lib64', { size: 3, mtimeMs: 1, link: 'lib' }]]));
    expect(compareManifest(m, new Map([['lib64', { size: 3, mtimeMs: 1, link: '/etc' }]]), false).changed).toEqual([
      'lib64',
    ]);
  });
});

describe('conda-meta paths_data', () => {
  const record = {
    paths_data: {
      paths_version: 1,
      paths: [
        { _path: 'lib/a.py', path_type: 'hardlink', sha256: 'aa', size_in_bytes: 4 },
        { _path: 'bin/tool', path_type: 'hardlink', sha256: 'bb', size_in_bytes: 9, prefix_placeholder: '/opt/x' },
        { _path: 'lib/b.py', path_type: 'hardlink', sha256: 'cc', size_in_bytes: 2 },
        { _path: 'lib64', path_type: 'softlink' },
      ],
    },
  };

  it('reads paths, leaving out size and hash of files rewritten at link time', () => {
    expect(condaPathsOf(record)).toEqual([
      { path: 'lib/a.py', sha256: 'aa', size: 4, rewritten: false, link: false },
      { path: 'bin/tool', sha256: 'bb', rewritten: true, link: false },
      { path: 'lib/b.py', sha256: 'cc', size: 2, rewritten: false, link: false },
      { path: 'lib64', rewritten: false, link: true },
    ]);
    expect(condaPathsOf({ files: ['x'] })).toEqual([{ path: 'x', rewritten: true, link: false }]);
    expect(condaPathsOf(null)).toEqual([]);
  });

  it('changed by size (fast) or sha256 (full), removed; rewritten files only for presence', () => {
    const now = files([
      ['lib/a.py', 5, 1, 'aa'],
      ['bin/tool', 100, 1, 'zz'],
      ['lib64', 3, 1],
    ]);
    expect(compareCondaMeta(condaPathsOf(record), now, false)).toMatchObject({
      source: 'conda-meta',
      changed: ['lib/a.py'],
      removed: ['lib/b.py'],
      added: [],
    });
    const same = files([
      ['lib/a.py', 4, 1, 'XX'],
      ['bin/tool', 9, 1, 'bb'],
      ['lib/b.py', 2, 1, 'cc'],
      ['lib64', 3, 1],
    ]);
    expect(isDrift(compareCondaMeta(condaPathsOf(record), same, false))).toBe(false);
    expect(compareCondaMeta(condaPathsOf(record), same, true).changed).toEqual(['lib/a.py']);
  });
});

describe('mtime precision', () => {
  it('an mtime restored through utimes (ms, float seconds) is the same mtime', () => {
    const m = manifestOf('e', 'id', files([['a', 1, 1732957162417.5693, 'x']]));
    expect(isDrift(compareManifest(m, files([['a', 1, 1732957162416.9999]]), false))).toBe(false);
    expect(isDrift(compareManifest(m, files([['a', 1, 1732957162419]]), false))).toBe(true);
  });
});

describe('restores and modes', () => {
  it('a tree restored by tar (whole seconds) is not changed by hand; another second is', () => {
    const m = manifestOf('e', 'id', files([['a', 1, 1732957162417.5693, 'x']]));
    expect(isDrift(compareManifest(m, files([['a', 1, 1732957162000]]), false))).toBe(false);
    expect(isDrift(compareManifest(m, files([['a', 1, 1732957163000]]), false))).toBe(true);
  });

  it('a mode change (setuid) is a change, in a fast and in a full scan', () => {
    const m = manifestOf('e', 'id', new Map([['bin/tool', { size: 4, mtimeMs: 100, mode: 0o755, sha256: 'aa' }]]));
    const setuid = new Map([['bin/tool', { size: 4, mtimeMs: 100, mode: 0o4755, sha256: 'aa' }]]);
    expect(compareManifest(m, setuid, false).changed).toEqual(['bin/tool']);
    expect(compareManifest(m, setuid, true).changed).toEqual(['bin/tool']);
    const same = new Map([['bin/tool', { size: 4, mtimeMs: 100, mode: 0o755, sha256: 'aa' }]]);
    expect(isDrift(compareManifest(m, same, true))).toBe(false);
  });
});
