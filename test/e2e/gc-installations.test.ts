/**
 * gc retires old installations by retention: real fake-conda installations under ROOT,
 * deployed in turn (each cutover in the history), then gc: which installations it keeps and why, which it
 * retires, what the dry run leaves alone, and a removal that crashes or is refused half-way.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { installFakeConda } from '../fake-conda/fixtures.js';
import { addTestedBuilds, tempDir, writeRepo } from '../fixtures/installation.js';
import { runCli } from '../fixtures/repo.js';
import { runCommand } from '../fixtures/command.js';
import { memoryOutput } from '../../scripts/cli/output.js';
import { deploy } from '../../scripts/app/deploy.js';

/** Oldest first; each one was deployed (made current) in turn, the last one is current. */
const VERSIONS = ['4.8.5', '22.9.0', '23.1.0', '23.11.0'];
/** When each cutover happened (the last ones, one per deploy), rewritten into the history: known "last live" dates */
const CUTOVERS = [
  '2026-08-01T09:00:00.000Z',
  '2026-09-01T09:00:00.000Z',
  '2026-10-01T09:00:00.000Z',
  '2026-11-01T09:00:00.000Z',
];

interface World {
  root: string;
  repo: string;
}

/** Can this test make a removal fail for real? As root only the immutable attribute does (chattr). */
function canPin(): boolean {
  const d = tempDir('gc-pin-');
  try {
    mkdirSync(join(d, 'x'));
    writeFileSync(join(d, 'x', 'f'), 'x');
    const root = process.getuid?.() === 0;
    if (!root) return spawnSync('chmod', ['0555', join(d, 'x')]).status === 0;
    if (spawnSync('chattr', ['+i', join(d, 'x', 'f')], { stdio: 'ignore' }).status !== 0) return false;
    spawnSync('chattr', ['-i', join(d, 'x', 'f')], { stdio: 'ignore' });
    return true;
  } finally {
    spawnSync('chmod', ['-R', 'u+w', d], { stdio: 'ignore' });
    rmSync(d, { recursive: true, force: true });
  }
}

let dirs: string[] = [];
afterEach(() => {
  for (const d of dirs) {
    spawnSync('chattr', ['-R', '-i', d], { stdio: 'ignore' });
    spawnSync('chmod', ['-R', 'u+w', d], { stdio: 'ignore' });
    rmSync(d, { recursive: true, force: true });
  }
  dirs = [];
});

/** ROOT with the installations of `versions` (fake conda), each deployed in turn; history dated CUTOVERS. */
async function world(versions = VERSIONS): Promise<World> {
  const root = tempDir('gc-inst-');
  dirs.push(root);
  const repo = join(root, 'repo');
  mkdirSync(repo);
  for (const [i, v] of versions.entries()) {
    installFakeConda(join(root, `v${v}`), v);
    const d = await writeRepo(repo, { version: v, envs: { hlink: 1 + i } });
    addTestedBuilds(root, d);
    const r = await deploy({
      repoDir: repo,
      rootFlag: root,
      env: process.env,
      waitSeconds: 0,
      out: memoryOutput(),
      force: false,
      dryRun: false,
      buildMissing: false,
      jobs: 1,
    });
    expect(r.ok).toBe(true);
  }
  const history = join(root, '.gitops', 'history.jsonl');
  const lines = readFileSync(history, 'utf8').trim().split('\n');
  expect(lines).toHaveLength(versions.length);
  writeFileSync(
    history,
    lines.map((l, i) => JSON.stringify({ ...JSON.parse(l), at: CUTOVERS.slice(-lines.length)[i] })).join('\n') + '\n',
  );
  return { root, repo };
}

async function gc(w: World, options: Record<string, string | boolean> = {}) {
  const out = memoryOutput();
  const code = await runCommand('gc', {
    options: { root: w.root, grace: '0', ...options },
    positionals: [],
    out,
    repo: w.repo,
    env: process.env,
  });
  return { code, text: out.lines.concat(out.errors).join('\n'), out };
}

/** Every path under ROOT (lstat, no symlink followed), sorted: what a dry run must leave as it was. */
function tree(dir: string, base = dir): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    out.push(relative(base, p));
    if (e.isDirectory() && !e.isSymbolicLink()) out.push(...tree(p, base));
  }
  return out.sort();
}

/** The live env still runs through ROOT/envs (the fixture's python prints its env and build id). */
const python = (root: string) =>
  /^hlink [0-9a-f]{12}$/.test(execFileSync(join(root, 'envs', 'hlink', 'bin', 'python'), { encoding: 'utf8' }).trim())
    ? 'ok'
    : 'broken';
const installations = (root: string) =>
  readdirSync(root)
    .filter((n) => /^v\d/.test(n))
    .sort();

describe('gc retires old installations by retention', () => {
  it('three installations, one old: the dry run names each with its reason and deletes nothing', async () => {
    const w = await world(VERSIONS.slice(1));
    const before = tree(w.root);
    const dry = await gc(w, { keep: '1' });
    expect(dry.code).toBe(0);
    expect(dry.text).toContain('gc: v23.11.0: kept, live (current)');
    expect(dry.text).toMatch(/gc: v23\.1\.0: kept, rollback target \(generation 1/);
    expect(dry.text).toContain('gc: v22.9.0: would retire, last live 2026-10-01, beyond keep-installations = 2');
    expect(dry.text).toMatch(/would remove installation .* v22\.9\.0 \(retired installation: last live 2026-10-01/);
    expect(tree(w.root)).toEqual(before);

    const json = await runCli(['gc', '--root', w.root, '--repo', w.repo, '--keep', '1', '--grace', '0', '--json']);
    expect(json.code).toBe(0);
    const result = JSON.parse(json.stdout);
    expect(result.keepInstallations).toBe(2);
    expect(result.installations).toEqual([
      expect.objectContaining({ name: 'v23.11.0', verdict: 'keep', why: 'current' }),
      expect.objectContaining({ name: 'v23.1.0', verdict: 'keep', why: 'rollback-target' }),
      {
        name: 'v22.9.0',
        verdict: 'retire',
        why: 'beyond-retention',
        reason: 'last live 2026-10-01, beyond keep-installations = 2',
        lastLive: '2026-10-01T09:00:00.000Z',
      },
    ]);
    expect(tree(w.root)).toEqual(before);

    const real = await gc(w, { keep: '1', yes: true });
    expect(real.code).toBe(0);
    // each removal printed once (with its size), not once more as it happens
    const removed = real.out.lines.filter((l) => /^\s+removed /.test(l)).map((l) => l.split(/\s{2,}/).pop()!);
    expect(removed.length).toBeGreaterThan(0);
    for (const what of removed) expect(real.text.split('\n').filter((l) => l.endsWith(what))).toHaveLength(1);
    expect(real.text).toContain('gc: v22.9.0: retired, last live 2026-10-01, beyond keep-installations = 2');
    expect(installations(w.root)).toEqual(['v23.1.0', 'v23.11.0']);
    expect(python(w.root)).toBe('ok');
    // the former installation stays usable (rollback can go back to it), its package cache is gone
    expect(existsSync(join(w.root, 'v23.1.0', 'bin', 'conda'))).toBe(true);
    expect(existsSync(join(w.root, 'v23.1.0', 'pkgs'))).toBe(false);
  });

  it('keeps an installation no kept generation references while it is within --keep-installations', async () => {
    const w = await world(VERSIONS.slice(1));
    const r = await gc(w, { keep: '1', yes: true, 'keep-installations': '3' });
    expect(r.code).toBe(0);
    expect(r.text).toContain('gc: v22.9.0: kept, last live 2026-10-01, within keep-installations = 3');
    expect(installations(w.root)).toEqual(['v22.9.0', 'v23.1.0', 'v23.11.0']);
    expect(existsSync(join(w.root, 'v22.9.0', 'bin', 'conda'))).toBe(true);

    const bad = await gc(w, { 'keep-installations': '0' });
    expect(bad.code).toBe(2);
    expect(bad.text).toMatch(/--keep-installations/);
  });

  it('keeps the adopted installation (no marker) whatever its age, unless named with --retire', async () => {
    const w = await world(VERSIONS.slice(1));
    // the hand-run installation adopt read: conda-gitops never wrote into it (no installation marker)
    installFakeConda(join(w.root, 'v4.3.22'), '4.3.22');
    const r = await gc(w, { keep: '1', yes: true, 'keep-installations': '1' });
    expect(r.code).toBe(0);
    expect(r.text).toContain('gc: v4.3.22: kept, adopted: name it with --retire v4.3.22');
    expect(r.text).toContain('gc: v22.9.0: retired, last live 2026-10-01, beyond keep-installations = 1');
    expect(installations(w.root)).toEqual(['v23.1.0', 'v23.11.0', 'v4.3.22']);

    const named = await gc(w, { keep: '1', yes: true, 'keep-installations': '1', retire: 'v4.3.22' });
    expect(named.code).toBe(0);
    expect(named.text).toMatch(/gc: v4\.3\.22: retired, named with --retire/);
    expect(installations(w.root)).toEqual(['v23.1.0', 'v23.11.0']);
    expect(python(w.root)).toBe('ok');
  });

  const KEEPS_TARGETS =
    'never retires the current or the qa target, nor the rollback target; --retire refuses (exit 2)';
  it(KEEPS_TARGETS, async () => {
    const w = await world(VERSIONS.slice(1));
    // an upgrade under review points qa at an installation (here the oldest one)
    rmSync(join(w.root, 'qa'), { force: true });
    symlinkSync('v22.9.0', join(w.root, 'qa'));
    const r = await gc(w, { keep: '1', yes: true, 'keep-installations': '1' });
    expect(r.code).toBe(0);
    expect(r.text).toContain('gc: v22.9.0: kept, the qa installation (ROOT/qa)');
    expect(r.text).toContain('gc: v23.11.0: kept, live (current)');
    expect(r.text).toMatch(/gc: v23\.1\.0: kept, rollback target/);
    expect(installations(w.root)).toEqual(['v22.9.0', 'v23.1.0', 'v23.11.0']);

    for (const [name, why] of [
      ['v22.9.0', 'the qa installation'],
      ['v23.11.0', 'live \\(current\\)'],
      ['v23.1.0', 'rollback target'],
    ]) {
      const before = tree(w.root);
      const refused = await gc(w, { keep: '1', yes: true, retire: name });
      expect(refused.code).toBe(2);
      expect(refused.text).toMatch(new RegExp(`--retire ${name}: the installation is still in use: ${why}`));
      expect(tree(w.root)).toEqual(before);
    }
  });

  it('a gc killed (kill -9) after moving an installation to the trash: the next gc finishes', async () => {
    const w = await world();
    const args = ['gc', '--root', w.root, '--repo', w.repo, '--keep', '1', '--grace', '0', '--yes'];
    const killed = await runCli(args, { env: { CONDA_GITOPS_CRASH_AT: 'gc-trashed-installation' } });
    expect(killed.code).toBe(null); // SIGKILL
    // one retired installation is in the trash, out of the way; the other one, current and the rollback target intact
    expect(installations(w.root)).toEqual(['v23.1.0', 'v23.11.0', 'v4.8.5']);
    expect(readdirSync(join(w.root, '.gitops', 'trash'))).toHaveLength(1);
    expect(python(w.root)).toBe('ok');

    const again = await runCli(args);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('gc: v4.8.5: retired, last live 2026-09-01, beyond keep-installations = 2');
    expect(installations(w.root)).toEqual(['v23.1.0', 'v23.11.0']);
    expect(existsSync(join(w.root, '.gitops', 'trash'))).toBe(false);
    expect(python(w.root)).toBe('ok');
  });

  const REFUSED = 'a removal the machine refuses (permission) exits 4 naming it, the rest intact; the next gc finishes';
  it(REFUSED, async () => {
    const w = await world();
    const args = ['gc', '--root', w.root, '--repo', w.repo, '--keep', '1', '--grace', '0', '--yes'];
    const refused = await runCli(args, { env: { CONDA_GITOPS_FAULT: 'gc-remove-installation:EACCES' } });
    expect(refused.code).toBe(4);
    expect(refused.stderr).toMatch(/gc could not delete v22\.9\.0: .*EACCES/);
    expect(refused.stderr).toMatch(/run gc --yes again/);
    expect(installations(w.root)).toEqual(['v23.1.0', 'v23.11.0', 'v4.8.5']);
    expect(python(w.root)).toBe('ok');

    const again = await runCli(args);
    expect(again.code).toBe(0);
    expect(installations(w.root)).toEqual(['v23.1.0', 'v23.11.0']);
    expect(existsSync(join(w.root, '.gitops', 'trash'))).toBe(false);
  });

  const PINNED = 'a read-only (immutable) file in a retired installation: exit 4, then gc finishes once it is fixed';
  it.skipIf(!canPin())(PINNED, async () => {
    const w = await world(VERSIONS.slice(1));
    const pinned = join(w.root, 'v22.9.0', 'pkgs', 'pinned');
    mkdirSync(pinned, { recursive: true });
    writeFileSync(join(pinned, 'file'), 'x');
    // as root, permissions do not stop a removal: the immutable attribute does (skipped where chattr cannot)
    const root = process.getuid?.() === 0;
    const pin = root ? spawnSync('chattr', ['+i', join(pinned, 'file')]) : spawnSync('chmod', ['0555', pinned]);
    expect(pin.status).toBe(0);
    const args = ['gc', '--root', w.root, '--repo', w.repo, '--keep', '1', '--grace', '0', '--yes'];
    const refused = await runCli(args);
    expect(refused.code).toBe(4);
    expect(refused.stderr).toMatch(
      /gc could not delete v22\.9\.0: [A-Z]+ at .*pinned.*: something in it cannot be deleted/,
    );
    expect(installations(w.root)).toEqual(['v23.1.0', 'v23.11.0']);
    expect(python(w.root)).toBe('ok');

    const still = await runCli(args);
    expect(still.code).toBe(4);
    expect(still.stderr).toMatch(/gc could not delete \.gitops\/trash \(left by an earlier gc\)/);

    spawnSync('chattr', ['-R', '-i', w.root], { stdio: 'ignore' });
    spawnSync('chmod', ['-R', 'u+w', w.root], { stdio: 'ignore' });
    const fixed = await runCli(args);
    expect(fixed.code).toBe(0);
    expect(existsSync(join(w.root, '.gitops', 'trash'))).toBe(false);
    expect(installations(w.root)).toEqual(['v23.1.0', 'v23.11.0']);
  });
});
