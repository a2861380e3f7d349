/**
 * Verdicts and what a merge changes, replayed through the CLI with the fake conda: a PR's failing test does not
 * poison main's live build, adding a kernel forces its ipykernel check, and the QA report, deploy --dry-run and
 * history show everything a merge does (dropped envs, kernel changes, kernel-only deploys).
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { memoryOutput } from '../../scripts/cli/output.js';
import { reportSchemaErrors } from '../../scripts/core/report.js';
import { inventoryText } from '../fixtures/repo.js';
import { makeQaWorld, worldSpec, writeRepo, type QaWorld } from '../fixtures/qa-world.js';
import { runCommand } from '../fixtures/command.js';

let world: QaWorld;
let repo: string;
const git = (...args: string[]) =>
  execFileSync('git', ['-C', repo, ...args], {
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 't',
      GIT_AUTHOR_EMAIL: 't@x',
      GIT_COMMITTER_NAME: 't',
      GIT_COMMITTER_EMAIL: 't@x',
    },
  });

async function cli(name: string, options: Record<string, string | boolean> = {}) {
  const out = memoryOutput(!!options.json);
  const code = await runCommand(name, {
    options: { root: world.root, ...options },
    positionals: [],
    out,
    repo,
    env: process.env,
  });
  return {
    code,
    out,
    text: [...out.lines, ...out.errors].join('\n'),
    result: out.results[0] as Record<string, unknown>,
  };
}

const inventory = (kernels: Record<string, string>, envs = ['census', 'nb', 'reports']) =>
  inventoryText({
    envs: Object.fromEntries(envs.map((e) => [e, 'REPLICATE'])),
    channels: [world.channel],
    kernels,
  });

beforeAll(async () => {
  world = makeQaWorld();
  repo = join(world.base, 'repo');
  writeRepo(
    repo,
    {
      envs: { census: 'REPLICATE', nb: 'REPLICATE', reports: 'REPLICATE' },
      channels: [world.channel],
      kernels: { nb: 'NB' },
    },
    {
      census: worldSpec(world, 'census', ['python']),
      nb: worldSpec(world, 'nb', ['python', 'ipykernel']),
      reports: worldSpec(world, 'reports', ['python']),
    },
  );
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('commit', '-qm', 'main');
  expect((await cli('qa')).code).toBe(0);
  expect((await cli('deploy')).code).toBe(0);
}, 120_000);
afterAll(() => world?.cleanup());

describe('verdicts keyed by what was tested', () => {
  test('a PR with a failing test fails QA, and main stays deployable and in sync', async () => {
    git('checkout', '-qb', 'failing-test');
    writeFileSync(join(repo, 'env-specs', 'census.test.py'), 'raise SystemExit(1)\n');
    git('add', '-A');
    git('commit', '-qm', 'failing test');
    const qa = await cli('qa', { base: 'main', head: 'HEAD' });
    expect(qa.code).toBe(1);
    expect(qa.text).toMatch(/census/);
    git('checkout', '-q', 'main');
    const dry = await cli('deploy', { 'dry-run': true });
    expect(dry.code).toBe(0);
    expect(dry.text).not.toMatch(/refus|FAILED|failed/);
    expect(dry.text).toMatch(/nothing to deploy/);
    expect((await cli('status')).code).toBe(0);
    const plan = await cli('plan');
    expect(plan.text).toMatch(/plan: 0 to build, 0 to test, 0 to link, 3 unchanged/);
    // the same PR run again still fails (its own verdict), main's is untouched
    git('checkout', '-q', 'failing-test');
    expect((await cli('qa', { base: 'main', head: 'HEAD' })).code).toBe(1);
    git('checkout', '-q', 'main');
    expect((await cli('deploy', { 'dry-run': true })).code).toBe(0);
  }, 120_000);

  test('adding an env without ipykernel to [kernels] runs its ipykernel check; deploy refuses', async () => {
    git('checkout', '-qb', 'kernel');
    writeFileSync(join(repo, 'inventory.ini'), inventory({ nb: 'NB', reports: 'Reports' }));
    git('commit', '-qam', 'reports as a kernel');
    const plan = await cli('plan', { base: 'main', head: 'HEAD' });
    expect(plan.text).toMatch(/~ test +reports [0-9a-f]{12} +\(kernel; built, not tested as a kernel/);
    expect(plan.text).not.toMatch(/reuse reports/);
    const qa = await cli('qa', { base: 'main', head: 'HEAD', json: true });
    expect(qa.code).toBe(1);
    const reports = (qa.result.envs as Array<{ env: string; status: string; hint?: string }>).find(
      (e) => e.env === 'reports',
    )!;
    expect(reports.status).toBe('failed');
    expect(reports.hint).toMatch(/ipykernel/);
    // merged anyway: deploy refuses it, and writes no kernelspec that cannot start
    const deploy = await cli('deploy');
    expect(deploy.code).toBe(1);
    expect(deploy.text).toMatch(/reports [0-9a-f]{12}: its tests failed/);
    expect(() => readFileSync(join(world.root, 'kernels', 'reports', 'kernel.json'))).toThrow();
    git('checkout', '-q', 'main');
    git('branch', '-qD', 'kernel');
  }, 120_000);
});

describe('reports show everything a merge does', () => {
  test('a dropped env and kernel changes are in summary.md and report.json', async () => {
    git('checkout', '-qb', 'drop');
    writeFileSync(join(repo, 'inventory.ini'), inventory({ nb: 'Notebook' }, ['census', 'nb']));
    rmSync(join(repo, 'env-specs', 'reports.yml'));
    git('add', '-A');
    git('commit', '-qm', 'drop reports, rename the kernel');
    const qa = await cli('qa', { base: 'main', head: 'HEAD', json: true });
    expect(qa.code).toBe(0);
    expect(qa.result.merge).toEqual({
      added: [],
      changed: [],
      dropped: ['reports'],
      kernels: { added: [], removed: [], changed: ['nb'] },
    });
    const runDir = join(world.root, '.gitops', 'runs', qa.result.runId as string);
    const report = JSON.parse(readFileSync(join(runDir, 'report.json'), 'utf8'));
    expect(reportSchemaErrors(report)).toEqual([]);
    expect(report.merge.dropped).toEqual(['reports']);
    const summary = readFileSync(join(runDir, 'summary.md'), 'utf8');
    expect(summary).not.toMatch(/No environment changed/);
    expect(summary).toMatch(/Envs dropped.*reports/);
    expect(summary).toMatch(/Kernel display names changed: nb/);
    git('checkout', '-q', 'main');
  }, 120_000);

  test('deploy --dry-run shows kernel changes; a kernel-only deploy is a history line', async () => {
    writeFileSync(join(repo, 'inventory.ini'), inventory({ nb: 'Notebook' }));
    git('commit', '-qam', 'rename the kernel on main');
    const dry = await cli('deploy', { 'dry-run': true });
    expect(dry.code).toBe(0);
    expect(dry.text).toMatch(/~ kernel nb/);
    const before = (await cli('history', { json: true })).result;
    const deploy = await cli('deploy');
    expect(deploy.code).toBe(0);
    const history = await cli('history');
    expect(history.text).toMatch(/kernels \+0 ~1 -0/);
    const after = (await cli('history', { json: true })).result;
    expect(JSON.stringify(after).length).toBeGreaterThan(JSON.stringify(before).length);
    expect(JSON.parse(readFileSync(join(world.root, 'kernels', 'nb', 'kernel.json'), 'utf8')).display_name).toBe(
      'Notebook',
    );
  }, 120_000);
});
