/**
 * install-tool: the trusted copy of the tool under ROOT/tools that jobs on the shared runner run (QA once ran
 * the pull request's own npm ci and scripts/).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, readlinkSync, statSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { inventoryText, makeRepo, runCli, specText, type RepoFixture } from '../fixtures/repo.js';

describe('install-tool', () => {
  let repo: RepoFixture;
  afterEach(() => repo?.cleanup());

  it('copies the tool into ROOT/tools whole, flips current, and the launcher runs that copy', async () => {
    repo = makeRepo({
      inventory: inventoryText({ channels: ['conda-forge'], envs: { a: 'REPLICATE' } }),
      specs: { a: specText('a') },
    });
    const first = await runCli(['install-tool', '--root', repo.root, '--json']);
    expect(first.stderr).toMatch(/install-tool: installed /);
    expect(first.code).toBe(0);
    const result = JSON.parse(first.stdout);
    expect(result.copied).toBe(true);
    const tools = join(repo.root, 'tools');
    const current = readlinkSync(join(tools, 'current'));
    expect(current).toMatch(/^\d+\.\d+\.\d+-[0-9a-f]{12}$/);
    expect(lstatSync(join(tools, current, 'node_modules')).isDirectory()).toBe(true);
    expect(existsSync(join(tools, current, 'dist', 'test'))).toBe(false); // only what the tool runs
    const launcher = join(tools, 'bin', 'conda-gitops');
    expect(statSync(launcher).mode & 0o111).toBeTruthy();
    expect(execFileSync(launcher, ['--version'], { encoding: 'utf8' })).toMatch(/^conda-gitops \d/);
    // the copy runs real commands (its own node_modules: js-yaml, rattler)
    expect(execFileSync(launcher, ['validate', '--repo', repo.dir], { encoding: 'utf8' })).toMatch(/valid|ok|env/i);

    const again = await runCli(['install-tool', '--root', repo.root, '--json']);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout).copied).toBe(false);
    expect(readlinkSync(join(tools, 'current'))).toBe(current);
  });

  it('never writes through a symlink planted at ROOT/tools (exit 2)', async () => {
    repo = makeRepo();
    symlinkSync(repo.dir, join(repo.root, 'tools'));
    const r = await runCli(['install-tool', '--root', repo.root]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/tools is a symlink: refused/);
    expect(existsSync(join(repo.dir, 'bin'))).toBe(false);
  });
});
