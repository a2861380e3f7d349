/**
 * A dry run predicts the real run: for each situation an administrator meets, `deploy|rollback|gc --dry-run`
 * then the real command on the same ROOT give the same exit code, the same refusal lines (stderr, prefixed
 * `conda-gitops:`) and the same decision lines (the indented plan lines), and the dry run writes nothing.
 * Commands run in-process through the CLI dispatcher; the --build-missing case runs the installation's fake
 * conda, hence e2e.
 */
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { memoryOutput } from '../../scripts/cli/output.js';
import type { OptionValues } from '../../scripts/core/options.js';
import { readLive } from '../../scripts/state/generation.js';
import { runCommand } from '../fixtures/command.js';
import {
  addBuild,
  addTestedBuilds,
  commitAll,
  makeBuildingInstallation,
  makeInstallation,
  writeRepo,
  VERSION,
  type FakeInstallation,
} from '../fixtures/installation.js';
import { snapshotTree } from '../fixtures/repo.js';

const ENV = { ...process.env, GITHUB_ACTOR: 'octo' };

let fi: FakeInstallation | undefined;
afterEach(() => fi?.cleanup());

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(repo: string, name: string, options: OptionValues = {}): Promise<Run> {
  const out = memoryOutput();
  const ctx = { options: { root: fi!.root, ...options }, positionals: [], out, repo, env: ENV };
  const code = await runCommand(name, ctx);
  return { code, stdout: out.lines.join('\n'), stderr: out.errors.join('\n') };
}

/** What a user compares between the two runs: the exit code, why it refused, what it decided per env. */
function verdict(r: Run) {
  const lines = (text: string) => text.split('\n').filter(Boolean);
  return {
    code: r.code,
    refusals: lines(r.stderr).filter((l) => l.startsWith('conda-gitops: ')),
    decisions: lines(r.stdout).filter((l) => /^ {2}[-+~!]|^nothing to deploy/.test(l)),
  };
}

/** Runs `name` with --dry-run, then for real, on the same ROOT; the dry run must not have written anything. */
async function dryThenReal(repo: string, name: string, options: OptionValues = {}, real: OptionValues = {}) {
  const before = snapshotTree(fi!.root);
  const dry = await cli(repo, name, { ...options, 'dry-run': true });
  expect(snapshotTree(fi!.root), `${name} --dry-run wrote under ROOT`).toEqual(before);
  const done = await cli(repo, name, { ...options, ...real });
  return { dry, real: done };
}

async function setup(envs: Record<string, number>) {
  fi = makeInstallation();
  const repo = join(fi.root, 'repo');
  mkdirSync(repo);
  const desired = await writeRepo(repo, { envs });
  commitAll(repo, 'specs');
  return { repo, desired };
}

const idOf = (d: Awaited<ReturnType<typeof writeRepo>>, name: string) => d.envs.find((e) => e.name === name)!.buildId;

describe('deploy --dry-run predicts deploy', () => {
  it('nothing to deploy: both exit 0 and say so', async () => {
    const { repo, desired } = await setup({ a: 1 });
    addTestedBuilds(fi!.root, desired);
    expect((await cli(repo, 'deploy')).code).toBe(0);
    const { dry, real } = await dryThenReal(repo, 'deploy');
    expect(verdict(dry)).toEqual(verdict(real));
    expect(verdict(real)).toMatchObject({ code: 0, refusals: [] });
    expect(real.stdout).toMatch(/nothing to deploy/);
  });

  it('an untested build: both refuse with exit 1 and the same message on stderr, nothing deployed', async () => {
    const { repo, desired } = await setup({ a: 1, b: 1 });
    addTestedBuilds(fi!.root, { ...desired, envs: desired.envs.filter((e) => e.name === 'a') });
    addBuild(fi!.root, VERSION, 'b', idOf(desired, 'b'), { status: 'built' }); // built, no verdict
    const { dry, real } = await dryThenReal(repo, 'deploy');
    expect(verdict(dry)).toEqual(verdict(real));
    expect(real.code).toBe(1);
    expect(verdict(real).refusals.join('\n')).toMatch(/refusing to deploy/);
    expect(real.stderr).toMatch(/b [0-9a-f]{12}: built, not tested/);
    expect(readLive(fi!.root).ref).toBeUndefined();
  });

  it('a build held back by a rollback: both exit 1 with the same held-back line; the rest deploys', async () => {
    const { repo, desired } = await setup({ a: 1, b: 1 });
    addTestedBuilds(fi!.root, desired);
    expect((await cli(repo, 'deploy')).code).toBe(0);
    const d2 = await writeRepo(repo, { envs: { a: 2, b: 1 } });
    addTestedBuilds(fi!.root, d2);
    commitAll(repo, 'a 2');
    expect((await cli(repo, 'deploy')).code).toBe(0);
    expect((await cli(repo, 'rollback')).code).toBe(0); // a's new build is marked bad; main still asks for it
    const d3 = await writeRepo(repo, { envs: { a: 2, b: 3 } });
    addTestedBuilds(fi!.root, d3);
    commitAll(repo, 'b 3');

    const { dry, real } = await dryThenReal(repo, 'deploy');
    expect(verdict(dry)).toEqual(verdict(real));
    expect(real.code).toBe(1);
    expect(verdict(real).refusals.join('\n')).toMatch(/held back: a: .*deploy --force/);
    expect(verdict(real).decisions.join('\n')).toMatch(/! a: main asks for build [0-9a-f]{12}, rolled back/);
    expect(verdict(real).decisions).toContain(`  ~ b ${idOf(desired, 'b')} -> ${idOf(d3, 'b')}`);
    expect(readLive(fi!.root).links).toEqual({ a: idOf(desired, 'a'), b: idOf(d3, 'b') });
  });

  it('an env of [conda] allow-failures without a build: both exit 0 and leave it out alike', async () => {
    const { repo, desired } = await setup({ a: 1, b: 1 });
    const inv = join(repo, 'inventory.ini');
    writeFileSync(inv, readFileSync(inv, 'utf8').replace('[environments]', 'allow-failures = b\n\n[environments]'));
    commitAll(repo, 'b may fail');
    addTestedBuilds(fi!.root, { ...desired, envs: desired.envs.filter((e) => e.name === 'a') });
    const { dry, real } = await dryThenReal(repo, 'deploy');
    expect(verdict(dry)).toEqual(verdict(real));
    expect(verdict(real)).toMatchObject({ code: 0, refusals: [] });
    expect(verdict(real).decisions.join('\n')).toMatch(/left out: b .*allow-failures/);
    expect(readLive(fi!.root).links).toEqual({ a: idOf(desired, 'a') });
  });

  it('a missing build with --build-missing: the dry run does not refuse where the real run builds it', async () => {
    fi = makeBuildingInstallation();
    const repo = join(fi.root, 'repo');
    mkdirSync(repo);
    const desired = await writeRepo(repo, { envs: { a: 1, b: 2 } });
    commitAll(repo, 'specs');
    addTestedBuilds(fi.root, { ...desired, envs: desired.envs.filter((e) => e.name === 'a') });

    const { dry, real } = await dryThenReal(repo, 'deploy', { 'build-missing': true });
    expect(verdict(dry)).toEqual(verdict(real));
    expect(verdict(real)).toMatchObject({ code: 0, refusals: [] });
    expect(verdict(real).decisions).toContain(`  + b ${idOf(desired, 'b')}`);
    expect(dry.stdout).toMatch(/would build and test first.*\bb\b/);
    expect(readLive(fi.root).links.b).toBe(idOf(desired, 'b'));
  });
});

describe('rollback --dry-run and gc (a dry run unless --yes) predict the real run', () => {
  it('rollback: same exit code and env lines; with nothing to roll back to, the same refusal', async () => {
    const { repo, desired } = await setup({ a: 1 });
    addTestedBuilds(fi!.root, desired);
    expect((await cli(repo, 'deploy')).code).toBe(0);
    const none = await dryThenReal(repo, 'rollback');
    expect(verdict(none.dry)).toEqual(verdict(none.real));
    expect(none.real.code).toBe(1);
    expect(verdict(none.real).refusals.join('\n')).toMatch(/no generation before .* to roll back to/);

    const d2 = await writeRepo(repo, { envs: { a: 2 } });
    addTestedBuilds(fi!.root, d2);
    commitAll(repo, 'a 2');
    expect((await cli(repo, 'deploy')).code).toBe(0);
    const back = await dryThenReal(repo, 'rollback');
    expect(verdict(back.dry)).toEqual(verdict(back.real));
    expect(verdict(back.real)).toMatchObject({ code: 0, refusals: [] });
    expect(verdict(back.real).decisions).toEqual([`  ~ a ${idOf(d2, 'a')} -> ${idOf(desired, 'a')}`]);
  });

  it('gc: the dry run and --yes exit alike, also when --retire is refused', async () => {
    const { repo, desired } = await setup({ a: 1 });
    addTestedBuilds(fi!.root, desired);
    expect((await cli(repo, 'deploy')).code).toBe(0);
    appendFileSync(join(fi!.root, 'repo', '.gitignore'), '');
    for (const options of [{}, { retire: `v${VERSION}` }] as OptionValues[]) {
      const before = snapshotTree(fi!.root);
      const dry = await cli(repo, 'gc', options);
      expect(snapshotTree(fi!.root)).toEqual(before);
      const real = await cli(repo, 'gc', { ...options, yes: true });
      expect(verdict(dry).code, JSON.stringify(options)).toBe(verdict(real).code);
      expect(verdict(dry).refusals).toEqual(verdict(real).refusals);
    }
  });
});
