/**
 * Spec and inventory problems as GitHub shows them: `::error`/`::warning` workflow commands at the file and line
 * (paths relative to GITHUB_WORKSPACE) and a job summary table, when running in Actions (GITHUB_ACTIONS=true).
 */
import { afterEach, describe, expect, test } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inventoryText, makeRepo, runCli, specText, type RepoFixture } from '../fixtures/repo.js';
import { makeQaWorld, type QaWorld } from '../fixtures/qa-world.js';

const fixtures: RepoFixture[] = [];
const worlds: QaWorld[] = [];
afterEach(() => {
  for (const f of fixtures.splice(0)) f.cleanup();
  for (const w of worlds.splice(0)) w.cleanup();
});

/** A repository inside a workspace (GITHUB_WORKSPACE = its parent): `ml` has a broken dependency line 5. */
function brokenRepo(): RepoFixture {
  const r = makeRepo({
    inventory: inventoryText({ envs: { ml: 'REPLICATE', web: 'REPLICATE' } }),
    specs: {
      ml: 'name: ml\nchannels:\n  - conda-forge\ndependencies:\n  - "numpy>>=1,2"\n',
      web: specText('web'),
    },
  });
  fixtures.push(r);
  return r;
}

function actionsEnv(r: RepoFixture): Record<string, string> {
  // the runner creates each step's job summary file
  writeFileSync(join(r.base, 'summary.md'), '');
  return {
    GITHUB_ACTIONS: 'true',
    GITHUB_WORKSPACE: r.base,
    GITHUB_STEP_SUMMARY: join(r.base, 'summary.md'),
    CONDA_GITOPS_ROOT: r.root,
  };
}

describe('annotations and job summary in GitHub Actions', () => {
  test('validate on a broken spec: ::error at the spec line, relative to the workspace, and a summary', async () => {
    const r = brokenRepo();
    const res = await runCli(['validate', '--repo', r.dir], { env: actionsEnv(r) });
    expect(res.code).toBe(2);
    const commands = res.stdout.split('\n').filter((l) => l.startsWith('::'));
    expect(commands).toHaveLength(1);
    expect(commands[0]).toMatch(/^::error file=repo\/env-specs\/ml\.yml,line=5,title=conda-gitops validate%3A ml::/);
    const summary = readFileSync(join(r.base, 'summary.md'), 'utf8');
    expect(summary).toContain('| File | Line | Problem |');
    expect(summary).toContain('| `repo/env-specs/ml.yml` | 5 |');
    expect(summary).toContain('To fix:');
  });

  test('outside Actions validate prints file:line and writes no workflow command and no summary', async () => {
    const r = brokenRepo();
    const env = { ...actionsEnv(r), GITHUB_ACTIONS: '' };
    const res = await runCli(['validate', '--repo', r.dir], { env });
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('env-specs/ml.yml:5: error:');
    expect(res.stdout + res.stderr).not.toContain('::error');
    expect(readFileSync(join(r.base, 'summary.md'), 'utf8')).toBe('');
  });

  test('warnings become ::warning and validate still passes', async () => {
    const r = makeRepo({
      inventory: inventoryText({ envs: { web: 'REPLICATE' } }),
      specs: { web: specText('web'), old: specText('old') },
    });
    fixtures.push(r);
    const res = await runCli(['validate', '--repo', r.dir], { env: actionsEnv(r) });
    expect(res.code).toBe(0);
    const commands = res.stdout.split('\n').filter((l) => l.startsWith('::'));
    expect(commands).toEqual([
      "::warning file=repo/env-specs/old.yml,line=1,title=conda-gitops validate%3A old::'old' is not listed in " +
        'inventory.ini: not built',
    ]);
    expect(readFileSync(join(r.base, 'summary.md'), 'utf8')).toContain('| warning |');
  });

  test('plan and build on an invalid repository annotate the same problems (--json stdout stays JSON)', async () => {
    const r = brokenRepo();
    const plan = await runCli(['plan', '--repo', r.dir, '--root', r.root], { env: actionsEnv(r) });
    expect(plan.code).toBe(2);
    expect(plan.stdout).toMatch(/^::error file=repo\/env-specs\/ml\.yml,line=5,title=conda-gitops plan%3A ml::/m);
    expect(readFileSync(join(r.base, 'summary.md'), 'utf8')).toContain('To fix: edit `repo/env-specs/ml.yml` (line 5)');

    const world = makeQaWorld();
    worlds.push(world);
    const env = { ...actionsEnv(r), CONDA_GITOPS_ROOT: world.root };
    const build = await runCli(['build', '--json', '--env', 'ml', '--repo', r.dir], { env });
    expect(build.code).toBe(1);
    expect(JSON.parse(build.stdout)).toMatchObject({ failed: 1 });
    // under --json the runner reads the workflow commands from stderr
    expect(build.stderr).toMatch(/^::error file=repo\/env-specs\/ml\.yml,line=5,title=conda-gitops build%3A ml::/m);
  });
});
