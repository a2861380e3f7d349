/** core/hermetic.ts, core/pkgcache.ts: a build's private home and its package caches. */
import { describe, expect, it } from 'vitest';
import { privateHome, SYSTEM_RC_DIRS } from '../../scripts/core/hermetic.js';
import { cacheLockPath, packageCaches } from '../../scripts/core/pkgcache.js';

describe('privateHome', () => {
  it('puts HOME and the XDG config and data homes inside the build, with an empty env registry', () => {
    const h = privateHome('/tmp/cg-build-x/');
    expect(h.env).toEqual({
      HOME: '/tmp/cg-build-x/home',
      XDG_CONFIG_HOME: '/tmp/cg-build-x/home/.config',
      XDG_DATA_HOME: '/tmp/cg-build-x/home/.local/share',
    });
    expect(h.dirs).toContain('/tmp/cg-build-x/home/.conda');
    expect(h.files).toEqual(['/tmp/cg-build-x/home/.conda/environments.txt']);
  });

  it("names conda's system rc directories (conda/base/constants.py SEARCH_PATH)", () => {
    expect([...SYSTEM_RC_DIRS]).toEqual(['/etc/conda', '/var/lib/conda']);
  });
});

describe('packageCaches', () => {
  it('the configured pkgs-dirs (deduplicated, no trailing slash), else ROOT/vX/pkgs', () => {
    expect(packageCaches('/pkg/conda/v24.11.3/')).toEqual(['/pkg/conda/v24.11.3/pkgs']);
    expect(packageCaches('/pkg/conda/v24.11.3', [])).toEqual(['/pkg/conda/v24.11.3/pkgs']);
    expect(packageCaches('/r/v1', ['/c/a/', '/c/b', '/c/a'])).toEqual(['/c/a', '/c/b']);
  });

  it('locks a cache with a directory inside it that conda does not take for a package', () => {
    expect(cacheLockPath('/c/a/')).toBe('/c/a/.conda-gitops-cache.lock');
  });
});
