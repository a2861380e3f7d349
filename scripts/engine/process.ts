/**
 * The process layer: every program conda-gitops runs (conda, pip, git, env tests) starts here, through zx's `$`,
 * which gives us nothrow results, the timeout, kill on abort and the captured output.
 *
 * An argument array reaches the program verbatim: zx's template quotes it into a command line, but that line
 * is only zx's record of the call; `Call.spawner` hands zx's spawn the array itself without a shell, so nothing
 * in it is ever interpreted (`$(...)`, quotes, globs) and the program gets exactly the environment the caller
 * passes (a shell in between would add PWD, SHLVL and `_`).
 * zx is imported on first use: it costs ~100 ms to load, which `--help` and commands that run nothing never pay.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { OutputStream } from '../core/conda-log.js';
import { hiddenDirs, sandboxArgv, type SandboxSpec } from '../core/sandbox.js';
import { HeadTail, OUTPUT_LIMIT_VARIABLE, outputLimit } from '../core/untrusted-output.js';

type Zx = typeof import('zx/core');
type Spawn = Zx['$']['spawn'];
type ZxOptions = import('zx/core').Options;

let zx: Promise<Zx> | undefined;
function loadZx(): Promise<Zx> {
  return (zx ??= import('zx/core'));
}

/** Grace between SIGTERM and SIGKILL when a call is killed (timeout or abort). */
export const KILL_GRACE_MS = 3000;
/**
 * After the program itself exits, how long its output pipes may stay open (a background child holding them)
 * before we stop reading and kill what is left of its process group.
 */
export const EXIT_GRACE_MS = 500;

/**
 * Every program we start carries CONDA_GITOPS_RUN=<run>.<call> in its environment; its descendants inherit it,
 * even those that leave the process group (`setsid`). When a call ends, processes still carrying its marker
 * are killed; when the CLI is interrupted, every process carrying this run's marker is.
 */
export const RUN_MARKER = 'CONDA_GITOPS_RUN';
const RUN_TOKEN = `${process.pid}-${randomBytes(4).toString('hex')}`;
let callSeq = 0;

/** Process groups of the calls running now: an interrupted CLI kills them all. */
const liveGroups = new Set<number>();
/** Aborted when the CLI is interrupted (SIGINT/SIGTERM): every running and future call is stopped. */
const runAbort = new AbortController();

/** The signal that ended this run early, if any. */
export function interruptedBy(): NodeJS.Signals | undefined {
  return runAbort.signal.aborted ? (runAbort.signal.reason as NodeJS.Signals) : undefined;
}

/**
 * Stop everything this process started: abort every call (running ones are killed with their whole group,
 * later ones do not start), then kill any process that still carries this run's marker.
 */
export function abortAllCalls(reason: NodeJS.Signals): void {
  if (!runAbort.signal.aborted) runAbort.abort(reason);
  for (const pid of liveGroups) signalGroup(pid, 'SIGTERM');
  sweepMarked(`${RUN_TOKEN}.`, 'SIGTERM');
}

/** Last resort (a second signal): SIGKILL every group and marked process now. */
export function killAllCalls(): void {
  for (const pid of liveGroups) signalGroup(pid, 'SIGKILL');
  sweepMarked(`${RUN_TOKEN}.`, 'SIGKILL');
}

/**
 * An interrupted run exits only when what it started is gone from the process table, not merely signalled: a
 * SIGKILLed process (and bwrap's die-with-parent chain) takes a moment to disappear, and a runner that cleans up
 * after a cancelled job must not find it. Polls, SIGKILLing what still carries the run's marker, for at most
 * `withinMs`; true when none is left.
 */
export async function settleInterruptedCalls(withinMs = 2000): Promise<boolean> {
  for (const started = Date.now(); ;) {
    for (const pid of liveGroups) signalGroup(pid, 'SIGKILL');
    if (sweepMarked(`${RUN_TOKEN}.`, 'SIGKILL') === 0) return true;
    if (Date.now() - started >= withinMs) return false;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/**
 * Kill processes whose environment carries a marker starting with `prefix` (descendants that left the process
 * group). Only processes of our own user are readable; a process that cleared its environment is not found
 * (docs/security.md, "Process lifetime").
 */
function sweepMarked(prefix: string, signal: NodeJS.Signals): number {
  if (!existsSync('/proc/self/environ')) return 0;
  // a whole call's marker ends with the variable (`.1` must not find `.10`); the run's prefix ends with `.`
  const entry = prefix.endsWith('.') ? `${RUN_MARKER}=${prefix}` : `${RUN_MARKER}=${prefix}\0`;
  const needle = Buffer.from(`\0${entry}`);
  const first = Buffer.from(entry);
  let killed = 0;
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid);
  } catch {
    return 0;
  }
  for (const pid of pids) {
    let environ: Buffer;
    try {
      environ = readFileSync(`/proc/${pid}/environ`);
    } catch {
      continue; // gone, or not ours
    }
    if (environ.includes(needle) || environ.subarray(0, first.length).equals(first)) {
      try {
        process.kill(Number(pid), signal);
        killed++;
      } catch {
        // already gone
      }
    }
  }
  return killed;
}

let bwrap: string | false | undefined;
/**
 * bubblewrap, when installed and usable by this user: a call run with `contain` gets its own PID namespace
 * (`--unshare-pid`, a fresh /proc): it sees no process outside it (so not the CLI's environment in /proc), and
 * when its main process ends every process inside dies with it, `setsid` or not (`--die-with-parent` too).
 */
export function containment(): string | false {
  if (bwrap !== undefined) return bwrap;
  bwrap = false;
  // CONDA_GITOPS_BWRAP: `none` turns the PID namespace off (the runner's admin decides; docs/security.md)
  const setting = process.env.CONDA_GITOPS_BWRAP;
  if (setting === 'none') return bwrap;
  for (const exe of setting ? [setting] : ['/usr/bin/bwrap', '/usr/local/bin/bwrap', '/bin/bwrap']) {
    if (!existsSync(exe)) continue;
    const probe = spawnSync(exe, [...CONTAIN_FLAGS, 'true'], { stdio: 'ignore', env: {}, timeout: 10_000 });
    if (probe.status === 0) bwrap = exe;
    break;
  }
  return bwrap;
}
const CONTAIN_FLAGS = [
  ...['--dev-bind', '/', '/', '--proc', '/proc', '--unshare-pid', '--die-with-parent', '--new-session'],
  ...['--cap-drop', 'ALL'],
  // bubblewrap sets PWD; the program gets exactly the environment its caller built
  ...['--unsetenv', 'PWD', '--'],
];

/**
 * CONDA_GITOPS_SANDBOX_EXPOSE: directories (`:`-separated, absolute) builds and tests may still read although
 * they are in a hidden place, such as an interpreter or a wheelhouse under the runner's home.
 */
export const EXPOSE_VARIABLE = 'CONDA_GITOPS_SANDBOX_EXPOSE';

/** The directories of the Actions runner its variables point into (the runner's own directory is their parent). */
const WORKSPACE_VARIABLES = ['RUNNER_WORKSPACE', 'GITHUB_WORKSPACE', 'RUNNER_TEMP'];

function isDirOrFile(p: string): boolean {
  try {
    const s = lstatSync(p);
    return s.isDirectory() || s.isFile();
  } catch {
    return false;
  }
}

function isRealDir(p: string): boolean {
  try {
    return lstatSync(p).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The one place a sandbox's command line is made: the caller's spec, completed with what this host must not show
 * (core/sandbox.ts hiddenDirs: the runner's home and Actions directory, /run, /tmp and /var/tmp;
 * only real directories, a symlink such as /var/run is covered by its target) and the exposed directories.
 */
export function sandboxCommand(spec: SandboxSpec, argv: readonly string[]): string[] {
  const hide = [
    ...hiddenDirs({
      home: process.env.HOME || homedir(),
      workspaces: WORKSPACE_VARIABLES.map((v) => process.env[v] ?? '').filter(Boolean),
    }),
    ...(spec.hide ?? []),
  ].filter(isRealDir);
  const exposed = (process.env[EXPOSE_VARIABLE] ?? '').split(':').filter((d) => d.startsWith('/'));
  // shown again: what exists, never a hidden directory itself or one holding it (that would undo the hiding)
  const expose = [...(spec.expose ?? []), ...exposed].filter(
    (p) => p !== '/' && !hide.some((h) => h === p || h.startsWith(`${p}/`)) && isDirOrFile(p),
  );
  // with the network, name resolution too: /etc/resolv.conf is often a link into /run (systemd-resolved)
  if (spec.network) {
    try {
      const resolv = realpathSync('/etc/resolv.conf');
      if (resolv !== '/etc/resolv.conf' && hide.some((h) => resolv.startsWith(`${h}/`))) expose.push(resolv);
    } catch {
      // no resolv.conf: nothing to show
    }
  }
  return sandboxArgv({ ...spec, hide: [...new Set(hide)], expose: [...new Set(expose)] }, argv);
}

/** The program bubblewrap would run exists (otherwise run it directly, so "cannot run" says why). */
function resolvable(file: string, env: NodeJS.ProcessEnv): boolean {
  if (file.includes('/')) return existsSync(file);
  return (env.PATH ?? '').split(':').some((d) => d && existsSync(join(d, file)));
}

/** argv run inside a PID namespace when bubblewrap is usable, as is otherwise. */
export function containedArgv(argv: readonly string[], env: NodeJS.ProcessEnv = {}): string[] {
  const exe = containment();
  return exe && argv[0] !== undefined && resolvable(argv[0], env) ? [exe, ...CONTAIN_FLAGS, ...argv] : [...argv];
}

export interface RunOptions {
  /** the program's whole environment, passed as is */
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** written to stdin; without it stdin is closed, so a program that prompts fails instead of hanging */
  input?: Buffer;
  /** SIGTERM the process group after this many seconds, SIGKILL it KILL_GRACE_MS later */
  timeoutSeconds?: number;
  /** aborting kills the process group the same way */
  signal?: AbortSignal;
  /** each chunk of output as it arrives */
  onOutput?: (stream: OutputStream, chunk: Buffer) => void;
  /** run inside this bubblewrap sandbox (core/sandbox.ts): only its writable directories can be written */
  sandbox?: SandboxSpec;
  /** run in a PID namespace of its own where bubblewrap is usable (builds and env tests: code a PR brings) */
  contain?: boolean;
  /**
   * bytes kept of each stream, head and tail halves (default CONDA_GITOPS_OUTPUT_LIMIT, else 16 MiB): `onOutput`
   * and the result get the head as it comes, then a cut notice and the tail; memory stays bounded
   */
  outputLimit?: number;
}

export interface RunResult {
  stdout: Buffer;
  stderr: Buffer;
  /** exit code; null when a signal ended the program or it never started */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** why the program could not be started */
  startError?: Error;
  timedOut: boolean;
  aborted: boolean;
  seconds: number;
}

/** A chunk store for zx that keeps nothing: the output is bounded by `HeadTail` instead. */
function discard(): Array<string | Buffer> {
  return Object.assign([] as Array<string | Buffer>, { push: () => 0 });
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is already gone
  }
}

/** The command line a call runs: in the QA sandbox, in a PID namespace of its own, or as given. */
function commandOf(argvIn: readonly string[], opts: RunOptions): { argv: string[]; contained: boolean } {
  // the bubblewrap sandbox of a QA build or test (core/sandbox.ts) has its own PID namespace; `contain` asks for
  // the PID namespace alone (builds and tests outside QA)
  const argv = opts.sandbox
    ? sandboxCommand(opts.sandbox, argvIn)
    : opts.contain
      ? containedArgv(argvIn, opts.env)
      : [...argvIn];
  return { argv, contained: argv.length !== argvIn.length };
}

/**
 * A call's output as it streams: each stream is bounded (core/untrusted-output.ts: a test printing gigabytes
 * costs the limit, never the gigabytes), handed to `onOutput` as it comes and kept for the result.
 */
class Capture {
  private readonly t0 = performance.now();
  private readonly kept: Record<OutputStream, Buffer[]> = { stdout: [], stderr: [] };
  private readonly bounds: Record<OutputStream, HeadTail>;

  constructor(
    private readonly onOutput: RunOptions['onOutput'],
    limit: number,
  ) {
    this.bounds = { stdout: new HeadTail(limit), stderr: new HeadTail(limit) };
  }

  /** A chunk the program wrote. */
  push(stream: OutputStream, chunk: Buffer): void {
    this.take(stream, this.bounds[stream].push(chunk));
  }

  /** The program is done: what the bounds still hold (a cut notice and the tail). */
  end(): void {
    this.take('stdout', this.bounds.stdout.end());
    this.take('stderr', this.bounds.stderr.end());
  }

  result(r: Partial<RunResult>): RunResult {
    return {
      stdout: Buffer.concat(this.kept.stdout),
      stderr: Buffer.concat(this.kept.stderr),
      code: null,
      signal: null,
      timedOut: false,
      aborted: false,
      seconds: (performance.now() - this.t0) / 1000,
      ...r,
    };
  }

  private take(stream: OutputStream, b: Buffer): void {
    if (!b.length) return;
    this.kept[stream].push(b);
    this.onOutput?.(stream, b);
  }
}

/**
 * One started program and its process group, from spawn to the end of the call: a timeout or an abort SIGTERMs
 * the group and SIGKILLs it KILL_GRACE_MS later; whatever the program leaves behind is killed when the call ends.
 */
class Call {
  /** marks the call's descendants that leave its group; a PID namespace needs none (its first process ends all) */
  readonly marker = `${RUN_TOKEN}.${++callSeq}`;
  readonly env: NodeJS.ProcessEnv;
  /** the caller's abort or the CLI's interruption */
  readonly signal: AbortSignal;
  pid: number | undefined;
  timedOut = false;
  aborted = false;
  private sigkill: NodeJS.Timeout | undefined;
  private exitTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly contained: boolean,
    opts: RunOptions,
  ) {
    this.env = contained ? { ...opts.env } : { ...opts.env, [RUN_MARKER]: this.marker };
    this.signal = opts.signal ? AbortSignal.any([opts.signal, runAbort.signal]) : runAbort.signal;
    // zx SIGTERMs the group on abort; this adds the SIGKILL for a program that ignores it
    this.signal.addEventListener('abort', this.onAbort, { once: true });
  }

  /** zx's spawn: the program's argv itself, no shell; its output to `output`. */
  spawner(nodeSpawn: Spawn, [file, ...args]: string[], output: Capture): Spawn {
    return ((_commandLine: string, _none: readonly string[], options: Record<string, unknown>) => {
      // no shell; zx kills the group on abort (Node's own `signal` would kill the child alone and report an error);
      // `input` is zx's to write
      const { shell: _shell, signal: _signal, input: _input, ...spawnOptions } = options;
      const child = nodeSpawn(file!, args, spawnOptions);
      this.pid = child.pid;
      if (this.pid !== undefined) liveGroups.add(this.pid);
      child.on('exit', () => this.exited(child));
      child.stdout?.on('data', (b: Buffer) => output.push('stdout', b));
      child.stderr?.on('data', (b: Buffer) => output.push('stderr', b));
      // a program may exit before reading all its input (git on a bad object): its exit code tells, not EPIPE
      child.stdin?.on('error', () => {});
      return child;
    }) as unknown as Spawn;
  }

  /** zx's timeout kills through this (its default lists the process tree with `ps`): the group, then SIGKILL. */
  readonly kill = async (target: number | string, signal?: NodeJS.Signals): Promise<void> => {
    this.timedOut = true;
    signalGroup(Number(target), signal ?? 'SIGTERM');
    this.killLater();
  };

  /** The call is over: no timer left, and nothing of the program still running. */
  end(): void {
    clearTimeout(this.sigkill);
    clearTimeout(this.exitTimer);
    this.signal.removeEventListener('abort', this.onAbort);
    if (this.pid !== undefined) {
      liveGroups.delete(this.pid);
      signalGroup(this.pid, 'SIGKILL');
    }
    // descendants that left the group (setsid) but still carry this call's marker (a PID namespace needs none)
    if (!this.contained) sweepMarked(this.marker, 'SIGKILL');
  }

  private readonly onAbort = (): void => {
    this.aborted = true;
    this.killLater();
  };

  private killLater(): void {
    const pid = this.pid;
    if (pid !== undefined && !this.sigkill) this.sigkill = setTimeout(() => signalGroup(pid, 'SIGKILL'), KILL_GRACE_MS);
  }

  /**
   * The program is done when it exits: what it left running in its group is killed, and output pipes a
   * background child still holds are closed after a short grace, so nothing outlives the call or hangs it.
   */
  private exited(child: ReturnType<Spawn>): void {
    const group = this.pid;
    if (group === undefined) return;
    signalGroup(group, 'SIGTERM');
    this.exitTimer = setTimeout(() => {
      signalGroup(group, 'SIGKILL');
      child.stdout?.destroy();
      child.stderr?.destroy();
    }, EXIT_GRACE_MS);
  }
}

/** How zx runs a call: every option is given, so ZX_* variables in the caller's environment cannot change it. */
function zxOptions(call: Call, opts: RunOptions, spawn: Spawn): Partial<ZxOptions> {
  const timeoutMs = opts.timeoutSeconds !== undefined && opts.timeoutSeconds > 0 ? opts.timeoutSeconds * 1000 : 0;
  return {
    spawn,
    env: call.env,
    // zx remembers the cwd it was loaded in; a call without one runs where the process is now
    cwd: opts.cwd ?? process.cwd(),
    stdio: [opts.input ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    ...(opts.input ? { input: opts.input } : {}),
    detached: true,
    nothrow: true,
    quiet: true,
    verbose: false,
    preferLocal: false,
    timeout: timeoutMs,
    timeoutSignal: 'SIGTERM',
    killSignal: 'SIGTERM',
    kill: call.kill,
    signal: call.signal,
    // zx keeps every chunk (stdout, stderr and both again) unless given a store: ours keeps nothing
    store: { stdout: discard(), stderr: discard(), stdall: discard() },
  };
}

/**
 * Run one program to its end and capture its output; never throws for the program's failures (nothrow).
 * The child leads its own process group, so a kill reaches conda together with the solver, pip and python
 * processes it started.
 */
export async function runProgram(argvIn: readonly string[], opts: RunOptions): Promise<RunResult> {
  const { argv, contained } = commandOf(argvIn, opts);
  if (argv[0] === undefined) throw new Error('runProgram needs a program to run');
  const { $ } = await loadZx();
  const output = new Capture(opts.onOutput, opts.outputLimit ?? outputLimit(process.env[OUTPUT_LIMIT_VARIABLE]));
  if (opts.signal?.aborted || runAbort.signal.aborted) return output.result({ aborted: true });
  const call = new Call(contained, opts);
  try {
    const done = await $(zxOptions(call, opts, call.spawner($.spawn, argv, output)))`${argv}`;
    output.end();
    return output.result({
      code: done.exitCode,
      signal: done.signal,
      timedOut: call.timedOut,
      aborted: call.aborted,
      ...(done.cause ? { startError: done.cause } : {}),
    });
  } finally {
    call.end();
  }
}
