/**
 * Build + test a set of envs in a bounded pool (docs/qa.md): used by `qa`, `build`,
 * `test` and `deploy --build-missing`. Each env gets one log, progress lines (`[3/12] hlink create 14.2s`)
 * and a result value; a failing env never stops the others.
 */
import { copyFileSync, existsSync, mkdirSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import type { Output } from './output.js';
import type { Desired, DesiredEnv } from '../core/desired.js';
import type { Repo } from '../core/repo.js';
import { SPECS_DIR } from '../core/repo.js';
import type {
  BuildStatus,
  Classification,
  EnvRunResult,
  PackageRow,
  PhaseRecord,
  StampedBuildRecord,
} from '../core/types.js';
import { FailedError, InterruptedError } from '../core/errors.js';
import { interruptedBy } from '../engine/process.js';
import { buildPaths, installationLayout } from '../core/layout.js';
import { readBuildRecord } from '../state/record.js';
import { readLive } from '../state/generation.js';
import { Conda } from '../engine/conda.js';
import { classify, hintFor } from '../core/classify.js';
import { faultLine } from '../core/report.js';
import { envInputFromDisk } from '../state/verdict.js';
import { decideEnv, qaStep, type QaStep } from '../core/envplan.js';
import { buildEnv, recordVerdict, type BuildOutcome, type BuildTools, type CondaCall } from '../engine/build.js';
import { testBuild, testHint, type EnvTestResult } from '../engine/envtest.js';
import { runPool } from '../engine/pool.js';
import { preflightResult } from '../core/qarun.js';
import { buildReadPaths } from '../core/build-reads.js';
import { readCondarc } from '../engine/channel-index.js';
import { isolationNote, type Sandbox } from '../core/sandbox.js';
import { packageCaches } from '../core/pkgcache.js';
import { warnRunnerRcFiles } from './runner-rc.js';
import { detectSandbox } from '../engine/sandbox.js';

export interface RunBuildsOptions {
  root: string;
  repo: Repo;
  desired: Desired;
  /** the envs to build (a subset of desired.envs) */
  envs: DesiredEnv[];
  jobs: number;
  out: Output;
  /** ROOT/.gitops/runs/<run-id>: each env's log is copied to logs/NAME.log */
  runDir?: string;
  /** run the test phase (default true); `build` alone sets false */
  test?: boolean;
  /** only test: never build (an env without a build fails) */
  testOnly?: boolean;
  /** envs tested again even with a passing verdict for their key (`conda-gitops test`) */
  retest?: ReadonlySet<string>;
  /** rebuild builds that failed with the same inputs */
  retryFailed?: boolean;
  /** per-phase limit of conda/pip calls, and of each env's test script */
  timeoutSeconds?: number;
  testTimeoutSeconds?: number;
  /** directory of the specs and per-env tests (default REPO/env-specs) */
  specDir?: string;
  /** conda operations (default: the adapter of ROOT/v<version>) */
  tools?: BuildTools;
  /** the environment: CONDA_GITOPS_SANDBOX and PATH choose the sandbox (engine/sandbox.ts) */
  env?: Record<string, string | undefined>;
  /**
   * builds of a pull request: each gets a private package cache layered over the installation's shared one,
   * which it cannot write (`qa`); trusted runs (deploy, build, test) fill the shared cache
   */
  untrusted?: boolean;
}

export interface PipelineEnv {
  result: EnvRunResult;
  /** status of the build after this run (`tested`: it has a passing verdict for its key) */
  recordStatus?: BuildStatus;
  /** conda ran for this env in this run */
  fresh: boolean;
}

export interface PipelineResult {
  envs: PipelineEnv[];
  /** envs conda built in this run */
  fresh: number;
  /** seconds spent inside conda/pip calls (summed over envs): the work the orchestration wraps */
  condaSeconds: number;
  /** seconds spent in the test phase (summed over envs) */
  testSeconds: number;
  /** wall time of the whole pool */
  seconds: number;
  /** how builds and tests were isolated, for the report */
  isolation: { sandbox: Sandbox['kind']; note: string; asRoot?: boolean };
}

/** The adapter of an installation, as the build needs it. */
export function condaTools(conda: Conda): BuildTools {
  return {
    createFromFile: (file, prefix, o) => conda.createFromFile(file, prefix, o),
    install: (prefix, specs, channels, o) => conda.install(prefix, specs, channels, o),
    pipInstall: (prefix, args, o) => conda.pipInstall(prefix, args, o),
    runsPreLinkScripts: (o) => conda.runsPreLinkScripts(o),
    runScript: (argv, env, o) => conda.runScript(argv, env, o),
    async list(prefix, o) {
      const call = await conda.list(prefix, o);
      return { call, ...(call.value ? { packages: call.value } : {}) };
    },
    async search(name, channels, o) {
      return (await conda.search(name, channels, o)).value;
    },
    classify: (call: CondaCall) => classify(`${call.stdout}\n${call.stderr}`),
  };
}

/** The installation a build goes to must exist: QA never installs conda on its own (install-conda does). */
export function installationTools(root: string, desired: Desired, passEnv: readonly string[] = []): BuildTools {
  const inst = installationLayout(root, desired.condaVersion);
  const exe = join(inst.dir, 'bin', desired.frontend);
  if (!existsSync(exe)) {
    throw new FailedError(
      `no ${desired.frontend} ${desired.condaVersion} installation at ${inst.dir} (missing ${exe}): ` +
        'run `conda-gitops install-conda` first',
    );
  }
  return condaTools(Conda.forInstallation(inst.dir, desired.frontend, { passEnv }));
}

function livePackagesOf(root: string, live: ReturnType<typeof readLive>, env: string): PackageRow[] | undefined {
  const id = live.links[env];
  if (!id || !live.ref) return undefined;
  const version = live.ref.installation.replace(/^v/, '');
  return readBuildRecord(root, version, env, id)?.packages;
}

const fmt = (s: number) => `${s.toFixed(1)}s`;

/** The start line and heartbeat of one env's current long step (Output.activity); `start` ends the previous one. */
function stepBeat(out: Output, tag: string): { start(step: string): void; stop(): void } {
  let stop = () => {};
  return {
    start(step) {
      stop();
      stop = out.activity?.(`${tag} ${step}`) ?? (() => {});
    },
    stop: () => stop(),
  };
}

/** Build and test `envs`; results in the order given. */
export async function runBuilds(opts: RunBuildsOptions): Promise<PipelineResult> {
  const t0 = performance.now();
  const run = await prepareRun(opts);
  const done = await runPool(opts.envs, opts.jobs, (env, i) => runOneEnv(run, env, i));
  const stop = interruptedBy();
  if (stop) throw new InterruptedError(stop);
  return {
    envs: done.map(({ result, recordStatus, fresh }) => ({ result, fresh, ...(recordStatus ? { recordStatus } : {}) })),
    fresh: done.filter((d) => d.fresh).length,
    condaSeconds: done.reduce((s, d) => s + d.condaSeconds, 0),
    testSeconds: done.reduce((s, d) => s + d.testSeconds, 0),
    seconds: (performance.now() - t0) / 1000,
    isolation: {
      sandbox: run.sandbox.kind,
      note: isolationNote(run.sandbox, run.allowUnsandboxed),
      ...(run.sandbox.asRoot ? { asRoot: true } : {}),
    },
  };
}

/** What every env of a run shares: the resolved root, the conda adapter, the sandbox and what it exposes. */
type RunContext = Awaited<ReturnType<typeof prepareRun>>;

/** One env's outcome, with the seconds it spent in conda and in its tests. */
type EnvDone = PipelineEnv & { condaSeconds: number; testSeconds: number };

async function prepareRun(opts: RunBuildsOptions) {
  // Builds live at the resolved path: conda writes the prefix into scripts, so it must not go through a link
  // that moves.
  if (!existsSync(opts.root)) throw new FailedError(`installation root ${opts.root} does not exist`);
  const root = realpathSync(opts.root);
  // Only a run that builds needs the installation's conda (a run with nothing to build must not require it).
  const passEnv = opts.repo.inventory.conda.passEnv ?? [];
  const tools =
    opts.tools ?? (opts.envs.length && !opts.testOnly ? installationTools(root, opts.desired, passEnv) : undefined);
  const specDir = opts.specDir ?? join(opts.repo.dir, SPECS_DIR);
  const live = readLive(root);
  const total = opts.envs.length;
  // a run with nothing to build or test needs no sandbox (and must not fail for want of one)
  const sandbox: Sandbox = total ? await detectSandbox(opts.env ?? {}) : { kind: 'none', reason: 'nothing to run' };
  const allowUnsandboxed = opts.repo.inventory.conda.unsandboxedTests === true;
  const bwrap = sandbox.kind === 'bwrap' ? sandbox.bwrap : undefined;
  // what builds and tests read although it may sit in a hidden place (the runner's home, /tmp): the installation,
  // and for builds the spec directory (local pip packages, -r files)
  const isolation = {
    ...(bwrap ? { bwrap, expose: [root, specDir] } : {}),
    sharedCaches: packageCaches(
      installationLayout(root, opts.desired.condaVersion).dir,
      opts.repo.inventory.conda.pkgsDirs,
    ),
    ...(opts.untrusted ? { privateCache: true } : {}),
  };
  // how the installation's conda maps channel names (its own .condarc too): where a build's channels are
  const rc = bwrap ? readCondarc(installationLayout(root, opts.desired.condaVersion).dir, process.env) : undefined;
  const testIsolation = {
    ...(bwrap ? { bwrap, expose: [root] } : { reason: (sandbox as { reason: string }).reason }),
    allowUnsandboxed,
  };
  if ((!bwrap || sandbox.asRoot) && total) opts.out.warn(isolationNote(sandbox, allowUnsandboxed));
  // conda reads /etc/conda and /var/lib/conda whatever CONDARC says: only the sandbox hides them (core/hermetic.ts)
  if (!bwrap && total && !opts.testOnly) warnRunnerRcFiles(root, opts.repo.inventory, opts.out);
  if (opts.runDir) mkdirSync(join(opts.runDir, 'logs'), { recursive: true });
  return {
    opts,
    root,
    passEnv,
    tools,
    specDir,
    live,
    total,
    sandbox,
    allowUnsandboxed,
    bwrap,
    isolation,
    rc,
    testIsolation,
  };
}

/** Build (or find the build of) one env, test it, and report its result. */
async function runOneEnv(run: RunContext, env: DesiredEnv, i: number): Promise<EnvDone> {
  const { opts, root } = run;
  const started = performance.now();
  const tag = `[${i + 1}/${run.total}] ${env.name}`;
  const stopped = interruptedBy();
  if (stopped) throw new InterruptedError(stopped); // not started: its record stays as it was
  // the env plan decides (core/envplan.ts): reuse a passing verdict for this key, test, build, or report
  const decision = decideEnv(
    envInputFromDisk(root, opts.desired.condaVersion, env, run.live.links[env.name]),
    opts.retryFailed ? { retryFailed: true } : {},
  );
  let step: QaStep = qaStep(decision);
  if (step === 'reuse' && opts.retest?.has(env.name)) step = 'test';
  let outcome: BuildOutcome;
  if (opts.testOnly) {
    const rec = readBuildRecord(root, opts.desired.condaVersion, env.name, env.buildId) as
      StampedBuildRecord | undefined;
    if (!rec || step === 'build' || step === 'refuse') return notBuilt(run, env, tag, decision.reason, rec);
    outcome = { status: 'built', record: rec, fresh: false, toolSeconds: 0 };
  } else {
    outcome = await buildOne(run, env, tag);
  }
  if (outcome.status === 'aborted' || interruptedBy()) return aborted(run, env, tag, outcome, started);
  return testAndReport(run, env, tag, step, outcome, started);
}

/** `test` of an env without a build (or one the plan would rebuild): fails in the plan phase. */
function notBuilt(run: RunContext, env: DesiredEnv, tag: string, reason: string, rec?: StampedBuildRecord): EnvDone {
  const result = preflightResult(
    env.name,
    'plan',
    [
      {
        file: env.spec.file,
        line: 1,
        message: `no build of ${env.name} with id ${env.buildId} (${reason}): run \`conda-gitops build\` first`,
      },
    ],
    env.buildId,
  );
  run.opts.out.progress(`${tag} not built`);
  return {
    result: { ...result, phase: 'test' },
    ...(rec ? { recordStatus: rec.status } : {}),
    fresh: false,
    condaSeconds: 0,
    testSeconds: 0,
  };
}

function buildOne(run: RunContext, env: DesiredEnv, tag: string): Promise<BuildOutcome> {
  const { opts, isolation, specDir } = run;
  const beat = stepBeat(opts.out, tag);
  return buildEnv({
    root: run.root,
    condaVersion: opts.desired.condaVersion,
    frontend: opts.desired.frontend,
    env,
    specDir,
    tools: run.tools!,
    retryFailed: opts.retryFailed,
    timeoutSeconds: opts.timeoutSeconds,
    // the sandbox's /tmp is private: the local channels and pip sources this build reads are bound back
    isolation: run.bwrap
      ? {
          ...isolation,
          expose: [
            ...isolation.expose!,
            ...buildReadPaths({
              spec: env.spec,
              conda: opts.repo.inventory.conda,
              specDir,
              env: process.env,
              rc: run.rc,
            }),
          ],
        }
      : isolation,
    onPhaseStart: (phase) => beat.start(phase),
    onPhase: (phase, seconds, ok) => {
      beat.stop();
      opts.out.progress(`${tag} ${phase} ${fmt(seconds)}${ok ? '' : ' FAILED'}`);
    },
  }).finally(beat.stop);
}

/** The run was interrupted: no test, no verdict (the caller stops with InterruptedError). */
function aborted(run: RunContext, env: DesiredEnv, tag: string, outcome: BuildOutcome, started: number): EnvDone {
  run.opts.out.progress(`${tag} aborted`);
  const result: EnvRunResult = {
    env: env.name,
    buildId: env.buildId,
    status: 'failed',
    phase: outcome.phase ?? 'create',
    file: env.spec.file,
    seconds: (performance.now() - started) / 1000,
    phases: outcome.record.phases,
  };
  return { result, recordStatus: outcome.record.status, fresh: false, condaSeconds: 0, testSeconds: 0 };
}

/** Where an env stands after its build and (when it runs) its test. */
interface EnvState {
  record: StampedBuildRecord;
  status: EnvRunResult['status'];
  failure?: Classification;
  phase: EnvRunResult['phase'];
  tested?: EnvTestResult;
}

async function testAndReport(
  run: RunContext,
  env: DesiredEnv,
  tag: string,
  step: QaStep,
  outcome: BuildOutcome,
  started: number,
): Promise<EnvDone> {
  const { opts } = run;
  const reused = step === 'reuse' && !outcome.fresh;
  let state: EnvState = {
    record: outcome.record,
    status: outcome.status === 'failed' ? 'failed' : reused ? 'reused' : 'tested',
    phase: outcome.phase,
    ...(outcome.failure ? { failure: outcome.failure } : {}),
  };
  const wantsTest = opts.test !== false && outcome.status === 'built' && (outcome.fresh || step !== 'reuse');
  if (wantsTest) state = await testOne(run, env, tag, state);
  else if (opts.test === false && outcome.status === 'built') {
    state.status = 'tested'; // EnvRunResult has no 'built': build-only callers read recordStatus instead
  }
  const { record, status, failure, phase, tested } = state;
  const result = envResult(run, env, state, copyLog(run, env), (performance.now() - started) / 1000);
  const verdict =
    status === 'failed'
      ? `FAILED ${phase ?? ''} (${failure?.class ?? 'unknown'})` +
        (outcome.fresh || tested ? '' : ' [recorded failure]')
      : opts.test === false
        ? step === 'reuse'
          ? 'tested'
          : record.status
        : status;
  opts.out.progress(`${tag} ${verdict} ${fmt(result.seconds)}`);
  const recordStatus: BuildStatus =
    status === 'failed' ? 'failed' : opts.test === false ? (step === 'reuse' ? 'tested' : record.status) : 'tested';
  return {
    result,
    recordStatus,
    fresh: outcome.fresh,
    condaSeconds: outcome.toolSeconds,
    testSeconds: tested?.seconds ?? 0,
  };
}

/** Run an env's tests and record the verdict for its key. */
async function testOne(run: RunContext, env: DesiredEnv, tag: string, state: EnvState): Promise<EnvState> {
  const { opts, root } = run;
  const paths = buildPaths(root, opts.desired.condaVersion, env.name, env.buildId);
  const beat = stepBeat(opts.out, tag);
  beat.start('test');
  const tested = await testBuild({
    env: env.name,
    prefix: state.record.prefix,
    spec: env.spec,
    packages: state.record.packages ?? [],
    kernel: env.kernel,
    ...(env.kernelSpecs ? { kernelSpecs: env.kernelSpecs } : {}),
    specDir: run.specDir,
    passEnv: run.passEnv,
    log: paths.log,
    isolation: run.testIsolation,
    ...(opts.testTimeoutSeconds ? { timeoutSeconds: opts.testTimeoutSeconds } : {}),
  }).finally(beat.stop);
  // an interrupted test says nothing about the build: it stays `built`, tested again next run
  const stop = interruptedBy();
  if (stop) throw new InterruptedError(stop);
  const testPhase: PhaseRecord = {
    name: 'test',
    ok: tested.ok,
    seconds: tested.seconds,
    ...(tested.failure ? { failure: tested.failure } : {}),
  };
  recordVerdict(
    root,
    state.record,
    { key: env.verdictKey, tests: opts.repo.testTexts?.get(env.name) ?? '', kernel: env.kernel },
    testPhase,
  );
  const record = { ...state.record, phases: [...state.record.phases.filter((p) => p.name !== 'test'), testPhase] };
  opts.out.progress(`${tag} test ${fmt(tested.seconds)}${tested.ok ? '' : ' FAILED'}`);
  if (!tested.ok) {
    const failure = tested.failure;
    return { record, status: 'failed', phase: 'test', tested, ...(failure ? { failure } : {}) };
  }
  return { ...state, record, status: 'tested', tested };
}

/** The env's build log, copied into the run directory when there is one. */
function copyLog(run: RunContext, env: DesiredEnv): string | undefined {
  const paths = buildPaths(run.root, run.opts.desired.condaVersion, env.name, env.buildId);
  let log: string | undefined = existsSync(paths.log) ? paths.log : undefined;
  if (log && run.opts.runDir) {
    const copy = join(run.opts.runDir, 'logs', `${env.name}.log`);
    copyFileSync(log, copy);
    log = copy;
  }
  return log;
}

function envResult(
  run: RunContext,
  env: DesiredEnv,
  { record, status, failure, phase, tested }: EnvState,
  log: string | undefined,
  seconds: number,
): EnvRunResult {
  const hint =
    status === 'failed' && failure ? (phase === 'test' && tested ? testHint(tested) : hintFor(failure)) : undefined;
  const line = status === 'failed' ? (phase === 'test' && tested?.line) || faultLine(env.spec, failure) : undefined;
  const livePackages = livePackagesOf(run.root, run.live, env.name);
  return {
    env: env.name,
    buildId: env.buildId,
    status,
    ...(status === 'failed' ? { phase: phase ?? 'create' } : {}),
    ...(status === 'failed' && failure ? { failure } : {}),
    ...(hint ? { hint } : {}),
    file: (status === 'failed' && phase === 'test' && tested?.file) || env.spec.file,
    ...(line ? { line } : {}),
    seconds,
    phases: record.phases,
    ...(log ? { log } : {}),
    ...(record.packages ? { packages: record.packages } : {}),
    ...(livePackages ? { livePackages } : {}),
  };
}
