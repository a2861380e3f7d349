import { afterEach, describe, expect, it } from 'vitest';
import { appendFileSync, mkdirSync, rmSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { computeStatus, handChange, renderStatus, repairCommands } from '../../scripts/core/status.js';
import type { StatusInput } from '../../scripts/core/status.js';
import { renderKernelSpec, kernelSpec } from '../../scripts/core/kernel.js';
import { memoryOutput } from '../../scripts/cli/output.js';
import type { Context } from '../../scripts/app/context.js';
import type { OptionValues } from '../../scripts/core/options.js';
import { deploy } from '../../scripts/app/deploy.js';
import { rollback } from '../../scripts/app/rollback.js';
import { liveStatus } from '../../scripts/app/status.js';
import { runCommand } from '../fixtures/command.js';
import type { StampedBuildRecord } from '../../scripts/core/types.js';
import {
  addBuild,
  addTestedBuilds,
  desiredOf,
  envPlanOf,
  makeInstallation,
  writeRepo,
  VERSION,
} from '../fixtures/installation.js';
import type { FakeInstallation } from '../fixtures/installation.js';

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
  finishedAt: '2024-01-01T00:00:10Z',
  log: '/l',
  ...extra,
});

describe('computeStatus (pure)', () => {
  const base = (over: Partial<StatusInput>): Omit<StatusInput, 'envPlan'> => ({
    root: '/R',
    desired: desiredOf({}),
    installation: `v${VERSION}`,
    live: { links: {} },
    lookup: () => undefined,
    stampOf: () => undefined,
    kernelFiles: new Map(),
    ...over,
  });

  const statusOf = (i: Omit<StatusInput, 'envPlan'>) =>
    computeStatus({ ...i, envPlan: envPlanOf(i.desired, i.lookup, i.live.links) });

  it('in sync: nothing to report, no drift', () => {
    const stamp = { mtimeMs: 1, size: 10 };
    const r = statusOf(
      base({
        desired: desiredOf({ a: 'A' }, { a: 'Kernel A' }),
        live: { ref: { installation: `v${VERSION}`, generation: 3 }, links: { a: 'A' } },
        lookup: () => rec('tested', { historyStamp: stamp }),
        stampOf: () => stamp,
        kernelFiles: new Map([
          ['a', renderKernelSpec(kernelSpec('/R', { kernel: 'a', env: 'a', displayName: 'Kernel A' }))],
        ]),
      }),
    );
    expect(r.drift).toBe(false);
    expect(r.envs).toEqual([expect.objectContaining({ name: 'a', state: 'ok' })]);
  });

  it('after a rollback to the adopted installation: names it as live, the upgrade held back by its mark', () => {
    const mark = {
      installation: `v${VERSION}`,
      at: '2026-11-30T08:00:00Z',
      reason: 'rolled back',
      generation: 1,
      links: { a: 'A' },
    };
    const r = statusOf(
      base({
        desired: desiredOf({ a: 'A' }, { a: 'Kernel A' }),
        adopted: 'v4.3.22',
        serving: [{ installation: 'v4.3.22', links: { a: 'adopted' } }],
        // the kernel runs ROOT/envs/a/bin/python: the adopted installation's own env a now
        kernelFiles: new Map([
          ['a', renderKernelSpec(kernelSpec('/R', { kernel: 'a', env: 'a', displayName: 'Kernel A' }))],
        ]),
        installationMark: mark,
        lastCutover: {
          format: 1,
          at: '2026-11-30T08:00:00Z',
          command: 'rollback --installation',
          user: 'svc',
          host: 'h',
          from: { installation: `v${VERSION}`, generation: 1 },
          to: { installation: 'v4.3.22', generation: 0 },
          added: [],
          changed: [],
          removed: [],
        },
      }),
    );
    expect(r.drift).toBe(true);
    expect(r.adopted).toBe('v4.3.22');
    expect(r.kernels).toEqual({ missing: [], outdated: [], extra: [] });
    const text = renderStatus(r).join('\n');
    expect(text).toContain(`live: the adopted installation v4.3.22 (ROOT/current -> v4.3.22;`);
    expect(text).toContain(`repository wants v${VERSION}`);
    expect(text).toContain('rollback --installation by svc -> v4.3.22 (adopted)');
    expect(text).toMatch(new RegExp(`installation v${VERSION.replace(/\./g, '\\.')}: rolled back at .*deploy --force`));
    // a plain deploy refuses while the mark holds: the repair is not a command that would refuse
    expect(repairCommands(r)).not.toContain('conda-gitops deploy');
    expect(repairCommands(r)).toEqual([
      expect.stringMatching(new RegExp(`^conda-gitops deploy --force \\(.*v${VERSION.replace(/\./g, '\\.')}.*git`)),
    ]);
  });

  it('classifies missing, extra, different, failed and rolled-back envs', () => {
    const bad = { at: '2024-05-01T00:00:00Z', reason: 'rolled back from g2 to g1' };
    const r = statusOf(
      base({
        desired: desiredOf({ miss: 'M', diff: 'D2', fail: 'F2', bad: 'B2' }),
        live: { links: { diff: 'D1', fail: 'F1', bad: 'B1', extra: 'E' } },
        lookup: (env, id) =>
          id === 'F2'
            ? rec('failed', { failure: { class: 'missing-version', excerpt: [] } })
            : id === 'B2'
              ? rec('tested', { bad })
              : id === 'M'
                ? undefined
                : rec('tested'),
      }),
    );
    const by = Object.fromEntries(r.envs.map((e) => [e.name, e]));
    expect(by.miss).toMatchObject({ state: 'missing', desiredStatus: 'absent' });
    expect(by.diff).toMatchObject({ state: 'different', live: 'D1', desired: 'D2', desiredStatus: 'built' });
    expect(by.fail).toMatchObject({ state: 'different', desiredStatus: 'failed', action: 'build' });
    expect(by.fail.message).toMatch(/last build failed/);
    expect(by.bad).toMatchObject({ state: 'different', bad });
    expect(by.bad.message).toMatch(/revert or fix in git/);
    expect(by.extra).toMatchObject({ state: 'extra', live: 'E' });
    expect(r.counts).toMatchObject({ missing: 1, different: 3, extra: 1, bad: 1 });
    expect(r.drift).toBe(true);
  });

  it('sees a hand change: the history stamp moved, or (without a stamp) history is newer than the build', () => {
    expect(
      handChange(rec('tested', { historyStamp: { mtimeMs: 5, size: 10 } }), { mtimeMs: 5, size: 10 }),
    ).toBeUndefined();
    expect(
      handChange(rec('tested', { historyStamp: { mtimeMs: 5, size: 10 } }), { mtimeMs: 9, size: 80 }),
    ).toMatchObject({ now: { size: 80 } });
    expect(handChange(rec('tested', { historyStamp: { mtimeMs: 5, size: 10 } }), undefined)).toMatchObject({
      recorded: { size: 10 },
    });
    const finished = Date.parse('2024-01-01T00:00:10Z');
    expect(handChange(rec('tested'), { mtimeMs: finished - 5000, size: 1 })).toBeUndefined();
    expect(handChange(rec('tested'), { mtimeMs: finished + 60_000, size: 1 })).toBeDefined();
  });

  it('reports kernelspecs missing, outdated and extra', () => {
    const r = statusOf(
      base({
        desired: desiredOf({ a: 'A', b: 'B' }, { a: 'A', b: 'B' }),
        live: { links: { a: 'A', b: 'B' } },
        lookup: () => rec('tested'),
        kernelFiles: new Map([
          ['b', '{"old": true}'],
          ['zombie', '{}'],
        ]),
      }),
    );
    expect(r.kernels).toEqual({ missing: ['a'], outdated: ['b'], extra: ['zombie'] });
    expect(r.drift).toBe(true);
  });
});

describe('status command', () => {
  let fi: FakeInstallation;
  afterEach(() => fi?.cleanup());

  const common = (repo: string) => ({ repoDir: repo, rootFlag: fi.root, env: process.env, out: memoryOutput() });
  const deployRepo = (repo: string) =>
    deploy({ ...common(repo), force: false, dryRun: false, buildMissing: false, jobs: 1, waitSeconds: 0 });
  const rollbackLive = (repo: string) => rollback({ ...common(repo), dryRun: false, waitSeconds: 0 });
  async function status(repo: string) {
    const opts = common(repo);
    return { result: await liveStatus(opts), out: opts.out };
  }

  /** `conda-gitops status` through the CLI's dispatcher: the exit code and the --json result. */
  async function statusCli(repo: string, options: OptionValues = {}, json = false) {
    const out = memoryOutput(json);
    const ctx: Context = { options: { root: fi.root, ...options }, positionals: [], out, repo, env: process.env };
    return { code: await runCommand('status', ctx), out };
  }

  it('exit 0 in sync; exit 1 after a hand change in a live build, with --json naming it', async () => {
    fi = makeInstallation();
    const repo = join(fi.root, 'repo');
    mkdirSync(repo);
    const d = await writeRepo(repo, { envs: { hlink: 1, geo: 2 }, kernels: { hlink: 'Hlink' } });
    addTestedBuilds(fi.root, d);
    await deployRepo(repo);
    const ok = await statusCli(repo);
    expect(ok.code).toBe(0);
    expect(ok.out.lines.join('\n')).toMatch(/in sync: 2 ok/);

    const prefix = join(fi.inst.dir, 'builds', 'geo', d.envs.find((e) => e.name === 'geo')!.buildId);
    appendFileSync(
      join(prefix, 'conda-meta', 'history'),
      '==> 2024-06-01 12:00:00 <==\n# cmd: conda install -p ... numpy\n+conda-forge/linux-64::numpy-1.26.4-0\n',
    );
    const later = new Date(Date.now() + 5000);
    utimesSync(join(prefix, 'conda-meta', 'history'), later, later);
    const drift = await statusCli(repo, {}, true);
    expect(drift.code).toBe(1);
    const result = drift.out.results[0] as {
      drift: boolean;
      envs: Array<{ name: string; handChanged?: unknown; state: string }>;
    };
    expect(result.drift).toBe(true);
    // the state --json gives is the one the human line shows
    expect(result.envs.find((e) => e.name === 'geo')).toMatchObject({
      state: 'changed-by-hand',
      handChanged: expect.any(Object),
    });
    expect(result.envs.find((e) => e.name === 'hlink')?.state).toBe('ok');
    expect(result.envs.find((e) => e.name === 'hlink')?.handChanged).toBeUndefined();
    expect(drift.out.errors.join('\n')).toMatch(/geo +changed by hand/);
    expect(drift.out.errors.join('\n')).toMatch(/DRIFT: 1 ok, .*1 changed by hand/);
    // the nightly drift check names the command that repairs it, in the text and in --json
    expect(drift.out.errors).toContain('To repair: conda-gitops deploy --repair geo');
    expect((drift.out.results[0] as { repair: string[] }).repair).toEqual(['conda-gitops deploy --repair geo']);
    expect((ok.out.results[0] as { repair?: string[] } | undefined)?.repair ?? []).toEqual([]);
  });

  it('after a rollback: main asks for a rolled-back build -> "revert or fix in git", exit 1', async () => {
    fi = makeInstallation();
    const repo = join(fi.root, 'repo');
    mkdirSync(repo);
    addTestedBuilds(fi.root, await writeRepo(repo, { envs: { a: 1 } }));
    await deployRepo(repo);
    addTestedBuilds(fi.root, await writeRepo(repo, { envs: { a: 2 } }));
    await deployRepo(repo);
    await rollbackLive(repo);
    const { result, out } = await status(repo);
    expect(result.ok).toBe(false);
    expect(out.lines.join('\n')).toMatch(
      /a +different: live [0-9a-f]{12}; build [0-9a-f]{12} was rolled back .*revert or fix in git/,
    );
    expect(out.lines[0]).toMatch(/live: v[\d.]+\/generations\/1/);
    expect(out.lines[1]).toMatch(/last cutover: .* rollback by /);
  });

  it('a failed build main asks for and a removed kernel file both count as drift', async () => {
    fi = makeInstallation();
    const repo = join(fi.root, 'repo');
    mkdirSync(repo);
    addTestedBuilds(fi.root, await writeRepo(repo, { envs: { a: 1 }, kernels: { a: 'A' } }));
    await deployRepo(repo);
    rmSync(join(fi.root, 'kernels', 'a'), { recursive: true });
    const next = await writeRepo(repo, { envs: { a: 2 }, kernels: { a: 'A' } });
    addBuild(fi.root, VERSION, 'a', next.envs[0].buildId, { status: 'failed' });
    const { result, out } = await status(repo);
    expect(result.ok).toBe(false);
    const text = out.lines.join('\n');
    expect(text).toMatch(/FAILED in create \(missing-package\): see its log/);
    expect(text).toMatch(/kernel a: missing/);
    expect(text).toMatch(/1 failed build/);
    expect(result.repair).toEqual([
      'conda-gitops fix --env a (the build main asks for failed), then deploy',
      'conda-gitops kernels',
    ]);
    expect(out.lines.slice(-2)).toEqual([
      'To repair: conda-gitops fix --env a (the build main asks for failed), then deploy',
      'To repair: conda-gitops kernels',
    ]);
  });
});
