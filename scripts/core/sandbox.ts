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
  /**
   * directories replaced by an empty tmpfs before anything is bound back (the runner's home and its Actions
   * directory, the host's /run, /tmp and /var/tmp): what is in them, files and Unix sockets alike, is out of
   * reach. Only existing directories may be named (the engine checks).
   */
  hide?: string[];
  /** directories bound back read-only after hiding (the installation root, an interpreter under the home) */
  expose?: string[];
  /** working directory inside the sandbox */
  cwd?: string;
}

function checkPath(p: string, what: string): string {
  if (!p.startsWith('/') || p.includes('\0') || p.split('/').includes('..'))
    throw new Error(`sandbox ${what} must be an absolute path without '..': '${p}'`);
  return p;
}

/**
 * The namespaces, capabilities and lifetime of every sandboxed call: checked by the probe, so a bwrap that cannot
 * do all of it is no sandbox.
 */
export const SANDBOX_FLAGS = ['--unshare-all', '--cap-drop', 'ALL', '--new-session', '--die-with-parent'] as const;

/** Hiding `/` or a directory the programs need (`/usr`, `/etc`...) would leave nothing to run: a bug. */
const SYSTEM_DIRS = ['/', '/usr', '/etc', '/bin', '/lib', '/lib64', '/sbin', '/dev', '/proc', '/sys', '/var', '/opt'];
function checkHidden(p: string): string {
  checkPath(p, 'hidden directory');
  const dir = p.replace(/\/+$/, '') || '/';
  if (SYSTEM_DIRS.includes(dir)) throw new Error(`sandbox hidden directory must not be a system directory: '${p}'`);
  return p;
}

/**
 * The directories a sandboxed call must not see, from the host's facts: the runner user's home (keys, tokens,
 * tool configuration), the GitHub Actions runner's own directory (`.credentials`, `.runner`, `_work`: the parent
 * of the `_work` directory its workspace variables point into), the host's /run (service sockets: docker, dbus,
 * systemd) and /tmp and /var/tmp (an ssh agent's or X server's socket, other users' files): every call, a build
 * with the network too, gets a private /tmp; what a build reads there is bound back read-only
 * (core/build-reads.ts). A home that is `/` or contains a system directory is not hidden (HOME=/).
 */
export function hiddenDirs(host: { home?: string; workspaces: readonly string[] }): string[] {
  const hide = new Set<string>(['/run', '/var/run', '/tmp', '/var/tmp']);
  const home = host.home?.replace(/\/+$/, '');
  if (home && home.startsWith('/') && !SYSTEM_DIRS.some((s) => s === home || s.startsWith(`${home}/`))) hide.add(home);
  for (const w of host.workspaces) {
    const parts = w.split('/');
    const at = parts.lastIndexOf('_work');
    if (w.startsWith('/') && at > 1) hide.add(parts.slice(0, at).join('/'));
  }
  return [...hide].filter((d) => !d.split('/').includes('..'));
}

/**
 * The bubblewrap command line running `argv`: every namespace of its own (`--unshare-all`: user, PID, IPC, UTS,
 * cgroup and network; `--share-net` gives a build the network back), no capabilities at all (`--cap-drop ALL`:
 * a root runner's sandbox cannot remount `/` read-write), a new session (no terminal to inject keystrokes
 * into), killed with its parent; the whole file system read-only (`--ro-bind / /`), fresh /dev, /proc and
 * /dev/shm, the hidden directories emptied (tmpfs), the exposed ones bound back read-only, the writable
 * directories bound read-write (and the moved ones at their destination), the read-only ones bound on top.
 * Later binds win, so the order is fixed.
 */
export function sandboxArgv(spec: SandboxSpec, argv: readonly string[]): string[] {
  if (argv.length === 0) throw new Error('sandboxArgv needs a program to run');
  const binds = (flag: string, paths: readonly string[], what: string) =>
    paths.flatMap((p) => [flag, checkPath(p, what), p]);
  return [
    spec.bwrap,
    ...SANDBOX_FLAGS,
    ...(spec.network ? ['--share-net'] : []),
    '--ro-bind',
    '/',
    '/',
    '--dev',
    '/dev',
    '--proc',
    '/proc',
    '--tmpfs',
    '/dev/shm',
    ...(spec.hide ?? []).flatMap((p) => ['--tmpfs', checkHidden(p)]),
    ...binds('--ro-bind', spec.expose ?? [], 'exposed directory'),
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
export type Sandbox =
  { kind: 'bwrap'; bwrap: string; asRoot?: boolean } | { kind: 'none'; reason: string; asRoot?: boolean };

/** The warning of a run whose runner is root (with or without a sandbox). */
export const ROOT_WARNING =
  'WARNING: the runner runs as root: the sandbox drops every capability, but a root runner is one escape away ' +
  'from the whole machine; run it as a dedicated unprivileged service user that owns ROOT';

/** The inventory value that lets env tests run without a sandbox: `[conda] unsandboxed-tests = allow`. */
export const UNSANDBOXED_TESTS_KEY = 'unsandboxed-tests';

/** The line a report carries about isolation. */
export function isolationNote(sandbox: Sandbox, testsAllowed: boolean): string {
  const root = sandbox.asRoot ? `; ${ROOT_WARNING}` : '';
  if (sandbox.kind === 'bwrap') return `builds and tests ran in a bubblewrap sandbox${root}`;
  return (
    `builds and tests ran WITHOUT a sandbox (${sandbox.reason}); ` +
    (testsAllowed
      ? `env test scripts ran unsandboxed because inventory.ini sets ${UNSANDBOXED_TESTS_KEY} = allow`
      : `env test scripts were not run: install bubblewrap on the runner, or set ${UNSANDBOXED_TESTS_KEY} = allow ` +
        'in [conda] of inventory.ini to accept the risk') +
    root
  );
}

/** The failure text of an env whose test script was refused because there is no sandbox. */
export function refusedTestMessage(script: string, reason: string): string {
  return (
    `${script} was not run: there is no sandbox (${reason}) and inventory.ini does not set ` +
    `${UNSANDBOXED_TESTS_KEY} = allow in [conda]; install bubblewrap on the runner`
  );
}
