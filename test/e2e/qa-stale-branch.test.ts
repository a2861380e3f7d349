/**
 * A branch cut before main upgraded conda, and a pull request that lowers [conda] version: plan and qa compare
 * against the merge base (what qa.yml passes), never call an older head a "conda upgrade", refuse a head older
 * than main's conda (the base commit's, or the live installation's) with "rebase on main", and ROOT/qa only
 * moves forward.
 */
import { gitRepo } from '../fixtures/git-repo.js';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readlinkSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { memoryOutput } from '../../scripts/cli/output.js';
import { runCommand } from '../fixtures/command.js';
import { makeUpgradeWorld, worldSpec, type QaWorld } from '../fixtures/qa-world.js';
import type { Report } from '../../scripts/core/report.js';

const OLD = '23.11.0';
const NEW = '24.1.2';
const NEWER = '24.3.0';

describe('a branch cut before main upgraded conda', () => {
  let world: QaWorld;
  let dir: string;
  let template: string;
  /** main when the branch was cut (the merge base), and main after its conda upgrade */
  let cut: string;
  let upgraded: string;
  const { git, commit } = gitRepo(() => dir);
  const inventory = (version: string) =>
    [
      '[conda]',
      `version = ${version}`,
      `channels = ${world.channel}`,
      `installer = ${template}`,
      'pass-env = FAKE_CONDA_PYTHON, FAKE_CONDA_PYTHON_VERSION',
      '',
      '[environments]',
      'alpha = REPLICATE',
      'beta = REPLICATE',
      '',
    ].join('\n');
  const run = async (command: 'qa' | 'plan', base: string, head: string) => {
    const out = memoryOutput(true);
    const code = await runCommand(command, {
      options: { root: world.root, json: true, base, head },
      positionals: [],
      out,
      repo: dir,
      env: process.env,
    });
    return { code, report: out.results[0] as Report & Record<string, unknown>, text: out.errors.join('\n') };
  };
  const link = (name: string) => readlinkSync(join(world.root, name));
  const runDirs = () => {
    const runs = join(world.root, '.gitops', 'runs');
    return existsSync(runs) ? readdirSync(runs).length : 0;
  };
  const builds = (version: string, env: string) => existsSync(join(world.root, `v${version}`, 'builds', env));

  beforeAll(async () => {
    ({ world, template } = makeUpgradeWorld(OLD, [OLD, NEW, NEWER]));
    dir = join(world.base, 'repo');
    execFileSync('mkdir', ['-p', join(dir, 'env-specs')]);
    git('init', '-q', '-b', 'main');
    writeFileSync(join(dir, 'inventory.ini'), inventory(OLD));
    writeFileSync(join(dir, 'env-specs', 'alpha.yml'), worldSpec(world, 'alpha', ['zlib']));
    writeFileSync(join(dir, 'env-specs', 'beta.yml'), worldSpec(world, 'beta', ['zlib']));
    cut = commit('two envs on conda 23.11.0');
    symlinkSync(`v${OLD}`, join(world.root, 'current'));
    symlinkSync(`v${OLD}`, join(world.root, 'qa'));
    // the branch is cut here: it changes alpha only
    git('checkout', '-q', '-b', 'feature');
    writeFileSync(join(dir, 'env-specs', 'alpha.yml'), worldSpec(world, 'alpha', ['zlib', 'python']));
    commit('alpha: python');
    // then main upgrades conda; its PR's QA installed 24.1.2 and pointed ROOT/qa at it
    git('checkout', '-q', 'main');
    writeFileSync(join(dir, 'inventory.ini'), inventory(NEW));
    upgraded = commit('conda 24.1.2');
    const r = await run('qa', cut, upgraded);
    expect(r.code).toBe(0);
    expect(link('qa')).toBe(`v${NEW}`);
  }, 300_000);
  afterAll(() => world?.cleanup());

  test('against the merge base it is no upgrade: its own env, its own installation, ROOT/qa kept', async () => {
    const mergeBase = git('merge-base', 'main', 'feature');
    expect(mergeBase).toBe(cut);
    const r = await run('qa', mergeBase, 'feature');
    expect(r.code).toBe(0);
    expect(r.text).not.toMatch(/conda (upgrade|downgrade)/);
    expect(r.report.upgrade).toBeUndefined();
    expect(r.report.condaVersion).toBe(OLD);
    expect(r.report.envs.map((e) => [e.env, e.status])).toEqual([['alpha', 'tested']]);
    expect(builds(OLD, 'beta')).toBe(false);
    expect(link('qa')).toBe(`v${NEW}`);
    expect(link('current')).toBe(`v${OLD}`);
  }, 300_000);

  test("against main's tip its older conda is refused: rebase on main; nothing built, ROOT/qa unchanged", async () => {
    const before = runDirs();
    const r = await run('qa', 'main', 'feature');
    expect(r.code).toBe(1);
    expect(r.text).toContain('rebase on main');
    expect(r.text).toMatch(/\[conda\] version 23\.11\.0 is older than 24\.1\.2/);
    expect(r.text).not.toMatch(/conda upgrade 24\.1\.2 -> 23\.11\.0/);
    expect(builds(OLD, 'beta')).toBe(false);
    expect(runDirs()).toBe(before);
    expect(link('qa')).toBe(`v${NEW}`);
    expect(link('current')).toBe(`v${OLD}`);

    const plan = await run('plan', 'main', 'feature');
    expect(plan.code).toBe(1);
    expect(plan.text).toContain('rebase on main');
    expect(plan.text).not.toMatch(/conda upgrade/);
  }, 300_000);

  test('a pull request that lowers [conda] version is refused, not built as a downgrade', async () => {
    git('checkout', '-q', '-b', 'downgrade', 'main');
    writeFileSync(join(dir, 'inventory.ini'), inventory(OLD));
    commit('back to conda 23.11.0');
    git('checkout', '-q', 'main');
    const r = await run('qa', 'main', 'downgrade');
    expect(r.code).toBe(1);
    expect(r.text).toMatch(/older than 24\.1\.2/);
    expect(r.report.upgrade).toBeUndefined();
    expect(builds(OLD, 'beta')).toBe(false);
    expect(link('qa')).toBe(`v${NEW}`);
  }, 300_000);

  test('ROOT/qa only moves forward: an upgrade PR older than the one under QA leaves it', async () => {
    git('checkout', '-q', '-b', 'upgrade-newer', cut);
    writeFileSync(join(dir, 'inventory.ini'), inventory(NEWER));
    const newer = commit('conda 24.3.0');
    git('checkout', '-q', 'main');
    expect((await run('qa', cut, newer)).code).toBe(0);
    expect(link('qa')).toBe(`v${NEWER}`);
    // main's own upgrade PR (24.1.2) runs QA again: still an upgrade of the live 23.11.0, built into v24.1.2
    const r = await run('qa', cut, upgraded);
    expect(r.code).toBe(0);
    expect(r.report.upgrade).toMatchObject({ from: OLD, to: NEW });
    expect(link('qa')).toBe(`v${NEWER}`);
    expect(link('current')).toBe(`v${OLD}`);
  }, 300_000);

  test("once main's upgrade is live, the stale head is refused against the merge base too", async () => {
    // what the deploy of main's upgrade leaves: ROOT/current -> v24.1.2
    symlinkSync(`v${NEW}`, join(world.root, 'current.tmp'));
    renameSync(join(world.root, 'current.tmp'), join(world.root, 'current'));
    const r = await run('qa', git('merge-base', 'main', 'feature'), 'feature');
    expect(r.code).toBe(1);
    expect(r.text).toContain('rebase on main');
    expect(r.text).toMatch(/older than 24\.1\.2 \(the live installation/);
    expect(link('qa')).toBe(`v${NEWER}`);
    const plan = await run('plan', git('merge-base', 'main', 'feature'), 'feature');
    expect(plan.code).toBe(1);
    expect(plan.text).toContain('rebase on main');
  }, 300_000);
});
