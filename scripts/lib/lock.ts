/**
 * The single-writer lock of an installation root: `ROOT/.gitops/lock` (design section 10).
 * proper-lockfile makes it with mkdir (atomic on NFS too) and refreshes its mtime while held, so a lock whose
 * holder died goes stale. Beside it, `lock.holder.json` says who holds it, so a waiter can name the holder,
 * and can break the lock at once when the holder was a process of this host that no longer exists (kill -9).
 */
import { lstatSync, mkdirSync, rmdirSync, unlinkSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import lockfile from 'proper-lockfile';
import { BusyError, UsageError } from './errors.js';
import { readJsonIfExists, writeJsonAtomic } from './fsutil.js';
import { layout } from './layout.js';

/** A holder refreshes the lock every STALE_MS/2; a lock older than this is someone else's to take. */
const STALE_MS = 30_000;
const POLL_MS = 50;

export interface LockHolder {
  pid: number;
  host: string;
  user: string;
  command: string;
  since: string;
  /** inode of the lock directory this holder made: a dead holder's file never breaks a newer lock */
  lockIno: number;
}

export interface HeldLock {
  holder: LockHolder;
  /** throws BusyError when the lock was lost (e.g. the process was frozen longer than the stale time) */
  assertHeld(): void;
  release(): Promise<void>;
}

export function holderPath(root: string): string {
  return `${layout(root).lock}.holder.json`;
}

export function readHolder(root: string): LockHolder | undefined {
  try {
    return readJsonIfExists<LockHolder>(holderPath(root));
  } catch {
    return undefined; // torn or foreign file: we only use it to inform
  }
}

export function describeHolder(h: LockHolder | undefined): string {
  if (!h) return 'an unknown process (no holder file yet)';
  return `pid ${h.pid} on ${h.host} (user ${h.user}, \`${h.command}\`, since ${h.since})`;
}

function currentUser(): string {
  try { return userInfo().username; } catch { return process.env.USER ?? `uid ${process.getuid?.() ?? '?'}`; }
}

function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Break the lock when its recorded holder is a dead process of this host and the lock dir is the one it made. */
function breakDeadHolder(root: string): boolean {
  const h = readHolder(root);
  if (!h || h.host !== hostname() || !processGone(h.pid)) return false;
  const lockDir = layout(root).lock;
  try {
    if (lstatSync(lockDir).ino !== h.lockIno) return false;
    rmdirSync(lockDir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  return true;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Take the lock, waiting up to `waitSeconds`; BusyError naming the holder when it stays taken. */
export async function acquireLock(root: string, opts: { waitSeconds: number; command: string }): Promise<HeldLock> {
  const lay = layout(root);
  mkdirSync(lay.gitops, { recursive: true });
  const deadline = Date.now() + Math.max(0, opts.waitSeconds) * 1000;
  let compromised: Error | undefined;
  let release: () => Promise<void>;
  for (;;) {
    try {
      release = await lockfile.lock(lay.gitops, {
        lockfilePath: lay.lock,
        realpath: false,
        stale: STALE_MS,
        retries: 0,
        onCompromised: (e) => { compromised = e; }, // default would throw from a timer and kill the process
      });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ELOCKED') throw e;
      if (breakDeadHolder(root)) continue;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new BusyError(
          `${lay.lock} is held by ${describeHolder(readHolder(root))}; ` +
            `try again later or wait for it with --wait SECONDS`,
        );
      }
      await sleep(Math.min(POLL_MS, left));
    }
  }
  const holder: LockHolder = {
    pid: process.pid,
    host: hostname(),
    user: currentUser(),
    command: opts.command,
    since: new Date().toISOString(),
    lockIno: lstatSync(lay.lock).ino,
  };
  writeJsonAtomic(holderPath(root), holder);
  return {
    holder,
    assertHeld() {
      if (compromised) throw new BusyError(`lost ${lay.lock} while working (${compromised.message}); nothing more was changed`);
    },
    async release() {
      // holder file first: after the lock dir goes, the file may already belong to the next holder
      if (readHolder(root)?.pid === process.pid) {
        try { unlinkSync(holderPath(root)); } catch { /* already gone */ }
      }
      try { await release(); } catch { /* compromised locks are already released */ }
    },
  };
}

/** Run `fn` holding the lock; the lock is released whatever happens (a kill -9 leaves it for the next run to break). */
export async function withLock<T>(
  root: string,
  opts: { waitSeconds: number; command: string },
  fn: (lock: HeldLock) => Promise<T>,
): Promise<T> {
  const lock = await acquireLock(root, opts);
  try {
    return await fn(lock);
  } finally {
    await lock.release();
  }
}

/** Parse `--wait SECONDS` (default 0: fail at once, exit 3). */
export function waitSeconds(value: string | undefined): number {
  if (value === undefined) return 0;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new UsageError(`--wait expects a number of seconds, got '${value}'`);
  return n;
}
