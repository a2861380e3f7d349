/**
 * Hostile files in a repository: a symlink to /dev/zero, a FIFO, a file over 2 GiB, a
 * symlinked env-specs/ or inventory.ini leading out of the repository. Each is refused with exit 2 and a message
 * naming the file, promptly, with nothing read beyond a stat. The compiled CLI runs in a child with a timeout,
 * so a regression (a hang, a read of /dev/zero) fails the test instead of taking the runner down.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { closeSync, ftruncateSync, mkdirSync, openSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { builtCli, inventoryText, makeRepo, snapshotTree, specText, type RepoFixture } from '../fixtures/repo.js';

const INVENTORY = inventoryText({ channels: ['conda-forge'], envs: { a: 'REPLICATE' } });

function cli(args: string[], cwd: string): Promise<{ code: number | null; stderr: string; killed: boolean }> {
  return builtCli().then(
    (main) =>
      new Promise((done) => {
        const env = { ...process.env };
        delete env.CONDA_GITOPS_ROOT;
        execFile(process.execPath, [main, ...args], { cwd, env, timeout: 30_000 }, (error, _out, stderr) => {
          const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
          done({ code, stderr, killed: !!error?.killed });
        });
      }),
  );
}

describe('hostile files in the repository are refused, never read', () => {
  let repo: RepoFixture;
  let outside: RepoFixture | undefined;
  afterEach(() => {
    repo?.cleanup();
    outside?.cleanup();
    outside = undefined;
  });

  async function refused(expected: RegExp) {
    const before = snapshotTree(repo.base);
    const r = await cli(['validate', '--repo', repo.dir], repo.dir);
    expect(r.killed).toBe(false);
    expect(r.stderr).toMatch(expected);
    expect(r.code).toBe(2);
    expect(snapshotTree(repo.base)).toEqual(before);
  }

  it('inventory.ini as a symlink to /dev/zero', async () => {
    repo = makeRepo({ specs: { a: specText('a') } });
    symlinkSync('/dev/zero', join(repo.dir, 'inventory.ini'));
    await refused(/inventory\.ini:1: error: is a symlink leading out of the repository: not read/);
  });

  it('inventory.ini as a FIFO', async () => {
    repo = makeRepo({ specs: { a: specText('a') } });
    const r = await new Promise<number | null>((done) =>
      execFile('mkfifo', [join(repo.dir, 'inventory.ini')], (e) => done(e ? 1 : 0)),
    );
    expect(r).toBe(0);
    await refused(/inventory\.ini:1: error: is a FIFO, not a regular file: not read/);
  });

  it('a spec over 2 GiB (sparse) is refused by its size, before reading', async () => {
    repo = makeRepo({ inventory: INVENTORY });
    const fd = openSync(join(repo.dir, 'env-specs', 'a.yml'), 'w');
    ftruncateSync(fd, 2 * 1024 ** 3 + 1);
    closeSync(fd);
    await refused(/env-specs\/a\.yml:1: error: file is 2147483649 bytes, over the 1 MB limit/);
  });

  it('env-specs committed as a symlink is not followed', async () => {
    outside = makeRepo({ specs: { a: specText('a') } });
    repo = makeRepo({ inventory: INVENTORY });
    rmSync(join(repo.dir, 'env-specs'), { recursive: true });
    symlinkSync(join(outside.dir, 'env-specs'), join(repo.dir, 'env-specs'));
    await refused(/env-specs:1: error: is a symlink: env-specs must be a directory in the repository/);
  });

  it('inventory.ini as a symlink leading out of the repository', async () => {
    outside = makeRepo({ inventory: INVENTORY });
    repo = makeRepo({ specs: { a: specText('a') } });
    symlinkSync(join(outside.dir, 'inventory.ini'), join(repo.dir, 'inventory.ini'));
    await refused(/inventory\.ini:1: error: is a symlink leading out of the repository: not read/);
  });

  it('a symlink inside the repository to a regular file is read as before', async () => {
    repo = makeRepo({ inventory: INVENTORY });
    mkdirSync(join(repo.dir, 'shared'));
    writeFileSync(join(repo.dir, 'shared', 'a.yml'), specText('a'));
    symlinkSync('../shared/a.yml', join(repo.dir, 'env-specs', 'a.yml'));
    const r = await cli(['validate', '--repo', repo.dir], repo.dir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
});
