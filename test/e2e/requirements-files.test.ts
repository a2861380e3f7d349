/**
 * Everything a spec references is part of it: a requirements file (`-r FILE` in the pip section) is read from
 * the same snapshot as the spec, every line checked against the allow-lists (options included), and its bytes
 * are in the build id, so a pull request changing only that file is planned, built and tested.
 */
import { gitRepo } from '../fixtures/git-repo.js';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memoryOutput } from '../../scripts/cli/output.js';
import { runCommand } from '../fixtures/command.js';
import { inventoryText, specText } from '../fixtures/repo.js';
import { readCommitFiles } from '../../scripts/repo/snapshot.js';
import { checkRepoFiles } from '../../scripts/repo/repo.js';
import { desiredState } from '../../scripts/core/desired.js';

describe('requirements files are part of the spec', () => {
  let dir: string;
  const { git, commit } = gitRepo(() => dir);
  const run = async (name: string, options: Record<string, unknown> = {}) => {
    const out = memoryOutput(true);
    const code = await runCommand(name, {
      options: { json: true, ...options },
      positionals: [],
      out,
      repo: dir,
      env: {},
    });
    return { code, text: out.errors.join('\n'), result: out.results[0] as Record<string, unknown> | undefined };
  };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cg-reqs-'));
    mkdirSync(join(dir, 'env-specs'));
    writeFileSync(join(dir, 'inventory.ini'), inventoryText({ envs: { app: 'REPLICATE', other: 'REPLICATE' } }));
    writeFileSync(
      join(dir, 'env-specs', 'app.yml'),
      specText('app', { deps: ['python=3.11', 'pip'], pip: ['-r requirements.txt'] }),
    );
    writeFileSync(join(dir, 'env-specs', 'other.yml'), specText('other'));
    writeFileSync(join(dir, 'env-specs', 'requirements.txt'), 'tabulate==0.9.0\n');
    git('init', '-q', '-b', 'main');
    commit('app reads requirements.txt');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('index options, trusted hosts and git URLs in a requirements file are refused at their line', async () => {
    writeFileSync(
      join(dir, 'env-specs', 'requirements.txt'),
      [
        'tabulate==0.9.0',
        '--index-url https://evil.example/simple',
        '--trusted-host evil.example',
        'git+https://evil.example/x.git',
      ].join('\n'),
    );
    const r = await run('validate');
    expect(r.code).toBe(2);
    expect(r.text).toMatch(
      /app\.yml:\d+: error: pip line '--index-url https:\/\/evil\.example\/simple' in env-specs\/requirements\.txt:2/,
    );
    expect(r.text).toMatch(/pip line '--trusted-host evil\.example' in env-specs\/requirements\.txt:3/);
    expect(r.text).toMatch(/pip line 'git\+https:\/\/evil\.example\/x\.git' in env-specs\/requirements\.txt:4/);
    git('checkout', '-q', '--', '.');
  });

  test('a requirements file outside env-specs/ or missing is refused', async () => {
    writeFileSync(
      join(dir, 'env-specs', 'app.yml'),
      specText('app', { deps: ['python=3.11', 'pip'], pip: ['-r ../reqs/extra.txt', '-r nope.txt'] }),
    );
    const r = await run('validate');
    expect(r.code).toBe(2);
    expect(r.text).toMatch(/-r '\.\.\/reqs\/extra\.txt': a requirements file must be a file directly in env-specs\//);
    expect(r.text).toMatch(/-r 'nope\.txt': env-specs\/nope\.txt not found/);
    git('checkout', '-q', '--', '.');
  });

  test('a pull request changing only the requirements file plans its env to build, with a new build id', async () => {
    const base = git('rev-parse', 'HEAD');
    const before = await run('plan', { base, head: 'HEAD' });
    git('checkout', '-q', '-b', 'bump');
    writeFileSync(join(dir, 'env-specs', 'requirements.txt'), 'tabulate==0.8.10\n');
    commit('tabulate 0.8.10');
    const r = await run('plan', { base, head: 'HEAD' });
    expect(r.code, r.text).toBe(0);
    const envs = r.result!.envs as Array<{ name: string; action: string; buildId: string }>;
    expect(envs.map((e) => [e.name, e.action])).toEqual([['app', 'build']]);
    expect((before.result!.envs as unknown[]).length).toBe(0);
    // the build id moved with the file's bytes
    const idAt = async (ref: string) => {
      const { files } = await readCommitFiles(dir, ref);
      return desiredState((await checkRepoFiles(dir, files)).repo!).envs.find((e) => e.name === 'app')!.buildId;
    };
    expect(await idAt('bump')).toBe(envs[0]!.buildId);
    expect(await idAt('main')).not.toBe(envs[0]!.buildId);
    const v = await run('validate');
    expect(v.code).toBe(0);
  });
});
