import { describe, expect, test } from 'vitest';
import {
  buildFacts,
  buildStep,
  builtAndTested,
  decideEnv,
  deployStep,
  planEnvs,
  qaStep,
  type BuildFacts,
  type EnvInput,
} from '../../scripts/core/envplan.js';
import { deployGoesAhead, deployOutcome, planDeploy } from '../../scripts/core/deploy.js';
import { computeStatus } from '../../scripts/core/status.js';
import { planAgainstRoot, planLine, renderPlan } from '../../scripts/core/plan.js';
import type { BuildRecord } from '../../scripts/core/types.js';

const bad = { at: '2024-05-01T00:00:00Z', reason: 'rolled back from g2 to g1' };
const fail = { class: 'missing-package' as const, excerpt: [] };
const builds: Record<string, BuildFacts> = {
  absent: { state: 'absent', prefixPresent: false },
  building: { state: 'building', prefixPresent: true },
  built: { state: 'built', prefixPresent: true },
  'built-no-prefix': { state: 'built', prefixPresent: false },
  failed: { state: 'failed', prefixPresent: false, failedPhase: 'create', failure: fail, channelFingerprint: 'idx1' },
  'failed-unindexed': { state: 'failed', prefixPresent: false, failedPhase: 'create', failure: fail },
  aborted: { state: 'aborted', prefixPresent: false },
  'failed-transient': {
    state: 'failed',
    prefixPresent: false,
    failedPhase: 'create',
    failure: { class: 'timeout', excerpt: [] },
  },
};
const verdicts = { none: undefined, pass: { ok: true }, fail: { ok: false, failure: 'unknown' } };
const lives = { none: undefined, same: 'B', other: 'OLD' };

/** Every combination of inputs the env plan decides on. */
const rows: Array<[string, EnvInput, boolean]> = [];
for (const [bn, b] of Object.entries(builds))
  for (const [vn, v] of Object.entries(verdicts))
    for (const [ln, live] of Object.entries(lives))
      for (const isBad of [false, true])
        for (const kernel of [false, true])
          for (const force of [false, true])
            rows.push([
              `build=${bn} verdict=${vn} live=${ln} bad=${isBad} kernel=${kernel} force=${force}`,
              {
                name: 'e',
                buildId: 'B',
                kernel,
                ...(live ? { live } : {}),
                build: isBad ? { ...b, bad } : b,
                ...(v ? { verdict: v } : {}),
              },
              force,
            ]);

describe('the env plan: every combination, and every rendering agrees', () => {
  test.each(rows)('%s', (_name, input, force) => {
    const d = decideEnv(input, { force });
    // the rules, stated once more as properties
    const usable = input.build.state === 'built' && input.build.prefixPresent;
    if (!usable) expect(['build', 'refuse']).toContain(d.action);
    else if (!input.verdict?.ok) expect(d.action).toBe('test');
    else if (input.live === 'B') expect(d.action).toBe('keep');
    else if (input.build.bad && !force) expect(d.action).toBe('hold');
    else expect(d.action).toBe('link');
    expect(d.reason.length).toBeGreaterThan(0);

    // qa decision
    const step = qaStep(d);
    expect(step === 'reuse').toBe(['keep', 'link', 'hold'].includes(d.action));

    // deploy rendering (against the same live links)
    const liveLinks: Record<string, string> = input.live ? { e: input.live } : {};
    const envPlan = planEnvs([input], liveLinks, { force });
    expect(envPlan.envs[0]).toEqual(d);
    const deploy = planDeploy(
      {
        condaVersion: '23.11.0',
        envs: [{ name: 'e', buildId: 'B', kernel: input.kernel, verdictKey: 'k' }],
        kernels: [],
      },
      {
        currentLinks: liveLinks,
        targetLinks: liveLinks,
        targetGenerations: [],
        ...(input.live ? { target: 1, current: { installation: 'v23.11.0', generation: 1 } } : {}),
      },
      envPlan,
    );
    expect(deploy.missing.length > 0).toBe(['build', 'test', 'refuse'].includes(step));
    expect(deploy.missing.length > 0).toBe(deployStep(d) === 'missing');
    expect(deploy.heldBack.length > 0).toBe(d.action === 'hold');
    if (deployStep(d) === 'link') expect(deploy.links.e).toBe('B');
    expect(deploy.forced.length > 0).toBe(d.action === 'link' && !!input.build.bad);
    // how the deploy ends (the dry run and the real run alike): refused for a missing or held-back build
    expect(deployOutcome(deploy).kind).toBe(deployStep(d) === 'link' ? 'ok' : 'refused');
    expect(deployGoesAhead(deploy)).toBe(deployStep(d) !== 'missing');

    // deploy --build-missing --dry-run: what builds and tests runs are assumed to pass; a recorded failure is not
    const after = decideEnv(builtAndTested(input, { force }), { force });
    if (step === 'build' || step === 'test') expect(deployStep(after)).not.toBe('missing');
    else expect(after).toEqual(d);
    if (step === 'build' || step === 'test')
      expect(after.action).toBe(input.live === 'B' ? 'keep' : input.build.bad && !force ? 'hold' : 'link');

    // status rendering
    const status = computeStatus({
      root: '/R',
      desired: { condaVersion: '23.11.0', envs: [], kernels: [] },
      installation: 'v23.11.0',
      live: { links: liveLinks },
      lookup: () => undefined,
      envPlan,
      stampOf: () => undefined,
      kernelFiles: new Map(),
    });
    const s = status.envs.find((e) => e.name === 'e')!;
    expect(s.action).toBe(d.action);
    expect(s.state).toBe(input.live === undefined ? 'missing' : input.live === 'B' ? 'ok' : 'different');
    expect(status.drift).toBe(d.action !== 'keep');

    // plan rendering
    const plan = planAgainstRoot('23.11.0', envPlan);
    expect(renderPlan(plan).includes(planLine(d))).toBe(d.action !== 'keep');
  });

  test('a deterministic failure is reported again while the channel index is unchanged; others are retried', () => {
    expect(buildStep(builds.failed!)).toBe('failed');
    expect(buildStep(builds.failed!, false, () => 'idx1')).toBe('failed');
    // the channels changed since: the package may be there now
    expect(buildStep(builds.failed!, false, () => 'idx2')).toBe('build');
    expect(buildStep(builds.failed!, true)).toBe('build');
    // no fingerprint (a remote channel, an old record): never known to be the same index
    expect(buildStep(builds['failed-unindexed']!)).toBe('build');
    expect(buildStep(builds['failed-transient']!)).toBe('build');
    // an interrupted build is never a failure: built again
    expect(buildStep(builds.aborted!)).toBe('build');
  });

  test('a live build that became a kernel must be tested (its ipykernel check), and says so', () => {
    const d = decideEnv({ name: 'r', buildId: 'B', kernel: true, live: 'B', build: builds.built! });
    expect(d).toMatchObject({ action: 'test', reason: 'built, not tested as a kernel (its ipykernel check runs)' });
  });

  test('old records: tested is a built build, failed in its test is a built build without a verdict', () => {
    const rec = (status: BuildRecord['status'], phases: BuildRecord['phases']): BuildRecord => ({
      format: 1,
      env: 'e',
      buildId: 'B',
      specHash: 'h',
      status,
      condaVersion: '23.11.0',
      frontend: 'conda',
      prefix: '/p',
      phases,
      startedAt: '2024-01-01T00:00:00Z',
      log: '/l',
    });
    expect(buildFacts(rec('tested', []), true).state).toBe('built');
    expect(buildFacts(rec('failed', [{ name: 'test', ok: false, seconds: 1 }]), true).state).toBe('built');
    expect(buildFacts(rec('failed', [{ name: 'create', ok: false, seconds: 1 }]), true)).toMatchObject({
      state: 'failed',
      failedPhase: 'create',
    });
    expect(buildFacts(undefined, false).state).toBe('absent');
  });

  test('live envs the commit no longer asks for are unlinked, sorted; counts per action', () => {
    const p = planEnvs(
      [{ name: 'b', buildId: 'B', kernel: false, live: 'B', build: builds.built!, verdict: { ok: true } }],
      {
        zeta: 'z',
        b: 'B',
        alpha: 'a',
      },
    );
    expect(p.unlink).toEqual(['alpha', 'zeta']);
    expect(p.counts).toEqual({ keep: 1, link: 0, hold: 0, build: 0, test: 0, refuse: 0, unlink: 2 });
    expect(renderPlan(planAgainstRoot('23.11.0', p))).toEqual([
      '- unlink alpha  (no longer REPLICATE in the repo)',
      '- unlink zeta  (no longer REPLICATE in the repo)',
      'plan: 0 to build, 0 to test, 0 to link, 1 unchanged, 2 to unlink (conda 23.11.0)',
    ]);
  });
});
