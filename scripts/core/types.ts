/** Shared domain types. Pure data: no behaviour, no I/O. */

export type Frontend = 'conda' | 'mamba' | 'micromamba';
export type EnvMode = 'REPLICATE' | 'export';

/** inventory.ini, parsed and validated. Every entry remembers its line. */
export interface Inventory {
  file: string;
  conda: {
    root?: string;
    version: string;
    frontend: Frontend;
    installer?: string;
    /** `installer-sha256`: the installer must have this SHA-256 (hex) */
    installerSha256?: string;
    channels: string[];
    /** .condarc keys of the installation install-conda writes (core/install-conda.ts renders them) */
    customChannels?: Record<string, string>;
    channelAlias?: string;
    defaultChannels?: string[];
    pkgsDirs?: string[];
    envsDirs?: string[];
    solver?: 'classic' | 'libmamba';
    /** [conda] pip-git-hosts: hosts (or URL prefixes) `git+` pip entries may name; none when unset */
    pipGitHosts?: string[];
    /** [conda] pip-indexes: URLs pip index options (--index-url, -f, ...) may name; none when unset */
    pipIndexes?: string[];
    /** `unsandboxed-tests = allow`: env test scripts run even where there is no sandbox (docs/security.md) */
    unsandboxedTests?: boolean;
    /** `pass-env`: more variables of the runner's environment given to conda, pip and env tests */
    passEnv?: string[];
    /** `allow-failures`: REPLICATE envs a deploy may leave out when they have no passing build (core/deploy.ts) */
    allowFailures?: string[];
    line: number;
    /** the line of each [conda] key as written (`installer` -> 7): a message about a value points at it */
    keyLines?: Record<string, number>;
  };
  environments: Array<{ name: string; mode: EnvMode; line: number }>;
  /** `ENV = Name` (ipykernel) or `ENV:SPEC = Name` (a kernelspec the env ships): `name` is ENV */
  kernels: Array<{ name: string; displayName: string; spec?: string; line: number }>;
  legacyNoarch: Array<{ name: string; line: number }>;
}

/** A conda MatchSpec split into its parts (enough for normalisation and checks). */
export interface MatchSpec {
  /** channel prefix as written (`conda-forge::numpy`), if any */
  channel?: string;
  name: string;
  /** conda version spec text, e.g. `1.21.*`, `>=1.20,<2`, `==1.21.0`; undefined = any */
  version?: string;
  /** build string or glob, e.g. `py39h1234_0`, `*openblas` */
  build?: string;
  /** `[url=...]`: one package file, downloaded from there */
  url?: string;
}

export type PipKind = 'pinned' | 'range' | 'name' | 'git' | 'editable' | 'requirements' | 'url' | 'option' | 'path';

export interface PipEntry {
  text: string;
  kind: PipKind;
  /** distribution name where one can be read (`requests`, `#egg=foo`, `name @ URL`) */
  name?: string;
  /** for pinned: the version */
  version?: string;
  line: number;
}

export interface CondaDependency {
  text: string;
  spec: MatchSpec;
  line: number;
}

/** One env-specs/NAME.yml, parsed. */
export interface EnvSpec {
  file: string;
  name: string;
  channels: string[];
  /** line of each entry of `channels` */
  channelLines?: number[];
  dependencies: CondaDependency[];
  pip: PipEntry[];
  /** line of the `- pip:` item, when there is one */
  pipLine?: number;
  variables: Record<string, string>;
  /** requirements files the pip section reads (`-r FILE`): file name -> sha256 (core/requirements.ts) */
  requirementDigests?: Record<string, string>;
}

/** Canonical, order-independent form of a spec: the input of the build id. */
export interface NormalizedSpec {
  channels: string[];
  dependencies: string[];
  pip: string[];
  variables: Array<[string, string]>;
}

export type BuildStatus = 'building' | 'built' | 'failed' | 'tested' | 'aborted';

export type FailureClass =
  | 'missing-package'
  | 'missing-version'
  | 'unsatisfiable'
  | 'pip-failure'
  | 'git-clone-failure'
  | 'channel-unreachable'
  | 'timeout'
  | 'test-failure'
  /** a build left a symlink (or a file) where the tool writes into the prefix; nothing was written through it */
  | 'unsafe-prefix'
  | 'unknown';

export interface Classification {
  class: FailureClass;
  /** package name at fault, when the log names one */
  package?: string;
  /** the requested spec at fault, as the log wrote it */
  spec?: string;
  /** versions the channel has for that package, when known */
  available?: string[];
  /** the lines of the log that explain the failure (trimmed) */
  excerpt: string[];
}

export interface PhaseRecord {
  name: 'create' | 'legacy-noarch' | 'pip-git' | 'record' | 'test';
  ok: boolean;
  seconds: number;
  failure?: Classification;
}

/** builds/NAME/<build-id>.json, versioned so later formats can read old builds. */
export interface BuildRecord {
  format: 1;
  env: string;
  buildId: string;
  specHash: string;
  status: BuildStatus;
  condaVersion: string;
  frontend: Frontend;
  prefix: string;
  phases: PhaseRecord[];
  startedAt: string;
  finishedAt?: string;
  seconds?: number;
  log: string;
  owner?: { pid: number; host: string };
  /** set by rollback: main asking for this build again needs --force */
  bad?: { at: string; reason: string };
  /** set by `deploy --repair` on a build changed by hand: replaced by the fresh build `repairedBy`, kept until gc */
  tainted?: { at: string; reason: string; repairedBy: string };
  /** a repair build (`<id>.rN`): the hand-changed build it replaced */
  repairOf?: string;
  failure?: Classification;
  /**
   * fingerprint of the channel index the failed build saw (local channels' repodata.json); without it, or when
   * it changed, a recorded failure is not reused
   */
  channelFingerprint?: string;
  /** `conda list --json` essentials, recorded after a successful build */
  packages?: Array<{ name: string; version: string; build?: string; channel?: string }>;
}

// ---- QA run results (appended by the report module; produced by the pipeline, rendered by report.ts) ----

/** One package of an env as `conda list --json` lists it: what tests check and package diffs compare. */
export interface PackageRow {
  name: string;
  version: string;
  build?: string;
  channel?: string;
}

/** The outcome of one env in a QA run. Failures are values: one env failing never stops the others. */
export interface EnvRunResult {
  env: string;
  buildId?: string;
  /** tested: built (or finished) and tested in this run; reused: a tested build with this id already existed */
  status: 'tested' | 'reused' | 'failed';
  /** the phase that failed: a build phase, `spec` (the spec could not be read) or `plan` (a plan-time guard) */
  phase?: PhaseRecord['name'] | 'spec' | 'plan';
  failure?: Classification;
  /** remediation hint (classify.hintFor), when the env failed */
  hint?: string;
  /** spec file (repo-relative, `env-specs/NAME.yml`) and line of the dependency at fault */
  file?: string;
  line?: number;
  seconds: number;
  phases: PhaseRecord[];
  /** absolute path of the env's log */
  log?: string;
  /** the candidate build's packages (`conda list --json`) */
  packages?: PackageRow[];
  /** the live build's packages; undefined when the env is not live yet */
  livePackages?: PackageRow[];
}

/** Everything report.ts needs to write a run's report.json, summary.md and junit.xml. */
export interface QaRunResult {
  runId: string;
  startedAt: string;
  finishedAt: string;
  root: string;
  condaVersion: string;
  frontend: Frontend;
  /** ROOT/.gitops/runs/<run-id> */
  runDir: string;
  base?: string;
  head?: string;
  /** the allow-list the run checked sources against, and what the PR would add to it */
  allowList?: AllowListInfo;
  /** how builds and tests were isolated (docs/security.md) */
  isolation?: { sandbox: 'bwrap' | 'none'; note: string; asRoot?: boolean };
  envs: EnvRunResult[];
  /** what merging the head does beyond the envs built (from the diff against the base) */
  merge?: MergeChanges;
  /** a run whose head names another conda version than its base (or a version QA had to install) */
  upgrade?: UpgradeInfo;
}

/** The conda upgrade of a QA run: the installation of the head's version and the envs it does not replicate. */
export interface UpgradeInfo {
  /** the base's conda version (absent without a base) */
  from?: string;
  to: string;
  /** installed by this run, present already, or failed (nothing was built) */
  installation: 'installed' | 'present' | 'failed';
  /** the install log (install-conda's output) */
  log?: string;
  /** what went wrong, and the installer's last lines (installation failed) */
  message?: string;
  output?: string[];
  /** `export` envs: kept in git, never replicated into the new installation */
  notReplicated: string[];
}

/** Everything a merge does to the installation, for reviewers: envs added, changed, dropped, kernel changes. */
export interface MergeChanges {
  added: string[];
  changed: string[];
  /** REPLICATE at base, not at head: unlinked for everyone at deploy */
  dropped: string[];
  kernels: { added: string[]; removed: string[]; changed: string[] };
}

/** The allow-list of a QA run (docs/security.md, "Allow-lists"). */
export interface AllowListInfo {
  channels: string[];
  pipGitHosts: string[];
  pipIndexes: string[];
  /** `base`: the base commit's inventory (a PR cannot widen what it is checked against) */
  from: 'base' | 'head';
  /** what the PR's inventory would add, one line each */
  widened: string[];
  /** the PR changes only the allow-list (then nothing is built and QA passes for admin review) */
  allowListOnly: boolean;
}

/** Size and mtime of a build's `conda-meta/history` (append-only): a change means someone ran conda in a live build. */
export interface HistoryStamp {
  mtimeMs: number;
  size: number;
}

/** A build record as deploy/status read it: the builder may add the history stamp it saw when it finished. */
export interface StampedBuildRecord extends BuildRecord {
  historyStamp?: HistoryStamp;
}
