import { afterEach, describe, expect, it } from 'vitest';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { lastLiveFromHistory, planGc, planRuns, type RunOnDisk } from '../../scripts/core/gc.js';
import type { InstallationOnDisk } from '../../scripts/core/gc.js';
import { readLive } from '../../scripts/state/generation.js';
import { memoryOutput } from '../../scripts/cli/output.js';
import type { OptionValues } from '../../scripts/core/options.js';
import { DEFAULT_GRACE_HOURS, collectGarbage, type GcOptions } from '../../scripts/app/gc.js';
import { deploy } from '../../scripts/app/deploy.js';
import { rollback } from '../../scripts/app/rollback.js';
import { runCommand } from '../fixtures/command.js';
import { addBuild, addTestedBuilds, makeInstallation, tempDir, writeRepo, VERSION } from '../fixtures/installation.js';
import { installationLayout } from '../../scripts/core/layout.js';
import type { FakeInstallation } from '../fixtures/installation.js';

const inst = (
  name: string,
  gens: Array<[number, number, Record<string, string>]>,
  builds: string[],
  extra: Partial<InstallationOnDisk> = {},
): InstallationOnDisk => ({
  name,
  generations: gens.map(([n, createdAt, links]) => ({ n, createdAt, links })),
  builds: builds.map((b) => {
    const [env, id] = b.split('/');
    return {
      env,
      id,
      status: 'tested' as const,
      inProgress: false,
      time: 0,
      hasPrefix: true,
      hasRecord: true,
      hasLog: true,
    };
  }),
  hasPkgs: true,
  ...extra,
});

describe('planGc (pure)', () => {
  const old = { graceBefore: 1, keep: 2 };

  it('keeps the last K generations and the builds they link; removes the rest', () => {
    const v = inst(
      'v2',
      [
        [1, 10, { a: 'a1' }],
        [2, 20, { a: 'a2' }],
        [3, 30, { a: 'a3' }],
        [4, 40, { a: 'a4', b: 'b1' }],
      ],
      ['a/a1', 'a/a2', 'a/a3', 'a/a4', 'b/b1', 'b/b0'],
      { live: 4 },
    );
    const plan = planGc({ installations: [v], current: 'v2', ...old, previous: { installation: 'v2', generation: 3 } });
    expect(plan.keepGenerations.map((g) => g.generation)).toEqual([3, 4]);
    expect(plan.removeGenerations.map((g) => g.generation)).toEqual([1, 2]);
    expect(plan.removeBuilds.map((b) => `${b.env}/${b.id}`)).toEqual(['a/a1', 'a/a2', 'b/b0']);
    expect(plan.removeInstallations).toEqual([]);
    expect(plan.removeCaches).toEqual([]);
  });

  const KEEPS_LIVE_AND_PREVIOUS =
    'never removes the live or the previous generation, even with K=1 and a live generation that is not the newest';
  it(KEEPS_LIVE_AND_PREVIOUS, () => {
    const v = inst(
      'v2',
      [
        [1, 10, { a: 'a1' }],
        [2, 20, { a: 'a2' }],
        [3, 30, { a: 'a3' }],
      ],
      ['a/a1', 'a/a2', 'a/a3'],
      { live: 2 },
    );
    const plan = planGc({
      installations: [v],
      current: 'v2',
      graceBefore: 1,
      keep: 1,
      previous: { installation: 'v2', generation: 1 },
    });
    expect(plan.keepGenerations.map((g) => g.generation)).toEqual([1, 2, 3]);
    expect(plan.removeBuilds).toEqual([]);
  });

  const REMOVES_UNREFERENCED =
    'removes installations nothing references, and only the package cache of retired ones still kept for rollback';
  it(REMOVES_UNREFERENCED, () => {
    const ancient = inst('v4.3.22', [[1, 1, { a: 'x' }]], ['a/x']);
    const retired = inst('v4.8.5', [[1, 10, { a: 'y' }]], ['a/y'], { live: 1 });
    const current = inst('v23.11.0', [[1, 20, { a: 'z' }]], ['a/z'], { live: 1 });
    const plan = planGc({
      installations: [ancient, retired, current],
      current: 'v23.11.0',
      qa: 'v23.11.0',
      graceBefore: 1,
      keep: 2,
      previous: { installation: 'v4.8.5', generation: 1 },
    });
    expect(plan.removeInstallations).toEqual(['v4.3.22']);
    expect(plan.removeCaches).toEqual(['v4.8.5']);
    expect(plan.removeBuilds).toEqual([]);
    expect(plan.keepGenerations).toEqual([
      { installation: 'v4.8.5', generation: 1 },
      { installation: 'v23.11.0', generation: 1 },
    ]);
  });

  it('keeps an unreferenced installation it did not install unless retired, and builds without their record', () => {
    const adopted = inst('v4.3.22', [], [], { foreign: true });
    const current = inst('v23.11.0', [[1, 20, { a: 'z' }]], ['a/z', 'a/norecord'], { live: 1 });
    current.builds[1].hasRecord = false;
    const input = { installations: [adopted, current], current: 'v23.11.0', graceBefore: 1, keep: 2 };
    const plan = planGc(input);
    expect(plan.removeInstallations).toEqual([]);
    expect(plan.keptForeign).toEqual(['v4.3.22']);
    expect(plan.removeBuilds).toEqual([]);
    const retired = planGc({ ...input, retire: new Set(['v4.3.22']) });
    expect(retired.removeInstallations).toEqual(['v4.3.22']);
    expect(retired.keptForeign).toEqual([]);
  });

  it('keeps builds in progress, protected builds and young ones', () => {
    const current = inst('v1', [[1, 10, { a: 'a1' }]], ['a/a1', 'a/old'], { live: 1 });
    const qa = inst('v2', [[1, 5, {}]], ['a/q1', 'a/q2', 'a/q3', 'a/q4']);
    qa.builds[0].inProgress = true;
    qa.builds[1].time = 5_000;
    const plan = planGc({
      installations: [current, qa],
      current: 'v1',
      graceBefore: 1_000,
      keep: 5,
      protect: new Set(['v2/a/q3']),
    });
    expect(plan.removeInstallations).toEqual([]);
    expect(plan.removeBuilds.map((b) => `${b.installation}/${b.env}/${b.id}`)).toEqual(['v1/a/old', 'v2/a/q4']);
    expect(plan.keptRecent).toBe(1);
  });

  it('keeps every build of a qa installation ahead of current (a conda upgrade under review)', () => {
    const current = inst('v1', [[1, 10, { a: 'a1' }]], ['a/a1', 'a/old'], { live: 1 });
    const upgrade = inst('v2', [], ['a/q1', 'b/q2']);
    const plan = planGc({ installations: [current, upgrade], current: 'v1', qa: 'v2', graceBefore: 1_000, keep: 5 });
    expect(plan.removeBuilds.map((b) => `${b.installation}/${b.env}/${b.id}`)).toEqual(['v1/a/old']);
    expect(plan.removeInstallations).toEqual([]);
  });
});

describe('planGc (pure): installations go by retention only', () => {
  const DAY = 86_400_000;
  const at = (d: string) => Date.parse(`${d}T12:00:00Z`);
  const ref = (installation: string, generation = 1) => ({ installation, generation });

  it('reads when each installation was last live from the cutover history', () => {
    const live = lastLiveFromHistory([
      { at: '2026-08-01T12:00:00Z', to: ref('v4.8.5') },
      { at: '2026-09-01T12:00:00Z', from: ref('v4.8.5'), to: ref('v22.9.0') },
      { at: '2026-09-02T12:00:00Z', from: ref('v22.9.0'), to: ref('v22.9.0', 2) },
      { at: 'garbled', from: ref('v22.9.0', 2), to: ref('v23.1.0') },
      { at: '2026-10-01T12:00:00Z', from: ref('v22.9.0', 2), to: ref('v23.1.0') },
    ]);
    expect(Object.fromEntries(live)).toEqual({
      'v4.8.5': at('2026-09-01'),
      'v22.9.0': at('2026-10-01'),
      'v23.1.0': at('2026-10-01'),
    });
  });

  it('ranks by last live (history, else the newest generation; never live: last use) and keeps the first N', () => {
    const installations = [
      inst('v4.8.5', [[1, at('2026-01-01'), { a: 'p' }]], ['a/p'], { live: 1 }), // no history line: its generation
      inst('v22.9.0', [[1, at('2026-02-01'), { a: 'q' }]], ['a/q'], { live: 1 }),
      inst('v23.1.0', [[1, at('2026-03-01'), { a: 'r' }]], ['a/r'], { live: 1 }),
      inst('v23.11.0', [[1, at('2026-04-01'), { a: 's' }]], ['a/s'], { live: 1 }),
      inst('v24.1.2', [], [], { installedAt: at('2026-09-15') }), // installed, never live
    ];
    const input = {
      installations,
      current: 'v23.11.0',
      graceBefore: 1,
      keep: 1,
      lastLive: new Map([
        ['v22.9.0', at('2026-10-01')],
        ['v23.1.0', at('2026-11-01')],
      ]),
    };
    const plan = planGc({ ...input, keepInstallations: 3 });
    expect(
      plan.installations.map((v) => `${v.name}: ${v.verdict === 'keep' ? 'kept' : 'retired'}, ${v.reason}`),
    ).toEqual([
      'v23.11.0: kept, live (current)',
      'v23.1.0: kept, last live 2026-11-01, within keep-installations = 3',
      'v22.9.0: kept, last live 2026-10-01, within keep-installations = 3',
      'v24.1.2: retired, never live, last used 2026-09-15, beyond keep-installations = 3',
      'v4.8.5: retired, last live 2026-01-01, beyond keep-installations = 3',
    ]);
    expect(plan.removeInstallations).toEqual(['v24.1.2', 'v4.8.5']);
    // caches go only for former installations kept for rollback: never current's
    expect(plan.removeCaches).toEqual(['v22.9.0', 'v23.1.0']);
    expect(plan.installations[3]).toMatchObject({ lastUsed: new Date(at('2026-09-15')).toISOString() });
    expect(planGc({ ...input, keepInstallations: 0 }).removeInstallations).toEqual([
      'v22.9.0',
      'v23.1.0',
      'v24.1.2',
      'v4.8.5',
    ]); // at least 1: current
  });

  it('never retires current, qa, the rollback target, a build in progress or what the repository names', () => {
    const old = (name: string, extra: Partial<InstallationOnDisk> = {}) =>
      inst(name, [[1, at('2026-01-01'), { a: 'x' }]], ['a/x'], { live: 1, ...extra });
    const building = old('v3');
    building.builds[0].inProgress = true;
    const young = old('v5');
    young.builds[0].time = at('2026-11-29');
    const plan = planGc({
      installations: [
        inst('v1', [[1, at('2026-02-01'), {}]], [], { live: 1 }),
        old('v2'),
        building,
        old('v4'),
        young,
        old('v6', { foreign: true }),
        old('v7'),
      ],
      current: 'v1',
      qa: 'v2',
      previous: ref('v4'),
      protectInstallations: new Set(['v7']),
      graceBefore: at('2026-11-28'),
      keep: 1,
      keepInstallations: 1,
    });
    expect(Object.fromEntries(plan.installations.map((v) => [v.name, v.why]))).toEqual({
      v1: 'current',
      v2: 'qa',
      v3: 'in-progress',
      v4: 'rollback-target',
      v5: 'recent-builds',
      v6: 'adopted',
      v7: 'repository',
    });
    expect(plan.removeInstallations).toEqual([]);
    expect(plan.keptForeign).toEqual(['v6']);
    expect(plan.removeCaches).toEqual(['v4']);
  });

  it('--retire NAME retires the adopted one or one within retention, never one in use', () => {
    const installations = [
      inst('v1', [[1, 10 * DAY, { a: 'x' }]], ['a/x'], { live: 1 }),
      inst('v2', [[1, 5 * DAY, { a: 'y' }]], ['a/y'], { live: 1 }),
      inst('v0', [], [], { foreign: true, installedAt: DAY }),
    ];
    const input = { installations, current: 'v1', graceBefore: 1, keep: 1, keepInstallations: 5 };
    expect(planGc(input).removeInstallations).toEqual([]);
    const named = planGc({ ...input, retire: new Set(['v0', 'v2', 'v1']) });
    expect(named.removeInstallations).toEqual(['v0', 'v2']);
    expect(named.installations.find((v) => v.name === 'v2')?.reason).toBe('named with --retire, last live 1970-01-06');
    expect(named.installations.find((v) => v.name === 'v1')?.why).toBe('current');
  });
});

describe('planRuns (pure): retention of .gitops/runs/', () => {
  const DAY = 86_400_000;
  const now = 100 * DAY;
  const run = (id: string, ageDays: number, hasReport = true): RunOnDisk => ({
    id,
    time: now - ageDays * DAY,
    hasReport,
  });

  it('keeps the last N runs and any younger than the grace period; never a run in progress', () => {
    const runs = [
      run('r01', 40),
      run('r02', 30),
      run('r03', 20),
      run('r04', 0.5, false), // in progress: no report.json, younger than a day
      run('r05', 3, false), // abandoned: no report.json, older than a day
      run('r06', 10),
      run('r07', 2),
    ];
    // keep 2 (r04, r07), grace 5 days (r04, r07; r05 is 3 days old too)
    expect(planRuns(runs, { keep: 2, graceBefore: now - 5 * DAY, now })).toEqual({
      removeRuns: ['r01', 'r02', 'r03', 'r06'],
      keptRuns: 3,
    });
    // no grace, keep 1: only the newest (the in-progress run) stays
    expect(planRuns(runs, { keep: 1, graceBefore: now, now }).removeRuns).toEqual([
      'r01',
      'r02',
      'r03',
      'r05',
      'r06',
      'r07',
    ]);
    // keep 0: a run in progress stays all the same
    expect(planRuns(runs, { keep: 0, graceBefore: now, now }).removeRuns).not.toContain('r04');
    expect(planRuns(runs, { keep: 100, graceBefore: now, now }).removeRuns).toEqual([]);
    expect(planRuns([], { keep: 0, graceBefore: now, now })).toEqual({ removeRuns: [], keptRuns: 0 });
  });
});

describe('gc on a real ROOT', () => {
  let fi: FakeInstallation;
  afterEach(() => fi?.cleanup());

  const common = (repo: string) => ({ repoDir: repo, rootFlag: fi.root, env: process.env, waitSeconds: 0 });

  async function deployRepo(repo: string) {
    const out = memoryOutput();
    return deploy({ ...common(repo), out, force: false, dryRun: false, buildMissing: false, jobs: 1 });
  }

  async function gc(repo: string, opts: Partial<GcOptions> = {}) {
    const out = memoryOutput();
    const defaults = { keep: 5, graceSeconds: DEFAULT_GRACE_HOURS * 3600, yes: false };
    const result = await collectGarbage({ ...common(repo), out, ...defaults, ...opts });
    return { result, out };
  }

  it('K=2 after 5 deploys removes only unreferenced builds; rollback still works afterwards', async () => {
    fi = makeInstallation();
    const repo = join(fi.root, 'repo');
    mkdirSync(repo);
    const deployed: Array<Record<string, string>> = [];
    for (let i = 1; i <= 5; i++) {
      // `stable` never changes; `moving` gets a new build each time; `gone` only exists in the first two
      const d = await writeRepo(repo, { envs: { stable: 1, moving: 10 + i, ...(i <= 2 ? { gone: 3 } : {}) } });
      addTestedBuilds(fi.root, d);
      expect((await deployRepo(repo)).ok).toBe(true);
      deployed.push(Object.fromEntries(d.envs.map((e) => [e.name, e.buildId])));
    }
    // an unreferenced failed build and a QA build of an open PR (young, but --grace 0 takes it too)
    addBuild(fi.root, VERSION, 'moving', 'fa11edfa11ed', { status: 'failed' });
    const buildsBefore = () =>
      Object.fromEntries(
        ['stable', 'moving', 'gone'].map((e) => [
          e,
          readdirSync(join(fi.inst.dir, 'builds', e))
            .filter((f) => !f.includes('.'))
            .sort(),
        ]),
      );
    expect(buildsBefore().moving).toHaveLength(6);

    const dry = await gc(repo, { keep: 2, graceSeconds: 0 });
    expect(dry.result.dryRun).toBe(true);
    expect(dry.out.lines.join('\n')).toMatch(/would remove generation .*v23\.11\.0\/generations\/1/);
    expect(dry.out.lines.join('\n')).toMatch(/dry run: pass --yes/);
    expect(readdirSync(join(fi.inst.dir, 'generations')).sort()).toEqual(['1', '2', '3', '4', '5']); // nothing removed

    const { result, out } = await gc(repo, { keep: 2, graceSeconds: 0, yes: true });
    expect(result.dryRun).toBe(false);
    expect(readdirSync(join(fi.inst.dir, 'generations')).sort()).toEqual(['4', '5']);
    const after = buildsBefore();
    expect(after.stable).toEqual([deployed[0].stable]);
    expect(after.moving).toEqual([deployed[3].moving, deployed[4].moving].sort());
    expect(after.gone).toEqual([]);
    // records, logs and verdicts went with their prefixes
    expect(readdirSync(join(fi.inst.dir, 'builds', 'moving')).sort()).toEqual(
      [
        deployed[3].moving,
        `${deployed[3].moving}.json`,
        `${deployed[3].moving}.log`,
        `${deployed[3].moving}.verdicts`,
        deployed[4].moving,
        `${deployed[4].moving}.json`,
        `${deployed[4].moving}.log`,
        `${deployed[4].moving}.verdicts`,
      ].sort(),
    );
    expect(out.lines.join('\n')).toMatch(/removed build .*fa11edfa11ed \(failed\)/);
    expect(existsSync(join(fi.root, '.gitops', 'trash'))).toBe(false);
    // the live generation still works and the previous one is still there to roll back to
    expect(readLive(fi.root).links).toEqual(deployed[4]);
    expect((await rollback({ ...common(repo), out: memoryOutput(), dryRun: false })).ok).toBe(true);
    expect(readLive(fi.root).links).toEqual(deployed[3]);
    expect(readlinkSync(join(fi.inst.dir, 'envs'))).toBe('generations/4');
  });

  it('keeps builds the repository asks for and young builds by default', async () => {
    fi = makeInstallation();
    const repo = join(fi.root, 'repo');
    mkdirSync(repo);
    const first = await writeRepo(repo, { envs: { a: 1 } });
    addTestedBuilds(fi.root, first);
    await deployRepo(repo);
    const wanted = await writeRepo(repo, { envs: { a: 2 } }); // merged QA result, not deployed yet
    addBuild(fi.root, VERSION, 'a', wanted.envs[0].buildId, { finishedAt: new Date(Date.now() - 72 * 3600_000) });
    addBuild(fi.root, VERSION, 'a', 'abcdef012345'); // young: another PR's QA build
    // old and unwanted
    addBuild(fi.root, VERSION, 'a', '0123456789ab', { finishedAt: new Date(Date.now() - 72 * 3600_000) });
    const { out } = await gc(repo, { yes: true });
    expect(
      readdirSync(join(fi.inst.dir, 'builds', 'a'))
        .filter((f) => !f.includes('.'))
        .sort(),
    ).toEqual([first.envs[0].buildId, wanted.envs[0].buildId, 'abcdef012345'].sort());
    expect(out.lines.join('\n')).toMatch(/1 unreferenced build\(s\) younger than the grace period/);
  });

  it('removes an installation nothing references beyond --keep-installations, whole', async () => {
    fi = makeInstallation();
    const repo = join(fi.root, 'repo');
    mkdirSync(repo);
    makeInstallation({ root: fi.root, version: '4.3.22' });
    addBuild(fi.root, '4.3.22', 'a', 'aaaaaaaaaaaa', { finishedAt: new Date(0) });
    const d = await writeRepo(repo, { envs: { a: 1 } });
    addTestedBuilds(fi.root, d);
    await deployRepo(repo);
    const kept = await gc(repo, { yes: true });
    expect(kept.out.lines.join('\n')).toMatch(
      /gc: v4\.3\.22: kept, never live, last used .*within keep-installations = 2/,
    );
    expect(existsSync(join(fi.root, 'v4.3.22'))).toBe(true);
    const { out } = await gc(repo, { yes: true, keepInstallations: 1 });
    expect(out.lines.join('\n')).toMatch(/removed installation .*v4\.3\.22/);
    expect(out.lines.join('\n')).toMatch(/gc: v4\.3\.22: retired, never live, .*beyond keep-installations = 1/);
    expect(existsSync(join(fi.root, 'v4.3.22'))).toBe(false);
    expect(existsSync(join(fi.root, `v${VERSION}`, 'pkgs'))).toBe(true); // the current installation's cache stays
  });
});

describe('gc command wiring', () => {
  let fi: FakeInstallation;
  afterEach(() => fi?.cleanup());

  /** `conda-gitops gc` through the CLI's dispatcher: option parsing and exit codes. */
  async function gcCli(options: OptionValues) {
    const out = memoryOutput();
    const ctx = { options: { root: fi.root, ...options }, positionals: [], out, repo: fi.root, env: process.env };
    const code = await runCommand('gc', ctx);
    return { code, out };
  }

  it('reads --keep as a whole number >= 1 and --grace as hours or a duration with a unit', async () => {
    fi = makeInstallation();
    mkdirSync(join(fi.root, '.gitops')); // a managed root (gc refuses any other)
    const refused = async (options: OptionValues) => {
      const { code, out } = await gcCli(options);
      expect(code).toBe(2);
      return out.errors.join('\n');
    };
    expect(await refused({ keep: '0' })).toContain("--keep expects a whole number >= 1, got '0'");
    expect(await refused({ keep: '1.5' })).toMatch(/--keep expects a whole number/);
    expect(await refused({ grace: 'soon' })).toMatch(/--grace expects a duration \(hours/);
    expect(await refused({ wait: '-1', yes: true })).toMatch(/--wait expects a duration \(seconds/);
    expect((await gcCli({ keep: '2', grace: '90m' })).code).toBe(0);
  });

  it('prunes .gitops/runs/ by --keep-runs and --runs-grace, lists them in a dry run, keeps a running one', async () => {
    fi = makeInstallation();
    const runs = join(fi.root, '.gitops', 'runs');
    const ageDays = (d: number) => (Date.now() - d * 86_400_000) / 1000;
    const makeRun = (id: string, days: number, report = true) => {
      const dir = join(runs, id);
      mkdirSync(join(dir, 'logs'), { recursive: true });
      if (report) {
        writeFileSync(join(dir, 'report.json'), '{}\n');
        utimesSync(join(dir, 'report.json'), ageDays(days), ageDays(days));
      }
      utimesSync(dir, ageDays(days), ageDays(days));
    };
    for (let i = 1; i <= 25; i++) makeRun(`2024010${i < 10 ? '0' : ''}${i}-old-${i}`, 30 + i);
    makeRun('20250101-recent', 3);
    makeRun('20250102-running', 0.1, false);
    const listRuns = () => readdirSync(runs).sort();
    expect(listRuns()).toHaveLength(27);

    expect(await gcCli({ 'keep-runs': '-1' }).then((r) => r.code)).toBe(2);
    expect((await gcCli({ 'runs-grace': 'soon' })).out.errors.join('\n')).toMatch(/--runs-grace expects a duration/);

    // defaults (20 runs, 14 days): the 27 newest-first are recent, running, then the 25 old ones: 7 go
    const dry = await gcCli({ json: true });
    expect(dry.code).toBe(0);
    expect(listRuns()).toHaveLength(27);
    const dryResult = dry.out.results[0] as { removeRuns: string[] };
    expect(dryResult.removeRuns).toHaveLength(7);
    expect(dry.out.lines.join('\n')).toMatch(/would remove run .*\.gitops\/runs\/202401025-old-25\b/);

    const done = await gcCli({ 'keep-runs': '0', 'runs-grace': '7d', yes: true });
    expect(done.code).toBe(0);
    expect(listRuns()).toEqual(['20250101-recent', '20250102-running']);
    // a run in progress stays even with no retention at all
    await gcCli({ 'keep-runs': '0', 'runs-grace': '0', yes: true });
    expect(listRuns()).toEqual(['20250102-running']);
  });
});

describe('gc cannot escape ROOT nor delete what is not its own', () => {
  let fi: FakeInstallation;
  let outside: string;
  afterEach(() => {
    fi?.cleanup();
    if (outside) rmSync(outside, { recursive: true, force: true });
  });

  const common = (repo: string) => ({ repoDir: repo, rootFlag: fi.root, env: process.env, waitSeconds: 0 });
  const gcOpts = { keep: 5, graceSeconds: 0, yes: true };

  async function deployed(): Promise<string> {
    const repo = join(fi.root, 'repo');
    mkdirSync(repo, { recursive: true });
    const d = await writeRepo(repo, { envs: { a: 1 } });
    addTestedBuilds(fi.root, d);
    const r = await deploy({
      ...common(repo),
      out: memoryOutput(),
      force: false,
      dryRun: false,
      buildMissing: false,
      jobs: 1,
    });
    expect(r.ok).toBe(true);
    return repo;
  }

  it('never deletes through a symlink planted where a build directory should be', async () => {
    fi = makeInstallation();
    const repo = await deployed();
    outside = tempDir('gc-outside-');
    mkdirSync(join(outside, 'abcdef123456', 'bin'), { recursive: true });
    writeFileSync(join(outside, 'abcdef123456.json'), '{"status":"tested"}');
    writeFileSync(join(outside, 'precious'), 'x');
    symlinkSync(outside, join(fi.inst.dir, 'builds', 'evil'));
    const out = memoryOutput();
    const code = await runCommand('gc', {
      options: { root: fi.root, yes: true, grace: '0' },
      positionals: [],
      out,
      repo,
      env: process.env,
    });
    expect(code).toBe(0);
    expect(existsSync(join(outside, 'abcdef123456', 'bin'))).toBe(true);
    expect(existsSync(join(outside, 'abcdef123456.json'))).toBe(true);
    expect(out.lines.concat(out.errors).join('\n')).toMatch(/builds\/evil is a symlink: skipped/);
  });

  it('refuses a root that is not a managed installation (exit 2, nothing removed)', async () => {
    const dir = tempDir('gc-notroot-');
    fi = {
      root: dir,
      version: VERSION,
      inst: installationLayout(dir, VERSION),
      cleanup: () => rmSync(dir, { recursive: true, force: true }),
    };
    mkdirSync(join(dir, 'v1', 'builds', 'a', 'abcdef123456'), { recursive: true });
    mkdirSync(join(dir, 'v2.3-backup'), { recursive: true });
    const out = memoryOutput();
    const code = await runCommand('gc', {
      options: { root: dir, yes: true },
      positionals: [],
      out,
      repo: dir,
      env: process.env,
    });
    expect(code).toBe(2);
    expect(out.errors.join('\n')).toMatch(/is not an installation managed by conda-gitops \(no \.gitops\/\)/);
    expect(readdirSync(dir).sort()).toEqual(['v1', 'v2.3-backup']);
  });

  it('keeps the adopted pre-tool installation unless named with --retire', async () => {
    fi = makeInstallation();
    // the hand-run installation adopt read: its envs are real directories, the tool never wrote into it
    const old = makeInstallation({ root: fi.root, version: '4.3.22' });
    mkdirSync(join(old.inst.dir, 'envs', 'census', 'bin'), { recursive: true });
    const repo = await deployed();
    const out = memoryOutput();
    const first = await collectGarbage({ ...common(repo), out, ...gcOpts });
    expect(first.removeInstallations).toEqual([]);
    expect(existsSync(join(fi.root, 'v4.3.22', 'envs', 'census'))).toBe(true);
    expect(out.lines.join('\n')).toContain('gc: v4.3.22: kept, adopted: name it with --retire v4.3.22');

    const out2 = memoryOutput();
    const code = await runCommand('gc', {
      options: { root: fi.root, yes: true, retire: 'v4.3.22' },
      positionals: [],
      out: out2,
      repo,
      env: process.env,
    });
    expect(code).toBe(0);
    expect(existsSync(join(fi.root, 'v4.3.22'))).toBe(false);
    expect(existsSync(join(fi.root, `v${VERSION}`, 'envs'))).toBe(true);
  });

  it('--retire refuses the live installation and names that do not exist', async () => {
    fi = makeInstallation();
    const repo = await deployed();
    for (const retire of [`v${VERSION}`, 'v9.9.9']) {
      const out = memoryOutput();
      const code = await runCommand('gc', {
        options: { root: fi.root, yes: true, retire },
        positionals: [],
        out,
        repo,
        env: process.env,
      });
      expect(code).toBe(2);
      expect(out.errors.join('\n')).toContain(retire);
    }
    expect(existsSync(join(fi.root, `v${VERSION}`, 'bin'))).toBe(true);
  });

  it('a gc that lost its lock mid-way (frozen past the stale time; a deploy took over) stops', async () => {
    fi = makeInstallation();
    const repo = await deployed();
    for (const id of ['111111111111', '222222222222', '333333333333'])
      addBuild(fi.root, VERSION, 'a', id, { finishedAt: new Date(0) });
    const out = memoryOutput();
    let stolen = false;
    const progress = out.progress.bind(out);
    out.progress = (text: string) => {
      progress(text);
      if (stolen) return;
      stolen = true;
      // what a deploy does once our lock went stale: it takes the lock over (a new holder in its place)
      const lock = join(fi.root, '.gitops', 'lock');
      rmSync(lock, { recursive: true, force: true });
      mkdirSync(lock);
      writeFileSync(
        join(lock, 'holder.json'),
        JSON.stringify({ pid: 1, host: 'other', user: 'x', command: 'deploy', since: 'now' }),
      );
    };
    await expect(collectGarbage({ ...common(repo), out, ...gcOpts })).rejects.toThrow(/lost .*lock/);
    const left = readdirSync(join(fi.inst.dir, 'builds', 'a')).filter((f) => !f.includes('.'));
    expect(left.filter((id) => /^[123]{12}$/.test(id))).toHaveLength(2);
  });
});
