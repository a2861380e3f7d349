import { afterEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deployGoesAhead, deployOutcome, describePlan, planDeploy } from '../../scripts/core/deploy.js';
import type { DesiredInput, LiveInput } from '../../scripts/core/deploy.js';
import {
  ensureRootLinks,
  markBuilds,
  readLive,
  readGenerationLinks,
  readManifest,
  swapEnvs,
  writeGeneration,
} from '../../scripts/state/generation.js';
import { readHistory } from '../../scripts/state/history.js';
import { readBuildRecord, writeBuildRecord } from '../../scripts/state/record.js';
import { memoryOutput } from '../../scripts/cli/output.js';
import { deploy, planFromDisk, type DeployOptions } from '../../scripts/app/deploy.js';
import { rollback, type RollbackOptions } from '../../scripts/app/rollback.js';
import { cutoverHistory } from '../../scripts/app/history.js';
import type { OptionValues } from '../../scripts/core/options.js';
import { runCommand } from '../fixtures/command.js';
import { BusyError, RefusedError } from '../../scripts/core/errors.js';
import { exitCodeOfError } from '../../scripts/cli/exit.js';
import { acquireLock } from '../../scripts/state/lock.js';
import type { StampedBuildRecord } from '../../scripts/core/types.js';
import {
  addBuild,
  addVerdict,
  addTestedBuilds,
  commitAll,
  desiredOf,
  envPlanOf,
  fakeBuildId,
  makeInstallation,
  writeRepo,
  VERSION,
} from '../fixtures/installation.js';
import type { FakeInstallation } from '../fixtures/installation.js';

const ENV = { ...process.env, GITHUB_ACTOR: 'octo' };

async function runDeploy(repo: string, root: string, opts: Partial<DeployOptions> = {}) {
  const out = memoryOutput(false);
  const result = await deploy({
    repoDir: repo,
    rootFlag: root,
    env: ENV,
    out,
    force: false,
    dryRun: false,
    buildMissing: false,
    jobs: 1,
    waitSeconds: 0,
    ...opts,
  });
  return { ok: result.ok, result, out };
}

async function runRollback(repo: string, root: string, opts: Partial<RollbackOptions> = {}) {
  const out = memoryOutput(false);
  const result = await rollback({
    repoDir: repo,
    rootFlag: root,
    env: ENV,
    out,
    dryRun: false,
    waitSeconds: 0,
    ...opts,
  });
  return { ok: result.ok, result, out };
}

async function runHistory(repo: string, root: string) {
  const out = memoryOutput(false);
  const result = await cutoverHistory({ repoDir: repo, rootFlag: root, env: ENV, out });
  return { ok: result.ok, result, out };
}

const rec = (status: StampedBuildRecord['status'], extra: Partial<StampedBuildRecord> = {}): StampedBuildRecord => ({
  format: 1,
  env: 'x',
  buildId: 'x',
  specHash: 'x',
  status,
  condaVersion: VERSION,
  frontend: 'conda',
  prefix: '/p',
  phases: [],
  startedAt: '2024-01-01T00:00:00Z',
  log: '/l',
  ...extra,
});

const noLive: LiveInput = { currentLinks: {}, targetLinks: {}, targetGenerations: [] };

const planOf = (
  d: DesiredInput,
  live: LiveInput,
  lookup: (env: string, id: string) => StampedBuildRecord | undefined,
  opts: { force?: boolean } = {},
) => planDeploy(d, live, envPlanOf(d, lookup, live.targetLinks, opts));

describe('planDeploy (pure)', () => {
  const A = fakeBuildId('a1');
  const B = fakeBuildId('b1');
  const B2 = fakeBuildId('b2');

  describe('a conda upgrade: allow-failures and the installation mark', () => {
    const OLD = { installation: 'v23.11.0', generation: 3 };
    const upgradeLive = (extra: Partial<LiveInput> = {}): LiveInput => ({
      current: OLD,
      currentLinks: { a: 'oa', b: 'ob' },
      targetLinks: {},
      targetGenerations: [],
      ...extra,
    });
    const desiredB = (allowFailures?: string[]) => ({
      ...desiredOf({ a: A, b: B }, {}, '24.1.2'),
      ...(allowFailures ? { allowFailures } : {}),
    });
    const plan = (d: DesiredInput, live: LiveInput, force = false) =>
      planDeploy(
        d,
        live,
        envPlanOf(d, (env) => (env === 'a' ? rec('tested') : undefined), live.targetLinks),
        { root: '/R', files: new Map() },
        { force },
      );

    it('without allow-failures an env without a passing build blocks the whole deploy', () => {
      const p = plan(desiredB(), upgradeLive());
      expect(p.missing.map((m) => m.name)).toEqual(['b']);
      expect(p.leftOut).toEqual([]);
    });

    it('an allowed failure is left out and named with where it is still served from', () => {
      const p = plan(desiredB(['b']), upgradeLive());
      expect(p.missing).toEqual([]);
      expect(p.links).toEqual({ a: A });
      expect(p.switchCurrent).toBe(true);
      expect(p.leftOut).toEqual([
        {
          name: 'b',
          buildId: B,
          reason: 'not built yet',
          servedFrom: { installation: 'v23.11.0', build: 'ob', path: '/R/v23.11.0/envs/b' },
        },
      ]);
    });

    it('an allowed failure the installation users are on lacks is served by the next one that has it', () => {
      const live = upgradeLive({
        current: { installation: 'v23.1.0', generation: 1 },
        currentLinks: { a: 'oa' },
        serving: [
          { installation: 'v23.1.0', links: { a: 'oa' } },
          { installation: 'v23.11.0', links: { a: 'oa2', b: 'ob2' } },
        ],
      });
      const p = plan(desiredB(['b']), live);
      expect(p.leftOut[0]!.servedFrom).toEqual({
        installation: 'v23.11.0',
        build: 'ob2',
        path: '/R/v23.11.0/envs/b',
      });
      expect(describePlan(p).join('\n')).toContain('still served from v23.11.0 at /R/v23.11.0/envs/b');
      // nothing deployed is live: the adopted installation users are on is named as what the deploy leaves
      const fromAdopted = plan(desiredB(['b']), {
        currentLinks: {},
        targetLinks: {},
        targetGenerations: [],
        adopted: 'v4.3.22',
        serving: [{ installation: 'v4.3.22', links: { a: 'adopted', b: 'adopted' } }],
      });
      expect(describePlan(fromAdopted)[0]).toBe('deploy v4.3.22 (adopted) -> v24.1.2/generations/1 (new)');
    });

    it('an allowed failure live in the target installation keeps its live build', () => {
      const live = upgradeLive({
        current: { installation: 'v24.1.2', generation: 1 },
        currentLinks: { a: A, b: 'b0' },
        target: 1,
        targetLinks: { a: A, b: 'b0' },
        targetGenerations: [1],
      });
      const p = plan(desiredB(['b']), live);
      expect(p.links).toEqual({ a: A, b: 'b0' });
      expect(p.leftOut[0]).toMatchObject({ name: 'b', keeping: 'b0' });
      expect(p.changes).toBe(false);
    });

    it('refuses to switch back to a rolled-back installation with the same links; changed links or --force go', () => {
      const mark = { installation: 'v24.1.2', at: 't', reason: 'r', generation: 1, links: { a: A } };
      const live = upgradeLive({ target: 1, targetLinks: { a: A }, targetGenerations: [1], installationMark: mark });
      expect(plan(desiredB(['b']), live).blockedBy).toEqual(mark);
      const forced = plan(desiredB(['b']), live, true);
      expect(forced.blockedBy).toBeUndefined();
      expect(forced.clearsMark).toEqual(mark);
      const changed = plan(desiredB(['b']), { ...live, installationMark: { ...mark, links: { a: 'old' } } });
      expect(changed.blockedBy).toBeUndefined();
      expect(changed.clearsMark).toBeDefined();
    });
  });

  it('a first deploy links every tested build into generation 1 and points current at the installation', () => {
    const plan = planOf(desiredOf({ a: A, b: B }), noLive, () => rec('tested'));
    expect(plan.links).toEqual({ a: A, b: B });
    expect(plan.newGeneration).toBe(1);
    expect(plan.switchCurrent).toBe(true);
    expect(plan.diff.added.map((x) => x.name)).toEqual(['a', 'b']);
    expect(plan.changes).toBe(true);
  });

  it('lists every env without a tested build, with its status and failure class', () => {
    const plan = planOf(desiredOf({ a: A, b: B, c: fakeBuildId('c') }), noLive, (env) =>
      env === 'a'
        ? rec('tested')
        : env === 'b'
          ? rec('failed', { failure: { class: 'missing-version', excerpt: [] } })
          : undefined,
    );
    expect(plan.missing).toEqual([
      { name: 'b', buildId: B, status: 'failed', reason: 'last build failed, worth a retry' },
      { name: 'c', buildId: fakeBuildId('c'), status: 'absent', reason: 'not built yet' },
    ]);
  });

  it('changes nothing when the live generation already has exactly the desired links', () => {
    const live: LiveInput = {
      current: { installation: `v${VERSION}`, generation: 4 },
      currentLinks: { a: A, b: B },
      target: 4,
      targetLinks: { a: A, b: B },
      targetGenerations: [1, 2, 3, 4],
    };
    const plan = planOf(desiredOf({ a: A, b: B }), live, () => rec('tested'));
    expect(plan.changes).toBe(false);
    expect(plan.newGeneration).toBeUndefined();
  });

  it('holds back a build a rollback marked bad, keeping the live build, unless forced', () => {
    const live: LiveInput = {
      current: { installation: `v${VERSION}`, generation: 2 },
      currentLinks: { a: A, b: B },
      target: 2,
      targetLinks: { a: A, b: B },
      targetGenerations: [1, 2, 3],
    };
    const bad = { at: '2024-05-01T00:00:00Z', reason: 'rolled back' };
    const lookup = (env: string) => (env === 'b' ? rec('tested', { bad }) : rec('tested'));
    const held = planOf(desiredOf({ a: A, b: B2 }), live, lookup);
    expect(held.heldBack).toEqual([{ name: 'b', buildId: B2, bad, keeping: B }]);
    expect(held.links).toEqual({ a: A, b: B });
    expect(held.changes).toBe(false);
    const forced = planOf(desiredOf({ a: A, b: B2 }), live, lookup, { force: true });
    expect(forced.links).toEqual({ a: A, b: B2 });
    expect(forced.forced).toEqual([{ name: 'b', buildId: B2 }]);
    expect(forced.newGeneration).toBe(4);
  });

  it('how a deploy ends, from its plan alone: refused naming missing or held-back envs, else ok', () => {
    const live: LiveInput = {
      current: { installation: `v${VERSION}`, generation: 2 },
      currentLinks: { a: A, b: B },
      target: 2,
      targetLinks: { a: A, b: B },
      targetGenerations: [1, 2],
    };
    const bad = { at: '2024-05-01T00:00:00Z', reason: 'rolled back' };
    const held = planOf(desiredOf({ a: A, b: B2 }), live, (env) => rec('tested', env === 'b' ? { bad } : {}));
    expect(deployOutcome(held)).toEqual({
      kind: 'refused',
      message:
        'held back: b: main asks for builds a rollback marked bad; the other envs go live without them. ' +
        'Revert or fix them in git, or deploy --force',
    });
    expect(deployGoesAhead(held)).toBe(true); // the rest goes live
    expect(describePlan(held)[0]).toBe(
      `nothing to deploy: v${VERSION}/generations/2 already matches the repository, but for the held-back builds below`,
    );
    const missing = planOf(desiredOf({ a: A, b: B2 }), live, (env) => (env === 'b' ? undefined : rec('tested')));
    expect(deployOutcome(missing)).toEqual({
      kind: 'refused',
      message:
        "refusing to deploy: these envs have no build that passed the repository's tests (run QA on the PR, " +
        `or deploy --build-missing):\n  b ${B2}: not built yet`,
    });
    expect(deployGoesAhead(missing)).toBe(false);
    expect(deployOutcome(planOf(desiredOf({ a: A, b: B2 }), live, () => rec('tested')))).toEqual({ kind: 'ok' });
  });

  it('deploying a new conda version writes a generation there and switches current', () => {
    const live: LiveInput = {
      current: { installation: 'v4.3.22', generation: 7 },
      currentLinks: { a: 'old' },
      targetLinks: {},
      targetGenerations: [],
    };
    const plan = planOf(desiredOf({ a: A }), live, () => rec('tested'));
    expect(plan.installation).toBe(`v${VERSION}`);
    expect(plan.newGeneration).toBe(1);
    expect(plan.switchCurrent).toBe(true);
    expect(plan.diff.changed).toEqual([{ name: 'a', from: 'old', to: A }]);
  });

  it('skips the kernel of an env that is not in the generation, and lowercases kernel names', () => {
    const plan = planOf(desiredOf({ Analytics: A, b: B }, { Analytics: 'Analytics', b: 'B' }), noLive, (env) =>
      env === 'b' ? undefined : rec('tested'),
    );
    expect(plan.kernels).toEqual([{ kernel: 'analytics', env: 'Analytics', displayName: 'Analytics' }]);
    expect(plan.kernelProblems.join()).toMatch(/env b is not in the generation/);
  });
});

describe('deploy, rollback and history against a real ROOT', () => {
  let fi: FakeInstallation;
  let repo: string;
  afterEach(() => fi?.cleanup());

  async function setup(envs: Record<string, number>, kernels: Record<string, string> = {}) {
    fi = makeInstallation();
    repo = join(fi.root, 'repo');
    mkdirSync(repo);
    const desired = await writeRepo(repo, { envs, kernels });
    addTestedBuilds(fi.root, desired);
    commitAll(repo, 'first');
    return desired;
  }

  const python = (env: string) =>
    execFileSync(join(fi.root, 'envs', env, 'bin', 'python'), { encoding: 'utf8' }).trim();

  it('deploys: generation 1 with relative links, ROOT/envs and current created, kernels, a history line', async () => {
    const desired = await setup({ hlink: 1, geo: 2 }, { hlink: 'Hlink (Python 3.11)' });
    const { ok, out } = await runDeploy(repo, fi.root);
    expect(ok).toBe(true);
    expect(out.lines.join('\n')).toMatch(/generations\/1/);
    expect(readlinkSync(join(fi.root, 'current'))).toBe(`v${VERSION}`);
    expect(readlinkSync(join(fi.root, 'envs'))).toBe('current/envs');
    expect(readlinkSync(join(fi.inst.dir, 'envs'))).toBe('generations/1');
    const hl = desired.envs.find((e) => e.name === 'hlink')!.buildId;
    expect(readlinkSync(join(fi.inst.dir, 'generations', '1', 'hlink'))).toBe(`../../builds/hlink/${hl}`);
    expect(python('hlink')).toBe(`hlink ${hl}`);
    const manifest = readManifest(fi.inst.dir, 1)!;
    expect(manifest).toMatchObject({ format: 1, n: 1, reason: 'deploy', envs: { hlink: hl } });
    expect(manifest.commit).toMatch(/^[0-9a-f]{40}$/);
    const kernel = JSON.parse(readFileSync(join(fi.root, 'kernels', 'hlink', 'kernel.json'), 'utf8'));
    expect(kernel.argv.slice(0, 4)).toEqual([
      join(fi.root, 'kernels', '.conda-gitops-launch'),
      join(fi.root, 'envs', 'hlink'),
      'hlink',
      join(fi.root, 'envs', 'hlink', 'bin', 'python'),
    ]);
    const { entries } = readHistory(fi.root);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      command: 'deploy',
      commit: manifest.commit,
      actor: 'octo',
      to: { generation: 1 },
    });
    expect(entries[0].added.map((a) => a.name)).toEqual(['geo', 'hlink']);
  });

  it('running deploy again changes nothing: no generation, no history line', async () => {
    await setup({ a: 1, b: 2 });
    await runDeploy(repo, fi.root);
    const { ok, out } = await runDeploy(repo, fi.root);
    expect(ok).toBe(true);
    expect(out.lines.join('\n')).toMatch(/nothing to deploy/);
    expect(readdirSync(join(fi.inst.dir, 'generations'))).toEqual(['1']);
    expect(readHistory(fi.root).entries).toHaveLength(1);
  });

  it('refuses, listing envs without a tested build in its outcome, and changes nothing', async () => {
    const desired = await setup({ a: 1, b: 2 });
    const b = desired.envs.find((e) => e.name === 'b')!;
    const changed = await writeRepo(repo, { envs: { a: 1, b: 3, c: 4 } });
    addBuild(fi.root, VERSION, 'c', changed.envs.find((e) => e.name === 'c')!.buildId, { status: 'failed' });
    const { ok, result } = await runDeploy(repo, fi.root);
    expect(ok).toBe(false);
    expect(result.outcome.kind).toBe('refused');
    const text = result.outcome.kind === 'refused' ? result.outcome.message : '';
    expect(text).toMatch(/b [0-9a-f]{12}: not built/);
    expect(text).toMatch(/c [0-9a-f]{12}: build FAILED in create \(missing-package\)/);
    expect(text).not.toMatch(/ a [0-9a-f]{12}/);
    expect(existsSync(join(fi.root, 'envs'))).toBe(false);
    expect(existsSync(join(fi.inst.dir, 'generations'))).toBe(false);
    expect(b.buildId).not.toBe(changed.envs.find((e) => e.name === 'b')!.buildId);
  });

  it('--dry-run prints the plan and writes nothing', async () => {
    await setup({ a: 1 });
    const { ok, out } = await runDeploy(repo, fi.root, { dryRun: true });
    expect(ok).toBe(true);
    expect(out.lines.join('\n')).toMatch(/\+ a [0-9a-f]{12}/);
    expect(existsSync(join(fi.root, '.gitops'))).toBe(false);
    expect(existsSync(join(fi.inst.dir, 'generations'))).toBe(false);
  });

  it('refuses an installation whose envs/ is a real directory of unmanaged envs, touching nothing', async () => {
    await setup({ a: 1 });
    mkdirSync(join(fi.inst.dir, 'envs', 'legacy', 'conda-meta'), { recursive: true });
    await expect(runDeploy(repo, fi.root)).rejects.toThrow(RefusedError);
    await expect(runDeploy(repo, fi.root)).rejects.toThrow(/adopt/);
    expect(readdirSync(join(fi.inst.dir, 'envs'))).toEqual(['legacy']);
    expect(existsSync(join(fi.root, 'current'))).toBe(false);
    expect(existsSync(join(fi.inst.dir, 'generations'))).toBe(false);
  });

  it('rollback restores exactly the previous link map, marks the rolled-back builds bad, and is recorded', async () => {
    await setup({ a: 1, b: 2, c: 3 }, { b: 'B' });
    await runDeploy(repo, fi.root);
    const before = readGenerationLinks(fi.inst.dir, 1);
    const next = await writeRepo(repo, { envs: { a: 1, b: 5, d: 6 }, kernels: { b: 'B' } });
    addTestedBuilds(fi.root, next);
    commitAll(repo, 'second');
    expect((await runDeploy(repo, fi.root)).ok).toBe(true);
    const newB = next.envs.find((e) => e.name === 'b')!.buildId;
    expect(python('b')).toBe(`b ${newB}`);

    const { ok, out } = await runRollback(repo, fi.root);
    expect(ok).toBe(true);
    expect(out.lines[0]).toMatch(/generations\/2 -> v[\d.]+\/generations\/1 in \d+ ms/);
    expect(readLive(fi.root).links).toEqual(before);
    expect(readlinkSync(join(fi.inst.dir, 'envs'))).toBe('generations/1');
    expect(python('b')).toBe(`b ${before.b}`);
    expect(readBuildRecord(fi.root, VERSION, 'b', newB)?.bad?.reason).toMatch(/rolled back from .*generations\/2/);
    expect(readBuildRecord(fi.root, VERSION, 'd', next.envs.find((e) => e.name === 'd')!.buildId)?.bad).toBeDefined();
    expect(readBuildRecord(fi.root, VERSION, 'a', before.a)?.bad).toBeUndefined();
    const last = readHistory(fi.root).entries.at(-1)!;
    expect(last).toMatchObject({ command: 'rollback', from: { generation: 2 }, to: { generation: 1 } });

    // main still asks for the bad builds: deploy keeps them out and says what to do
    const held = await runDeploy(repo, fi.root);
    expect(held.ok).toBe(false);
    expect(held.out.lines.join('\n')).toMatch(
      /b: main asks for build [0-9a-f]{12}, rolled back .*revert or fix in git/i,
    );
    expect(python('b')).toBe(`b ${before.b}`);
    // a plain rollback from here goes to the generation this one was made from, never to the rolled-back one
    const live = readLive(fi.root).ref!;
    expect(readManifest(fi.inst.dir, live.generation)?.parent).toEqual({ installation: `v${VERSION}`, generation: 1 });

    // --force puts them back and clears the mark
    expect((await runDeploy(repo, fi.root, { force: true })).ok).toBe(true);
    expect(python('b')).toBe(`b ${newB}`);
    expect(readBuildRecord(fi.root, VERSION, 'b', newB)?.bad).toBeUndefined();
    expect(readHistory(fi.root).entries.map((e) => e.command)).toEqual([
      'deploy',
      'deploy',
      'rollback',
      'deploy',
      'deploy --force',
    ]);
  });

  it('rollback --env NAME makes a new generation with only that env from the previous one', async () => {
    await setup({ a: 1, b: 2 });
    await runDeploy(repo, fi.root);
    const first = readLive(fi.root).links;
    const next = await writeRepo(repo, { envs: { a: 3, b: 4 } });
    addTestedBuilds(fi.root, next);
    await runDeploy(repo, fi.root);
    const second = readLive(fi.root).links;
    const { ok } = await runRollback(repo, fi.root, { envName: 'a' });
    expect(ok).toBe(true);
    expect(readLive(fi.root).ref?.generation).toBe(3);
    expect(readLive(fi.root).links).toEqual({ a: first.a, b: second.b });
    expect(readManifest(fi.inst.dir, 3)?.reason).toMatch(/rollback --env a/);
    expect(readBuildRecord(fi.root, VERSION, 'a', second.a)?.bad).toBeDefined();
    expect(readBuildRecord(fi.root, VERSION, 'b', second.b)?.bad).toBeUndefined();
  });

  it('rollback --to N goes forward again and clears the marks of the builds it brings back', async () => {
    await setup({ a: 1 });
    await runDeploy(repo, fi.root);
    const next = await writeRepo(repo, { envs: { a: 2 } });
    addTestedBuilds(fi.root, next);
    await runDeploy(repo, fi.root);
    const newA = next.envs[0].buildId;
    await runRollback(repo, fi.root);
    expect(readBuildRecord(fi.root, VERSION, 'a', newA)?.bad).toBeDefined();
    expect((await runRollback(repo, fi.root, { to: 2 })).ok).toBe(true);
    expect(readLive(fi.root).links.a).toBe(newA);
    expect(readBuildRecord(fi.root, VERSION, 'a', newA)?.bad).toBeUndefined();
    await expect(runRollback(repo, fi.root, { to: 9 })).rejects.toThrow(/no generation 9/);
  });

  it('history prints one line per cutover with user, commit and generations', async () => {
    await setup({ a: 1 });
    await runDeploy(repo, fi.root);
    const commit = readHistory(fi.root).entries[0].commit!;
    const { out } = await runHistory(repo, fi.root);
    expect(out.lines).toHaveLength(1);
    expect(out.lines[0]).toContain('deploy');
    expect(out.lines[0]).toContain('octo');
    expect(out.lines[0]).toContain(commit.slice(0, 10));
    expect(out.lines[0]).toMatch(/\(none\) -> v[\d.]+\/generations\/1 {2}\+1 ~0 -0 {2}\(a\)/);
  });

  it('kernels of removed [kernels] entries are deleted, hand-made kernelspecs are left alone', async () => {
    await setup({ a: 1, b: 2 }, { a: 'A', b: 'B' });
    mkdirSync(join(fi.root, 'kernels', 'handmade'), { recursive: true });
    writeFileSync(
      join(fi.root, 'kernels', 'handmade', 'kernel.json'),
      '{"argv":["python"],"display_name":"mine","language":"python"}',
    );
    await runDeploy(repo, fi.root);
    expect(readdirSync(join(fi.root, 'kernels')).sort()).toEqual(['.conda-gitops-launch', 'a', 'b', 'handmade']);
    await writeRepo(repo, { envs: { a: 1, b: 2 }, kernels: { a: 'A renamed' } });
    const { ok } = await runDeploy(repo, fi.root);
    expect(ok).toBe(true);
    expect(readdirSync(join(fi.root, 'kernels')).sort()).toEqual(['.conda-gitops-launch', 'a', 'handmade']);
    expect(JSON.parse(readFileSync(join(fi.root, 'kernels', 'a', 'kernel.json'), 'utf8')).display_name).toBe(
      'A renamed',
    );
    expect(readdirSync(join(fi.root, 'kernels', 'a'))).toEqual(['kernel.json']); // no temp files left
  });

  it('a second writer exits 3 naming the holder of the lock', async () => {
    await setup({ a: 1 });
    const lock = await acquireLock(fi.root, { waitSeconds: 0, command: 'conda-gitops gc --yes' });
    try {
      const err = await runDeploy(repo, fi.root).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BusyError);
      expect(exitCodeOfError(err)).toBe(3);
      expect((err as Error).message).toContain(`pid ${process.pid}`);
      expect((err as Error).message).toContain('conda-gitops gc --yes');
      await expect(runRollback(repo, fi.root)).rejects.toThrow(BusyError);
    } finally {
      await lock.release();
    }
    expect((await runDeploy(repo, fi.root)).ok).toBe(true);
  });

  it('deploying a new conda version switches ROOT/current; rollback switches it back', async () => {
    await setup({ a: 1 });
    await runDeploy(repo, fi.root);
    const old = readLive(fi.root);
    const newer = makeInstallation({ root: fi.root, version: '24.1.2' });
    const next = await writeRepo(repo, { envs: { a: 1 }, version: newer.version });
    addTestedBuilds(fi.root, next);
    expect((await runDeploy(repo, fi.root)).ok).toBe(true);
    expect(readlinkSync(join(fi.root, 'current'))).toBe('v24.1.2');
    expect(python('a')).toBe(`a ${next.envs[0].buildId}`);
    expect((await runRollback(repo, fi.root)).ok).toBe(true);
    expect(readlinkSync(join(fi.root, 'current'))).toBe(`v${VERSION}`);
    expect(readLive(fi.root)).toEqual(old);
  });

  const UNLOGGED_CUTOVER =
    'a cutover a killed run did not log is recorded by the next writer; a killed rollback still gets its bad marks';
  it(UNLOGGED_CUTOVER, async () => {
    await setup({ a: 1 });
    await runDeploy(repo, fi.root);
    const next = await writeRepo(repo, { envs: { a: 2 } });
    addTestedBuilds(fi.root, next);
    commitAll(repo, 'second');
    await runDeploy(repo, fi.root);
    // a rollback killed right after its swap: generation 1 live, no history line, no marks
    swapEnvs(fi.inst.dir, 1);
    const newA = next.envs[0].buildId;
    expect(readBuildRecord(fi.root, VERSION, 'a', newA)?.bad).toBeUndefined();
    const { ok, out } = await runDeploy(repo, fi.root);
    expect(ok).toBe(false); // main still asks for the build that was rolled back
    expect(out.lines.join('\n')).toMatch(/revert or fix in git/i);
    const entries = readHistory(fi.root).entries;
    // the deploy held back: no cutover
    expect(entries.map((e) => e.command)).toEqual(['deploy', 'deploy', 'rollback (recorded after the fact)']);
    expect(entries[2]).toMatchObject({
      from: { generation: 2 },
      to: { generation: 1 },
      changed: [{ name: 'a', from: newA }],
    });
    expect(readBuildRecord(fi.root, VERSION, 'a', newA)?.bad?.reason).toMatch(/generations\/2 to .*generations\/1/);
  });

  it('a deploy killed after its swap is logged with its commit and not mistaken for a rollback', async () => {
    await setup({ a: 1 });
    await runDeploy(repo, fi.root);
    addTestedBuilds(fi.root, await writeRepo(repo, { envs: { a: 2 } }));
    const commit = commitAll(repo, 'second');
    const { applyDeploy, planFromDisk } = await import('../../scripts/app/deploy.js');
    const { desiredState } = await import('../../scripts/core/desired.js');
    const { loadRepo } = await import('../../scripts/repo/repo.js');
    const desired = desiredState(await loadRepo(repo));
    // the apply step without its history line: what a kill at the `before-history` crash point leaves
    const plan = planFromDisk(fi.root, desired, {});
    applyDeploy(
      fi.root,
      desired,
      { ...plan, changes: false },
      { commit, command: 'deploy', env: process.env, assertHeld: () => {} },
    );
    expect(readHistory(fi.root).entries).toHaveLength(1);
    expect((await runDeploy(repo, fi.root)).ok).toBe(true);
    const last = readHistory(fi.root).entries.at(-1)!;
    expect(last).toMatchObject({ command: 'deploy (recorded after the fact)', commit, to: { generation: 2 } });
    expect(readBuildRecord(fi.root, VERSION, 'a', desired.envs[0].buildId)?.bad).toBeUndefined();
  });
});

describe('deploy, rollback and history command wiring', () => {
  let fi: FakeInstallation;
  afterEach(() => fi?.cleanup());

  /** `conda-gitops NAME` through the CLI's dispatcher: option parsing and exit codes. */
  async function cli(name: string, options: OptionValues) {
    const out = memoryOutput();
    const ctx = { options: { root: fi.root, ...options }, positionals: [], out, repo: fi.root, env: ENV };
    const code = await runCommand(name, ctx);
    return { code, stderr: out.errors.join('\n') };
  }

  it('rejects bad numbers and durations with exit 2 before touching ROOT', async () => {
    fi = makeInstallation();
    const toZero = { code: 2, stderr: "conda-gitops: --to expects a whole number >= 1, got '0'" };
    expect(await cli('rollback', { to: '0' })).toEqual(toZero);
    expect((await cli('rollback', { wait: 'long' })).stderr).toMatch(/--wait expects a duration \(seconds/);
    expect((await cli('history', { limit: 'all' })).stderr).toMatch(/--limit expects a whole number >= 1, got 'all'/);
    expect((await cli('deploy', { jobs: '0' })).stderr).toMatch(/--jobs expects a whole number >= 1, got '0'/);
    expect((await cli('kernels', { wait: '1x' })).stderr).toMatch(/--wait expects a duration/);
    expect(existsSync(join(fi.root, '.gitops'))).toBe(false);
  });

  it('history accepts a valid --limit', async () => {
    fi = makeInstallation();
    expect(await cli('history', { limit: '3' })).toEqual({ code: 0, stderr: '' });
  });
});

describe('repair builds in the deploy plan (read from disk)', () => {
  let fi: FakeInstallation;
  afterEach(() => fi?.cleanup());

  it('keeps a live repair build <id>.rN with a passing verdict; links a repair asked for', () => {
    fi = makeInstallation();
    const A = fakeBuildId('a1');
    const B = fakeBuildId('b1');
    const desired = desiredOf({ a: A, b: B });
    const key = (env: string) => desired.envs.find((e) => e.name === env)!.verdictKey;
    addBuild(fi.root, VERSION, 'a', A);
    addBuild(fi.root, VERSION, 'b', B);
    // a repair build is tested under the key of the build it repairs (same inputs, same tests)
    addVerdict(fi.root, addBuild(fi.root, VERSION, 'a', `${A}.r1`, { status: 'built' }), key('a'), true);
    const links = { a: `${A}.r1`, b: B };
    writeGeneration(fi.inst.dir, {
      format: 1,
      n: 4,
      createdAt: new Date().toISOString(),
      reason: 'deploy',
      envs: links,
    });
    swapEnvs(fi.inst.dir, 4);
    ensureRootLinks(fi.root, VERSION);
    const kept = planFromDisk(fi.root, desired, {});
    expect(kept.links).toEqual(links);
    expect(kept.changes).toBe(false);
    // a repair build without a passing verdict is not kept: the desired build goes back in
    addVerdict(fi.root, readBuildRecord(fi.root, VERSION, 'a', `${A}.r1`)!, key('a'), false);
    expect(planFromDisk(fi.root, desired, {}).links.a).toBe(A);
    addVerdict(fi.root, addBuild(fi.root, VERSION, 'b', `${B}.r1`, { status: 'built' }), key('b'), true);
    const asked = planFromDisk(fi.root, desired, { repairs: { b: `${B}.r1` } });
    expect(asked.links).toEqual({ a: A, b: `${B}.r1` });
    expect(asked.newGeneration).toBe(5);
  });

  it('never links a hand-changed (tainted) build again: its repair stands in for it, rollback mark included', () => {
    fi = makeInstallation();
    const A = fakeBuildId('a1');
    const desired = desiredOf({ a: A });
    const key = desired.envs[0]!.verdictKey;
    const tainted = addBuild(fi.root, VERSION, 'a', A);
    writeBuildRecord(fi.root, { ...tainted, tainted: { at: 'now', reason: 'changed by hand', repairedBy: `${A}.r1` } });
    addVerdict(fi.root, addBuild(fi.root, VERSION, 'a', `${A}.r1`, { status: 'built' }), key, true);
    const older = fakeBuildId('a0');
    addBuild(fi.root, VERSION, 'a', older);
    writeGeneration(fi.inst.dir, {
      format: 1,
      n: 1,
      createdAt: new Date().toISOString(),
      reason: 'x',
      envs: { a: older },
    });
    swapEnvs(fi.inst.dir, 1);
    ensureRootLinks(fi.root, VERSION);
    expect(planFromDisk(fi.root, desired, {}).links).toEqual({ a: `${A}.r1` });
    // the repair was rolled back: held back, and the tainted build is not what comes instead
    markBuilds(fi.root, `v${VERSION}`, [{ name: 'a', build: `${A}.r1` }], { at: 'then', reason: 'rolled back' });
    const held = planFromDisk(fi.root, desired, {});
    expect(held.links).toEqual({ a: older });
    expect(held.heldBack.map((h) => h.buildId)).toEqual([`${A}.r1`]);
  });
});
