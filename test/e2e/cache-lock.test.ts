/**
 * The package cache lock (state/lock.ts acquireCacheLocks) that parallel builds hold around conda's extraction: a
 * build killed with -9 while holding it must not make every next build wait the minute it takes to go stale.
 */
import { afterAll, describe, expect, test } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { acquireCacheLocks } from '../../scripts/state/lock.js';
import { cacheLockPath } from '../../scripts/core/pkgcache.js';

const base = mkdtempSync(join(tmpdir(), 'cg-cachelock-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

describe('package cache lock', () => {
  test('a holder killed with -9 frees the cache at once; a live holder is waited for', async () => {
    const cache = join(base, 'pkgs');
    const lockModule = resolve('dist/scripts/state/lock.js');
    const pkgcacheModule = resolve('dist/scripts/core/pkgcache.js');
    // a build process that takes the lock and then hangs (as conda would mid-extraction)
    const child = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const { acquireCacheLocks } = await import(${JSON.stringify(lockModule)});
         const { cacheLockPath } = await import(${JSON.stringify(pkgcacheModule)});
         await acquireCacheLocks([${JSON.stringify(cache)}], cacheLockPath, 10);
         console.log('held');
         setInterval(() => {}, 1000);`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((ok, fail) => {
      child.stdout!.on('data', (d: Buffer) => d.toString().includes('held') && ok());
      child.on('exit', (code) => fail(new Error(`holder exited ${code}`)));
    });
    expect(existsSync(cacheLockPath(cache))).toBe(true);

    // alive: a waiter gives up after its wait, the lock stays the holder's
    expect(await acquireCacheLocks([cache], cacheLockPath, 1)).toBeUndefined();

    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const t0 = Date.now();
    const release = await acquireCacheLocks([cache], cacheLockPath, 30);
    expect(release, 'the dead holder lock was not broken').toBeTypeOf('function');
    expect(Date.now() - t0).toBeLessThan(10_000); // not the 60 s stale time
    await release!();
    expect(existsSync(cacheLockPath(cache))).toBe(false);
  });
});
