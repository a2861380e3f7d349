// The generated repositories the benchmarks plan and validate (test/bench) must be valid: a bench that stops on
// "generated repo is invalid" measures nothing (the pip-git-hosts allow-list once made every one of them invalid).
import { afterAll, expect, test } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkRepoDir } from '../../scripts/repo/repo.js';
import { writeGeneratedRepo } from '../fixtures/repo.js';

const dir = mkdtempSync(join(tmpdir(), 'cg-generated-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('a generated repository of 300 envs validates without errors', async () => {
  writeGeneratedRepo(dir, 300);
  const { repo, problems } = await checkRepoDir(dir);
  expect(problems.filter((p) => p.severity === 'error')).toEqual([]);
  expect(Object.keys(repo!.inventory.environments)).toHaveLength(300);
});
