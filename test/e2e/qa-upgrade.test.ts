/**
 * The upgrade pull request: `qa --base --head` on a branch that changes [conda] version installs the
 * new conda itself (install-conda's use case), points ROOT/qa at it, replicates every REPLICATE env into it,
 * and reports the whole table; a failing installer still writes the report. Other PRs keep building into the
 * installation their own head names.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { memoryOutput } from '../../scripts/cli/output.js';
import { runCommand } from '../fixtures/command.js';
import { gitRepo } from '../fixtures/git-repo.js';
import { makeUpgradeWorld, worldSpec, type QaWorld } from '../fixtures/qa-world.js';
import type { Report } from '../../scripts/core/report.js';

const OLD = '23.11.0';
const NEW = '24.1.2';

describe('qa on a pull request that changes [conda] version', () => {
  let world: QaWorld;
  let dir: string;
  let template: string;
  let main: string;
  const { git, commit } = gitRepo(() => dir);
  const inventory = (version: string, installer = template) =>
    [
      '[conda]',
      `version = ${version}`,
      `channels = ${world.channel}`,
      `installer = ${installer}`,
      'pass-env = FAKE_CONDA_PYTHON, FAKE_CONDA_PYTHON_VERSION',
      '',
      '[environments]',
      'alpha = REPLICATE',
      'beta = REPLICATE',
      'gamma = REPLICATE',
      'old = export',
      '',
    ].join('\n');
  const qa = async (base: string, head = 'HEAD') => {
    const out = memoryOutput(true);
    const code = await runCommand('qa', {
      options: { root: world.root, json: true, base, head },
      positionals: [],
      out,
      repo: dir,
      env: process.env,
    });
    return { code, out, report: out.results[0] as Report & Record<string, unknown>, text: out.errors.join('\n') };
  };
  const link = (name: string) => readlinkSync(join(world.root, name));

  beforeAll(() => {
    ({ world, template } = makeUpgradeWorld(OLD, [OLD, NEW, '24.3.0']));
    dir = join(world.base, 'repo');
    execFileSync('mkdir', ['-p', join(dir, 'env-specs')]);
    git('init', '-q', '-b', 'main');
    writeFileSync(join(dir, 'inventory.ini'), inventory(OLD));
    writeFileSync(join(dir, 'env-specs', 'alpha.yml'), worldSpec(world, 'alpha', ['zlib']));
    writeFileSync(join(dir, 'env-specs', 'beta.yml'), worldSpec(world, 'beta', ['python', 'requests']));
    // gamma asks for a numpy the channel does not have: it fails in every installation
    writeFileSync(join(dir, 'env-specs', 'gamma.yml'), worldSpec(world, 'gamma', ['numpy=9.9']));
    writeFileSync(join(dir, 'env-specs', 'old.yml'), worldSpec(world, 'old', ['zlib']));
    main = commit('three envs and an export one');
    symlinkSync(`v${OLD}`, join(world.root, 'current'));
    symlinkSync(`v${OLD}`, join(world.root, 'qa'));
  });
  afterAll(() => world?.cleanup());

  test('installs the new conda, points qa at it, replicates every REPLICATE env and reports the table', async () => {
    git('checkout', '-q', '-b', 'upgrade', main);
    writeFileSync(join(dir, 'inventory.ini'), inventory(NEW));
    commit('conda 24.1.2');
    const r = await qa(main);
    expect(r.text).not.toMatch(/run `conda-gitops install-conda` first/);
    expect(existsSync(join(world.root, `v${NEW}`, 'bin', 'conda'))).toBe(true);
    expect(link('qa')).toBe(`v${NEW}`);
    expect(link('current')).toBe(`v${OLD}`);
    // the plan says why each env is rebuilt
    expect(r.text).toMatch(/build alpha \(conda upgrade 23\.11\.0 -> 24\.1\.2\)/);
    expect(r.code).toBe(1); // gamma fails
    expect(r.report.condaVersion).toBe(NEW);
    expect(r.report.envs.map((e) => [e.env, e.status])).toEqual([
      ['alpha', 'tested'],
      ['beta', 'tested'],
      ['gamma', 'failed'],
    ]);
    expect(r.report.envs[2]).toMatchObject({ class: 'missing-version' });
    expect(r.report.envs[2]!.hint).toBeTruthy();
    expect(r.report.upgrade).toMatchObject({ from: OLD, to: NEW, installation: 'installed', notReplicated: ['old'] });
    expect(r.text).toMatch(/3 envs: 2 ok, 1 failed/);
    const summary = readFileSync(join(r.report.root, '.gitops', 'runs', r.report.runId, 'summary.md'), 'utf8');
    expect(summary).toMatch(/conda upgrade 23\.11\.0 -> 24\.1\.2: 3 envs: 2 ok, 1 failed/);
    expect(summary).toMatch(/Not replicated \(export\): old/);
    expect(existsSync(join(world.root, `v${NEW}`, 'builds', 'alpha'))).toBe(true);
    expect(existsSync(join(world.root, `v${NEW}`, 'builds', 'old'))).toBe(false);
  }, 300_000);

  test('while the upgrade PR is open, another PR builds into the installation its own head names', async () => {
    git('checkout', '-q', '-b', 'feature', main);
    writeFileSync(join(dir, 'env-specs', 'alpha.yml'), worldSpec(world, 'alpha', ['zlib', 'requests']));
    commit('alpha: requests');
    const r = await qa(main);
    expect(r.code).toBe(0);
    expect(r.report.condaVersion).toBe(OLD);
    expect(r.report.upgrade).toBeUndefined();
    expect(r.report.envs.map((e) => e.env)).toEqual(['alpha']);
    const alphaOld = execFileSync('ls', [join(world.root, `v${OLD}`, 'builds', 'alpha')]).toString();
    expect(alphaOld).toMatch(/\.json/);
    // the upgrade's qa link is not moved by an ordinary PR
    expect(link('qa')).toBe(`v${NEW}`);
    expect(link('current')).toBe(`v${OLD}`);
  }, 300_000);

  test('a failing installer: exit 1, the report is still written with the installer output', async () => {
    // the installer QA runs is the base branch's (a PR cannot choose it): its 24.3.0 download is broken
    const bad = template.replace('{version}', '24.3.0');
    rmSync(bad, { force: true });
    writeFileSync(bad, '#!/bin/bash\necho "ERROR: no space left on device" >&2\nexit 1\n');
    git('checkout', '-q', '-b', 'bad-upgrade', main);
    writeFileSync(join(dir, 'inventory.ini'), inventory('24.3.0'));
    commit('conda 24.3.0');
    const r = await qa(main);
    expect(r.code).toBe(1);
    expect(existsSync(join(world.root, 'v24.3.0'))).toBe(false);
    expect(link('current')).toBe(`v${OLD}`);
    expect(link('qa')).toBe(`v${NEW}`);
    expect(r.report.ok).toBe(false);
    expect(r.report.upgrade).toMatchObject({ to: '24.3.0', installation: 'failed' });
    const summary = readFileSync(join(r.report.root, '.gitops', 'runs', r.report.runId, 'summary.md'), 'utf8');
    expect(summary).toMatch(/could not be installed/);
    expect(summary).toContain('ERROR: no space left on device');
    expect(r.report.envs.every((e) => e.status === 'failed')).toBe(true);
  }, 300_000);
});
