/**
 * The admin's side of the GitHub loop, executed with the REAL workflow files on one shared ROOT:
 * - an upgrade PR (`[conda] version` bumped; the inventory's installer template points at the fake installer)
 *   whose builds are spread over two matrix jobs on a pool of two self-hosted runners, running at once, then ONE
 *   report; merge, and deploy.yml cuts the installation over;
 * - the nightly drift workflow on an env changed by hand: red, the repair command in the summary and an
 *   annotation; the admin runs that command, and the next nightly run is green.
 * The world, "GitHub" and the runner come from test/fixtures/actions/loop.ts.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gitIn, type PullRequest } from '../fixtures/actions/github.js';
import { describeRun, type JobResult, type WorkflowResult } from '../fixtures/actions/runner.js';
import { makeLoop, type Loop } from '../fixtures/actions/loop.js';
import { worldSpec, type QaWorld } from '../fixtures/qa-world.js';
import { hostPython, installerTemplate } from '../fake-conda/index.js';

const OLD = '23.11.0';
const NEW = '24.1.2';
const ENVS = ['alpha', 'beta', 'delta', 'gamma'];

let loop: Loop;
let template: string;

const inventory = (world: QaWorld, version: string) =>
  [
    '[conda]',
    `version = ${version}`,
    `channels = ${world.channel}`,
    `installer = ${template}`,
    'pass-env = FAKE_CONDA_PYTHON, FAKE_CONDA_PYTHON_VERSION',
    '',
    '[environments]',
    ...ENVS.map((n) => `${n} = REPLICATE`),
    '',
  ].join('\n');

/** The build step of a leg of the `build` matrix job. */
const buildStep = (leg: JobResult) => leg.steps.find((s) => s.name.startsWith('build '))!;

/** The nightly workflow's one job (whatever its id). */
const nightlyJob = (r: WorkflowResult) => {
  expect(Object.keys(r.jobs)).toHaveLength(1);
  return Object.values(r.jobs)[0]!;
};

beforeAll(async () => {
  const python = hostPython();
  loop = await makeLoop({
    inventory: (w) => {
      template = installerTemplate(join(w.base, 'installers'), [OLD, NEW]);
      return inventory(w, OLD);
    },
    specs: (w) =>
      Object.fromEntries(ENVS.map((n, i) => [n, worldSpec(w, n, ['python=3.11', i % 2 ? 'numpy' : 'requests'])])),
    // the fan-out: at most two build jobs, and two runners sharing ROOT to run them at once
    vars: { CONDA_GITOPS_BUILD_JOBS: '2' },
    pool: 2,
    runnerEnv: { FAKE_CONDA_PYTHON: python.python, FAKE_CONDA_PYTHON_VERSION: python.version },
  });
  // a feature branch cut before the upgrade: its pull request is opened once the upgrade is live
  const { hub, world } = loop;
  hub.branch('stale-feature');
  writeFileSync(join(hub.clone, 'env-specs', 'alpha.yml'), worldSpec(world, 'alpha', ['python=3.11', 'zlib']));
  hub.commitAndPush('alpha: zlib');
}, 300_000);

afterAll(() => loop?.world.cleanup());

describe('the admin loop with the real workflows, on a pool of two runners', () => {
  let qa: WorkflowResult;
  let pr: PullRequest;

  test('an upgrade PR: plan, two build jobs at once on the pool, one report, ROOT/qa on the new conda', async () => {
    const { hub, world } = loop;
    const root = world.root;
    expect(readlinkSync(join(root, 'current'))).toBe(`v${OLD}`);
    hub.branch('conda-upgrade');
    writeFileSync(join(hub.clone, 'inventory.ini'), inventory(world, NEW));
    hub.commitAndPush(`conda ${NEW}`);
    pr = hub.openPullRequest('conda-upgrade');
    qa = await loop.play('qa.yml', pr.event);
    expect(qa.conclusion, describeRun(qa)).toBe('success');
    expect(qa.jobs.qa!.status).toBe('success');

    // plan: every REPLICATE env is rebuilt for the new conda, in two slices
    const plan = qa.jobs.plan!;
    expect(plan.outputs.builds).toBe('4');
    const matrix = JSON.parse(plan.outputs.matrix!) as { include: Array<{ slice: string; envs: string }> };
    expect(matrix.include.map((e) => e.slice)).toEqual(['1/2', '2/2']);
    expect(matrix.include.flatMap((e) => e.envs.split(' ')).sort()).toEqual(ENVS);

    // two build legs, on two different runners of the pool, whose build steps ran at the same time
    const legs = qa.runs.filter((j) => j.id === 'build');
    expect(legs.map((j) => j.status)).toEqual(['success', 'success']);
    expect(new Set(legs.map((j) => j.workspace)).size).toBe(2);
    const [one, two] = legs.map(buildStep);
    expect(Math.max(one!.startedAt, two!.startedAt)).toBeLessThan(Math.min(one!.finishedAt, two!.finishedAt));
    // each leg built its own slice, into the new installation; together every env exactly once
    const builtNow = legs.map((l) => Number(/build: (\d+) built now/.exec(buildStep(l).log)?.[1]));
    expect(builtNow).toEqual([2, 2]);
    expect(legs.map((l) => l.matrix!.slice).sort()).toEqual(['1/2', '2/2']);
    for (const leg of legs)
      for (const env of String(leg.matrix!.envs).split(' '))
        expect(buildStep(leg).log).toMatch(new RegExp(`^${env} [0-9a-f]{12}: built$`, 'm'));
    for (const env of ENVS) expect(loop.builds(env, NEW), env).toHaveLength(1);

    // one report for the whole run: the final job tested the pool's builds and built nothing itself
    const bt = qa.jobs['build-and-test']!;
    expect(bt.status).toBe('success');
    const qaStep = bt.steps.find((s) => s.id === 'qa')!;
    expect(qaStep.outputs).toMatchObject({ ok: 'true', total: '4', tested: '4', failed: '0' });
    expect(bt.summary).toMatch(new RegExp(`conda upgrade ${OLD} -> ${NEW}: 4 envs: 4 ok`));
    for (const env of ENVS) expect(bt.summary).toMatch(new RegExp(`^\\| ${env} \\| ✅ tested \\|`, 'm'));
    expect(qa.annotations.filter((a) => a.level === 'error')).toEqual([]);

    // ROOT/qa points at the new installation for people to inspect; the live one is unchanged
    expect(readlinkSync(join(root, 'qa'))).toBe(`v${NEW}`);
    expect(readlinkSync(join(root, 'current'))).toBe(`v${OLD}`);
    for (const env of ENVS) expect(realpathSync(join(root, 'envs', env))).toContain(`/v${OLD}/builds/${env}/`);
  }, 600_000);

  test('merge -> deploy.yml: the installation cutover, with the builds QA tested', async () => {
    const { hub, world } = loop;
    const root = world.root;
    const deploy = await loop.play('deploy.yml', hub.merge(pr));
    expect(deploy.conclusion, describeRun(deploy)).toBe('success');
    expect(readlinkSync(join(root, 'current'))).toBe(`v${NEW}`);
    for (const env of ENVS) {
      const [build] = loop.builds(env, NEW);
      expect(realpathSync(join(root, 'envs', env))).toBe(realpathSync(join(root, `v${NEW}`, 'builds', env, build!)));
      expect(loop.builds(env, NEW), env).toHaveLength(1); // deploy built nothing again
    }
    // the old installation stays on disk for a rollback
    expect(existsSync(join(root, `v${OLD}`, 'bin', 'conda'))).toBe(true);
  }, 300_000);

  test('a PR cut before the upgrade: compared with the merge base, red with "rebase on main"', async () => {
    const { hub, world } = loop;
    const root = world.root;
    const before = loop.builds('alpha', OLD).length;
    const stale = hub.openPullRequest('stale-feature');
    const r = await loop.play('qa.yml', stale.event);
    expect(r.conclusion).toBe('failure');
    expect(r.jobs.plan!.status).toBe('failure');
    // qa.yml passed the merge base: the branch's own change, older than the live conda (not main's tip)
    const refused = r.annotations.filter((a) => a.level === 'error' && a.message.includes('rebase on main'));
    expect(refused).toHaveLength(1);
    expect(refused[0]!.message).toMatch(/version 23\.11\.0 is older than 24\.1\.2 \(the live installation/);
    expect(refused[0]!.file).toBe('inventory.ini');
    expect(r.annotations.map((a) => a.message)).toContainEqual(expect.stringMatching(/^the plan failed/));
    expect(JSON.stringify(r.jobs)).not.toMatch(/conda (upgrade|downgrade) 24\.1\.2 -> 23\.11\.0/);
    // nothing built into the old installation, ROOT/qa and ROOT/current stay on the new conda
    expect(loop.builds('alpha', OLD)).toHaveLength(before);
    expect(readlinkSync(join(root, 'qa'))).toBe(`v${NEW}`);
    expect(readlinkSync(join(root, 'current'))).toBe(`v${NEW}`);
  }, 300_000);

  test('nightly drift on an env changed by hand: red with the repair command; repaired: green', async () => {
    const { hub, world } = loop;
    const root = world.root;
    const nightly = () => loop.play('drift.yml', hub.schedule('17 3 * * *'));
    const before = await nightly();
    expect(before.conclusion, describeRun(before)).toBe('success');
    expect(nightlyJob(before).summary).toMatch(/Drift: in sync with main/);

    // someone installs a package into a live env by hand, with the live conda
    const hand = spawnSync(
      join(root, 'current', 'bin', 'conda'),
      ['install', '-y', '-p', join(root, 'envs', 'beta'), 'zlib'],
      {
        encoding: 'utf8',
      },
    );
    expect(hand.status, hand.stdout + hand.stderr).toBe(0);

    const red = await nightly();
    expect(red.conclusion).toBe('failure');
    const job = nightlyJob(red);
    expect(job.steps.map((s) => s.conclusion)).toEqual(['success', 'failure', 'success']); // gc still reports
    expect(job.summary).toMatch(/## Drift: the installation differs from main/);
    expect(job.summary).toContain('- To repair: `conda-gitops deploy --repair beta`');
    expect(job.summary).toMatch(/## gc --dry-run/);
    const repair = red.annotations.filter((a) => a.level === 'error' && a.message.startsWith('To repair: '));
    expect(repair.map((a) => a.message)).toEqual(['To repair: conda-gitops deploy --repair beta']);

    // the admin runs that command on the server, with main's tool, in a checkout of main
    gitIn(hub.clone, 'fetch', '-q', 'origin');
    gitIn(hub.clone, 'checkout', '-q', '-B', 'main', 'origin/main');
    const [tool, ...args] = repair[0]!.message.slice('To repair: '.length).split(' ');
    expect(tool).toBe('conda-gitops');
    const fixed = spawnSync(join(root, 'tools', 'bin', 'conda-gitops'), args, {
      cwd: hub.clone,
      encoding: 'utf8',
      env: { ...process.env, CONDA_GITOPS_ROOT: root },
    });
    expect(fixed.status, fixed.stdout + fixed.stderr).toBe(0);

    const green = await nightly();
    expect(green.conclusion, describeRun(green)).toBe('success');
    expect(nightlyJob(green).summary).toMatch(/Drift: in sync with main/);
    expect(green.annotations.filter((a) => a.level === 'error')).toEqual([]);
    expect(readFileSync(join(realpathSync(join(root, 'envs', 'beta')), 'conda-meta', 'history'), 'utf8')).not.toMatch(
      /zlib/,
    );
  }, 600_000);
});
