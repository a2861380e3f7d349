import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { memoryOutput } from '../../scripts/cli/output.js';
import { runCommand } from '../fixtures/command.js';
import { gitRepo } from '../fixtures/git-repo.js';
import { makeQaWorld, worldSpec, writeRepo, type QaWorld } from '../fixtures/qa-world.js';
import type { Report } from '../../scripts/core/report.js';

/** every set of paths qa exports from a commit to disk (the whole env-specs/ is what a large repo pays for) */
const exported: string[][] = [];
vi.mock('../../scripts/engine/git.js', async (importOriginal) => {
  const git = await importOriginal<typeof import('../../scripts/engine/git.js')>();
  return {
    ...git,
    exportRepoFiles: (repo: string, ref: string, dest: string, paths?: string[]) => {
      exported.push(paths ?? ['inventory.ini', 'env-specs']);
      return git.exportRepoFiles(repo, ref, dest, paths);
    },
  };
});

describe('qa --base/--head reads what the pull request changed', () => {
  let world: QaWorld;
  let dir: string;
  const { git, commit } = gitRepo(() => dir);

  beforeAll(() => {
    world = makeQaWorld();
    const names = Array.from({ length: 12 }, (_, i) => `env${String(i).padStart(2, '0')}`);
    dir = writeRepo(
      join(world.base, 'repo'),
      { envs: Object.fromEntries(names.map((n) => [n, 'REPLICATE'])), channels: [world.channel] },
      Object.fromEntries(names.map((n) => [n, worldSpec(world, n, ['zlib'])])),
    );
    git('init', '-q');
    commit('twelve envs');
  });
  afterAll(() => world?.cleanup());

  const QA_ONE = 'qa on a PR touching one env of 12 builds and tests that one, exporting only its files';
  test(QA_ONE, async () => {
    const base = git('rev-parse', 'HEAD');
    writeFileSync(join(dir, 'env-specs', 'env03.yml'), worldSpec(world, 'env03', ['zlib', 'python']));
    writeFileSync(join(dir, 'env-specs', 'env03.test.sh'), 'python -c "print(42)"\n');
    commit('env03: python');
    exported.length = 0;
    const out = memoryOutput(true);
    const code = await runCommand('qa', {
      options: { root: world.root, json: true, base, head: 'HEAD' },
      positionals: [],
      out,
      repo: dir,
      env: process.env,
    });
    expect(code).toBe(0);
    const report = out.results[0] as Report & { built: number };
    expect(report.envs.map((e) => [e.env, e.status])).toEqual([['env03', 'tested']]);
    expect(report.built).toBe(1);
    expect(report.envs[0]!.phases.map((p) => p.name)).toContain('test');
    // neither commit was exported whole: only the changed env's own files
    expect(exported.flat()).not.toContain('env-specs');
    expect(exported.flat().every((p) => p.startsWith('env-specs/env03.') || p === 'inventory.ini')).toBe(true);
  });
});
