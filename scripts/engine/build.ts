/**
 * One env's build (docs/qa.md), at its final resolved path `ROOT/vX/builds/NAME/<id>/`:
 *   create (spec minus legacy-noarch packages and git pip entries, from a derived file; the user's spec
 *   is never touched) -> `install` each legacy-noarch package -> pip-install each git entry -> record
 *   `conda list --json`.
 * Each phase is named, timed and logged; the record beside the prefix says building | built | failed (a test
 * outcome is a verdict beside it: recordVerdict).
 * Failures are values (a failed outcome), never exceptions that would stop the other envs.
 */
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { dump } from 'js-yaml';
import type {
  BuildRecord,
  Classification,
  EnvSpec,
  Frontend,
  PackageRow,
  PhaseRecord,
  StampedBuildRecord,
} from '../core/types.js';
import type { DesiredEnv } from '../core/desired.js';
import { buildPaths, installationLayout } from '../core/layout.js';
import { channelFingerprint } from './channel-index.js';
import { readBuildRecord, writeBuildRecord, isOrphaned } from '../state/record.js';
import { specHash } from '../core/buildid.js';
import { buildFacts, buildStep, DETERMINISTIC_FAILURES } from '../core/envplan.js';
import { TEST_PROCEDURE_VERSION, VERDICT_FORMAT, testsHash, type Verdict } from '../core/verdict.js';
import { writeVerdict } from '../state/verdict.js';
import { confineToSpec } from '../core/classify.js';
import { withoutIgnoredBrackets } from '../core/matchspec.js';
import { variablesNeedScripts } from '../core/activation.js';
import { asOneArgument, condaAddsPip, pipLinesAreArguments } from '../core/conda-pip.js';
import { writeVariableScripts } from '../state/activation.js';
import { UnsafePathError } from '../core/errors.js';
import { privateHome, SYSTEM_RC_DIRS, type PrivateHome } from '../core/hermetic.js';
import { accountPipEntries } from '../core/sitepackages.js';
import { expandRequirements, readInstalledDists } from './sitepackages.js';
import type { CallOptions, CallResult } from './conda.js';
import { readHistoryStamp } from '../state/history.js';
import { readCondaMetaRecords, writeManifest } from '../state/manifest.js';
import { isLegacyNoarchRecord, preLinkRun, type LinkedRecord } from '../core/legacy-noarch.js';
import { acquireBuildLock, acquireCacheLocks } from '../state/lock.js';
import { cacheLockPath } from '../core/pkgcache.js';
import { timeoutLine } from '../core/conda-log.js';
import { makeTempDir, removeTempDir } from './tempdir.js';

/** What one conda/pip call returned: the adapter's call result. */
export type CondaCall = CallResult;

/** The conda operations a build needs; `condaTools` in pipeline.ts binds them to the adapter. */
export interface BuildTools {
  createFromFile(file: string, prefix: string, o: CallOptions): Promise<CondaCall>;
  install(prefix: string, specs: string[], channels: string[], o: CallOptions): Promise<CondaCall>;
  pipInstall(prefix: string, args: string[], o: CallOptions): Promise<CondaCall>;
  /** false for libmamba (micromamba, mamba 2): the build runs legacy noarch pre-link scripts itself */
  runsPreLinkScripts(o: CallOptions): Promise<boolean>;
  /** a package's own script (argv), with the variables conda would give it */
  runScript(argv: string[], env: Record<string, string>, o: CallOptions): Promise<CondaCall>;
  list(prefix: string, o: CallOptions): Promise<{ call: CondaCall; packages?: PackageRow[] }>;
  /** versions of `name` the channels have (undefined when the search itself failed) */
  search(name: string, channels: string[], o: CallOptions): Promise<string[] | undefined>;
  /** classification of a failed call's output */
  classify(call: CondaCall): Classification;
}

export type PhaseName = PhaseRecord['name'];

export interface BuildInput {
  /** installation root, resolved (no symlinks that can move) */
  root: string;
  condaVersion: string;
  frontend: Frontend;
  env: DesiredEnv;
  /** directory of the user's spec (relative pip paths resolve against it) */
  specDir: string;
  tools: BuildTools;
  /** per-phase time limit of conda/pip calls */
  timeoutSeconds?: number;
  /** how long to wait for another process building the same id */
  lockWaitSeconds?: number;
  /** rebuild a build that failed with these same inputs (default: report the recorded failure again) */
  retryFailed?: boolean;
  /** called after each phase, for progress lines */
  onPhase?: (phase: PhaseName, seconds: number, ok: boolean) => void;
  /** called when a phase starts (before its first conda/pip call), for start lines and heartbeats */
  onPhaseStart?: (phase: PhaseName) => void;
  /** how conda and pip run: in a sandbox, with a private package cache (docs/security.md) */
  isolation?: BuildIsolation;
}

/** Isolation of one build (docs/security.md, "Isolation of builds and tests"). */
export interface BuildIsolation {
  /** the bwrap executable: conda and pip run in a sandbox that can write only this build and its temp dir */
  bwrap?: string;
  /**
   * the installation's shared package caches, in conda's order (core/pkgcache.ts packageCaches: the configured
   * pkgs-dirs, else ROOT/vX/pkgs); writable in the sandbox unless `privateCache`; every conda call that may
   * extract into them holds their lock (parallel builds)
   */
  sharedCaches?: string[];
  /**
   * a build of a pull request: it gets a private package cache of its own, layered over the shared ones
   * (CONDA_PKGS_DIRS=PRIVATE,SHARED...), and the shared ones stay read-only, so nothing the build runs can plant a
   * package there for later builds
   */
  privateCache?: boolean;
  /** directories the sandbox shows read-only although they are in a hidden place (the installation root) */
  expose?: string[];
}

export interface BuildOutcome {
  /**
   * built: built now (fresh) or earlier (reused build, whatever its verdicts); failed: see failure;
   * aborted: the run was interrupted during the build (recorded `aborted`, never a failure)
   */
  status: 'built' | 'failed' | 'aborted';
  record: StampedBuildRecord;
  failure?: Classification;
  phase?: PhaseName;
  /** true when conda ran in this call (false: the record was reused, re-tested or its failure repeated) */
  fresh: boolean;
  /** seconds spent inside conda/pip calls (for the overhead measurement) */
  toolSeconds: number;
}

const DEFAULT_PHASE_TIMEOUT_SECONDS = 3600;

// ---------------------------------------------------------------- the derived spec (pure)

/** A relative path in a pip line resolves against the user's spec directory, not our temp dir. */
export function absolutizePipLine(text: string, kind: string, specDir: string): string {
  const abs = (p: string) => (isAbsolute(p) || /^[a-z+]+:/.test(p) || p.startsWith('~') ? p : resolve(specDir, p));
  if (kind === 'requirements' || kind === 'editable') {
    const m = /^(-r|--requirement|-e|--editable)(\s+|=)(.+)$/.exec(text);
    return m ? `${m[1]} ${abs(m[3]!.trim())}` : text;
  }
  if (kind === 'path') return abs(text);
  return text;
}

export interface BuildSteps {
  /** the environment file conda creates the env from */
  createSpec: string;
  /** legacy-noarch dependencies, installed one by one after create */
  legacyNoarch: Array<{ name: string; text: string; line: number }>;
  /** git pip entries as pip arguments, installed after create */
  gitEntries: Array<{ args: string[]; line: number; text: string }>;
  /** `variables:` written as activation scripts after create (conda < 4.9 cannot take them in the file) */
  scriptVariables: Record<string, string>;
}

/**
 * Split a spec into the build's phases (pure). `variablesInFile: false` (conda < 4.9, core/activation.ts) keeps
 * `variables:` out of conda's file: they become activation scripts written after create. `condaVersion` fits the
 * pip section to that conda (core/conda-pip.ts): `pip` added where conda does not add it, and on 4.3 each line
 * one command-line argument.
 */
export function buildSteps(
  spec: EnvSpec,
  legacyNoarch: string[],
  specDir: string,
  o: { variablesInFile?: boolean; condaVersion?: string } = {},
): BuildSteps {
  const inFile = o.variablesInFile ?? true;
  const legacy = new Set(legacyNoarch.map((n) => n.toLowerCase()));
  const deps = spec.dependencies.filter((d) => !legacy.has(d.spec.name.toLowerCase()));
  const asArguments = o.condaVersion !== undefined && pipLinesAreArguments(o.condaVersion);
  const pip = spec.pip
    .filter((p) => p.kind !== 'git')
    .map((p) => absolutizePipLine(p.text, p.kind, specDir))
    .map((line) => (asArguments ? asOneArgument(line) : line));
  const addPip =
    pip.length > 0 &&
    o.condaVersion !== undefined &&
    !condaAddsPip(o.condaVersion) &&
    !deps.some((d) => d.spec.name.toLowerCase() === 'pip');
  const doc: Record<string, unknown> = { name: spec.name };
  if (spec.channels.length) doc.channels = spec.channels;
  // bracket text conda ignores (`tiled[all]`) is left out: other frontends' parsers may reject it
  doc.dependencies = [
    ...deps.map((d) => withoutIgnoredBrackets(d.text)),
    ...(addPip ? ['pip'] : []),
    ...(pip.length ? [{ pip }] : []),
  ];
  if (inFile && Object.keys(spec.variables).length) doc.variables = spec.variables;
  return {
    createSpec: dump(doc, { lineWidth: -1, noRefs: true }),
    legacyNoarch: spec.dependencies
      .filter((d) => legacy.has(d.spec.name.toLowerCase()))
      .map((d) => ({ name: d.spec.name, text: d.text, line: d.line })),
    gitEntries: spec.pip
      .filter((p) => p.kind === 'git')
      .map((p) => {
        const m = /^(-e|--editable)(?:\s+|=)(.+)$/.exec(p.text);
        return { args: m ? ['-e', m[2]!.trim()] : [p.text], line: p.line, text: p.text };
      }),
    scriptVariables: inFile ? {} : { ...spec.variables },
  };
}

/**
 * Record the outcome of testing a build as a verdict for `key` (a separate file written whole): the build record
 * is never rewritten by a test, so a pull request's tests cannot change the verdict main relies on.
 */
export function recordVerdict(
  root: string,
  record: BuildRecord,
  key: { key: string; tests: string; kernel: boolean },
  phase: PhaseRecord,
): Verdict {
  const stamp = readHistoryStamp(record.prefix);
  const verdict: Verdict = {
    format: VERDICT_FORMAT,
    env: record.env,
    buildId: record.buildId,
    key: key.key,
    inputs: { tests: testsHash(key.tests), kernel: key.kernel, procedure: TEST_PROCEDURE_VERSION },
    ok: phase.ok,
    testedAt: new Date().toISOString(),
    phase,
    ...(phase.failure ? { failure: phase.failure } : {}),
    ...(stamp ? { historyStamp: stamp } : {}),
  };
  // what the tested build's files are: status compares live builds with it (integrity of live builds)
  if (phase.ok) writeManifest(record.prefix, record.env, record.buildId);
  writeVerdict(root, record.condaVersion, verdict);
  return verdict;
}

// ---------------------------------------------------------------- the build

/**
 * The spec's pip entries the env lacks (read from its site-packages: engine/sitepackages.ts), as report lines
 * `FILE:LINE: entry: reason`; undefined when every entry is accounted for. `withGit: false` leaves out the git
 * entries (installed after create).
 */
export function pipShortfall(
  spec: EnvSpec,
  prefix: string,
  specDir: string,
  withGit: boolean,
): { lines: string[]; spec: string; package?: string } | undefined {
  if (!spec.pip.length) return undefined;
  const wanted = spec.pip.filter((p) => withGit || p.kind !== 'git');
  const { entries, unreadable, origin } = expandRequirements(wanted, specDir);
  const resolvePath = (p: string) => (isAbsolute(p) || p.startsWith('~') ? p : resolve(specDir, p));
  const short = accountPipEntries(entries, readInstalledDists(prefix), { resolvePath });
  const lines = [
    ...unreadable.map((e) => `${spec.file}:${e.line}: ${e.text}: cannot read the requirements file`),
    ...short.map((s) => {
      const from = origin.get(s.entry);
      return `${spec.file}:${s.entry.line}: ${from ? `${s.entry.text} (from ${from})` : s.entry.text}: ${s.reason}`;
    }),
  ];
  if (!lines.length) return undefined;
  const first = short[0]?.entry ?? unreadable[0]!;
  return { lines, spec: origin.get(first) ?? first.text, ...(first.name ? { package: first.name } : {}) };
}

/**
 * Run a conda call that may extract packages into the shared caches while holding their locks (core/pkgcache.ts):
 * builds run in parallel (--jobs) and conda does not lock its package cache. A build with a private cache (a pull
 * request's) extracts only into that one and reads the shared ones: it holds them as a reader, beside other readers
 * (the builds of `qa --jobs N` run side by side) but never beside a build that writes them. Waiting longer than
 * the phase's timeout is a timed-out call (classified `timeout`), as if conda itself had hung.
 */
async function withCacheLock(
  iso: BuildIsolation | undefined,
  timeoutSeconds: number,
  call: () => Promise<CondaCall>,
): Promise<CondaCall> {
  const caches = iso?.sharedCaches ?? [];
  if (!caches.length) return call();
  const t0 = Date.now();
  const mode = iso?.privateCache ? 'read' : 'write';
  const release = await acquireCacheLocks(caches, cacheLockPath, timeoutSeconds, mode);
  if (!release) {
    const which = caches.join(', ');
    const stderr =
      `conda-gitops: the package cache ${which} stayed locked by other builds for ${timeoutSeconds}s\n` +
      `${timeoutLine(timeoutSeconds)}\n`;
    return { argv: [], code: 124, stdout: '', stderr, seconds: (Date.now() - t0) / 1000, timedOut: true };
  }
  try {
    return await call();
  } finally {
    await release();
  }
}

/** Create a build's private home (core/hermetic.ts privateHome) in its temp dir. */
function makePrivateHome(work: string): PrivateHome {
  const home = privateHome(work);
  for (const d of home.dirs) mkdirSync(d, { recursive: true });
  for (const f of home.files) writeFileSync(f, '');
  return home;
}

/**
 * The call options of an isolated build. In the sandbox the env's build directory (ROOT/vX/builds/NAME) is an
 * empty stage directory of this build alone, so conda creates the prefix at its final path while other builds
 * of the env, this build's record, log and lock are absent; the build's temp dir is writable too, and the rest
 * of the file system, the rest of ROOT included, is read-only. The network stays: conda and pip fetch packages.
 * `unstage` moves the prefix from the stage to its place (one rename: the stage is in the same directory).
 */
function isolatedOptions(
  iso: BuildIsolation | undefined,
  prefix: string,
  work: string,
): { opts: CallOptions; unstage: () => void; hostPrefix: string } {
  // a private home, sandbox or not: the runner user's rc files never reach conda, and conda can write its registry
  const home = makePrivateHome(work);
  const env: Record<string, string> = { ...home.env };
  if (!iso) return { opts: { env }, unstage: () => {}, hostPrefix: prefix };
  const shared = iso.sharedCaches ?? [];
  if (shared.length && iso.privateCache) {
    const own = join(work, 'pkgs');
    mkdirSync(own);
    env.CONDA_PKGS_DIRS = [own, ...shared].join(',');
    // defence in depth: conda checks the files of every package it links against the package's own hashes
    env.CONDA_SAFETY_CHECKS = 'enabled';
    env.CONDA_EXTRA_SAFETY_CHECKS = 'true';
  }
  if (!iso.bwrap) return { opts: { env }, unstage: () => {}, hostPrefix: prefix };
  const envDir = dirname(prefix);
  const stage = mkdtempSync(join(envDir, `.stage-${basename(prefix)}-`));
  env.TMPDIR = work;
  // the user's caches (pip's wheels, conda's notices) are read-only in the sandbox: the build gets its own
  env.XDG_CACHE_HOME = join(work, 'cache');
  env.PIP_CACHE_DIR = join(work, 'cache', 'pip');
  return {
    // until unstaged, the prefix conda created in the sandbox is in the stage
    hostPrefix: join(stage, basename(prefix)),
    opts: {
      env,
      cwd: work,
      sandbox: {
        bwrap: iso.bwrap,
        // a trusted build (deploy, build) fills the shared cache; a pull request's cannot write it
        writable: [work, ...(iso.privateCache ? [] : shared.filter((d) => existsSync(d)))],
        binds: [[stage, envDir]],
        // conda reads /etc/conda and /var/lib/conda whatever CONDARC and HOME say (core/hermetic.ts)
        hide: [...SYSTEM_RC_DIRS],
        ...(iso.expose ? { expose: iso.expose } : {}),
        network: true,
      },
    },
    unstage: () => {
      if (!existsSync(stage)) return;
      const built = join(stage, basename(prefix));
      if (existsSync(built)) renameSync(built, prefix);
      rmSync(stage, { recursive: true, force: true });
    },
  };
}

/**
 * What an existing record means for this run, before building anything (core/envplan.ts buildStep decides):
 * built (or an old record, tested or failed only in its tests) -> reuse the build; failed with the same inputs ->
 * the same failure again unless it was transient or a retry was asked for; building -> our caller holds the lock,
 * so its owner is gone: rebuild. Whether the build needs testing is the verdict's business, not the build's.
 */
function decide(
  rec: StampedBuildRecord | undefined,
  prefixExists: boolean,
  retryFailed: boolean,
  fingerprint: () => string | undefined,
): BuildOutcome | 'build' {
  const facts = buildFacts(rec, prefixExists);
  const step = buildStep(facts, retryFailed, fingerprint);
  if (!rec || step === 'build') return 'build';
  if (step === 'reuse') return { status: 'built', record: rec, fresh: false, toolSeconds: 0 };
  return {
    status: 'failed',
    record: rec,
    failure: facts.failure!,
    phase: facts.failedPhase as PhaseName,
    fresh: false,
    toolSeconds: 0,
  };
}

/** Build one env (or reuse it). Never throws for a failed conda/pip call; I/O errors of our own do throw. */
export async function buildEnv(input: BuildInput): Promise<BuildOutcome> {
  const { root, condaVersion, env } = input;
  const paths = buildPaths(root, condaVersion, env.name, env.buildId);
  const read = () => readBuildRecord(root, condaVersion, env.name, env.buildId) as StampedBuildRecord | undefined;
  mkdirSync(join(paths.prefix, '..'), { recursive: true });
  const fingerprint = () => channelFingerprint(installationLayout(root, condaVersion).dir, env.spec.channels);

  // Fast path without the lock: a finished record never changes back.
  const early = read();
  if (early?.status !== 'building') {
    const d = decide(early, existsSync(paths.prefix), input.retryFailed ?? false, fingerprint);
    if (d !== 'build') return d;
  }

  const release = await acquireBuildLock(
    paths.record,
    () => {
      const rec = read();
      return !!rec && isOrphaned(rec);
    },
    input.lockWaitSeconds ?? DEFAULT_PHASE_TIMEOUT_SECONDS,
  );
  const startedAt = new Date();
  if (!release) {
    const busy = read();
    const owner = busy?.owner ? `pid ${busy.owner.pid} on ${busy.owner.host}` : 'another process';
    const failure: Classification = {
      class: 'timeout',
      excerpt: [`build ${env.buildId} of ${env.name} is locked by ${owner}; gave up waiting`],
    };
    return {
      status: 'failed',
      record: busy ?? placeholderRecord(input, paths, startedAt),
      failure,
      phase: 'create',
      fresh: false,
      toolSeconds: 0,
    };
  }
  try {
    // Under the lock: another process may have finished the same build while we waited.
    const d = decide(read(), existsSync(paths.prefix), input.retryFailed ?? false, fingerprint);
    if (d !== 'build') return d;
    // building (its owner is gone: we hold the lock), failed, or a record without its prefix: start over.
    if (existsSync(paths.prefix)) rmSync(paths.prefix, { recursive: true, force: true });
    return await runPhases(input, paths, startedAt);
  } finally {
    await release().catch(() => {});
  }
}

function placeholderRecord(
  input: BuildInput,
  paths: ReturnType<typeof buildPaths>,
  startedAt: Date,
): StampedBuildRecord {
  return {
    format: 1,
    env: input.env.name,
    buildId: input.env.buildId,
    specHash: specHash(input.env.spec),
    status: 'building',
    condaVersion: input.condaVersion,
    frontend: input.frontend,
    prefix: paths.prefix,
    phases: [],
    startedAt: startedAt.toISOString(),
    log: paths.log,
  };
}

async function runPhases(
  input: BuildInput,
  paths: ReturnType<typeof buildPaths>,
  startedAt: Date,
): Promise<BuildOutcome> {
  const { env } = input;
  const attempt = new BuildAttempt(input, paths, startedAt);
  const steps = buildSteps(env.spec, env.legacyNoarch, input.specDir, {
    variablesInFile: !variablesNeedScripts(input.condaVersion, input.frontend),
    ...(input.frontend === 'micromamba' ? {} : { condaVersion: input.condaVersion }),
  });
  const work = makeTempDir(`cg-build-${env.name}-`);
  try {
    const isolated = isolatedOptions(input.isolation, paths.prefix, work);
    Object.assign(attempt.opts, isolated.opts);
    attempt.unstage = isolated.unstage;
    attempt.hostPrefix = isolated.hostPrefix;
    return (
      (await attempt.create(steps, work, isolated.hostPrefix)) ??
      (await attempt.legacyNoarch(steps)) ??
      (await attempt.pipGit(steps)) ??
      (await attempt.recordPackages())
    );
  } finally {
    attempt.unstage();
    removeTempDir(work);
  }
}

/**
 * One build of an env, phase by phase: each phase method returns the outcome when the build ends there (failed or
 * aborted) and undefined when the next phase runs. The record on disk follows every phase.
 */
class BuildAttempt {
  record: StampedBuildRecord;
  toolSeconds = 0;
  unstage = () => {};
  /** where the prefix is on the host (a staging directory while the sandbox builds it) */
  hostPrefix = '';
  readonly timeoutSeconds: number;
  /** code the spec brings runs here (post-link scripts, pip build backends): its own PID namespace where possible */
  readonly opts: CallOptions;

  constructor(
    private readonly input: BuildInput,
    private readonly paths: ReturnType<typeof buildPaths>,
    private readonly startedAt: Date,
  ) {
    this.timeoutSeconds = input.timeoutSeconds ?? DEFAULT_PHASE_TIMEOUT_SECONDS;
    this.opts = { log: paths.log, timeoutSeconds: this.timeoutSeconds, contain: true };
    writeFileSync(paths.log, ''); // a new attempt starts a new log
    this.record = { ...placeholderRecord(input, paths, startedAt), owner: { pid: process.pid, host: hostname() } };
    writeBuildRecord(input.root, this.record);
  }

  /** 1. create from the derived file (conda writes its pip requirements file next to it, in our temp dir) */
  async create(steps: BuildSteps, work: string, hostPrefix: string): Promise<BuildOutcome | undefined> {
    const { input, paths } = this;
    const env = input.env;
    const file = join(work, `${env.name}.yml`);
    writeFileSync(file, steps.createSpec);
    input.onPhaseStart?.('create');
    const created = await withCacheLock(input.isolation, this.timeoutSeconds, () =>
      input.tools.createFromFile(file, paths.prefix, this.opts),
    );
    this.toolSeconds += created.seconds;
    if (created.code !== 0 || created.timedOut) return await this.fail('create', created, created.seconds);
    // conda 4.6.9-4.6.12 exit 0 when pip fails: what pip installed is read from the env, never assumed
    const shortfall = pipShortfall(env.spec, hostPrefix, input.specDir, false);
    if (shortfall) {
      const failure: Classification = {
        ...input.tools.classify(created),
        class: 'pip-failure',
        ...(shortfall.package ? { package: shortfall.package } : {}),
        spec: shortfall.spec,
      };
      failure.excerpt = [...shortfall.lines, ...failure.excerpt.filter((l) => !shortfall.lines.includes(l))].slice(
        0,
        20,
      );
      return this.failedWith('create', created.seconds, confineToSpec(failure, env.spec));
    }
    // conda < 4.9 cannot store `variables:`: activation scripts in the prefix set them instead
    if (Object.keys(steps.scriptVariables).length) {
      try {
        writeVariableScripts(hostPrefix, steps.scriptVariables);
      } catch (e) {
        if (!(e instanceof UnsafePathError)) throw e;
        // something the build ran planted a symlink where the tool writes: the build fails, nothing is written
        return this.failedWith('create', created.seconds, { class: 'unsafe-prefix', excerpt: [e.message] });
      }
    }
    this.phaseDone('create', created.seconds);
    return undefined;
  }

  /** 2. legacy noarch packages, one by one: their pre-link scripts fail inside a create on conda >= 4.4 */
  async legacyNoarch(steps: BuildSteps): Promise<BuildOutcome | undefined> {
    if (!steps.legacyNoarch.length) return undefined;
    const { input, paths } = this;
    input.onPhaseStart?.('legacy-noarch');
    let seconds = 0;
    for (const dep of steps.legacyNoarch) {
      const call = await withCacheLock(input.isolation, this.timeoutSeconds, () =>
        input.tools.install(paths.prefix, [dep.text], input.env.spec.channels, this.opts),
      );
      seconds += call.seconds;
      this.toolSeconds += call.seconds;
      if (call.code !== 0 || call.timedOut) return await this.fail('legacy-noarch', call, seconds);
    }
    // libmamba linked them without running their pre-link script, which is what installs their module files
    if (!(await input.tools.runsPreLinkScripts(this.opts))) {
      const failed = await this.runPreLinks(steps, seconds);
      if (typeof failed !== 'number') return failed;
      seconds = failed;
    }
    this.phaseDone('legacy-noarch', seconds);
    return undefined;
  }

  /**
   * The pre-link scripts of the legacy noarch packages a libmamba frontend linked without running them (they install
   * the package's files), as conda runs them. Resolves to the seconds so far, or the outcome when one fails.
   */
  async runPreLinks(steps: BuildSteps, secondsSoFar: number): Promise<BuildOutcome | number> {
    const { input, paths } = this;
    let seconds = secondsSoFar;
    const names = new Set(steps.legacyNoarch.map((d) => d.name.toLowerCase()));
    const records = (readCondaMetaRecords(this.hostPrefix) as LinkedRecord[]).filter(
      (r) => typeof r.name === 'string' && names.has(r.name.toLowerCase()) && isLegacyNoarchRecord(r),
    );
    for (const r of records) {
      const run = preLinkRun(r, paths.prefix);
      if (!run)
        return this.failedWith('legacy-noarch', seconds, {
          class: 'unknown',
          package: r.name,
          excerpt: [
            `${r.name} is a legacy noarch package and its conda-meta record does not say where it is ` +
              'extracted (extracted_package_dir): its pre-link script, which installs its files, cannot run',
          ],
        });
      const call = await input.tools.runScript(run.argv, run.env, { ...this.opts, logTitle: `pre-link of ${r.name}` });
      seconds += call.seconds;
      this.toolSeconds += call.seconds;
      if (call.code !== 0 || call.timedOut) return await this.fail('legacy-noarch', call, seconds);
    }
    return seconds;
  }

  /** 3. git pip entries: after create, each on its own so a failed clone names its entry */
  async pipGit(steps: BuildSteps): Promise<BuildOutcome | undefined> {
    if (!steps.gitEntries.length) return undefined;
    const { input, paths } = this;
    input.onPhaseStart?.('pip-git');
    let seconds = 0;
    for (const entry of steps.gitEntries) {
      const call = await input.tools.pipInstall(paths.prefix, entry.args, this.opts);
      seconds += call.seconds;
      this.toolSeconds += call.seconds;
      if (call.aborted) return this.aborted('pip-git', seconds);
      if (call.code !== 0 || call.timedOut) {
        const failure = { ...confineToSpec(input.tools.classify(call), input.env.spec), spec: entry.text };
        return this.failedWith('pip-git', seconds, failure);
      }
    }
    this.phaseDone('pip-git', seconds);
    return undefined;
  }

  /** 4. what got installed, for the test phase, the package diff and status drift */
  async recordPackages(): Promise<BuildOutcome> {
    this.input.onPhaseStart?.('record');
    const listed = await this.input.tools.list(this.paths.prefix, this.opts);
    this.toolSeconds += listed.call.seconds;
    if (listed.call.code !== 0 || !listed.packages) return await this.fail('record', listed.call, listed.call.seconds);
    this.phaseDone('record', listed.call.seconds);
    const record = this.finish('built', { packages: listed.packages });
    return { status: 'built', record, fresh: true, toolSeconds: this.toolSeconds };
  }

  finish(status: 'built' | 'failed' | 'aborted', extra: Partial<StampedBuildRecord> = {}): StampedBuildRecord {
    this.unstage();
    const stamp = status === 'built' ? readHistoryStamp(this.paths.prefix) : undefined;
    this.record = {
      ...this.record,
      ...extra,
      status,
      finishedAt: new Date().toISOString(),
      seconds: (Date.now() - this.startedAt.getTime()) / 1000,
      ...(stamp ? { historyStamp: stamp } : {}),
    };
    delete this.record.owner;
    writeBuildRecord(this.input.root, this.record);
    return this.record;
  }

  phaseDone(name: PhaseName, seconds: number, failure?: Classification): void {
    const phase: PhaseRecord = { name, ok: !failure, seconds, ...(failure ? { failure } : {}) };
    this.record = { ...this.record, phases: [...this.record.phases, phase] };
    writeBuildRecord(this.input.root, this.record);
    this.input.onPhase?.(name, seconds, !failure);
  }

  /** Classify a failed conda call; for a missing package or version, ask the channel what it has. */
  async failureOf(call: CondaCall): Promise<Classification> {
    const { tools, env } = this.input;
    // nothing pip read from a file may reach the report unless the spec wrote it
    const c = confineToSpec(tools.classify(call), env.spec);
    if ((c.class === 'missing-version' || c.class === 'missing-package') && c.package) {
      const versions = await tools.search(c.package, env.spec.channels, {
        ...this.opts,
        timeoutSeconds: Math.min(this.timeoutSeconds, 300),
      });
      if (versions && versions.length) return { ...c, class: 'missing-version', available: versions };
      if (versions) return { ...c, class: 'missing-package' };
    }
    return c;
  }

  /** An interrupted run: the record says `aborted` (no failure class), so the next run builds it again. */
  aborted(phase: PhaseName, seconds: number): BuildOutcome {
    this.record = { ...this.record, phases: [...this.record.phases, { name: phase, ok: false, seconds }] };
    this.input.onPhase?.(phase, seconds, false);
    return { status: 'aborted', record: this.finish('aborted'), phase, fresh: true, toolSeconds: this.toolSeconds };
  }

  async fail(phase: PhaseName, call: CondaCall, seconds: number): Promise<BuildOutcome> {
    if (call.aborted) return this.aborted(phase, seconds);
    const failure = await this.failureOf(call);
    this.phaseDone(phase, seconds, failure);
    const seen = DETERMINISTIC_FAILURES.has(failure.class)
      ? channelFingerprint(
          installationLayout(this.input.root, this.input.condaVersion).dir,
          this.input.env.spec.channels,
        )
      : undefined;
    const extra = { failure, ...(seen ? { channelFingerprint: seen } : {}) };
    const record = this.finish('failed', extra);
    return { status: 'failed', record, failure, phase, fresh: true, toolSeconds: this.toolSeconds };
  }

  /** The build fails in `phase` with a failure found without asking conda again. */
  failedWith(phase: PhaseName, seconds: number, failure: Classification): BuildOutcome {
    this.phaseDone(phase, seconds, failure);
    const record = this.finish('failed', { failure });
    return { status: 'failed', record, failure, phase, fresh: true, toolSeconds: this.toolSeconds };
  }
}
