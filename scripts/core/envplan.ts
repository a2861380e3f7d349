/**
 * The env plan: the one place that decides what happens to each env. Pure: for every env of the desired state
 * at a commit, from its build record, the verdict for the key that commit implies, a rollback's bad mark and the
 * live link, one action and its reason. `plan`, `plan --base/--head`, qa/build/test (app/pipeline.ts and
 * engine/build.ts), deploy (core/deploy.ts), `deploy --dry-run` and status (core/status.ts) all render it.
 */
import type { BuildRecord, Classification } from './types.js';
import type { VerdictFacts } from './verdict.js';

/** The BUILD's own state (a test outcome is a verdict, not a build state). */
/** `aborted`: the run was interrupted during the build (never a failure: built again). */
export type BuildState = 'absent' | 'building' | 'built' | 'failed' | 'aborted';

export interface BuildFacts {
  state: BuildState;
  /** the prefix is on disk */
  prefixPresent: boolean;
  /** phase and failure of a failed build */
  failedPhase?: string;
  failure?: Classification;
  /**
   * the channel index the failed build saw (a fingerprint of the channels' repodata), when its failure class is
   * decided by the spec and the index alone; undefined: never reported again without a retry
   */
  channelFingerprint?: string;
  /** set by rollback: linking this build again needs deploy --force */
  bad?: { at: string; reason: string };
}

/**
 * A record's build facts. Old records say `tested` (a built build: the verdict is read by legacyVerdict) or
 * `failed` in the test phase (a built build whose test failed: no verdict, tested again).
 */
export function buildFacts(rec: BuildRecord | undefined, prefixPresent: boolean): BuildFacts {
  if (!rec) return { state: 'absent', prefixPresent };
  const bad = rec.bad ? { bad: rec.bad } : {};
  const failedPhase = [...rec.phases].reverse().find((p) => !p.ok)?.name;
  if (rec.status === 'tested') return { state: 'built', prefixPresent, ...bad };
  if (rec.status === 'failed') {
    if (failedPhase === 'test') return { state: 'built', prefixPresent, ...bad };
    return {
      state: 'failed',
      prefixPresent,
      ...(failedPhase ? { failedPhase } : {}),
      ...(rec.failure ? { failure: rec.failure } : {}),
      ...(rec.channelFingerprint ? { channelFingerprint: rec.channelFingerprint } : {}),
      ...bad,
    };
  }
  return { state: rec.status, prefixPresent, ...bad };
}

/**
 * Failures that the spec and the channel index alone decide: reported again without running conda, as long as the
 * channel index the failed build saw has not changed. Every other class (timeouts, unreachable channels, pip and
 * git failures, unknown) is retried.
 */
export const DETERMINISTIC_FAILURES: ReadonlySet<string> = new Set([
  'missing-package',
  'missing-version',
  'unsatisfiable',
]);

/** What the builder does with a build: reuse it, build it (again), or report its recorded failure. */
export type BuildStep = 'reuse' | 'build' | 'failed';

/**
 * `indexNow`: the fingerprint of the channel index today (the builder computes it); without it (plan, status,
 * deploy) a recorded deterministic failure is assumed to hold, and the builder checks again before reusing it.
 */
export function buildStep(b: BuildFacts, retryFailed = false, indexNow?: () => string | undefined): BuildStep {
  if (b.state === 'built' && b.prefixPresent) return 'reuse';
  const recorded =
    b.state === 'failed' &&
    !retryFailed &&
    b.failure !== undefined &&
    b.failedPhase !== undefined &&
    DETERMINISTIC_FAILURES.has(b.failure.class) &&
    b.channelFingerprint !== undefined &&
    (indexNow === undefined || indexNow() === b.channelFingerprint);
  return recorded ? 'failed' : 'build';
}

export interface EnvInput {
  name: string;
  buildId: string;
  kernel: boolean;
  /** build id linked live now (in the installation the commit names) */
  live?: string;
  build: BuildFacts;
  /** the verdict for the key the commit implies, if any */
  verdict?: VerdictFacts;
}

/**
 * keep: live and passing; link: a passing build replaces or adds the live link; hold: passing but rolled back
 * (deploy keeps the live build); build: no usable build; test: built, no passing verdict for this key;
 * refuse: the build failed with these inputs (a retry would fail the same way).
 */
export type EnvAction = 'keep' | 'link' | 'hold' | 'build' | 'test' | 'refuse';

export interface EnvDecision {
  name: string;
  buildId: string;
  action: EnvAction;
  /** why, in words a reviewer reads */
  reason: string;
  live?: string;
  build: BuildState;
  verdict?: 'pass' | 'fail';
  failure?: string;
  bad?: { at: string; reason: string };
  /** deploy --force links a rolled-back build */
  forced?: boolean;
}

export interface PlanOptions {
  force?: boolean;
  retryFailed?: boolean;
}

export function decideEnv(e: EnvInput, opts: PlanOptions = {}): EnvDecision {
  const b = e.build;
  const base = {
    name: e.name,
    buildId: e.buildId,
    ...(e.live ? { live: e.live } : {}),
    build: b.state,
    ...(e.verdict ? { verdict: e.verdict.ok ? ('pass' as const) : ('fail' as const) } : {}),
    ...(b.bad && e.live !== e.buildId ? { bad: b.bad } : {}),
  };
  const step = buildStep(b, opts.retryFailed);
  if (step === 'failed') {
    const cls = b.failure?.class ?? 'unknown';
    return {
      ...base,
      action: 'refuse',
      failure: cls,
      reason: `build FAILED in ${b.failedPhase} (${cls}): see its log, fix the spec in git`,
    };
  }
  if (step === 'build') {
    const why: Record<BuildState, string> = {
      absent: 'not built yet',
      building: 'a build is in progress or crashed',
      built: 'its build prefix is gone',
      failed: 'last build failed, worth a retry',
      aborted: 'last build was interrupted (run cancelled)',
    };
    return { ...base, action: 'build', reason: why[b.state] };
  }
  if (!e.verdict) {
    const reason =
      e.kernel && e.live === e.buildId
        ? 'built, not tested as a kernel (its ipykernel check runs)'
        : 'built, not tested with these tests' + (e.kernel ? ' (and its ipykernel check)' : '');
    return { ...base, action: 'test', reason };
  }
  if (!e.verdict.ok) {
    const cls = e.verdict.failure ?? 'unknown';
    return { ...base, action: 'test', failure: cls, reason: `its tests failed (${cls}): fix and test again` };
  }
  if (e.live === e.buildId) return { ...base, action: 'keep', reason: 'live build is up to date' };
  if (b.bad && !opts.force) {
    return {
      ...base,
      action: 'hold',
      reason:
        `rolled back at ${b.bad.at} (${b.bad.reason}): ` +
        `${e.live ? `keeping ${e.live}` : 'left out'}; revert or fix in git, or deploy --force`,
    };
  }
  if (b.bad) return { ...base, action: 'link', forced: true, reason: 'rolled-back build deployed because of --force' };
  return { ...base, action: 'link', reason: e.live ? `tested build replaces ${e.live}` : 'tested build, not yet live' };
}

export interface EnvPlan {
  envs: EnvDecision[];
  /** live envs the commit no longer asks for: unlinked at deploy (their builds stay until gc) */
  unlink: string[];
  counts: Record<EnvAction, number> & { unlink: number };
}

export function planEnvs(envs: EnvInput[], live: Record<string, string>, opts: PlanOptions = {}): EnvPlan {
  const decisions = envs.map((e) => decideEnv(e, opts));
  const wanted = new Set(envs.map((e) => e.name));
  const unlink = Object.keys(live)
    .filter((n) => !wanted.has(n))
    .sort();
  const count = (a: EnvAction) => decisions.filter((d) => d.action === a).length;
  return {
    envs: decisions,
    unlink,
    counts: {
      keep: count('keep'),
      link: count('link'),
      hold: count('hold'),
      build: count('build'),
      test: count('test'),
      refuse: count('refuse'),
      unlink: unlink.length,
    },
  };
}

/**
 * An env as `deploy --build-missing` leaves it when the build and tests it runs pass: what its dry run predicts.
 * Only envs the builder builds or tests change; a recorded failure it reports again (refuse) stays as it is.
 */
export function builtAndTested(e: EnvInput, opts: PlanOptions = {}): EnvInput {
  const { action } = decideEnv(e, opts);
  if (action !== 'build' && action !== 'test') return e;
  const bad = e.build.bad ? { bad: e.build.bad } : {};
  return { ...e, build: { state: 'built', prefixPresent: true, ...bad }, verdict: { ok: true } };
}

/** What qa / build / test do with an env: nothing (its passing verdict is reused), build+test, test, report. */
export type QaStep = 'reuse' | 'build' | 'test' | 'refuse';

export function qaStep(d: EnvDecision): QaStep {
  switch (d.action) {
    case 'keep':
    case 'link':
    case 'hold':
      return 'reuse';
    case 'build':
    case 'test':
    case 'refuse':
      return d.action;
  }
}

/** What deploy does with an env: link it, hold it back, or refuse the deploy (no passing verdict). */
export type DeployStep = 'link' | 'hold' | 'missing';

export function deployStep(d: EnvDecision): DeployStep {
  if (d.action === 'keep' || d.action === 'link') return 'link';
  if (d.action === 'hold') return 'hold';
  return 'missing';
}
