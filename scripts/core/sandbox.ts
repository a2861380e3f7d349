/**
 * The sandbox builds and tests run in (docs/security.md, "Isolation of builds and tests"): pure decisions only.
 * `sandboxArgv` turns a description (what is writable, what is re-bound read-only, whether there is a network)
 * into a bubblewrap command line; `sandboxChoice` reads CONDA_GITOPS_SANDBOX; `unsandboxedTestsAllowed` reads
 * the inventory's opt-in. The executor (engine/process.ts) runs the argv; engine/sandbox.ts finds bwrap.
 */
import { UsageError } from './errors.js';

/** What one sandboxed call may touch. Every path is absolute; the rest of the file system is read-only. */
export interface SandboxSpec {
  /** the bwrap executable */
  bwrap: string;
  /** directories the call may write (they must exist) */
  writable: string[];
  /** directories bound read-only again on top of a writable one (e.g. a shared cache inside a writable tree) */
  readonly?: string[];
  /** [source, destination]: a writable directory seen at another path (a build's stage as its env directory) */
  binds?: Array<[string, string]>;
  /** false: no network at all (`--unshare-net`); env tests run without one */
  network: boolean;
  /** working directory inside the sandbox */
  cwd?: string;
}

function checkPath(p: string, what: string): string {
  if (!p.startsWith('/') || p.includes('\0') || p.split('/').includes('..'))
    throw new Error(`sandbox ${what} must be an absolute path without '..': '${p}'`);
  return p;
}

/**
 * The bubblewrap command line running `argv`: the whole file system read-only (`--ro-bind / /`), fresh /dev,
 * /proc and /dev/shm, its own PID, IPC and UTS namespaces (killing bwrap ends every process the call started),
 * a new session (no terminal to inject keystrokes into), the writable directories bound read-write (and
 * the moved ones at their destination), the read-only ones bound on top, and no network unless asked for.
 * Later binds win, so the order is fixed.
 */
export function sandboxArgv(spec: SandboxSpec, argv: readonly string[]): string[] {
  if (argv.length === 0) throw new Error('sandboxArgv needs a program to run');
  const binds = (flag: string, paths: readonly string[], what: string) =>
    paths.flatMap((p) => [flag, checkPath(p, what), p]);
  return [
    spec.bwrap,
    '--die-with-parent',
    '--new-session',
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-uts',
    ...(spec.network ? [] : ['--unshare-net']),
    '--ro-bind',
    '/',
    '/',
    '--dev',
    '/dev',
    '--proc',
    '/proc',
    '--tmpfs',
    '/dev/shm',
    ...binds('--bind', spec.writable, 'writable directory'),
    ...(spec.binds ?? []).flatMap(([from, to]) => [
      '--bind',
      checkPath(from, 'bind source'),
      checkPath(to, 'bind destination'),
    ]),
    ...binds('--ro-bind', spec.readonly ?? [], 'read-only directory'),
    ...(spec.cwd ? ['--chdir', checkPath(spec.cwd, 'working directory')] : []),
    '--',
    ...argv,
  ];
}

/** How builds and tests are isolated: `bwrap` or none at all. */
export type SandboxKind = 'bwrap' | 'none';

/** What CONDA_GITOPS_SANDBOX asks for: auto (bwrap when it works), bwrap (required) or none. */
export type SandboxRequest = 'auto' | SandboxKind;

export const SANDBOX_VARIABLE = 'CONDA_GITOPS_SANDBOX';

/** CONDA_GITOPS_SANDBOX=auto|bwrap|none (unset or empty: auto); anything else is a usage error (exit 2). */
export function sandboxRequest(value: string | undefined): SandboxRequest {
  const v = (value ?? '').trim();
  if (v === '' || v === 'auto') return 'auto';
  if (v === 'bwrap' || v === 'none') return v;
  throw new UsageError(`${SANDBOX_VARIABLE}=${v}: expected auto, bwrap or none`);
}

/** The sandbox a run uses, and when it has none, why (the report says so). */
export type Sandbox = { kind: 'bwrap'; bwrap: string } | { kind: 'none'; reason: string };

/** The inventory value that lets env tests run without a sandbox: `[conda] unsandboxed-tests = allow`. */
export const UNSANDBOXED_TESTS_KEY = 'unsandboxed-tests';

/** The line a report carries about isolation. */
export function isolationNote(sandbox: Sandbox, testsAllowed: boolean): string {
  if (sandbox.kind === 'bwrap') return 'builds and tests ran in a bubblewrap sandbox';
  return (
    `builds and tests ran WITHOUT a sandbox (${sandbox.reason}); ` +
    (testsAllowed
      ? `env test scripts ran unsandboxed because inventory.ini sets ${UNSANDBOXED_TESTS_KEY} = allow`
      : `env test scripts were not run: install bubblewrap on the runner, or set ${UNSANDBOXED_TESTS_KEY} = allow ` +
        'in [conda] of inventory.ini to accept the risk')
  );
}

/** The failure text of an env whose test script was refused because there is no sandbox. */
export function refusedTestMessage(script: string, reason: string): string {
  return (
    `${script} was not run: there is no sandbox (${reason}) and inventory.ini does not set ` +
    `${UNSANDBOXED_TESTS_KEY} = allow in [conda]; install bubblewrap on the runner`
  );
}
