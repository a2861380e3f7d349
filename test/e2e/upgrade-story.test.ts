/**
 * Issue 11, the conda upgrade as an administrator lives it (commands in-process through the CLI dispatcher; the
 * new installation is a real fake-conda installation, hence e2e):
 *   - main on vA deployed; an upgrade to vB where two envs fail; deploy is all-or-nothing unless
 *     `[conda] allow-failures` names them, then it goes live with what passed and the failing envs stay
 *     served from vA at ROOT/vA/envs/NAME;
 *   - after the upgrade is rolled back, a plain deploy does not switch `current` forward again until the
 *     repository changes (or --force).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { memoryOutput } from '../../scripts/cli/output.js';
import type { OptionValues } from '../../scripts/core/options.js';
import { readLive } from '../../scripts/state/generation.js';
import { readHistory } from '../../scripts/state/history.js';
import { installFakeConda } from '../fake-conda/fixtures.js';
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

async function cli(repo: string, name: string, options: OptionValues = {}) {
  const out = memoryOutput();
  const ctx = { options: { root: fi!.root, ...options }, positionals: [], out, repo, env: ENV };
  const code = await runCommand(name, ctx);
  return { code, stdout: out.lines.join('\n'), stderr: out.errors.join('\n') };
}

/**
 * The new installation ROOT/vV. Until `install-conda` lands this is the fake conda's installer run directly (what
 * install-conda runs too); the lead swaps this one function to `conda-gitops install-conda --version V`.
 */
export function installNewConda(root: string, version: string): void {
  installFakeConda(join(root, `v${version}`), version, { channels: ['conda-forge'] });
}

/** The repository at `opts`, with `[conda] allow-failures` when given; returns the desired state. */
async function repoAt(repo: string, opts: RepoOptions, allowFailures?: string[]): Promise<Desired> {
  await writeRepo(repo, opts);
  if (allowFailures) {
    const inv = join(repo, 'inventory.ini');
    const text = readFileSync(inv, 'utf8').replace(
      '[conda]\n',
      `[conda]\nallow-failures = ${allowFailures.join(', ')}\n`,
    );
    writeFileSync(inv, text);
  }
  return desiredState(await loadRepo(repo));
}

const ENVS = { a: 1, b: 1, c: 1, d: 1 };
const KERNELS = { a: 'Python (a)', c: 'Python (c)' };
const idOf = (d: Desired, name: string) => d.envs.find((e) => e.name === name)!.buildId;

/** main on vA, deployed (generation 1); vB installed beside it. */
async function onVA(): Promise<{ repo: string; dA: Desired }> {
  fi = makeInstallation({ version: VA });
  const repo = join(fi.root, 'repo');
  const dA = await repoAt(repo, { version: VA, envs: ENVS, kernels: KERNELS });
  addTestedBuilds(fi.root, dA);
  commitAll(repo, 'main on vA');
  const r = await cli(repo, 'deploy');
  expect(r.code, r.stderr).toBe(0);
  installNewConda(fi.root, VB);
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
  it('without the list deploy stays all-or-nothing and names every env that blocks it; with it, the rest goes live', async () => {
    const { repo, dA } = await onVA();
    await upgrade(repo);
    const refused = await cli(repo, 'deploy');
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(/c [0-9a-f]{12}: build FAILED/);
    expect(refused.stdout).toMatch(/d [0-9a-f]{12}: build FAILED/);
    expect(refused.stdout).toMatch(/allow-failures/);
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
    void readHistory;
  });
});
