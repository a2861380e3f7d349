/**
 * The conda upgrade as an administrator lives it (commands in-process through the CLI dispatcher; the
 * new installation is a real fake-conda installation, hence e2e):
 *   - main on vA deployed; an upgrade to vB where two envs fail; deploy is all-or-nothing unless
 *     `[conda] allow-failures` names them, then it goes live with what passed and the failing envs stay
 *     served from vA at ROOT/vA/envs/NAME;
 *   - after the upgrade is rolled back, a plain deploy does not switch `current` forward again until the
 *     repository changes (or --force).
 */
import { execFileSync, spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { memoryOutput } from '../../scripts/cli/output.js';
import type { OptionValues } from '../../scripts/core/options.js';
import { readLive, replaceSymlink } from '../../scripts/state/generation.js';
import { readHistory } from '../../scripts/state/history.js';
import { installerTemplate, writeChannel, writeCondarc } from '../fake-conda/fixtures.js';
import { runCli } from '../fixtures/repo.js';
import { runCommand } from '../fixtures/command.js';
import {
  addBuild,
  addTestedBuilds,
  commitAll,
  makeInstallation,
  writeRepo,
  type FakeInstallation,
  type RepoOptions,
} from '../fixtures/installation.js';
import type { Desired } from '../../scripts/core/desired.js';
import { desiredState } from '../../scripts/core/desired.js';
import { loadRepo } from '../../scripts/repo/repo.js';

const VA = '23.11.0';
const VB = '24.1.2';
const ENV = { ...process.env, GITHUB_ACTOR: 'octo' };

let fi: FakeInstallation | undefined;
afterEach(() => fi?.cleanup());

async function cli(repo: string, name: string, options: OptionValues = {}, positionals: string[] = []) {
  const out = memoryOutput();
  const ctx = { options: { root: fi!.root, ...options }, positionals, out, repo, env: ENV };
  const code = await runCommand(name, ctx);
  return { code, stdout: out.lines.join('\n'), stderr: out.errors.join('\n'), results: out.results };
}

/** The fake Miniconda installer `[conda] installer` names (test/fake-conda/installer.sh, linked per version). */
const installerOf = (root: string) => installerTemplate(join(root, 'installers'), [VA, VB]);

/** The new installation ROOT/vV, installed the real way: `conda-gitops install-conda --version V`. */
async function installNewConda(repo: string, version: string): Promise<void> {
  const r = await cli(repo, 'install-conda', { version });
  expect(r.code, r.stderr).toBe(0);
  expect(r.stderr + r.stdout).toContain(`installed conda ${version}`);
}

/**
 * The repository at `opts` (its [conda] names the fake installer), with `[conda] allow-failures` and other [conda]
 * lines when given; returns the desired state.
 */
async function repoAt(
  repo: string,
  opts: RepoOptions,
  allowFailures?: string[],
  condaLines: string[] = [],
): Promise<Desired> {
  await writeRepo(repo, opts);
  const lines = [
    ...(condaLines.some((l) => l.startsWith('installer =')) ? [] : [`installer = ${installerOf(fi!.root)}`]),
    ...(allowFailures ? [`allow-failures = ${allowFailures.join(', ')}`] : []),
    ...condaLines,
  ];
  const inv = join(repo, 'inventory.ini');
  writeFileSync(inv, readFileSync(inv, 'utf8').replace('[conda]\n', `[conda]\n${lines.join('\n')}\n`));
  return desiredState(await loadRepo(repo));
}

const ENVS = { a: 1, b: 1, c: 1, d: 1 };
const KERNELS = { a: 'Python (a)', c: 'Python (c)' };
const idOf = (d: Desired, name: string) => d.envs.find((e) => e.name === name)!.buildId;

/** main on vA, deployed (generation 1); vB installed beside it (unless `installB` is false). */
async function onVA(installB = true): Promise<{ repo: string; dA: Desired }> {
  fi = makeInstallation({ version: VA });
  const repo = join(fi.root, 'repo');
  const dA = await repoAt(repo, { version: VA, envs: ENVS, kernels: KERNELS });
  addTestedBuilds(fi.root, dA);
  commitAll(repo, 'main on vA');
  const r = await cli(repo, 'deploy');
  expect(r.code, r.stderr).toBe(0);
  if (installB) await installNewConda(repo, VB);
  return { repo, dA };
}

/** The upgrade commit: every env replicated into vB, c and d failing there. */
async function upgrade(repo: string, allowFailures?: string[], failing = ['c', 'd']): Promise<Desired> {
  const dB = await repoAt(repo, { version: VB, envs: ENVS, kernels: KERNELS }, allowFailures);
  addTestedBuilds(fi!.root, { ...dB, envs: dB.envs.filter((e) => !failing.includes(e.name)) });
  for (const n of failing) addBuild(fi!.root, VB, n, idOf(dB, n), { status: 'failed' });
  commitAll(repo, `conda ${VB}`);
  return dB;
}

describe('going live with what passed (allow-failures)', () => {
  it('without the list deploy is all-or-nothing and names every blocking env; with it the rest goes live', async () => {
    const { repo, dA } = await onVA();
    await upgrade(repo);
    const refused = await cli(repo, 'deploy');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/c [0-9a-f]{12}: build FAILED/);
    expect(refused.stderr).toMatch(/d [0-9a-f]{12}: build FAILED/);
    expect(refused.stderr).toMatch(/allow-failures/);
    expect(readlinkSync(join(fi!.root, 'current'))).toBe(`v${VA}`);

    const dB = await upgrade(repo, ['c', 'd']);
    const r = await cli(repo, 'deploy');
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(readlinkSync(join(fi!.root, 'current'))).toBe(`v${VB}`);
    expect(readLive(fi!.root).links).toEqual({ a: idOf(dB, 'a'), b: idOf(dB, 'b') });
    const oldPath = join(fi!.root, `v${VA}`, 'envs', 'c');
    expect(r.stdout).toContain(`left out: c (failed: missing-package), still served from v${VA} at ${oldPath}`);
    // the left-out env still runs from the old installation, at the documented path
    const py = join(oldPath, 'bin', 'python');
    expect(execFileSync(py, { encoding: 'utf8' }).trim()).toBe(`c ${idOf(dA, 'c')}`);
    expect(existsSync(join(fi!.root, 'envs', 'c'))).toBe(false);
  });
});

describe('an installation rollback that sticks', () => {
  it('after an upgrade is rolled back, a plain deploy refuses to switch current forward again', async () => {
    const { repo } = await onVA();
    const dB = await upgrade(repo, undefined, []);
    expect((await cli(repo, 'deploy')).code).toBe(0);
    expect(readlinkSync(join(fi!.root, 'current'))).toBe(`v${VB}`);
    const rb = await cli(repo, 'rollback');
    expect(rb.code, rb.stderr).toBe(0);
    expect(readlinkSync(join(fi!.root, 'current'))).toBe(`v${VA}`);

    const again = await cli(repo, 'deploy');
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(new RegExp(`v${VB}.*rolled back`));
    expect(readlinkSync(join(fi!.root, 'current'))).toBe(`v${VA}`);
    const st = await cli(repo, 'status');
    expect(st.code).toBe(1);
    expect(st.stdout).toMatch(new RegExp(`v${VB}.*rolled back`));
    expect(realpathSync(join(fi!.root, 'envs', 'a'))).toContain(`v${VA}`);
    void dB;
  });
});

const link = (...p: string[]) => readlinkSync(join(fi!.root, ...p));
const kernelArgv = (k: string) =>
  // after the launcher and the env's prefix and name (core/kernel.ts): the kernel's own argv, its python first
  (JSON.parse(readFileSync(join(fi!.root, 'kernels', k, 'kernel.json'), 'utf8')) as { argv: string[] }).argv[3];
const lastHistory = () => readHistory(fi!.root).entries.at(-1)!;

describe('the upgrade story', () => {
  it('vA live; upgrade with two failures allowed; rollback --installation; deploy refuses; --force; fix', async () => {
    const { repo, dA } = await onVA();
    const root = fi!.root;
    expect(link('current')).toBe(`v${VA}`);
    expect(link(`v${VA}`, 'envs')).toBe('generations/1');
    expect(kernelArgv('a')).toBe(join(root, 'envs', 'a', 'bin', 'python'));
    expect(readHistory(root).entries).toHaveLength(1);

    // 1. the upgrade goes live with what passed
    const dB = await upgrade(repo, ['c', 'd']);
    const dry = await cli(repo, 'deploy', { 'dry-run': true });
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(`switch ROOT/current -> v${VB}`);
    expect(link('current')).toBe(`v${VA}`);
    const up = await cli(repo, 'deploy');
    expect(up.code, up.stderr).toBe(0);
    expect(link('current')).toBe(`v${VB}`);
    expect(link('qa')).toBe(`v${VB}`);
    expect(link(`v${VB}`, 'envs')).toBe('generations/1');
    expect(link(`v${VA}`, 'envs')).toBe('generations/1'); // the old installation's generation stays as it was
    expect(link(`v${VB}`, 'generations', '1', 'a')).toBe(`../../builds/a/${idOf(dB, 'a')}`);
    expect(existsSync(join(root, `v${VB}`, 'generations', '1', 'c'))).toBe(false);
    expect(realpathSync(join(root, 'envs', 'b'))).toBe(join(root, `v${VB}`, 'builds', 'b', idOf(dB, 'b')));
    expect(realpathSync(join(root, 'current', 'bin', 'conda'))).toBe(join(root, `v${VB}`, 'bin', 'conda'));
    // kernels: a through ROOT/envs (now vB), c from the old installation that still serves it
    expect(kernelArgv('a')).toBe(join(root, 'envs', 'a', 'bin', 'python'));
    expect(kernelArgv('c')).toBe(join(root, `v${VA}`, 'envs', 'c', 'bin', 'python'));
    expect(execFileSync(kernelArgv('c'), { encoding: 'utf8' }).trim()).toBe(`c ${idOf(dA, 'c')}`);
    for (const n of ['c', 'd']) {
      expect(up.stdout).toContain(
        `left out: ${n} (failed: missing-package), still served from v${VA} at ${join(root, `v${VA}`, 'envs', n)}`,
      );
    }
    let h = lastHistory();
    expect(h.from).toEqual({ installation: `v${VA}`, generation: 1 });
    expect(h.to).toEqual({ installation: `v${VB}`, generation: 1 });
    expect(h.note).toContain(`left out: c (failed: missing-package), still served from v${VA}`);
    let st = await cli(repo, 'status');
    expect(st.code).toBe(1); // not in sync: two envs are not live in vB
    expect(st.stdout).toMatch(/c\s+missing: .*left out \(allow-failures\), still served from v23\.11\.0/);
    expect(st.stdout).toContain('2 left out (allow-failures)');
    expect(st.stdout).not.toMatch(/kernel c/);

    // 2. rollback --installation: the dry run changes nothing; the real one swaps current back and marks vB
    const rbDry = await cli(repo, 'rollback', { installation: true, 'dry-run': true });
    expect(rbDry.code, rbDry.stderr).toBe(0);
    expect(rbDry.stdout).toContain(`switch ROOT/current -> v${VA}`);
    expect(link('current')).toBe(`v${VB}`);
    const rb = await cli(repo, 'rollback', { installation: true, json: true });
    expect(rb.code, rb.stderr).toBe(0);
    expect(link('current')).toBe(`v${VA}`);
    expect(rb.results[0]).toMatchObject({ ok: true, installationMarked: `v${VB}`, to: { installation: `v${VA}` } });
    expect(realpathSync(join(root, 'envs', 'c'))).toBe(join(root, `v${VA}`, 'builds', 'c', idOf(dA, 'c')));
    h = lastHistory();
    expect(h.command).toBe('rollback --installation');
    expect(h.note).toContain(`v${VB} marked rolled back`);

    // 3. a plain deploy refuses to switch forward, names the mark and the ways out
    const refused = await cli(repo, 'deploy');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/refusing to switch ROOT\/current to v24\.1\.2: it was rolled back at/);
    expect(refused.stderr).toContain('deploy --force');
    expect(link('current')).toBe(`v${VA}`);
    expect((await cli(repo, 'deploy', { 'dry-run': true })).code).toBe(1);
    st = await cli(repo, 'status');
    expect(st.stdout).toMatch(/installation v24\.1\.2: rolled back at .*deploy --force/);

    // 4. --force goes forward and lifts the mark
    const forced = await cli(repo, 'deploy', { force: true });
    expect(forced.code, forced.stderr).toBe(0);
    expect(link('current')).toBe(`v${VB}`);
    expect(lastHistory().note).toContain('mark cleared');
    st = await cli(repo, 'status');
    expect(st.stdout).not.toMatch(/installation v24\.1\.2: rolled back/);

    // 5. c is fixed in git: the next deploy links it in vB; d stays left out
    const dFix = await repoAt(repo, { version: VB, envs: { ...ENVS, c: 2 }, kernels: KERNELS }, ['c', 'd']);
    addTestedBuilds(root, { ...dFix, envs: dFix.envs.filter((e) => e.name === 'c') });
    commitAll(repo, 'fix c');
    const fixed = await cli(repo, 'deploy');
    expect(fixed.code, fixed.stderr).toBe(0);
    expect(link(`v${VB}`, 'envs')).toBe('generations/2');
    expect(realpathSync(join(root, 'envs', 'c'))).toBe(join(root, `v${VB}`, 'builds', 'c', idOf(dFix, 'c')));
    expect(kernelArgv('c')).toBe(join(root, 'envs', 'c', 'bin', 'python'));
    expect(fixed.stdout).toContain(`left out: d (failed: missing-package), still served from v${VA}`);
    expect(fixed.stdout).not.toContain('left out: c');
    h = lastHistory();
    expect(h.to).toEqual({ installation: `v${VB}`, generation: 2 });
    expect(h.changed).toEqual([]);
    expect(h.added).toEqual([{ name: 'c', build: idOf(dFix, 'c') }]);
  });

  it('after rollback --installation, a commit that changes the builds deploys forward without --force', async () => {
    const { repo } = await onVA();
    await upgrade(repo, ['c', 'd']);
    expect((await cli(repo, 'deploy')).code).toBe(0);
    expect((await cli(repo, 'rollback', { installation: true }, [`v${VA}`])).code).toBe(0);
    expect(link('current')).toBe(`v${VA}`);
    // the installation named is current already: nothing to do
    const noop = await cli(repo, 'rollback', { installation: true }, [VA]);
    expect(noop.code).toBe(0);
    expect(noop.stdout).toMatch(/already current: nothing to do/);
    const unknown = await cli(repo, 'rollback', { installation: true }, ['v9.9.9']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no installation .*v9\.9\.9/);

    const dFix = await repoAt(repo, { version: VB, envs: { ...ENVS, d: 2 }, kernels: KERNELS }, ['c', 'd']);
    addTestedBuilds(fi!.root, { ...dFix, envs: dFix.envs.filter((e) => e.name === 'd') });
    commitAll(repo, 'fix d');
    const r = await cli(repo, 'deploy');
    expect(r.code, r.stderr).toBe(0);
    expect(link('current')).toBe(`v${VB}`);
    expect(r.stdout).toMatch(/v24\.1\.2 was rolled back at .*: mark cleared/);
  });

  it('allow-failures names only REPLICATE envs: anything else is bad input with file:line', async () => {
    fi = makeInstallation({ version: VA });
    const repo = join(fi.root, 'repo');
    await writeRepo(repo, { version: VA, envs: { a: 1, x: 1 }, exported: ['x'] });
    const inv = join(repo, 'inventory.ini');
    writeFileSync(inv, readFileSync(inv, 'utf8').replace('[conda]\n', '[conda]\nallow-failures = a, nope\n'));
    let r = await cli(repo, 'deploy');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/inventory\.ini:2: .*allow-failures: 'nope' is not an environment listed/);
    writeFileSync(inv, readFileSync(inv, 'utf8').replace('a, nope', 'x'));
    r = await cli(repo, 'deploy');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/inventory\.ini:2: .*'x' must be a REPLICATE environment/);
    expect(existsSync(join(fi.root, 'current'))).toBe(false);
  });
});

describe('the first upgrade of an adopted installation', () => {
  // the real migration: an adopted hand-run installation (current -> vA, vA/envs a real directory of unmanaged envs,
  // no generations) -> the upgrade deployed (current -> vB, its first generation)
  /** The adopted vA (every env its own directory, its own conda), vB installed and the upgrade committed (c fails). */
  async function adoptedWithUpgrade(): Promise<{ repo: string; root: string }> {
    fi = makeInstallation({ version: VA });
    const root = fi.root;
    // the adopted layout: current -> vA, its envs real directories (as `adopt` finds them), its own conda
    for (const n of Object.keys(ENVS)) {
      mkdirSync(join(root, `v${VA}`, 'envs', n, 'bin'), { recursive: true });
      writeFileSync(join(root, `v${VA}`, 'envs', n, 'bin', 'python'), `#!/bin/sh\necho adopted ${n}\n`, {
        mode: 0o755,
      });
    }
    writeFileSync(join(root, `v${VA}`, 'bin', 'conda'), '#!/bin/sh\n', { mode: 0o755 });
    symlinkSync(`v${VA}`, join(root, 'current'));
    const repo = join(root, 'repo');
    await repoAt(repo, { version: VA, envs: ENVS, kernels: KERNELS });
    await installNewConda(repo, VB);
    const dB = await repoAt(repo, { version: VB, envs: ENVS, kernels: KERNELS }, ['c']);
    addTestedBuilds(root, { ...dB, envs: dB.envs.filter((e) => e.name !== 'c') });
    addBuild(root, VB, 'c', idOf(dB, 'c'), { status: 'failed' });
    commitAll(repo, `conda ${VB}`);
    return { repo, root };
  }

  it('rollback --installation goes back to the adopted installation; left-out envs are served from it', async () => {
    const { repo, root } = await adoptedWithUpgrade();
    const up = await cli(repo, 'deploy');
    expect(up.code, up.stderr).toBe(0);
    expect(link('current')).toBe(`v${VB}`);
    const oldC = join(root, `v${VA}`, 'envs', 'c');
    expect(up.stdout).toContain(`left out: c (failed: missing-package), still served from v${VA} at ${oldC}`);
    expect(up.stdout).not.toContain('not live anywhere');
    expect(lastHistory().from).toEqual({ installation: `v${VA}`, generation: 0 });
    let st = await cli(repo, 'status');
    expect(st.stdout).toMatch(/c\s+missing: .*left out \(allow-failures\), still served from v23\.11\.0 at /);

    // rollback --installation: the dry run changes nothing; the real one swaps current back and marks vB
    const dry = await cli(repo, 'rollback', { installation: true, 'dry-run': true });
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain(`switch ROOT/current -> v${VA}`);
    expect(link('current')).toBe(`v${VB}`);
    const rb = await cli(repo, 'rollback', { installation: true });
    expect(rb.code, rb.stderr).toBe(0);
    expect(link('current')).toBe(`v${VA}`);
    expect(rb.stdout).toContain(`v${VB} marked rolled back`);
    expect(execFileSync(join(root, 'envs', 'a', 'bin', 'python'), { encoding: 'utf8' }).trim()).toBe('adopted a');
    let h = lastHistory();
    expect(h.command).toBe('rollback --installation');
    expect(h.from).toEqual({ installation: `v${VB}`, generation: 1 });
    expect(h.to).toEqual({ installation: `v${VA}`, generation: 0 });
    expect(h.note).toContain(`v${VB} marked rolled back`);

    // status says the adopted installation is live and main wants the upgrade, held back by the mark
    st = await cli(repo, 'status');
    expect(st.code).toBe(1);
    expect(st.stdout).toContain(`live: the adopted installation v${VA}`);
    expect(st.stdout).toContain(`repository wants v${VB}`);
    expect(st.stdout).toMatch(/installation v24\.1\.2: rolled back at .*deploy --force/);
    // kernels are kept right: a through ROOT/envs (the adopted env a now), c from the adopted installation
    expect(st.stdout).not.toMatch(/kernel [ac]/);
    const ks = await cli(repo, 'kernels');
    expect(ks.code, ks.stderr).toBe(0);
    expect(ks.stdout).toContain('0 removed');
    expect(kernelArgv('a')).toBe(join(root, 'envs', 'a', 'bin', 'python'));
    expect(execFileSync(kernelArgv('a'), { encoding: 'utf8' }).trim()).toBe('adopted a');
    expect(kernelArgv('c')).toBe(join(oldC, 'bin', 'python'));

    // a plain deploy refuses to switch forward; --force goes forward again
    const refused = await cli(repo, 'deploy');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/refusing to switch ROOT\/current to v24\.1\.2: it was rolled back at/);
    expect(link('current')).toBe(`v${VA}`);
    const forced = await cli(repo, 'deploy', { force: true });
    expect(forced.code, forced.stderr).toBe(0);
    expect(link('current')).toBe(`v${VB}`);
    expect(forced.stdout).toContain(`still served from v${VA} at ${oldC}`);

    // an adopted installation that is not whole any more (its conda gone): refused, nothing changed
    const conda = join(root, `v${VA}`, 'bin', 'conda');
    rmSync(conda);
    const broken = await cli(repo, 'rollback', { installation: true });
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/\(adopted\) cannot be made current again:\n.*bin\/conda is missing/);
    expect(link('current')).toBe(`v${VB}`);
    writeFileSync(conda, '#!/bin/sh\n', { mode: 0o755 });

    // a plain rollback from the first generation goes back to the adopted installation too
    const plain = await cli(repo, 'rollback');
    expect(plain.code, plain.stderr).toBe(0);
    expect(link('current')).toBe(`v${VA}`);
    h = lastHistory();
    expect(h.to).toEqual({ installation: `v${VA}`, generation: 0 });
    expect((await cli(repo, 'deploy')).code).toBe(1);
  });

  it('a rollback to the adopted installation killed after its swap: the next writer marks what it left', async () => {
    const { repo } = await adoptedWithUpgrade();
    expect((await cli(repo, 'deploy')).code).toBe(0);
    // what `rollback --installation` killed right after its rename(2) leaves: current swapped, no mark, no history
    replaceSymlink(join(fi!.root, 'current'), `v${VA}`, 'current');
    const r = await cli(repo, 'deploy');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/history: recorded a cutover a killed run had not logged/);
    expect(r.stderr).toMatch(/refusing to switch ROOT\/current to v24\.1\.2/);
    expect(link('current')).toBe(`v${VA}`);
    expect(lastHistory()).toMatchObject({
      command: 'rollback (recorded after the fact)',
      to: { installation: `v${VA}`, generation: 0 },
    });
  });
});

describe('a killed installation rollback', () => {
  it('killed after its swap, before its mark: the next writer marks the installation it left', async () => {
    const { repo } = await onVA();
    await upgrade(repo, ['c', 'd']);
    expect((await cli(repo, 'deploy')).code).toBe(0);
    // what `rollback --installation` killed right after its rename(2) leaves: current swapped, no mark, no history
    replaceSymlink(join(fi!.root, 'current'), `v${VA}`, 'current');
    const r = await cli(repo, 'deploy');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/history: recorded a cutover a killed run had not logged/);
    expect(r.stderr).toMatch(/refusing to switch ROOT\/current to v24\.1\.2/);
    expect(link('current')).toBe(`v${VA}`);
    expect(lastHistory().command).toBe('rollback (recorded after the fact)');
  });
});

describe('installation swaps under load', () => {
  it('a reader resolving ROOT/current/bin/conda and ROOT/envs/a/bin/python never fails during swaps', async () => {
    const { repo } = await onVA();
    const root = fi!.root;
    writeFileSync(join(root, `v${VA}`, 'bin', 'conda'), '#!/bin/sh\n'); // the stand-in vA has no conda of its own
    await upgrade(repo, undefined, []);
    const stop = join(root, 'stop-reader');
    // a separate process: stat(2) follows every link, as exec would
    const reader = spawn(
      process.execPath,
      [
        '-e',
        `const fs = require('node:fs');
         const [root, stop] = process.argv.slice(1);
         let ok = 0, failed = 0; const seen = new Set();
         console.log('ready');
         while (!fs.existsSync(stop)) {
           for (let i = 0; i < 200; i++) {
             try {
               fs.statSync(root + '/current/bin/conda');
               fs.statSync(root + '/envs/a/bin/python');
               seen.add(fs.realpathSync(root + '/current'));
               ok++;
             } catch { failed++; }
           }
         }
         console.log(JSON.stringify({ ok, failed, seen: [...seen].length }));`,
        root,
        stop,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let text = '';
    reader.stdout.on('data', (d: Buffer) => (text += d.toString()));
    await new Promise<void>((done) => reader.stdout.once('data', () => done()));
    const done = new Promise<void>((resolve) => reader.on('exit', () => resolve()));
    const first = await cli(repo, 'deploy');
    expect(first.code, first.stderr).toBe(0);
    for (let i = 0; i < 8; i++) {
      expect((await cli(repo, 'rollback', { installation: true })).code).toBe(0);
      expect(link('current')).toBe(`v${VA}`);
      expect((await cli(repo, 'deploy', { force: true })).code).toBe(0);
      expect(link('current')).toBe(`v${VB}`);
    }
    writeFileSync(stop, '');
    await done;
    const counts = JSON.parse(text.trim().split('\n').at(-1)!) as { ok: number; failed: number; seen: number };
    expect(counts.failed).toBe(0);
    expect(counts.ok).toBeGreaterThan(0);
    expect(counts.seen).toBe(2); // it really read through both installations
  });

  it('deploy --build-missing builds outside the ROOT lock: a rollback during the build succeeds', async () => {
    const { repo, dA } = await onVA();
    const root = fi!.root;
    // a second generation in vA, so that a rollback has somewhere to go
    const dA2 = await repoAt(repo, { version: VA, envs: { ...ENVS, b: 2 }, kernels: KERNELS });
    addTestedBuilds(root, dA2);
    commitAll(repo, 'b 2');
    expect((await cli(repo, 'deploy')).code).toBe(0);
    // vB with a channel the builds can use; nothing built there yet
    const channels = join(root, 'channels');
    mkdirSync(channels);
    writeChannel(join(channels, 'conda-forge'), [
      { name: 'python', version: '3.11.7', module: false },
      { name: 'zlib', version: '1.2.1', module: false },
      { name: 'zlib', version: '1.2.2', module: false },
    ]);
    writeCondarc(join(root, `v${VB}`), {
      channels: ['conda-forge'],
      customChannels: { 'conda-forge': pathToFileURL(channels).href },
    });
    await repoAt(repo, { version: VB, envs: { a: 1 } });
    commitAll(repo, `conda ${VB}, one env`);

    const deploying = runCli(['deploy', '--root', root, '--build-missing', '--wait', '120'], {
      cwd: repo,
      env: { FAKE_CONDA_DELAY_MS: '1500', CONDA_GITOPS_PASS_ENV: 'FAKE_CONDA_DELAY_MS' },
    });
    // wait until the build has started in vB
    const builds = join(root, `v${VB}`, 'builds', 'a');
    for (let i = 0; i < 600 && !existsSync(builds); i++) await new Promise((r) => setTimeout(r, 100));
    expect(existsSync(builds)).toBe(true);
    const rb = await cli(repo, 'rollback'); // --wait 0: it would exit 3 if the deploy held the lock
    expect(rb.code, rb.stderr).toBe(0);
    expect(link(`v${VA}`, 'envs')).toBe('generations/1');
    const d = await deploying;
    expect(d.code, d.stderr).toBe(0);
    expect(d.stderr).toMatch(/building 1 missing env/);
    expect(link('current')).toBe(`v${VB}`);
    expect(Object.keys(readLive(root).links)).toEqual(['a']);
    void dA;
  });

  it('deploy --build-missing of an upgrade whose conda is not installed installs it first', async () => {
    await onVA(false);
    const root = fi!.root;
    expect(existsSync(join(root, `v${VB}`))).toBe(false);
    // the channel the new installation reaches through its .condarc, written from [conda] custom-channels
    const channels = join(root, 'channels');
    mkdirSync(channels);
    writeChannel(join(channels, 'conda-forge'), [
      { name: 'python', version: '3.11.7', module: false },
      { name: 'zlib', version: '1.2.1', module: false },
    ]);
    const repo = join(root, 'repo');
    await repoAt(repo, { version: VB, envs: { a: 1 } }, undefined, [
      `custom-channels = conda-forge=${pathToFileURL(channels).href}`,
    ]);
    commitAll(repo, `conda ${VB}, one env`);

    const dry = await cli(repo, 'deploy', { 'build-missing': true, 'dry-run': true });
    expect(dry.stdout).toContain(`would install conda ${VB} first`);
    expect(existsSync(join(root, `v${VB}`))).toBe(false);

    const r = await cli(repo, 'deploy', { 'build-missing': true });
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stdout + r.stderr).toMatch(new RegExp(`install-conda: installed conda ${VB.replace(/\./g, '\\.')}`));
    expect(existsSync(join(root, `v${VB}`, 'bin', 'conda'))).toBe(true);
    expect(readFileSync(join(root, `v${VB}`, '.condarc'), 'utf8')).toContain(pathToFileURL(channels).href);
    expect(link('current')).toBe(`v${VB}`);
    expect(link('qa')).toBe(`v${VB}`);
    expect(Object.keys(readLive(root).links)).toEqual(['a']);
    expect(
      execFileSync(join(root, 'envs', 'a', 'bin', 'python'), ['-c', 'print(6*7)'], { encoding: 'utf8' }).trim(),
    ).toBe('42');
  });

  it('deploy --build-missing whose installer fails: exit 1, message names it, current and qa unchanged', async () => {
    await onVA(false);
    const root = fi!.root;
    const broken = join(root, 'broken-{version}.sh');
    writeFileSync(broken.replace('{version}', VB), 'echo "installer: disk full" >&2\nexit 3\n');
    const repo = join(root, 'repo');
    await repoAt(repo, { version: VB, envs: { a: 1 } }, undefined, [`installer = ${broken}`]);
    commitAll(repo, `conda ${VB}, a broken installer`);
    const qaBefore = existsSync(join(root, 'qa')) ? link('qa') : undefined;
    const r = await cli(repo, 'deploy', { 'build-missing': true });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/nothing was built or deployed .*the installer .*broken-24\.1\.2\.sh failed \(exit 3\)/);
    expect(existsSync(join(root, `v${VB}`))).toBe(false);
    expect(link('current')).toBe(`v${VA}`);
    expect(existsSync(join(root, 'qa')) ? link('qa') : undefined).toBe(qaBefore);
  });
});
