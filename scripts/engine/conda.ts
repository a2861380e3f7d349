/**
 * The conda adapter: one thin executor for conda, mamba and micromamba (docs/qa.md; the fake conda:
 * test/fake-conda/README.md).
 * Every call is an argument array (never a shell string), returns a value even when it fails
 * ({argv, stdout, stderr, code, seconds, timedOut}: the caller classifies), and is streamed to
 * the per-env log the report links to. Processes run through zx (./process.ts). Argument construction is the
 * pure `buildArgv`.
 */
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { constants } from 'node:os';
import { dirname, join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import type { Frontend } from '../core/types.js';
import { faultPoint } from '../state/fsutil.js';
import { ABORTED_LINE, CallBlockWriter, timeoutLine, type OutputStream } from '../core/conda-log.js';
import { sortVersions } from '../core/conda-version.js';
import type { PackageRow } from '../core/types.js';
import type { SandboxSpec } from '../core/sandbox.js';
import { childEnv, envNameList } from '../core/childenv.js';
import { redact } from '../core/redact.js';
import { runProgram } from './process.js';

/** What every call returns. A non-zero `code` is a failure value, not an exception. */
export interface CallResult {
  argv: string[];
  stdout: string;
  stderr: string;
  code: number;
  seconds: number;
  timedOut: boolean;
  /** the call was stopped because its caller (or an interrupted CLI) aborted it */
  aborted?: boolean;
}

/** A call whose output is parsed: `value` is set when the call succeeded and its output parsed. */
export interface Call<T> extends CallResult {
  value?: T;
  /** why a successful call's output could not be parsed */
  parseError?: string;
}

/** How to run one call: the options of the adapter, the builds and the env tests alike. */
export interface CallOptions {
  /** per-env log file to stream this call to */
  log?: string;
  /** a `# title` line above the call's block in the log */
  logTitle?: string;
  /** kill the call (its whole process group) after this many seconds */
  timeoutSeconds?: number;
  /** kill the call (its whole process group) when this signal aborts */
  signal?: AbortSignal;
  /**
   * extra environment for this call (e.g. PIP_FIND_LINKS), over the allow-listed part of ours (core/childenv.ts:
   * never the runner's whole environment, never a secret-looking variable)
   */
  env?: Record<string, string | undefined>;
  /** false: `env` is the whole environment (tests run with a minimal one); secrets are dropped all the same */
  inheritEnv?: boolean;
  /** more variables of ours to pass (the inventory's `[conda] pass-env`); secret-looking ones never pass */
  passEnv?: readonly string[];
  /** run in a PID namespace of its own where bubblewrap is usable (builds and tests: see process.ts) */
  contain?: boolean;
  cwd?: string;
  /** run inside this sandbox (builds and tests of a QA run): see core/sandbox.ts */
  sandbox?: SandboxSpec;
}

/** Exit code reported for a call we killed on timeout (as coreutils `timeout` does). */
export const TIMEOUT_EXIT = 124;
/** Exit code reported when the program could not be started at all. */
export const NOT_FOUND_EXIT = 127;
/** Exit code reported for a call its caller aborted (as a shell reports an interrupted command). */
export const ABORTED_EXIT = 130;

/** A per-env log opened for appending; writes are queued in order and awaited by `close`. */
class LogAppender {
  private queue: Promise<unknown> = Promise.resolve();
  private constructor(
    private readonly file: FileHandle,
    private readonly path: string,
  ) {}

  static async open(path: string): Promise<LogAppender> {
    await mkdir(dirname(path), { recursive: true });
    return new LogAppender(await open(path, 'a'), path);
  }

  /** the first write the machine refused (a full disk): later writes are skipped, `close` throws it */
  private failed: unknown;

  append(text: string): void {
    text = redact(text);
    if (!text) return;
    this.queue = this.queue
      .then(() => {
        if (this.failed) return;
        faultPoint('log-append', this.path); // tests: a full disk while the log is written
        return this.file.appendFile(text);
      })
      .catch((e: unknown) => {
        this.failed ??= e; // never an unhandled rejection: the call goes on, its end reports it
      });
  }

  async close(): Promise<void> {
    try {
      await this.queue;
    } finally {
      await this.file.close();
    }
    if (this.failed) throw this.failed;
  }
}

/**
 * The environment of a call: the allow-listed part of ours plus the call's own variables, or exactly the call's
 * own (`inheritEnv: false`); in both cases without any secret-looking variable.
 */
export function callEnv(opts: Pick<CallOptions, 'env' | 'inheritEnv' | 'passEnv'>): Record<string, string> {
  if (opts.inheritEnv === false) return childEnv({}, { set: opts.env });
  const pass = [...(opts.passEnv ?? []), ...envNameList(process.env.CONDA_GITOPS_PASS_ENV)];
  return childEnv(process.env, { pass, ...(opts.env ? { set: opts.env } : {}) });
}

/**
 * Run one program (an argument array, no shell) and capture its output; with `log`, the call is streamed to
 * the log while it runs. A timeout or an abort kills the program's whole process group.
 */
export async function execute(argv: readonly string[], opts: CallOptions = {}): Promise<CallResult> {
  const log = opts.log ? await LogAppender.open(opts.log) : undefined;
  try {
    const block = new CallBlockWriter();
    const where = opts.sandbox
      ? `# sandbox: bwrap, writable ${opts.sandbox.writable.join(', ') || 'nothing'}, ` +
        `network ${opts.sandbox.network ? 'on' : 'off'}\n`
      : '';
    log?.append(`${opts.logTitle ? `# ${opts.logTitle}\n` : ''}${where}${block.header(argv, new Date())}`);
    // a multi-byte character may arrive split over two chunks
    const decoders = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };
    const streamToLog = (stream: OutputStream, chunk: Buffer) => {
      log?.append(block.output(stream, decoders[stream].write(chunk)));
    };
    const run = await runProgram(argv, {
      env: callEnv(opts),
      ...(opts.contain ? { contain: true } : {}),
      ...(opts.cwd ? { cwd: opts.cwd } : {}),
      ...(opts.timeoutSeconds !== undefined ? { timeoutSeconds: opts.timeoutSeconds } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.sandbox ? { sandbox: opts.sandbox } : {}),
      ...(log ? { onOutput: streamToLog } : {}),
    });
    let stdout = run.stdout.toString('utf8');
    let stderr = run.stderr.toString('utf8');
    // our own last line of stderr: the classifier maps it, whatever the killed program printed last
    let note: string | undefined;
    let code: number;
    if (run.startError) {
      code = NOT_FOUND_EXIT;
      note = `conda-gitops: cannot run ${argv[0]}: ${run.startError.message}`;
    } else if (run.timedOut) {
      code = TIMEOUT_EXIT;
      note = timeoutLine(opts.timeoutSeconds!);
    } else if (run.aborted) {
      code = ABORTED_EXIT;
      note = ABORTED_LINE;
    } else if (run.code !== null) {
      code = run.code;
    } else {
      code = 128 + (constants.signals[run.signal as keyof typeof constants.signals] ?? 0);
    }
    if (note) stderr += `${stderr && !stderr.endsWith('\n') ? '\n' : ''}${note}\n`;
    if (stdout && !stdout.endsWith('\n')) stdout += '\n';
    const call: CallResult = {
      argv: [...argv],
      stdout,
      stderr,
      code,
      seconds: run.seconds,
      timedOut: run.timedOut,
      ...(run.aborted && !run.timedOut ? { aborted: true } : {}),
    };
    if (log) {
      for (const stream of ['stdout', 'stderr'] as const) log.append(block.output(stream, decoders[stream].end()));
      log.append(block.flush() + (note ? block.output('stderr', `${note}\n`) : '') + block.footer(call));
    }
    return call;
  } finally {
    await log?.close();
  }
}

// ---------------------------------------------------------------------------------------------
// argv construction (pure)

export type Op =
  | { op: 'version' }
  | { op: 'info' }
  | { op: 'envList' }
  | { op: 'list'; prefix: string }
  | { op: 'export'; prefix: string; noBuilds?: boolean }
  | { op: 'createFromFile'; file: string; prefix: string }
  | { op: 'create'; prefix: string; specs: string[]; channels: string[] }
  | { op: 'install'; prefix: string; specs: string[]; channels: string[] }
  | { op: 'remove'; prefix: string }
  | { op: 'run'; prefix: string; argv: string[] }
  | { op: 'clean' }
  | { op: 'search'; name: string; channels: string[] };

/** A spec or name that starts with `-` would be read as a flag: refuse it (callers validate specs first). */
function positional(value: string, what: string): string {
  if (value === '' || value.startsWith('-'))
    throw new Error(`refusing ${what} '${value}': it would be read as an option`);
  return value;
}

function channelArgs(channels: string[]): string[] {
  // `nodefaults` means "no defaults" only inside an environment file: on a command line conda takes it as a
  // channel name (channel_alias/nodefaults) and fails. --override-channels already leaves defaults out.
  const noDefaults = channels.includes('nodefaults');
  const named = channels.filter((c) => c !== 'nodefaults' && !(noDefaults && c === 'defaults'));
  // only the spec's channels: the user's .condarc must not change what a build resolves to
  return named.length ? ['--override-channels', ...named.flatMap((c) => ['-c', positional(c, 'channel')])] : [];
}

/**
 * Which command line a frontend speaks: conda's (conda, mamba 1.x, a Python front-end over conda) or libmamba's
 * (micromamba, and mamba 2.x, the same C++ program).
 */
export type Cli = 'conda' | 'libmamba';

/** The CLI of a frontend: mamba's depends on its version (`--version`: 1.x prints `mamba X` + `conda Y`). */
export function cliOf(frontend: Frontend, version?: VersionInfo): Cli {
  if (frontend === 'micromamba') return 'libmamba';
  if (frontend === 'conda') return 'conda';
  return version && !version.conda && /^[2-9]|^\d\d/.test(version.version) ? 'libmamba' : 'conda';
}

/**
 * Arguments (after the executable) for one operation. conda and mamba 1.x share conda's CLI;
 * micromamba and mamba 2.x need `-y` on create, their own `env export --no-build` flag and `-r ROOT` on every
 * subcommand but `clean` (which refuses it: the adapter sets MAMBA_ROOT_PREFIX for it instead). Without `-r`,
 * mamba 2.0.0-2.0.5 take their root from the first `mamba` on PATH, whichever binary runs.
 */
export function buildArgv(frontend: Frontend, op: Op, rootPrefix?: string, cli: Cli = cliOf(frontend)): string[] {
  const micro = cli === 'libmamba';
  const root = micro && rootPrefix && op.op !== 'clean' ? ['-r', rootPrefix] : [];
  switch (op.op) {
    case 'version':
      return ['--version'];
    case 'info':
      return ['info', '--json', ...root];
    case 'envList':
      return ['env', 'list', '--json', ...root];
    case 'list':
      return ['list', '--json', ...root, '-p', op.prefix];
    case 'export':
      return [
        'env',
        'export',
        ...root,
        '-p',
        op.prefix,
        ...(op.noBuilds ? [micro ? '--no-build' : '--no-builds'] : []),
      ];
    case 'createFromFile':
      // conda <= 23 `env create` has no --yes; micromamba's create asks without -y
      return micro
        ? ['create', '-y', ...root, '-f', op.file, '-p', op.prefix]
        : ['env', 'create', '-f', op.file, '-p', op.prefix];
    case 'create':
    case 'install':
      return [
        op.op,
        '-y',
        ...root,
        '-p',
        op.prefix,
        ...channelArgs(op.channels),
        ...op.specs.map((s) => positional(s, 'spec')),
      ];
    case 'remove':
      return ['env', 'remove', '-y', ...root, '-p', op.prefix];
    case 'run':
      if (op.argv.length === 0) throw new Error('run needs a command');
      return ['run', ...root, '-p', op.prefix, ...op.argv];
    case 'clean':
      return ['clean', '--all', '-y', ...root];
    case 'search':
      return ['search', '--json', ...root, ...channelArgs(op.channels), positional(op.name, 'package name')];
  }
}

// ---------------------------------------------------------------------------------------------
// output parsing (pure)

export interface VersionInfo {
  frontend: Frontend;
  /** the frontend's own version (conda's for conda) */
  version: string;
  /** conda's version when the frontend reports it (conda; mamba 1.x prints both) */
  conda?: string;
}

const SEMVER = /(\d+\.\d+(?:\.\d+)?[0-9A-Za-z.+-]*)/;

/**
 * `--version` shapes: `conda 23.11.0` (stdout, or stderr under Python 2), mamba 1.x
 * `mamba 1.5.8` + `conda 23.11.0`, mamba 2.x and micromamba a bare `2.0.5`.
 */
export function parseVersionOutput(frontend: Frontend, stdout: string, stderr: string): VersionInfo | undefined {
  const text = `${stdout}\n${stderr}`;
  const conda = new RegExp(`(?:^|\\s)conda ${SEMVER.source}`, 'm').exec(text)?.[1];
  if (frontend === 'conda') return conda ? { frontend, version: conda, conda } : undefined;
  const named = new RegExp(`(?:^|\\s)${frontend} ${SEMVER.source}`, 'm').exec(text)?.[1];
  const bare = new RegExp(`^\\s*${SEMVER.source}\\s*$`, 'm').exec(text)?.[1];
  const version = named ?? bare;
  if (!version) return undefined;
  return { frontend, version, ...(conda ? { conda } : {}) };
}

/** The part of `info --json` the tool relies on, the same for conda and micromamba. */
export interface CondaInfo {
  version?: string;
  platform?: string;
  rootPrefix?: string;
  envsDirs: string[];
  pkgsDirs: string[];
  channels: string[];
  envs: string[];
  raw: Record<string, unknown>;
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : typeof v === 'string' ? [v] : [];
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** conda keys (`conda_version`, `root_prefix`, ...) or micromamba's (`base environment`, ...). */
export function normalizeInfo(raw: Record<string, unknown>): CondaInfo {
  return {
    version: str(raw.conda_version) ?? str(raw['micromamba version']) ?? str(raw['mamba version']),
    platform: str(raw.platform),
    rootPrefix: str(raw.root_prefix) ?? str(raw['base environment']),
    envsDirs: strings(raw.envs_dirs ?? raw['envs directories']),
    pkgsDirs: strings(raw.pkgs_dirs ?? raw['package cache']),
    channels: strings(raw.channels),
    envs: strings(raw.envs),
    raw,
  };
}

/** `conda list --json`: one PackageRow per row (conda's `build_string` becomes `build`). */
export function parseList(stdout: string): PackageRow[] {
  const data: unknown = JSON.parse(stdout);
  if (!Array.isArray(data)) throw new Error('conda list --json did not print a JSON array');
  const rows = data.filter(
    (p): p is { name: string; version: string; build_string?: unknown; channel?: unknown } =>
      typeof p?.name === 'string' && typeof p?.version === 'string',
  );
  return rows.map((p) => ({
    name: p.name,
    version: p.version,
    ...(typeof p.build_string === 'string' && p.build_string ? { build: p.build_string } : {}),
    ...(typeof p.channel === 'string' && p.channel ? { channel: p.channel } : {}),
  }));
}

/**
 * Versions of `name` in `search --json` output, oldest first: conda prints `{name: [records]}`,
 * micromamba `{"result": {"pkgs": [records]}}`. Records of other names (wildcard hits) are dropped.
 */
export function parseSearch(stdout: string, name: string): string[] {
  const data = JSON.parse(stdout) as Record<string, unknown>;
  let records: unknown[] = [];
  const result = data.result as { pkgs?: unknown } | undefined;
  if (result && Array.isArray(result.pkgs)) records = result.pkgs;
  else if (Array.isArray(data)) records = data;
  else for (const v of Object.values(data)) if (Array.isArray(v)) records.push(...v);
  const want = name.toLowerCase();
  const versions = records
    .filter((r): r is { name: string; version: string } => typeof (r as { version?: unknown })?.version === 'string')
    .filter((r) => typeof r.name !== 'string' || r.name.toLowerCase() === want)
    .map((r) => r.version);
  return sortVersions(versions);
}

/** conda search prints a JSON error object (PackagesNotFoundError) when nothing matches. */
function isNotFound(call: CallResult): boolean {
  return /PackagesNotFound|PackageNotFound|No match found|not available from current channels/.test(
    call.stdout + call.stderr,
  );
}

function parsed<T>(call: CallResult, parse: (stdout: string) => T): Call<T> {
  if (call.code !== 0) return call;
  try {
    return { ...call, value: parse(call.stdout) };
  } catch (e) {
    return { ...call, parseError: (e as Error).message };
  }
}

// ---------------------------------------------------------------------------------------------
// the adapter

export interface CondaConfig {
  frontend: Frontend;
  /** the conda / mamba / micromamba executable of the installation */
  exe: string;
  /** micromamba / mamba 2 root prefix (`-r`): the installation directory */
  rootPrefix?: string;
  /** defaults merged under every call's options */
  defaults?: CallOptions;
}

/** conda, mamba or micromamba of one installation. */
export class Conda {
  constructor(readonly config: CondaConfig) {}

  /** The adapter for an installation directory (`ROOT/vX`): `bin/<frontend>` inside it. */
  static forInstallation(dir: string, frontend: Frontend, defaults?: CallOptions): Conda {
    return new Conda({ frontend, exe: join(dir, 'bin', frontend), rootPrefix: dir, defaults });
  }

  get frontend(): Frontend {
    return this.config.frontend;
  }

  private options(o: CallOptions = {}): CallOptions {
    const d = this.config.defaults ?? {};
    return { ...d, ...o, env: { ...d.env, ...o.env }, passEnv: [...(d.passEnv ?? []), ...(o.passEnv ?? [])] };
  }

  private cli?: Promise<Cli>;

  /** conda's CLI or libmamba's: mamba's is known from its `--version` (asked once, not logged). */
  private cliFor(op: Op, o?: CallOptions): Promise<Cli> {
    if (this.frontend !== 'mamba' || op.op === 'version') return Promise.resolve(cliOf(this.frontend));
    this.cli ??= (async () => {
      const quiet = this.options(o);
      delete quiet.log;
      delete quiet.logTitle;
      const c = await execute([this.config.exe, ...buildArgv(this.frontend, { op: 'version' })], {
        ...quiet,
        timeoutSeconds: Math.min(quiet.timeoutSeconds ?? 60, 60),
      });
      return cliOf(this.frontend, c.code === 0 ? parseVersionOutput(this.frontend, c.stdout, c.stderr) : undefined);
    })();
    return this.cli;
  }

  /**
   * Run one operation; the result is always a value. For an installation, conda reads the installation's own
   * .condarc through CONDARC (libmamba: the only rc file). CONDARC adds a file to conda's search path, it removes
   * none: a build keeps the runner user's rc files out with a private home (core/hermetic.ts, engine/build.ts).
   * libmamba's clean takes no -r: the root goes in the environment (never an inherited one: core/childenv.ts).
   */
  async call(op: Op, o?: CallOptions): Promise<CallResult> {
    const cli = await this.cliFor(op, o);
    const root = this.config.rootPrefix;
    const rc = root ? { CONDARC: join(root, '.condarc') } : {};
    const clean = cli === 'libmamba' && op.op === 'clean' && root ? { MAMBA_ROOT_PREFIX: root } : {};
    const opts = this.options(o);
    const argv = [this.config.exe, ...buildArgv(this.frontend, op, root, cli)];
    return execute(argv, { ...opts, env: { ...rc, ...clean, ...opts.env } });
  }

  async version(o?: CallOptions): Promise<Call<VersionInfo>> {
    const c = await this.call({ op: 'version' }, o);
    if (c.code !== 0) return c;
    const value = parseVersionOutput(this.frontend, c.stdout, c.stderr);
    return value
      ? { ...c, value }
      : { ...c, parseError: `no version in '${(c.stdout + c.stderr).trim().slice(0, 200)}'` };
  }

  async info(o?: CallOptions): Promise<Call<CondaInfo>> {
    return parsed(await this.call({ op: 'info' }, o), (s) => normalizeInfo(JSON.parse(s) as Record<string, unknown>));
  }

  /** Absolute prefixes of every env the installation knows (base first). */
  async envList(o?: CallOptions): Promise<Call<string[]>> {
    return parsed(await this.call({ op: 'envList' }, o), (s) => strings((JSON.parse(s) as { envs?: unknown }).envs));
  }

  async list(prefix: string, o?: CallOptions): Promise<Call<PackageRow[]>> {
    return parsed(await this.call({ op: 'list', prefix }, o), parseList);
  }

  /** `env export` YAML text, exactly as the tool printed it. */
  async exportEnv(prefix: string, opts: { noBuilds?: boolean } = {}, o?: CallOptions): Promise<Call<string>> {
    return parsed(await this.call({ op: 'export', prefix, noBuilds: opts.noBuilds }, o), (s) => s);
  }

  createFromFile(file: string, prefix: string, o?: CallOptions): Promise<CallResult> {
    return this.call({ op: 'createFromFile', file, prefix }, o);
  }

  create(prefix: string, specs: string[], channels: string[], o?: CallOptions): Promise<CallResult> {
    return this.call({ op: 'create', prefix, specs, channels }, o);
  }

  install(prefix: string, specs: string[], channels: string[], o?: CallOptions): Promise<CallResult> {
    return this.call({ op: 'install', prefix, specs, channels }, o);
  }

  remove(prefix: string, o?: CallOptions): Promise<CallResult> {
    return this.call({ op: 'remove', prefix }, o);
  }

  run(prefix: string, argv: string[], o?: CallOptions): Promise<CallResult> {
    return this.call({ op: 'run', prefix, argv }, o);
  }

  /** `PREFIX/bin/python -m pip install ARGS`: the env's own pip, no conda in between. */
  pipInstall(prefix: string, args: string[], o?: CallOptions): Promise<CallResult> {
    return execute(pipInstallArgv(prefix, args), this.options(o));
  }

  clean(o?: CallOptions): Promise<CallResult> {
    return this.call({ op: 'clean' }, o);
  }

  /**
   * Does this frontend run packages' pre-link scripts? conda and mamba 1.x do; libmamba (micromamba, mamba 2)
   * never does (mamba-org/mamba libmamba/src/core/link.cpp: "mamba does not support pre-link scripts").
   */
  async runsPreLinkScripts(o?: CallOptions): Promise<boolean> {
    return (await this.cliFor({ op: 'clean' }, o)) !== 'libmamba';
  }

  /** A package's own script (argv, no shell string), with the variables conda gives it over ours. */
  runScript(argv: string[], env: Record<string, string>, o?: CallOptions): Promise<CallResult> {
    const opts = this.options(o);
    return execute(argv, { ...opts, env: { ...opts.env, ...env } });
  }

  /** Versions of `name` the channels have, oldest first; [] when the channels have none. */
  async search(name: string, channels: string[], o?: CallOptions): Promise<Call<string[]>> {
    const c = await this.call({ op: 'search', name, channels }, o);
    if (c.code !== 0 && !c.timedOut && isNotFound(c)) return { ...c, value: [] };
    return parsed(c, (s) => parseSearch(s, name));
  }
}

export function pipInstallArgv(prefix: string, args: string[]): string[] {
  return [join(prefix, 'bin', 'python'), '-m', 'pip', 'install', ...args];
}

/** Miniconda/Miniforge-style `.sh` installer in batch mode: `bash INSTALLER -b -p PREFIX`. */
export function installCondaArgv(installerPath: string, prefix: string): string[] {
  return ['bash', installerPath, '-b', '-p', prefix];
}

export function installConda(installerPath: string, prefix: string, o?: CallOptions): Promise<CallResult> {
  return execute(installCondaArgv(installerPath, prefix), o);
}
