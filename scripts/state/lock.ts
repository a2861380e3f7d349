/**
 * The single-writer lock of an installation root: `ROOT/.gitops/lock` (docs/deploy.md).
 *
 * proper-lockfile does the locking: the lock is a directory whose creation is atomic (also on NFS), and
 * the holder refreshes its mtime, so the lock of a holder that died goes stale. We hand it a filesystem
 * whose `mkdir` creates the lock directory *with* `holder.json` inside (built under a temporary name,
 * then renamed into place: rename(2) is atomic and fails on an existing non-empty directory). So a lock
 * never exists without its holder: a waiter can always name the holder, and can break the lock at once
 * when the holder was a process of this host that no longer exists (kill -9), instead of waiting for
 * the stale time.
 */
import fs from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { BusyError } from '../core/errors.js';
import { layout } from '../core/layout.js';
import { checkText, readChecked } from './checked.js';

/** A holder refreshes the lock every STALE_MS/2; a lock not refreshed for this long is someone else's to take. */
const STALE_MS = 30_000;
const POLL_MS = 50;
const HOLDER_FILE = 'holder.json';

export interface LockHolder {
  pid: number;
  host: string;
  user: string;
  command: string;
  since: string;
}

export interface HeldLock {
  holder: LockHolder;
  /** throws BusyError when the lock was lost (e.g. the process was frozen longer than the stale time) */
  assertHeld(): void;
  release(): Promise<void>;
}

function holderPath(root: string): string {
  return join(layout(root).lock, HOLDER_FILE);
}

/**
 * Who holds the lock (undefined: no lock, or a lock directory without a holder, e.g. a bare proper-lockfile one).
 * A holder file that is not one is a CorruptStateError naming it: the lock cannot be judged, so nothing goes on.
 */
export function readHolder(root: string): LockHolder | undefined {
  try {
    return readChecked<LockHolder>(
      holderPath(root),
      'lock-holder',
      `if no conda-gitops command is running on ${root} (on any host), delete the lock directory ${layout(root).lock}`,
    );
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined; // a lock of another kind: not ours to read
    throw e;
  }
}

function describeHolder(h: LockHolder | undefined): string {
  if (!h) return 'an unknown process';
  return `pid ${h.pid} on ${h.host} (user ${h.user}, \`${h.command}\`, since ${h.since})`;
}

function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? `uid ${process.getuid?.() ?? '?'}`;
  }
}

/** The one liveness check for lock holders and build owners: a process of THIS host that no longer runs. */
export function ownerGone(owner: { pid: number; host: string }): boolean {
  if (owner.host !== hostname()) return false; // another host's process: never judge it from here
  try {
    process.kill(owner.pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

let seq = 0;
const scratch = (lockDir: string, what: string) => `${lockDir}.${what}-${process.pid}-${seq++}`;

/** Remove a lock directory: rename it away first (atomic), so nobody ever sees a half-removed lock. */
function removeLockDir(lockDir: string): void {
  const away = scratch(lockDir, 'gone');
  try {
    fs.renameSync(lockDir, away);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  fs.rmSync(away, { recursive: true, force: true });
}

/** The filesystem proper-lockfile uses: mkdir = directory with holder.json, atomically; rmdir = recursive. */
function lockFs(holder: LockHolder) {
  const mkdirWithHolder = (lockDir: string, cb: (err: NodeJS.ErrnoException | null) => void) => {
    const tmp = scratch(lockDir, 'new');
    try {
      fs.mkdirSync(tmp);
      fs.writeFileSync(join(tmp, HOLDER_FILE), JSON.stringify(holder));
      try {
        fs.renameSync(tmp, lockDir);
      } catch (e) {
        fs.rmSync(tmp, { recursive: true, force: true });
        const code = (e as NodeJS.ErrnoException).code;
        // an existing lock (non-empty directory) is EEXIST for proper-lockfile
        if (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'EISDIR')
          return cb(Object.assign(new Error(`lock exists: ${lockDir}`), { code: 'EEXIST' }));
        throw e;
      }
      cb(null);
    } catch (e) {
      cb(e as NodeJS.ErrnoException);
    }
  };
  return {
    ...fs,
    mkdir: mkdirWithHolder,
    rmdir: (lockDir: string, cb: (err: NodeJS.ErrnoException | null) => void) => {
      try {
        removeLockDir(lockDir);
        cb(null);
      } catch (e) {
        cb(e as NodeJS.ErrnoException);
      }
    },
    rmdirSync: (lockDir: string) => removeLockDir(lockDir),
  };
}

/**
 * Break the lock when its holder is a dead process of this host. The lock is renamed away first; if what
 * was renamed turns out to be another (live) holder's lock after all (it broke and retook it in between),
 * it is put back.
 */
function breakDeadHolder(root: string): boolean {
  return breakDeadLockDir(layout(root).lock, readHolder(root));
}

/** The holder file of a lock directory of this module, or undefined (none, unreadable, not a holder). */
function holderIn(lockDir: string): LockHolder | undefined {
  try {
    const r = checkText<LockHolder>(fs.readFileSync(join(lockDir, HOLDER_FILE), 'utf8'), 'lock-holder');
    return 'value' in r ? r.value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Break the lock directory `lockDir` when its holder `h` is a dead process of this host. It is renamed away first
 * and put back when what was moved is not the dead holder's (another waiter broke it and took it meanwhile).
 */
function breakDeadLockDir(lockDir: string, h: LockHolder | undefined): boolean {
  if (!h || !ownerGone(h)) return false;
  const away = scratch(lockDir, 'dead');
  try {
    fs.renameSync(lockDir, away);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw e;
  }
  const moved = holderIn(away);
  if (moved && (moved.pid !== h.pid || moved.since !== h.since)) {
    try {
      fs.renameSync(away, lockDir);
      return false;
    } catch {
      /* a third writer holds it now; that one is valid */
    }
  }
  fs.rmSync(away, { recursive: true, force: true });
  return true;
}

/** Remove scratch directories that killed processes left beside the lock (never a live process's). */
function cleanScratch(gitopsDir: string): void {
  for (const e of fs.readdirSync(gitopsDir)) {
    const m = /^lock\.(new|gone|dead)-(\d+)-\d+$/.exec(e);
    if (m && ownerGone({ pid: Number(m[2]), host: hostname() }))
      fs.rmSync(join(gitopsDir, e), { recursive: true, force: true });
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Take the lock, waiting up to `waitSeconds`; BusyError (exit 3) naming the holder when it stays taken. */
export async function acquireLock(root: string, opts: { waitSeconds: number; command: string }): Promise<HeldLock> {
  const lay = layout(root);
  fs.mkdirSync(lay.gitops, { recursive: true });
  const deadline = Date.now() + Math.max(0, opts.waitSeconds) * 1000;
  const holder: LockHolder = {
    pid: process.pid,
    host: hostname(),
    user: currentUser(),
    command: opts.command,
    since: new Date().toISOString(),
  };
  let compromised: Error | undefined;
  let release: () => Promise<void>;
  for (;;) {
    try {
      release = await lockfile.lock(lay.gitops, {
        lockfilePath: lay.lock,
        realpath: false,
        stale: STALE_MS,
        retries: 0,
        fs: lockFs(holder),
        onCompromised: (e) => {
          compromised = e;
        }, // the default throws from a timer and kills the process
      });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ELOCKED') throw e;
      if (breakDeadHolder(root)) continue;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new BusyError(
          `${lay.lock} is held by ${describeHolder(readHolder(root))}; ` +
            'try again later or wait for it with --wait SECONDS',
        );
      }
      await sleep(Math.min(POLL_MS, left));
    }
  }
  cleanScratch(lay.gitops);
  return {
    holder,
    assertHeld() {
      const lost = (why: string) => new BusyError(`lost ${lay.lock} while working (${why}); nothing more was changed`);
      if (compromised) throw lost(compromised.message);
      // Checked on disk too, not only through proper-lockfile's timer: a process frozen (SIGSTOP) past the stale
      // time runs on for a moment after it resumes before that timer fires, and another writer may own it now.
      const now = readHolder(root);
      if (!now || now.pid !== holder.pid || now.host !== holder.host || now.since !== holder.since)
        throw lost(`it is now held by ${describeHolder(now)}`);
      let mtime = 0;
      try {
        mtime = fs.statSync(lay.lock).mtimeMs;
      } catch {
        /* gone: handled as stale */
      }
      if (Date.now() - mtime > STALE_MS)
        throw lost(`not refreshed for over ${STALE_MS / 1000} s: the process was frozen`);
    },
    async release() {
      try {
        await release();
      } catch {
        /* a compromised lock is already released */
      }
    },
  };
}

/** Run `fn` holding the lock; released whatever happens (after a kill -9 the next writer breaks it). */
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

// ---------------------------------------------------------------- the per-build lock

const BUILD_LOCK_STALE_MS = 60_000;
const BUILD_LOCK_POLL_MS = 200;

/**
 * The lock of one build (`<record>.lock`, next to its record): two runs never build the same prefix at once.
 * Resolves to its release function, or undefined when `waitSeconds` passed. `orphaned` says whether the build
 * it guards was left by a dead process (its record's owner is gone): kill -9 leaves the lock fresh for up to a
 * minute, and this breaks it at once instead of waiting for it to go stale.
 */
export async function acquireBuildLock(
  recordPath: string,
  orphaned: () => boolean,
  waitSeconds: number,
): Promise<(() => Promise<void>) | undefined> {
  const lockPath = `${recordPath}.lock`;
  const deadline = Date.now() + waitSeconds * 1000;
  for (;;) {
    try {
      // A lock lost while building (frozen past the stale time) must not crash the run: the record decides.
      const options = { realpath: false, lockfilePath: lockPath, stale: BUILD_LOCK_STALE_MS, onCompromised: () => {} };
      return await lockfile.lock(recordPath, options);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ELOCKED') throw e;
    }
    if (orphaned()) {
      try {
        fs.rmdirSync(lockPath);
      } catch {
        /* someone else broke it first */
      }
      continue;
    }
    if (Date.now() >= deadline) return undefined;
    await new Promise((r) => setTimeout(r, BUILD_LOCK_POLL_MS));
  }
}

/**
 * The locks of package caches (core/pkgcache.ts cacheLockPath), taken in the order given (every build passes its
 * caches in conda's order, so two builds never wait on each other crosswise). Resolves to the release of them
 * all, or undefined when `waitSeconds` passed.
 * - `write` (a build that extracts into the caches): the cache's lock, held for the call, once no reader is left;
 * - `read` (a pull request's build: it extracts into a private cache and reads these): many at once; each takes the
 *   lock only for the moment it registers as a reader (`<lock>.readers/`), so it waits for a writer and a waiting
 *   writer (which holds the lock) lets no new reader in.
 * A holder or reader killed with -9 frees the cache at once (its process is gone); on another host's, a lock goes
 * stale after a minute.
 */
export async function acquireCacheLocks(
  caches: readonly string[],
  lockPathOf: (cache: string) => string,
  waitSeconds: number,
  mode: 'read' | 'write' = 'write',
): Promise<(() => Promise<void>) | undefined> {
  const deadline = Date.now() + waitSeconds * 1000;
  const held: Array<() => Promise<void>> = [];
  const releaseAll = async () => {
    for (const r of held.reverse()) await r().catch(() => {});
  };
  const holder: LockHolder = {
    pid: process.pid,
    host: hostname(),
    user: currentUser(),
    command: `build (package cache, ${mode})`,
    since: new Date().toISOString(),
  };
  for (const cache of caches) {
    fs.mkdirSync(cache, { recursive: true });
    const lockDir = lockPathOf(cache);
    const release = await lockCache(cache, lockDir, holder, deadline);
    if (release && mode === 'read') {
      const reader = registerReader(lockDir, holder);
      await release().catch(() => {});
      held.push(async () => fs.rmSync(reader, { force: true }));
      continue;
    }
    if (release) held.push(release);
    if (!release || !(await readersGone(lockDir, deadline))) {
      await releaseAll();
      return undefined;
    }
  }
  return releaseAll;
}

/** One cache's lock (its holder written in it: a dead holder's lock is broken at once), or undefined at `deadline`. */
async function lockCache(
  cache: string,
  lockDir: string,
  holder: LockHolder,
  deadline: number,
): Promise<(() => Promise<void>) | undefined> {
  const options = {
    realpath: false,
    lockfilePath: lockDir,
    stale: BUILD_LOCK_STALE_MS,
    fs: lockFs(holder),
    onCompromised: () => {},
  };
  for (;;) {
    try {
      return await lockfile.lock(cache, options);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ELOCKED') throw e;
    }
    if (breakDeadLockDir(lockDir, holderIn(lockDir))) continue;
    if (Date.now() >= deadline) return undefined;
    await new Promise((r) => setTimeout(r, BUILD_LOCK_POLL_MS));
  }
}

const readersDir = (lockDir: string) => `${lockDir}.readers`;

/** Register this process as a reader of the cache (under its lock); returns the reader's file. */
function registerReader(lockDir: string, holder: LockHolder): string {
  const dir = readersDir(lockDir);
  fs.mkdirSync(dir, { recursive: true });
  const file = join(dir, `${holder.host}-${holder.pid}-${seq++}.json`);
  fs.writeFileSync(file, JSON.stringify(holder));
  return file;
}

/** Wait (holding the lock) until no live reader is registered; readers whose process died are removed. */
async function readersGone(lockDir: string, deadline: number): Promise<boolean> {
  const dir = readersDir(lockDir);
  for (;;) {
    let live = 0;
    for (const name of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
      const file = join(dir, name);
      let text: string;
      try {
        text = fs.readFileSync(file, 'utf8');
      } catch {
        continue; // the reader is done
      }
      const r = checkText<LockHolder>(text, 'lock-holder');
      // a reader of another host cannot be judged from here: it counts until it removes itself
      if ('value' in r && ownerGone(r.value)) fs.rmSync(file, { force: true });
      else live++;
    }
    if (!live) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, BUILD_LOCK_POLL_MS));
  }
}
