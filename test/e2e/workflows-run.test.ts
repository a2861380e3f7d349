/**
 * The GitHub loop, executed: the REAL workflow files run by the workflow harness
 * (test/fixtures/actions/) with real git (a bare origin, a developer's clone, pull requests with their test merge
 * commits) and the fake conda on "the runner" (ROOT with a fake conda installation; the tool installed into
 * ROOT/tools by deploy.yml itself). Each step asserts what a user sees: the check's colour, job outputs, the job
 * summary, annotations, and the cutover on disk.
 *
 * The world, "GitHub" and the runner come from test/fixtures/actions/loop.ts.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gitIn, type Hub } from '../fixtures/actions/github.js';
import { describeRun, type GitHubEvent, type WorkflowResult } from '../fixtures/actions/runner.js';
import { makeLoop, type Loop } from '../fixtures/actions/loop.js';
import { worldSpec, type QaWorld } from '../fixtures/qa-world.js';
import { inventoryText } from '../fixtures/repo.js';

const VERSION = '23.11.0';

let loop: Loop;
let world: QaWorld;
let hub: Hub;

const play = (workflow: string, event: GitHubEvent): Promise<WorkflowResult> => loop.play(workflow, event);
const liveBuild = (env: string) => loop.liveBuild(env);
const builds = (env: string) => loop.builds(env, VERSION);
const spec = (name: string, numpy: string) => worldSpec(world, name, ['python=3.11', `numpy=${numpy}`]);

beforeAll(async () => {
  // main: the real workflows, two envs; the first deploy, from the push that created main, installs the tool
  // into ROOT/tools, builds and deploys
  loop = await makeLoop({
    inventory: (w) => inventoryText({ envs: { a: 'REPLICATE', b: 'REPLICATE' }, channels: [w.channel] }),
    specs: (w) => ({
      a: worldSpec(w, 'a', ['python=3.11', 'numpy=1.26.4']),
      b: worldSpec(w, 'b', ['python=3.11', 'numpy=1.26.4']),
    }),
  });
  ({ world, hub } = loop);
}, 240_000);

afterAll(() => world?.cleanup());

describe('the GitHub loop with the real workflows', () => {
  // first: after the rollback below, live differs from main and the nightly run is rightly red
  test('drift.yml from its schedule: in sync, and the gc dry run, with the tool from ROOT/tools', async () => {
    const r = await play('drift.yml', hub.schedule('17 3 * * *'));
    expect(r.conclusion, describeRun(r)).toBe('success');
    expect(r.jobs.drift!.summary).toMatch(/Drift: in sync with main/);
    const [drift, gc] = r.jobs.drift!.steps.slice(1);
    expect(drift!.conclusion).toBe('success');
    expect(gc!.conclusion).toBe('success');
    expect(gc!.log).toMatch(/gc/i);
  }, 180_000);

  test('a spec pushed straight to main: deploy.yml builds it and says so (summary, warning)', async () => {
    const before = hub.head();
    hub.branch('main');
    writeFileSync(
      join(hub.clone, 'env-specs', 'b.yml'),
      worldSpec(world, 'b', ['python=3.11', 'numpy=1.26.4', 'zlib']),
    );
    hub.commitAndPush('b: zlib, pushed without a PR');
    const deploy = await play('deploy.yml', hub.pushEvent(before));
    expect(deploy.conclusion, describeRun(deploy)).toBe('success');
    expect(deploy.jobs.deploy!.summary).toMatch(/built at deploy, not tested by a PR: b\b/);
    expect(deploy.annotations).toContainEqual(
      expect.objectContaining({ level: 'warning', title: 'built at deploy, not tested by a PR' }),
    );
  }, 300_000);

  test('PR changing one spec -> qa -> merge -> deploy -> revert PR -> deploy without rebuild -> rollback', async () => {
    const a0 = liveBuild('a');
    const b0 = liveBuild('b');
    expect(builds('a')).toEqual([a0]);

    // the env owner's PR
    hub.branch('numpy-125');
    writeFileSync(join(hub.clone, 'env-specs', 'a.yml'), spec('a', '1.25.0'));
    hub.commitAndPush('a: numpy 1.25');
    const pr = hub.openPullRequest('numpy-125');
    const qa = await play('qa.yml', pr.event);
    expect(qa.jobs.qa!.status, describeRun(qa)).toBe('success');
    expect(qa.jobs.changes!.outputs).toEqual({ envs: 'true' });
    const bt = qa.jobs['build-and-test']!;
    expect(bt.status).toBe('success');
    expect(bt.runner).toBe('self-hosted');
    const qaStep = bt.steps.find((s) => s.id === 'qa')!;
    expect(qaStep.outputs).toMatchObject({ ok: 'true', total: '1', failed: '0' });
    expect(bt.summary).toMatch(/\ba\b/);
    expect(qa.annotations.filter((x) => x.level === 'error')).toEqual([]);
    // the report went up as the qa-report artifact
    expect(readdirSync(join(qa.artifacts, 'qa-report')).length).toBeGreaterThan(0);
    expect(liveBuild('a')).toBe(a0); // QA never touches the live envs

    // merge -> deploy: a new generation with a's tested build; b untouched
    const deploy = await play('deploy.yml', hub.merge(pr));
    expect(deploy.conclusion, describeRun(deploy)).toBe('success');
    // what QA tested goes live as it is: nothing is built at deploy time
    expect(deploy.jobs.deploy!.summary).not.toMatch(/built at deploy/);
    expect(deploy.annotations.filter((x) => x.level === 'warning')).toEqual([]);
    const a1 = liveBuild('a');
    expect(a1).not.toBe(a0);
    expect(liveBuild('b')).toBe(b0);
    expect(builds('a')).toEqual([a0, a1].sort());

    // a revert PR: QA reuses the old build, deploy switches back without building anything
    hub.branch('revert');
    gitIn(hub.clone, 'revert', '--no-edit', '-m', '1', hub.head());
    hub.commitAndPush('revert');
    const revert = hub.openPullRequest('revert');
    const qa2 = await play('qa.yml', revert.event);
    expect(qa2.jobs.qa!.status, describeRun(qa2)).toBe('success');
    expect(qa2.jobs['build-and-test']!.steps.find((s) => s.id === 'qa')!.outputs).toMatchObject({
      tested: '0',
      failed: '0',
    });
    const deploy2 = await play('deploy.yml', hub.merge(revert));
    expect(deploy2.conclusion, describeRun(deploy2)).toBe('success');
    expect(liveBuild('a')).toBe(a0);
    expect(builds('a')).toEqual([a0, a1].sort()); // no rebuild

    // rollback from the Actions tab: env a only, to the previous generation
    const rollback = await play('rollback.yml', hub.dispatch({ env: 'a' }));
    expect(rollback.conclusion, describeRun(rollback)).toBe('success');
    expect(liveBuild('a')).toBe(a1);
    expect(liveBuild('b')).toBe(b0);
  }, 300_000);

  test('a README-only PR: the qa and ci checks pass without any job on the shared runner', async () => {
    hub.branch('docs');
    writeFileSync(join(hub.clone, 'README.md'), '# envs\n\nmore words\n');
    hub.commitAndPush('docs');
    const pr = hub.openPullRequest('docs');
    const r = await play('qa.yml', pr.event);
    // ci.yml (the tool's tests) reports too, at once: a required check never waits for a PR it has nothing to test
    const ci = await play('ci.yml', pr.event);
    expect(ci.jobs.ci!.status).toBe('success');
    expect(ci.jobs.ci!.steps.find((s) => s.id === 'tool')!.outputs).toEqual({ changed: 'false' });
    expect(ci.jobs.ci!.steps.filter((s) => s.conclusion === 'skipped')).toHaveLength(2);
    expect(ci.summary).toMatch(/The tool did not change: nothing to test/);
    expect(r.jobs.changes!.outputs).toEqual({ envs: 'false' });
    expect(r.jobs['build-and-test']!.status).toBe('skipped');
    expect(r.runs.filter((j) => j.runner === 'self-hosted')).toEqual([]);
    expect(r.jobs.qa!.status).toBe('success');
    expect(r.jobs.qa!.steps[0]!.log).toMatch(/no env input changed/);
  }, 180_000);

  test('a fork PR changing a spec: the check fails with its message, nothing runs on the shared runner', async () => {
    hub.branch('fork');
    writeFileSync(join(hub.clone, 'env-specs', 'b.yml'), spec('b', '1.25.0'));
    hub.commitAndPush('b from a fork');
    const r = await play('qa.yml', hub.openPullRequest('fork', { fork: true }).event);
    expect(r.jobs['build-and-test']!.status).toBe('skipped');
    expect(r.runs.filter((j) => j.runner === 'self-hosted')).toEqual([]);
    expect(r.jobs.qa!.status).toBe('failure');
    expect(r.conclusion).toBe('failure');
    expect(r.annotations).toEqual([
      expect.objectContaining({
        level: 'error',
        message: 'QA needs the shared runner; a maintainer must push the branch',
      }),
    ]);
  }, 180_000);

  describe('a PR with a broken spec or inventory', () => {
    let r: WorkflowResult;
    let yaml: WorkflowResult;
    let line: number;
    beforeAll(async () => {
      hub.branch('broken');
      const text = spec('b', '1.26.4').replace('  - numpy=1.26.4\n', '  - numpy>=>1.26\n');
      line = text.split('\n').indexOf('  - numpy>=>1.26') + 1;
      writeFileSync(join(hub.clone, 'env-specs', 'b.yml'), text);
      hub.commitAndPush('b: a typo');
      r = await play('qa.yml', hub.openPullRequest('broken').event);
      // an inventory the repository check rejects: QA stops before any build
      hub.branch('bad-inventory');
      const inventory = join(hub.clone, 'inventory.ini');
      writeFileSync(inventory, readFileSync(inventory, 'utf8').replace('b = REPLICATE', 'b = REPLICAT'));
      hub.commitAndPush('inventory: a typo');
      yaml = await play('qa.yml', hub.openPullRequest('bad-inventory').event);
    }, 180_000);

    // QA stops at the repository check (the plan job) before anything is built: the env owner gets the red
    // check, an annotation at the spec line and a summary that leads with the fix
    test('red check, an annotation at the spec line, the fix in the summary table', () => {
      expect(r.jobs.plan!.status, describeRun(r)).toBe('failure');
      expect(r.jobs['build-and-test']!.status).toBe('skipped');
      expect(r.runs.filter((j) => j.id === 'build')).toEqual([]);
      expect(r.jobs.qa!.status).toBe('failure');
      expect(r.conclusion).toBe('failure');
      expect(r.annotations).toContainEqual(expect.objectContaining({ level: 'error', file: 'env-specs/b.yml', line }));
      expect(r.jobs.plan!.summary).toMatch(new RegExp(`\\| error \\| \`env-specs/b\\.yml\` \\| ${line} \\|`));
    });

    test('the summary leads with what the env owner must do (before the table)', () => {
      const summary = r.jobs.plan!.summary;
      expect(summary.slice(0, summary.indexOf('| Severity |'))).toMatch(/conda-gitops validate/);
    });

    test('an inventory typo: red check, an annotation at the inventory line, a summary naming it', () => {
      expect(yaml.jobs.plan!.status, describeRun(yaml)).toBe('failure');
      expect(yaml.jobs.qa!.status).toBe('failure');
      expect(yaml.annotations).toContainEqual(
        expect.objectContaining({ level: 'error', file: 'inventory.ini', line: 8 }),
      );
      expect(yaml.jobs.plan!.summary).toMatch(
        /\| error \| `inventory\.ini` \| 8 \| invalid value .*for environments\.b/,
      );
    });
  });
});
