/**
 * Readers never see a missing env during swaps; writers are serialised by the lock.
 * Readers and writers run in separate processes, as on the real machine.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureRootLinks, readLive, swapEnvs, writeGeneration } from '../../scripts/state/generation.js';
import { readHistory } from '../../scripts/state/history.js';
import { acquireLock, readHolder } from '../../scripts/state/lock.js';
import { BusyError } from '../../scripts/core/errors.js';
import { exitCodeOfError } from '../../scripts/cli/exit.js';
import {
  addBuild,
  addTestedBuilds,
  compiledCli,
  fakeBuildId,
  makeInstallation,
  writeRepo,
  VERSION,
} from '../fixtures/installation.js';
import type { FakeInstallation } from '../fixtures/installation.js';

const READER = `
import { statSync, existsSync } from 'node:fs';
const [path, stop] = process.argv.slice(2);
let ok = 0, fail = 0, ready = false;
const codes = {};
while (!existsSync(stop)) {
  for (let i = 0; i < 50; i++) {
    try { statSync(path); ok++; } catch (e) { fail++; codes[e.code] = (codes[e.code] ?? 0) + 1; }
  }
  if (!ready) { ready = true; process.stdout.write('ready\\n'); }
}
process.stdout.write(JSON.stringify({ ok, fail, codes }) + '\\n');
`;

interface ReaderResult {
  ok: number;
  fail: number;
  codes: Record<string, number>;
}

function startReaders(
  dir: string,
  target: string,
  n: number,
): { done: Promise<ReaderResult[]>; ready: Promise<void>; stop: () => void } {
  const script = join(dir, 'reader.mjs');
  writeFileSync(script, READER);
  const stopFile = join(dir, `stop-${Date.now()}`);
  const children: ChildProcess[] = [];
  const readies: Promise<void>[] = [];
  const results: Promise<ReaderResult>[] = [];
  for (let i = 0; i < n; i++) {
    const child = spawn(process.execPath, [script, target, stopFile], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(child);
    let text = '';
    readies.push(
      new Promise((resolve) =>
        child.stdout!.on('data', (b: Buffer) => {
          text += b.toString();
          if (text.includes('ready')) resolve();
        }),
      ),
    );
    results.push(
      new Promise((resolve, reject) =>
        child.on('close', () => {
          try {
            resolve(JSON.parse(text.split('\n').filter(Boolean).at(-1)!));
          } catch (e) {
            reject(e);
          }
        }),
      ),
    );
  }
  return {
    ready: Promise.all(readies).then(() => undefined),
    done: Promise.all(results),
    stop: () => writeFileSync(stopFile, ''),
  };
}

/** The way some tools swap: remove the link, then make the new one. Readers can fall into the gap. */
function unlinkThenSymlink(instDir: string, n: number): void {
  unlinkSync(join(instDir, 'envs'));
  symlinkSync(`generations/${n}`, join(instDir, 'envs'));
}

describe('4 readers resolving ROOT/envs/NAME/bin/python while generations swap', () => {
  let fi: FakeInstallation;
  afterEach(() => fi?.cleanup());

  function twoGenerations() {
    fi = makeInstallation();
    const a1 = fakeBuildId('a1');
    const a2 = fakeBuildId('a2');
    addBuild(fi.root, VERSION, 'a', a1);
    addBuild(fi.root, VERSION, 'a', a2);
    for (const [n, id] of [
      [1, a1],
      [2, a2],
    ] as const) {
      writeGeneration(fi.inst.dir, {
        format: 1,
        n,
        createdAt: new Date().toISOString(),
        reason: 'test',
        envs: { a: id },
      });
    }
    swapEnvs(fi.inst.dir, 1);
    ensureRootLinks(fi.root, VERSION);
    return join(fi.root, 'envs', 'a', 'bin', 'python');
  }

  it('rename(2) swaps: 1,000 swaps, 0 failed reads', async () => {
    const target = twoGenerations();
    const readers = startReaders(fi.root, target, 4);
    await readers.ready;
    for (let i = 0; i < 1000; i++) swapEnvs(fi.inst.dir, (i % 2) + 1);
    readers.stop();
    const results = await readers.done;
    const reads = results.reduce((s, r) => s + r.ok + r.fail, 0);
    expect(results.map((r) => r.fail)).toEqual([0, 0, 0, 0]);
    expect(reads).toBeGreaterThan(4000);
    expect(readLive(fi.root).ref?.generation).toBe(2); // the last of 1,000 alternating swaps
  });

  it('the same readers do see the gap of an unlink + symlink swap (so the check above can fail)', async () => {
    const target = twoGenerations();
    const readers = startReaders(fi.root, target, 4);
    await readers.ready;
    for (let i = 0; i < 1000; i++) unlinkThenSymlink(fi.inst.dir, (i % 2) + 1);
    readers.stop();
    const results = await readers.done;
    const failed = results.reduce((s, r) => s + r.fail, 0);
    expect(failed).toBeGreaterThan(0);
    expect(Object.keys(Object.assign({}, ...results.map((r) => r.codes)))).toEqual(['ENOENT']);
  });
});

describe('the lock serialises writers', () => {
  let fi: FakeInstallation;
  let cli: string;
  beforeAll(async () => {
    cli = await compiledCli();
  }, 120_000);
  afterEach(() => fi?.cleanup());

  function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (b: Buffer) => (stdout += b));
      child.stderr.on('data', (b: Buffer) => (stderr += b));
      child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    });
  }

  it('two deploys started together both succeed, one after the other, and history shows both in order', async () => {
    fi = makeInstallation();
    const repoA = join(fi.root, 'repo-a');
    const repoB = join(fi.root, 'repo-b');
    mkdirSync(repoA);
    mkdirSync(repoB);
    const a = await writeRepo(repoA, { envs: { x: 1, y: 2 } });
    const b = await writeRepo(repoB, { envs: { x: 3, y: 4 } });
    addTestedBuilds(fi.root, a);
    addTestedBuilds(fi.root, b);
    const [ra, rb] = await Promise.all([
      runCli(['deploy', '--root', fi.root, '--repo', repoA, '--wait', '30', '--json']),
      runCli(['deploy', '--root', fi.root, '--repo', repoB, '--wait', '30', '--json']),
    ]);
    expect([ra.code, rb.code]).toEqual([0, 0]);
    expect(ra.stderr + rb.stderr).not.toMatch(/error|conda-gitops:/i);
    const { entries } = readHistory(fi.root);
    expect(entries.map((e) => e.to.generation)).toEqual([1, 2]);
    expect(entries[0].from).toBeUndefined();
    expect(entries[1].from).toEqual(entries[0].to);
    // the one that went second saw the first one's generation as live
    const second = JSON.parse(entries[1].to.generation === JSON.parse(ra.stdout).newGeneration ? ra.stdout : rb.stdout);
    expect(second.from).toEqual(entries[0].to);
    expect(readLive(fi.root).links).toEqual(second.links);
  });

  it('a second writer waits with --wait and proceeds when the holder releases', async () => {
    fi = makeInstallation();
    const lock = await acquireLock(fi.root, { waitSeconds: 0, command: 'test holder' });
    const t0 = Date.now();
    setTimeout(() => void lock.release(), 700);
    const second = await acquireLock(fi.root, { waitSeconds: 10, command: 'second' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(650);
    expect(readHolder(fi.root)?.command).toBe('second');
    await second.release();
    expect(readHolder(fi.root)).toBeUndefined();
  });

  it('a lock whose holder was killed (kill -9) is taken over at once, not after the stale time', async () => {
    fi = makeInstallation();
    const holderScript = join(fi.root, 'holder.mjs');
    const lockModule = new URL('../../dist/scripts/state/lock.js', import.meta.url).pathname;
    writeFileSync(
      holderScript,
      `
      const { acquireLock } = await import(${JSON.stringify(lockModule)});
      await acquireLock(${JSON.stringify(fi.root)}, { waitSeconds: 0, command: 'doomed' });
      process.stdout.write('locked\\n');
      setInterval(() => {}, 1000);
    `,
    );
    const child = spawn(process.execPath, [holderScript], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => child.stdout!.on('data', () => resolve()));
    await expect(acquireLock(fi.root, { waitSeconds: 0, command: 'x' })).rejects.toThrow(/held by pid \d+ .*doomed/);
    child.kill('SIGKILL');
    await new Promise((r) => child.on('close', r));
    const t0 = Date.now();
    const lock = await acquireLock(fi.root, { waitSeconds: 0, command: 'after the crash' });
    expect(Date.now() - t0).toBeLessThan(1000);
    await lock.release();
  });

  it('a live holder is never broken: the waiter times out with exit code 3', async () => {
    fi = makeInstallation();
    const lock = await acquireLock(fi.root, { waitSeconds: 0, command: 'busy' });
    const err = await acquireLock(fi.root, { waitSeconds: 0.3, command: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BusyError);
    expect(exitCodeOfError(err)).toBe(3);
    await lock.release();
  });
});
