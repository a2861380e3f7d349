/**
 * The process layer: every program conda-gitops runs (conda, pip, git, env tests) starts here, through zx's `$`,
 * which gives us nothrow results, the timeout, kill on abort and the captured output.
 *
 * An argument array reaches the program verbatim: zx's template quotes it into a command line, but that line
 * is only zx's record of the call; `spawnArgv` hands zx's spawn the array itself without a shell, so nothing
 * in it is ever interpreted (`$(...)`, quotes, globs) and the program gets exactly the environment the caller
 * passes (a shell in between would add PWD, SHLVL and `_`).
 * zx is imported on first use: it costs ~100 ms to load, which `--help` and commands that run nothing never pay.
 */
import type { OutputStream } from '../core/conda-log.js';
import { sandboxArgv, type SandboxSpec } from '../core/sandbox.js';

type Zx = typeof import('zx/core');
type Spawn = Zx['$']['spawn'];

let zx: Promise<Zx> | undefined;
function loadZx(): Promise<Zx> {
  return (zx ??= import('zx/core'));
}

/** Grace between SIGTERM and SIGKILL when a call is killed (timeout or abort). */
export const KILL_GRACE_MS = 3000;

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

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is already gone
  }
}

/**
 * Run one program to its end and capture its output; never throws for the program's failures (nothrow).
 * The child leads its own process group, so a kill reaches conda together with the solver, pip and python
 * processes it started.
 */
export async function runProgram(program: readonly string[], opts: RunOptions): Promise<RunResult> {
  const argv = opts.sandbox ? sandboxArgv(opts.sandbox, program) : program;
  const [file, ...args] = argv;
  if (file === undefined) throw new Error('runProgram needs a program to run');
  const { $ } = await loadZx();
  const t0 = performance.now();
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  const result = (r: Partial<RunResult>): RunResult => ({
    stdout: Buffer.concat(stdout),
    stderr: Buffer.concat(stderr),
    code: null,
    signal: null,
    timedOut: false,
    aborted: false,
    seconds: (performance.now() - t0) / 1000,
    ...r,
  });
  if (opts.signal?.aborted) return result({ aborted: true });

  let pid: number | undefined;
  let timedOut = false;
  let aborted = false;
  let sigkill: NodeJS.Timeout | undefined;
  const killLater = () => {
    if (pid !== undefined && !sigkill) sigkill = setTimeout(() => signalGroup(pid!, 'SIGKILL'), KILL_GRACE_MS);
  };
  const nodeSpawn = $.spawn;
  const spawnArgv = ((_commandLine: string, _none: readonly string[], options: Record<string, unknown>) => {
    // no shell; zx kills the group on abort (Node's own `signal` would kill the child alone and report an error);
    // `input` is zx's to write
    const { shell: _shell, signal: _signal, input: _input, ...spawnOptions } = options;
    const child = nodeSpawn(file, args, spawnOptions);
    pid = child.pid;
    child.stdout?.on('data', (b: Buffer) => {
      stdout.push(b);
      opts.onOutput?.('stdout', b);
    });
    child.stderr?.on('data', (b: Buffer) => {
      stderr.push(b);
      opts.onOutput?.('stderr', b);
    });
    // a program may exit before reading all its input (git on a bad object): its exit code tells, not EPIPE
    child.stdin?.on('error', () => {});
    return child;
  }) as unknown as Spawn;
  // zx SIGTERMs the group on abort; this adds the SIGKILL for a program that ignores it
  const onAbort = () => {
    aborted = true;
    killLater();
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });

  const timeoutMs = opts.timeoutSeconds !== undefined && opts.timeoutSeconds > 0 ? opts.timeoutSeconds * 1000 : 0;
  try {
    const output = await $({
      spawn: spawnArgv,
      env: opts.env,
      // zx remembers the cwd it was loaded in; a call without one runs where the process is now
      cwd: opts.cwd ?? process.cwd(),
      stdio: [opts.input ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      ...(opts.input ? { input: opts.input } : {}),
      detached: true,
      nothrow: true,
      quiet: true,
      verbose: false,
      preferLocal: false,
      // every option ZX_* variables could set is given here, so the caller's environment cannot change a call
      timeout: timeoutMs,
      timeoutSignal: 'SIGTERM',
      killSignal: 'SIGTERM',
      // zx's timeout kills through this (its default lists the process tree with `ps`): the group, then SIGKILL
      kill: async (target: number | string, signal?: NodeJS.Signals) => {
        timedOut = true;
        signalGroup(Number(target), signal ?? 'SIGTERM');
        killLater();
      },
      ...(opts.signal ? { signal: opts.signal } : {}),
    })`${argv}`;
    return result({
      code: output.exitCode,
      signal: output.signal,
      timedOut,
      aborted,
      ...(output.cause ? { startError: output.cause } : {}),
    });
  } finally {
    clearTimeout(sigkill);
    opts.signal?.removeEventListener('abort', onAbort);
  }
}
