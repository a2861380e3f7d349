/**
 * Who waits for the shared package cache. A pull request's builds (qa) get a private cache layered over the
 * shared ones, which they only read: they hold the shared caches as readers, side by side, so `qa --jobs 4`
 * builds four envs at once. A trusted build (main's `build`, `deploy --build-missing`) extracts into the shared
 * cache: it waits until no build reads or writes it, and readers wait for it. A wait past the phase's timeout fails
 * the build as `timeout`, naming the cache; a reader killed with -9 holds nothing.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { memoryOutput } from '../../scripts/cli/output.js';
import { loadRepo } from '../../scripts/repo/repo.js';
import { desiredState } from '../../scripts/core/desired.js';
import { runBuilds } from '../../scripts/app/pipeline.js';
import { makeQaWorld, worldSpec, writeRepo, type QaWorld } from '../fixtures/qa-world.js';

let world: QaWorld;
let cache: string;
const holders: ChildProcess[] = [];

beforeAll(() => {
  world = makeQaWorld();
  cache = join(world.conda.prefix, 'pkgs');
});
afterEach(() => {
  for (const h of holders.splice(0)) h.kill('SIGKILL');
});
afterAll(() => world?.cleanup());

/** Another build holding the shared cache (as conda would mid-extraction, or a PR build reading it). */
async function holdCache(mode: 'read' | 'write'): Promise<ChildProcess> {
  const holder = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `const { acquireCacheLocks } = await import(${JSON.stringify(resolve('dist/scripts/state/lock.js'))});
       const { cacheLockPath } = await import(${JSON.stringify(resolve('dist/scripts/core/pkgcache.js'))});
       if (!(await acquireCacheLocks([${JSON.stringify(cache)}], cacheLockPath, 10, '${mode}'))) process.exit(3);
       console.log('held');
       setInterval(() => {}, 1000);`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  holders.push(holder);
  await new Promise<void>((ok, fail) => {
    holder.stdout!.on('data', (d: Buffer) => d.toString().includes('held') && ok());
    holder.on('exit', (code) => fail(new Error(`cache holder exited ${code}`)));
  });
  return holder;
}

let seq = 0;
async function buildTwo(untrusted: boolean) {
  const label = `${untrusted ? 'pr' : 'main'}${seq++}x`;
  const repo = join(world.base, `repo-${label}`);
  writeRepo(
    repo,
    { envs: { [`${label}a`]: 'REPLICATE', [`${label}b`]: 'REPLICATE' }, channels: [world.channel] },
    { [`${label}a`]: worldSpec(world, `${label}a`, ['zlib']), [`${label}b`]: worldSpec(world, `${label}b`, ['zlib']) },
  );
  const r = await loadRepo(repo);
  const desired = desiredState(r);
  const res = await runBuilds({
    root: world.root,
    repo: r,
    desired,
    envs: desired.envs,
    jobs: 2,
    out: memoryOutput(),
    timeoutSeconds: 3,
    ...(untrusted ? { untrusted: true } : {}),
  });
  return res.envs.map((e) => e.result);
}

const expectTimedOutOnCache = (results: Awaited<ReturnType<typeof buildTwo>>) => {
  for (const r of results) {
    expect(r.status).toBe('failed');
    expect(r.failure?.class).toBe('timeout');
    expect(r.failure?.excerpt.join('\n')).toContain(`the package cache ${cache} stayed locked by other builds`);
  }
};

describe('the shared package cache lock', () => {
  test('pull-request builds read the shared cache side by side with another reader', async () => {
    await holdCache('read');
    expect((await buildTwo(true)).map((r) => r.status)).toEqual(['tested', 'tested']);
  }, 120_000);

  test('a trusted build waits for readers, and fails as timeout naming the cache when one stays', async () => {
    await holdCache('read');
    expectTimedOutOnCache(await buildTwo(false));
  }, 120_000);

  test('pull-request builds wait for a build writing the shared cache', async () => {
    await holdCache('write');
    expectTimedOutOnCache(await buildTwo(true));
  }, 120_000);

  test('a reader killed with -9 holds nothing: the trusted build goes ahead', async () => {
    const reader = await holdCache('read');
    reader.kill('SIGKILL');
    await new Promise((r) => reader.once('exit', r));
    expect((await buildTwo(false)).map((r) => r.status)).toEqual(['tested', 'tested']);
  }, 120_000);
});
