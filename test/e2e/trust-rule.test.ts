/**
 * The trust rule played as an attacker with write access to a branch: a pull request's configuration changes
 * (installer, unsandboxed-tests, pass-env) have no effect on its own QA, and the build matrix job's builds
 * (`build --base`) cannot write the shared package cache. docs/security.md "What a pull request decides".
 */
import { gitRepo, type GitRepo } from '../fixtures/git-repo.js';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { memoryOutput } from '../../scripts/cli/output.js';
import { runCommand } from '../fixtures/command.js';
import { makeQaWorld, makeUpgradeWorld, STANDARD_RECORDS, worldSpec, type QaWorld } from '../fixtures/qa-world.js';
import { makePlantingPackage, writeChannel } from '../fake-conda/index.js';

const OLD = '23.11.0';
const NEW = '24.1.2';
const SECRET = 'https://hooks.example/T000/B000/not-for-pull-requests';

/** every file under dir, recursively (bytes): where a leaked value would be written */
function grepTree(dir: string, needle: string): string[] {
  const hits: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && statSync(p).size < 5_000_000 && readFileSync(p).includes(needle)) hits.push(p);
    }
  };
  if (existsSync(dir)) walk(dir);
  return hits;
}

/** A CLI command in the repository at `dir()` against `world().root`, with --json: exit code, messages, result. */
function commandRunner<R = Record<string, unknown>>(world: () => QaWorld, dir: () => string) {
  return async (name: string, options: Record<string, unknown>, env: Record<string, string> = {}) => {
    const out = memoryOutput(true);
    const code = await runCommand(name, {
      options: { root: world().root, json: true, ...options },
      positionals: [],
      out,
      repo: dir(),
      env: { ...process.env, ...env },
    });
    return { code, text: [...out.errors, ...out.lines].join('\n'), result: out.results[0] as R | undefined };
  };
}

/** A pull request: branch `name` made afresh from main, `edit` applied to the checkout, committed. */
function pullRequest({ git, commit }: GitRepo, name: string, edit: () => void): void {
  git('checkout', '-qf', '-B', name, 'main');
  edit();
  commit(name);
}

describe('a pull request cannot change how its own QA runs', () => {
  let world: QaWorld;
  let template: string;
  let dir: string;
  let pwned: string;
  const repo = gitRepo(() => dir);
  const { git, commit } = repo;
  const inventory = (version: string, extra: string[] = []) =>
    [
      '[conda]',
      `version = ${version}`,
      `channels = ${world.channel}`,
      `installer = ${template}`,
      'pass-env = FAKE_CONDA_PYTHON, FAKE_CONDA_PYTHON_VERSION',
      ...extra,
      '',
      '[environments]',
      'app = REPLICATE',
      '',
    ].join('\n');
  const run = commandRunner(
    () => world,
    () => dir,
  );
  const pr = (name: string, edit: () => void) => pullRequest(repo, name, edit);

  beforeAll(() => {
    ({ world, template } = makeUpgradeWorld(OLD, [OLD, NEW]));
    pwned = join(world.base, 'pwned');
    dir = join(world.base, 'repo');
    mkdirSync(join(dir, 'env-specs'), { recursive: true });
    git('init', '-q', '-b', 'main');
    writeFileSync(join(dir, 'inventory.ini'), inventory(OLD));
    writeFileSync(join(dir, 'env-specs', 'app.yml'), worldSpec(world, 'app', ['python', 'requests']));
    commit('main');
    symlinkSync(`v${OLD}`, join(world.root, 'current'));
    symlinkSync(`v${OLD}`, join(world.root, 'qa'));
  });
  afterAll(() => world?.cleanup());

  test("an upgrade PR's own installer never runs: QA installs the new conda with the base's installer", async () => {
    pr('evil-installer', () => {
      writeFileSync(join(dir, 'evil-installer.sh'), `#!/bin/sh\necho pwned > '${pwned}'\nexit 1\n`);
      writeFileSync(
        join(dir, 'inventory.ini'),
        inventory(NEW).replace(`installer = ${template}`, 'installer = ./evil-installer.sh'),
      );
    });
    const r = await run('qa', { base: 'main', head: 'HEAD' });
    expect(existsSync(pwned)).toBe(false);
    expect(existsSync(join(world.root, `v${NEW}`, 'bin', 'conda'))).toBe(true);
    expect(r.text).toMatch(/\[conda\] installer changed by this pull request is not used by its QA/);
    expect(r.code, r.text).toBe(0);
  }, 300_000);

  test("a .condarc left by an abandoned PR's settings is rewritten from the base before a build", async () => {
    const condarc = join(world.root, `v${NEW}`, '.condarc');
    const clean = readFileSync(condarc, 'utf8');
    expect(clean).toMatch(/^# Written by `conda-gitops install-conda`/);
    writeFileSync(condarc, `${clean}custom_channels:\n  conda-forge: file:///home/runner/evil\n`);
    pr('legit-upgrade', () => writeFileSync(join(dir, 'inventory.ini'), inventory(NEW)));
    const r = await run('qa', { base: 'main', head: 'HEAD' });
    expect(r.code, r.text).toBe(0);
    expect(readFileSync(condarc, 'utf8')).toBe(clean);
    expect(r.text).toMatch(/\.condarc differed from inventory\.ini \[conda\].*rewritten from it/);
  }, 300_000);

  test('a PR turning on unsandboxed-tests on a runner without a sandbox: its test still does not run', async () => {
    pr('unsandboxed', () => {
      writeFileSync(join(dir, 'inventory.ini'), inventory(OLD, ['unsandboxed-tests = allow']));
      writeFileSync(join(dir, 'env-specs', 'app.test.sh'), `echo pwned > '${pwned}'\n`);
    });
    const r = await run('qa', { base: 'main', head: 'HEAD' }, { CONDA_GITOPS_SANDBOX: 'none' });
    expect(existsSync(pwned)).toBe(false);
    expect(r.text).toMatch(/\[conda\] unsandboxed-tests changed by this pull request is not used by its QA/);
    expect(r.code).toBe(1); // the test was refused, not run
  }, 300_000);

  test("a PR adding a runner variable to pass-env: QA's build and tests never see it", async () => {
    pr('pass-env', () => {
      writeFileSync(
        join(dir, 'inventory.ini'),
        inventory(OLD).replace('FAKE_CONDA_PYTHON_VERSION', 'FAKE_CONDA_PYTHON_VERSION, SLACK_WEBHOOK_URL'),
      );
      writeFileSync(join(dir, 'env-specs', 'app.test.sh'), 'echo "hook=${SLACK_WEBHOOK_URL:-unset}"\n');
    });
    const r = await run('qa', { base: 'main', head: 'HEAD' }, { SLACK_WEBHOOK_URL: SECRET });
    expect(r.text).toMatch(/\[conda\] pass-env changed by this pull request is not used by its QA/);
    expect(grepTree(join(world.root, '.gitops', 'runs'), SECRET)).toEqual([]);
    expect(r.text).not.toContain(SECRET);
  }, 300_000);

  test('build --base (the matrix job) cannot write the shared package cache; a trusted build does', async () => {
    pr('new-package', () => {
      writeFileSync(join(dir, 'env-specs', 'app.yml'), worldSpec(world, 'app', ['python', 'requests', 'pandas']));
    });
    const shared = join(world.root, `v${OLD}`, 'pkgs');
    const before = readdirSync(shared).sort();
    const untrusted = await run('build', { base: 'main', env: 'app' });
    expect(untrusted.code, untrusted.text).toBe(0);
    expect(readdirSync(shared).sort()).toEqual(before);
    // the same build without --base (an admin's, or deploy's) is trusted: it fills the shared cache
    git('checkout', '-qf', '-B', 'trusted', 'new-package');
    writeFileSync(join(dir, 'env-specs', 'app.yml'), worldSpec(world, 'app', ['python', 'pandas']));
    const trusted = await run('build', { env: 'app' });
    expect(trusted.code, trusted.text).toBe(0);
    expect(readdirSync(shared).sort()).not.toEqual(before);
  }, 300_000);
});

describe('the channel mapping of an abandoned PR never reaches production', () => {
  let world: QaWorld;
  let template: string;
  let dir: string;
  let mirror: (name: string) => string;
  const repo = gitRepo(() => dir);
  const { git, commit } = repo;
  const inventory = (version: string, mapping: string) =>
    [
      '[conda]',
      `version = ${version}`,
      'channels = conda-forge',
      `custom-channels = conda-forge=${mapping}`,
      `installer = ${template}`,
      'pass-env = FAKE_CONDA_PYTHON, FAKE_CONDA_PYTHON_VERSION',
      '',
      '[environments]',
      'app = REPLICATE',
      '',
    ].join('\n');
  const run = commandRunner(
    () => world,
    () => dir,
  );
  /** a PR that writes inventory.ini and env-specs/app.yml anew, each when given */
  const pr = (name: string, files: { inventory?: string; spec?: string }) =>
    pullRequest(repo, name, () => {
      if (files.inventory !== undefined) writeFileSync(join(dir, 'inventory.ini'), files.inventory);
      if (files.spec !== undefined) writeFileSync(join(dir, 'env-specs', 'app.yml'), files.spec);
    });
  /** the channels the live env's conda-meta records name */
  const liveChannels = () => {
    const meta = join(world.root, 'envs', 'app', 'conda-meta');
    return readdirSync(meta)
      .filter((f) => f.endsWith('.json'))
      .map((f) => String((JSON.parse(readFileSync(join(meta, f), 'utf8')) as { channel?: string }).channel))
      .join('\n');
  };

  beforeAll(() => {
    ({ world, template } = makeUpgradeWorld(OLD, [OLD, NEW]));
    // three places serving `conda-forge` with the same packages: the mirror main uses, the PR's, a new mirror
    mirror = (name: string) => {
      const parent = join(world.base, name);
      writeChannel(join(parent, 'conda-forge'), STANDARD_RECORDS);
      return `file://${parent}`;
    };
    dir = join(world.base, 'repo');
    mkdirSync(join(dir, 'env-specs'), { recursive: true });
    git('init', '-q', '-b', 'main');
    writeFileSync(join(dir, 'inventory.ini'), inventory(OLD, mirror('mirror')));
    writeFileSync(
      join(dir, 'env-specs', 'app.yml'),
      'name: app\nchannels:\n  - conda-forge\ndependencies:\n  - python\n',
    );
    commit('main');
    mirror('evil');
    mirror('mirror2');
  });
  afterAll(() => world?.cleanup());

  test(
    'PR-A (new version, custom-channels -> evil) is QAed and abandoned; PR-B (same version) merged and ' +
      'deployed: no evil package is live; a new mapping on main rebuilds instead of reusing',
    async () => {
      pr('pr-a', { inventory: inventory(NEW, `file://${join(world.base, 'evil')}`) });
      const a = await run('qa', { base: 'main', head: 'HEAD' });
      expect(a.code, a.text).toBe(0);
      expect(a.text).toMatch(/\[conda\] custom-channels changed by this pull request is not used by its QA/);
      expect(readFileSync(join(world.root, `v${NEW}`, '.condarc'), 'utf8')).not.toContain('evil');

      // PR-B: the same version, main's mapping; merged and deployed
      pr('pr-b', { inventory: inventory(NEW, mirror('mirror')) });
      const b = await run('qa', { base: 'main', head: 'HEAD' });
      expect(b.code, b.text).toBe(0);
      git('checkout', '-qf', 'main');
      git('merge', '-q', '--ff-only', 'pr-b');
      const deployed = await run('deploy', { 'build-missing': true });
      expect(deployed.code, deployed.text).toBe(0);
      expect(liveChannels()).toMatch(/mirror/);
      expect(liveChannels()).not.toMatch(/evil/);
      const status = await run('status', {});
      expect(status.code, status.text).toBe(0);

      // main moves conda-forge to another mirror: a build made under the old mapping is not "reused"
      writeFileSync(join(dir, 'inventory.ini'), inventory(NEW, mirror('mirror2')));
      commit('main: conda-forge from mirror2');
      const moved = await run('deploy', { 'build-missing': true });
      expect(moved.code, moved.text).toBe(0);
      expect(liveChannels()).toMatch(/mirror2/);
    },
    300_000,
  );

  test("a PR's plan (by what it changed, or whole) names the build id its QA builds: the base's mapping", async () => {
    const spec = 'name: app\nchannels:\n  - conda-forge\ndependencies:\n  - python\n  - zlib\n';
    pr('pr-c', { inventory: inventory(NEW, `file://${join(world.base, 'evil')}`), spec });
    const idOf = (r: { result?: Record<string, unknown> }) =>
      (r.result!.envs as Array<{ name: string; buildId: string }>).find((e) => e.name === 'app')!.buildId;
    const delta = await run('plan', { base: 'main', head: 'HEAD' });
    expect(delta.code, delta.text).toBe(0);
    const whole = await run('plan', { base: 'main' });
    expect(whole.code, whole.text).toBe(0);
    const qa = await run('qa', { base: 'main', head: 'HEAD' });
    expect(qa.code, qa.text).toBe(0);
    const built = readdirSync(join(world.root, `v${NEW}`, 'builds', 'app')).filter((e) => /^[0-9a-f]{12}$/.test(e));
    expect(built).toContain(idOf(delta));
    expect(idOf(whole)).toBe(idOf(delta));
    expect(JSON.stringify(qa.result)).toContain(idOf(delta));
    // the same spec change without touching [conda]: the same build id (the mapping a PR sets has no effect)
    pr('pr-d', { spec });
    const plain = await run('plan', { base: 'main', head: 'HEAD' });
    expect(plain.code, plain.text).toBe(0);
    expect(idOf(delta)).toBe(idOf(plain));
  }, 300_000);
});

describe('a symlink planted by a PR build never makes the tool write into a live env', () => {
  const ANCIENT = '4.3.22'; // older than 4.9: `variables:` become activation scripts the tool writes
  let world: QaWorld;
  let dir: string;
  const repo = gitRepo(() => dir);
  const { git, commit } = repo;
  interface QaReport {
    envs: Array<{ env: string; status: string; class?: string; hint?: string; excerpt?: string[] }>;
  }
  const run = commandRunner<QaReport>(
    () => world,
    () => dir,
  );

  beforeAll(() => {
    world = makeQaWorld({ version: ANCIENT });
    dir = join(world.base, 'repo');
    mkdirSync(join(dir, 'env-specs'), { recursive: true });
    git('init', '-q', '-b', 'main');
    const inv = (envs: string[]) =>
      ['[conda]', `version = ${ANCIENT}`, `channels = ${world.channel}`, '', '[environments]', ...envs, ''].join('\n');
    writeFileSync(join(dir, 'inventory.ini'), inv(['live = REPLICATE']));
    writeFileSync(join(dir, 'env-specs', 'live.yml'), worldSpec(world, 'live', ['python', 'pip', 'zlib']));
    commit('main');
    // the PR: a new env with variables and a local pip package whose build backend plants the symlink
    pullRequest(repo, 'pr', () => {
      const liveLib = join(world.root, 'envs', 'live', 'lib');
      makePlantingPackage(join(world.base, 'varpkg-src'), join(dir, 'env-specs', 'varpkg'), liveLib);
      writeFileSync(
        join(dir, 'env-specs', 'vars.yml'),
        worldSpec(world, 'vars', ['python', 'pip'], ['./varpkg']) + 'variables:\n  GDAL_DATA: /srv/gdal\n',
      );
      writeFileSync(join(dir, 'inventory.ini'), inv(['live = REPLICATE', 'vars = REPLICATE']));
    });
    git('checkout', '-qf', 'main');
  });
  afterAll(() => world?.cleanup());

  test("the PR's build fails naming the planted symlink; nothing is written into the live env", async () => {
    const deployed = await run('deploy', { 'build-missing': true });
    expect(deployed.code, deployed.text).toBe(0);
    const site = readdirSync(join(world.root, 'envs', 'live', 'lib')).map((p) =>
      join(world.root, 'envs', 'live', 'lib', p, 'site-packages'),
    )[0]!;
    const before = readdirSync(site).sort();
    git('checkout', '-qf', 'pr');
    const qa = await run('qa', { base: 'main', head: 'HEAD' });
    expect(qa.code, qa.text).toBe(1);
    const vars = qa.result!.envs.find((e) => e.env === 'vars')!;
    expect(vars.status).toBe('failed');
    // its own class, with advice the env owner can follow (not `unknown`)
    expect(vars.class).toBe('unsafe-prefix');
    expect(vars.hint).toMatch(/remove the package or pip entry that creates it from the spec/);
    expect([vars.hint, ...(vars.excerpt ?? [])].join('\n')).toMatch(
      /etc\/conda\/activate\.d is a symlink in a built prefix: not written through/,
    );
    expect(readdirSync(site).sort()).toEqual(before);
    expect(existsSync(join(site, 'conda-gitops-variables.sh'))).toBe(false);
    git('checkout', '-qf', 'main');
  }, 300_000);
});
