/**
 * State that no crash or full disk can tear, checked on read, through the compiled CLI:
 * corrupt files are named (exit 1, never 70 and a stack), a full disk is exit 4 and tears nothing, a root that does
 * not exist is exit 2 and nothing is created, a generation is checked before any swap to it, adopt refuses an
 * installation this tool manages, and a ROOT written by the previous release still reads.
 */
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { readBuildRecord } from '../../scripts/state/record.js';
import { readLive } from '../../scripts/state/generation.js';
import { buildPaths } from '../../scripts/core/layout.js';
import { addTestedBuilds, makeInstallation, tempDir, writeRepo, VERSION } from '../fixtures/installation.js';
import type { Desired } from '../../scripts/core/desired.js';
import { runCli, type CliResult } from '../fixtures/repo.js';

const here = dirname(fileURLToPath(import.meta.url));
const cleanups: Array<() => void> = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});

/** Neither a stack trace nor the internal-error exit: what a user may see for any state problem. */
function expectNoBug(r: CliResult): void {
  expect(r.code, r.stderr).not.toBe(70);
  expect(r.stderr).not.toMatch(/internal error|this is a bug|\n\s+at /);
}

/** ROOT with envs a, b deployed twice (generation 2 live: a changed), and the repository at generation 2. */
async function deployedTwice(): Promise<{ root: string; repo: string; desired: Desired; first: Desired }> {
  const fi = makeInstallation();
  cleanups.push(fi.cleanup);
  const repo = join(fi.root, 'repo');
  mkdirSync(repo);
  const first = await writeRepo(repo, { envs: { a: 1, b: 1 } });
  addTestedBuilds(fi.root, first);
  expect((await runCli(['deploy', '--root', fi.root], { cwd: repo })).code).toBe(0);
  const desired = await writeRepo(repo, { envs: { a: 2, b: 1 } });
  addTestedBuilds(fi.root, desired);
  expect((await runCli(['deploy', '--root', fi.root], { cwd: repo })).code).toBe(0);
  return { root: fi.root, repo, desired, first };
}

const idOf = (d: Desired, name: string) => d.envs.find((e) => e.name === name)!.buildId;

describe('corrupt state is named, never a crash', () => {
  it('a truncated build record: plan, deploy --dry-run, status exit 1 naming the file', async () => {
    const { root, repo, desired } = await deployedTwice();
    const record = buildPaths(root, VERSION, 'a', idOf(desired, 'a')).record;
    truncateSync(record, 40);
    for (const args of [['plan'], ['deploy', '--dry-run'], ['status'], ['deploy']]) {
      const r = await runCli([...args, '--root', root], { cwd: repo });
      expectNoBug(r);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(1);
      expect(r.stderr).toContain(record);
      expect(r.stderr).toMatch(/not a valid build record .*restore it from a backup/s);
    }
  });

  it('a record that parses but breaks its schema is refused too', async () => {
    const { root, repo, desired } = await deployedTwice();
    const record = buildPaths(root, VERSION, 'b', idOf(desired, 'b')).record;
    const rec = JSON.parse(readFileSync(record, 'utf8'));
    writeFileSync(record, JSON.stringify({ ...rec, status: 'great' }));
    const r = await runCli(['deploy', '--dry-run', '--root', root], { cwd: repo });
    expectNoBug(r);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\/status must be equal to one of the allowed values/);
  });

  it('gc with a broken spec in the repository says so (exit 2) instead of "no repository"', async () => {
    const { root, repo } = await deployedTwice();
    writeFileSync(join(repo, 'env-specs', 'a.yml'), 'name: a\ndependencies:\n  - numpy==>1\n');
    const r = await runCli(['gc', '--root', root], { cwd: repo });
    expectNoBug(r);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/env-specs\/a\.yml/);
  });

  it('a corrupt history line in the middle is named; a torn last line is tolerated and reported', async () => {
    const { root, repo } = await deployedTwice();
    const history = join(root, '.gitops', 'history.jsonl');
    const lines = readFileSync(history, 'utf8');
    writeFileSync(history, lines + '{"format":1,"at":"2024-');
    const torn = await runCli(['history', '--root', root]);
    expect(torn.code, torn.stderr).toBe(0);
    expect(torn.stderr).toMatch(/skipped 1 unreadable line/);
    // the next cutover cuts the torn tail off: history stays readable
    expect((await runCli(['rollback', '--root', root], { cwd: repo })).code).toBe(0);
    const after = await runCli(['history', '--root', root, '--json']);
    expect(after.code, after.stderr).toBe(0);
    expect(JSON.parse(after.stdout).entries).toHaveLength(3);

    writeFileSync(history, '{"format":1}\n' + readFileSync(history, 'utf8'));
    const bad = await runCli(['history', '--root', root]);
    expectNoBug(bad);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(`${history}:1: not a valid history`);
  });
});

describe('a full disk tears nothing; environmental errors are clear', () => {
  it('a rollback whose bad-mark write hits ENOSPC: exit 4, the record whole, and the next commands work', async () => {
    const { root, repo, desired } = await deployedTwice();
    const record = buildPaths(root, VERSION, 'a', idOf(desired, 'a')).record;
    const before = readFileSync(record, 'utf8');
    const r = await runCli(['rollback', '--root', root], {
      cwd: repo,
      env: { CONDA_GITOPS_FAULT: 'mark-write:ENOSPC' },
    });
    expectNoBug(r);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/ENOSPC .*marks\.jsonl.*: no space left on the device: free space/);
    expect(readFileSync(record, 'utf8')).toBe(before);
    const marks = join(root, `v${VERSION}`, 'marks.jsonl');
    expect(existsSync(marks) ? readFileSync(marks, 'utf8') : '').toBe(''); // nothing torn left behind
    expect(readdirSync(dirname(record)).filter((f) => f.includes('.tmp'))).toEqual([]);
    for (const args of [['status'], ['deploy', '--dry-run'], ['plan']]) {
      const next = await runCli([...args, '--root', root], { cwd: repo });
      expectNoBug(next);
    }
    // the next writer finishes the rollback's marks (the history line was never written)
    const again = await runCli(['rollback', '--root', root, '--dry-run'], { cwd: repo });
    expectNoBug(again);
    const dep = await runCli(['deploy', '--root', root], { cwd: repo });
    expectNoBug(dep);
    expect(readBuildRecord(root, VERSION, 'a', idOf(desired, 'a'))?.bad?.reason).toMatch(/rolled back/);
  });

  it('ENOSPC while writing a generation: exit 4 naming the path, live generation unchanged', async () => {
    const { root, repo } = await deployedTwice();
    await writeRepo(repo, { envs: { a: 2, b: 1, c: 1 } });
    addTestedBuilds(root, await writeRepo(repo, { envs: { a: 2, b: 1, c: 1 } }));
    const live = readLive(root).ref;
    const r = await runCli(['deploy', '--root', root], {
      cwd: repo,
      env: { CONDA_GITOPS_FAULT: 'generation-write:ENOSPC' },
    });
    expectNoBug(r);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/ENOSPC at \/.*\.generation\.json: no space left/);
    expect(readLive(root).ref).toEqual(live);
    expect(readdirSync(join(root, `v${VERSION}`, 'generations'))).toEqual(['1', '2']);
  });

  it('a root that does not exist: exit 2 everywhere and nothing is created', async () => {
    const { repo } = await deployedTwice();
    const typo = join(tempDir(), 'no', 'such', 'root');
    cleanups.push(() => rmSync(dirname(dirname(dirname(typo))), { recursive: true, force: true }));
    for (const args of [
      ['deploy'],
      ['deploy', '--dry-run'],
      ['rollback'],
      ['gc', '--yes'],
      ['kernels'],
      ['status'],
      ['plan'],
      ['history'],
    ]) {
      const r = await runCli([...args, '--root', typo], { cwd: repo });
      expectNoBug(r);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(/installation root .*no\/such\/root does not exist/);
      expect(existsSync(dirname(dirname(typo)))).toBe(false);
    }
  });

  it('--root /etc/passwd (a file) and a path through a file: exit 2, no stack', async () => {
    const { repo } = await deployedTwice();
    for (const root of ['/etc/passwd', '/etc/passwd/x']) {
      for (const args of [['status'], ['rollback'], ['deploy']]) {
        const r = await runCli([...args, '--root', root], { cwd: repo });
        expectNoBug(r);
        expect(r.code, `${args.join(' ')} ${root}: ${r.stderr}`).toBe(2);
        expect(r.stderr).toMatch(/not a directory/);
      }
    }
  });

  it('a state directory that is a file: exit 4 naming the path', async () => {
    const { root, repo } = await deployedTwice();
    rmSync(join(root, '.gitops'), { recursive: true, force: true });
    writeFileSync(join(root, '.gitops'), 'not a directory\n');
    const r = await runCli(['rollback', '--root', root], { cwd: repo });
    expectNoBug(r);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain(join(root, '.gitops'));
  });
});

describe('a generation is checked before any swap to it', () => {
  it('rollback --to N with a link removed from N: refused (exit 1), nothing changed', async () => {
    const { root, repo } = await deployedTwice();
    unlinkSync(join(root, `v${VERSION}`, 'generations', '1', 'b'));
    const r = await runCli(['rollback', '--root', root, '--to', '1'], { cwd: repo });
    expectNoBug(r);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /generations\/1 cannot be made live:\n\s+b: the manifest lists \w+ but the link is missing/,
    );
    expect(r.stderr).toMatch(/Nothing was changed/);
    expect(readLive(root).ref?.generation).toBe(2);
    const dry = await runCli(['rollback', '--root', root, '--to', '1', '--dry-run'], { cwd: repo });
    expect(dry.code).toBe(1);
  });

  it('rollback to a generation whose build was moved away: refused, live unchanged', async () => {
    const { root, repo, first } = await deployedTwice();
    const old = buildPaths(root, VERSION, 'a', idOf(first, 'a')).prefix;
    renameSync(old, `${old}.moved`);
    const r = await runCli(['rollback', '--root', root], { cwd: repo });
    expectNoBug(r);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`the prefix ${old} is missing or has no conda-meta/`);
    expect(readLive(root).ref?.generation).toBe(2);
    expect(readlinkSync(join(root, `v${VERSION}`, 'envs'))).toBe('generations/2');
  });
});

describe('adopt knows managed installations; a mistyped root is named', () => {
  it('adopt refuses ROOT, ROOT/current and ROOT/vX of a managed installation, pointing at export', async () => {
    const { root } = await deployedTwice();
    for (const given of [root, join(root, 'current'), join(root, `v${VERSION}`)]) {
      const repo = tempDir('adopt-');
      cleanups.push(() => rmSync(repo, { recursive: true, force: true }));
      const r = await runCli(['adopt', '--root', given], { cwd: repo });
      expectNoBug(r);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/already manages .*conda-gitops export/s);
      expect(readdirSync(repo)).toEqual([]);
    }
  });

  it('status --root /typo says the root does not exist (exit 2), not "missing" envs', async () => {
    const { repo } = await deployedTwice();
    const r = await runCli(['status', '--root', '/typo-9b-does-not-exist'], { cwd: repo });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/installation root \/typo-9b-does-not-exist does not exist/);
    expect(r.stdout + r.stderr).not.toMatch(/missing/);
  });
});

describe('formats versioned: a ROOT written by the previous release still works', () => {
  /** A copy of test/fixtures/roots/release-1 with its root path put back and its stamps as recorded. */
  function releaseOneCopy(): { root: string; repo: string } {
    const base = tempDir('release-1-');
    cleanups.push(() => rmSync(base, { recursive: true, force: true }));
    cpSync(join(here, '..', 'fixtures', 'roots', 'release-1'), base, { recursive: true, verbatimSymlinks: true });
    const root = join(base, 'root');
    const walk = (d: string) => {
      for (const e of readdirSync(d)) {
        const p = join(d, e);
        if (lstatSync(p).isSymbolicLink()) continue;
        if (statSync(p).isDirectory()) walk(p);
        else if (!p.endsWith('conda-meta/history'))
          writeFileSync(p, readFileSync(p, 'utf8').split('@ROOT@').join(root));
      }
    };
    walk(base);
    for (const d of ['bin', 'pkgs']) mkdirSync(join(root, `v${VERSION}`, d), { recursive: true });
    // a copy gets new mtimes on conda-meta/history, which reads as a hand change: stamp the copies into the
    // records by text substitution (the layout the old release wrote, padding included, is kept)
    const builds = join(root, `v${VERSION}`, 'builds');
    for (const env of readdirSync(builds)) {
      for (const f of readdirSync(join(builds, env))) {
        if (!/^[0-9a-f]{12}\.json$/.test(f)) continue;
        const st = statSync(join(builds, env, f.replace('.json', ''), 'conda-meta', 'history'));
        const path = join(builds, env, f);
        const text = readFileSync(path, 'utf8')
          .replace(/"mtimeMs": [\d.]+/, `"mtimeMs": ${st.mtimeMs}`)
          .replace(/"size": \d+/, `"size": ${st.size}`);
        writeFileSync(path, text);
      }
    }
    return { root, repo: join(base, 'repo') };
  }

  it('status, deploy and rollback --dry-run, history read it; rollback and deploy --force work', async () => {
    const { root, repo } = releaseOneCopy();
    // its kernelspec runs python directly (no activating launcher yet): named, and `kernels` rewrites it
    const old = await runCli(['status', '--root', root], { cwd: repo });
    expect(old.code, old.stdout + old.stderr).toBe(1);
    expect(old.stdout).toMatch(/kernel alpha: differs from the repository \(conda-gitops kernels rewrites it\)/);
    const rewritten = await runCli(['kernels', '--root', root], { cwd: repo });
    expect(rewritten.code, rewritten.stdout + rewritten.stderr).toBe(0);
    const status = await runCli(['status', '--root', root], { cwd: repo });
    expect(status.code, status.stdout + status.stderr).toBe(0);
    const dry = await runCli(['deploy', '--dry-run', '--root', root], { cwd: repo });
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout + dry.stderr).toMatch(/nothing to deploy/);
    const rb = await runCli(['rollback', '--dry-run', '--root', root], { cwd: repo });
    expect(rb.code, rb.stderr).toBe(0);
    expect(rb.stdout + rb.stderr).toMatch(/generations\/3 -> .*generations\/1/);
    const hist = await runCli(['history', '--root', root, '--json']);
    expect(hist.code, hist.stderr).toBe(0);
    expect(JSON.parse(hist.stdout).entries).toHaveLength(4);
    // a real rollback appends its marks to vX/marks.jsonl; the old record (padded by the old in-place writer)
    // is untouched
    const alpha = join(root, `v${VERSION}`, 'builds', 'alpha', '80c40cc009b3');
    const marks = join(root, `v${VERSION}`, 'marks.jsonl');
    const recordBefore = readFileSync(`${alpha}.json`, 'utf8');
    expect((await runCli(['rollback', '--root', root], { cwd: repo })).code).toBe(0);
    expect(readFileSync(`${alpha}.json`, 'utf8')).toBe(recordBefore);
    expect(existsSync(`${alpha}.bad.json`)).toBe(false);
    const lastLine = () => JSON.parse(readFileSync(marks, 'utf8').trimEnd().split('\n').at(-1)!);
    expect(lastLine()).toMatchObject({
      format: 1,
      op: 'bad',
      builds: expect.arrayContaining([['alpha', '80c40cc009b3']]),
    });
    const held = await runCli(['deploy', '--root', root], { cwd: repo });
    expect(held.code).toBe(1);
    expect(held.stdout + held.stderr).toMatch(/alpha/);
    const forced = await runCli(['deploy', '--force', '--root', root], { cwd: repo });
    expect(forced.code, forced.stderr).toBe(0);
    expect(lastLine()).toMatchObject({
      format: 1,
      op: 'clear',
      builds: expect.arrayContaining([['alpha', '80c40cc009b3']]),
    });
    expect(readFileSync(`${alpha}.json`, 'utf8')).toBe(recordBefore);
  });
});
