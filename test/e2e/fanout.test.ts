/**
 * Fan-out over a runner pool: `plan --matrix N` splits the envs to build into N slices for a GitHub matrix;
 * build jobs on runners sharing ROOT build their slices at once (overlapping here on purpose: the per-build lock
 * makes the second one wait and reuse, never build twice); a final `qa` tests and reports the whole run.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeQaWorld, worldSpec, writeRepo, type QaWorld } from '../fixtures/qa-world.js';
import { runCli } from '../fixtures/repo.js';

const worlds: QaWorld[] = [];
afterEach(() => {
  for (const w of worlds.splice(0)) w.cleanup();
});

interface MatrixEntry {
  slice: string;
  envs: string;
}

describe('fan-out: plan --matrix, builds on several runners, one qa', () => {
  test('two build processes on overlapping slices build each env once; qa then only tests and reports', async () => {
    const world = makeQaWorld();
    worlds.push(world);
    const names = ['alpha', 'beta', 'delta', 'gamma'];
    const repo = writeRepo(
      join(world.base, 'repo'),
      { envs: Object.fromEntries(names.map((n) => [n, 'REPLICATE'])), channels: [world.channel] },
      Object.fromEntries(names.map((n, i) => [n, worldSpec(world, n, ['python=3.11', i % 2 ? 'numpy' : 'requests'])])),
    );
    const summary = join(world.base, 'summary.md');
    const outputs = join(world.base, 'outputs');
    writeFileSync(outputs, ''); // the runner creates both files
    writeFileSync(summary, '');
    const env = {
      CONDA_GITOPS_ROOT: world.root,
      GITHUB_ACTIONS: 'true',
      GITHUB_OUTPUT: outputs,
      GITHUB_STEP_SUMMARY: summary,
      GITHUB_WORKSPACE: world.base,
    };

    const plan = await runCli(['plan', '--matrix', '2', '--json', '--repo', repo], { env });
    expect(plan.code).toBe(0);
    const matrix = (JSON.parse(plan.stdout) as { matrix: { include: MatrixEntry[] } }).matrix;
    expect(matrix.include).toEqual([
      { slice: '1/2', envs: 'alpha delta' },
      { slice: '2/2', envs: 'beta gamma' },
    ]);
    // in Actions the matrix is a step output, ready for fromJSON()
    const out = readFileSync(outputs, 'utf8');
    expect(out).toContain(JSON.stringify(matrix));
    expect(out).toMatch(/builds<<[^\n]*\n4\n/);

    const args = (e: MatrixEntry) => e.envs.split(' ').flatMap((n) => ['--env', n]);
    // runner 1 also builds `beta` of runner 2's slice: both want it at once
    const [one, two] = await Promise.all([
      runCli(['build', '--json', '--repo', repo, ...args(matrix.include[0]!), '--env', 'beta'], { env }),
      runCli(['build', '--json', '--repo', repo, ...args(matrix.include[1]!)], { env }),
    ]);
    expect([one.code, two.code]).toEqual([0, 0]);
    const built = (r: { stdout: string }) => (JSON.parse(r.stdout) as { built: number }).built;
    // every env built exactly once across the pool
    expect(built(one) + built(two)).toBe(4);

    const qa = await runCli(['qa', '--json', '--repo', repo], { env });
    expect(qa.code).toBe(0);
    const result = JSON.parse(qa.stdout) as { counts: Record<string, number>; built: number };
    // the builds of the pool are tested, none is built again
    expect(result.counts).toMatchObject({ total: 4, tested: 4, failed: 0 });
    expect(result.built).toBe(0);
    expect(readFileSync(summary, 'utf8')).toContain('QA passed: 0 failed, 4 tested, 0 reused of 4 envs');
    // once tested, a second qa reuses everything: it only reports
    const again = await runCli(['qa', '--json', '--repo', repo], { env });
    expect(again.code).toBe(0);
    expect((JSON.parse(again.stdout) as typeof result).counts).toMatchObject({ total: 4, reused: 4 });
    expect((JSON.parse(again.stdout) as typeof result).built).toBe(0);
  });

  test('one runner: --matrix 4 over one env to build is one slice', async () => {
    const world = makeQaWorld();
    worlds.push(world);
    const repo = writeRepo(
      join(world.base, 'repo'),
      { envs: { solo: 'REPLICATE' }, channels: [world.channel] },
      { solo: worldSpec(world, 'solo', ['python=3.11']) },
    );
    const plan = await runCli(['plan', '--matrix', '4', '--json', '--repo', repo], {
      env: { CONDA_GITOPS_ROOT: world.root },
    });
    expect(plan.code).toBe(0);
    expect(JSON.parse(plan.stdout).matrix).toEqual({ include: [{ slice: '1/1', envs: 'solo' }] });
  });

  test('--matrix must be a positive integer', async () => {
    const world = makeQaWorld();
    worlds.push(world);
    const repo = writeRepo(join(world.base, 'repo'), { envs: {}, channels: [world.channel] }, {});
    const plan = await runCli(['plan', '--matrix', '0', '--repo', repo], { env: { CONDA_GITOPS_ROOT: world.root } });
    expect(plan.code).toBe(2);
    expect(plan.stderr).toContain('--matrix');
  });
});
