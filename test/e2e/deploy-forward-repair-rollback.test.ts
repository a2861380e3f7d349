/**
 * Drift repair, deploy forward only and rollback, replayed as an administrator would run them (commands
 * in-process through the CLI dispatcher; the repair runs the installation's fake conda, hence e2e):
 *   - a live env changed by hand (`conda install` into ROOT/envs/NAME) can be repaired: `status` names the
 *      command, `deploy --repair NAME` rebuilds it beside the tainted build and swaps it in;
 *   - deploy only goes forward: an older commit is refused (a revert commit is the way back);
 *   - rollback --env NAME goes to NAME's previous distinct build, --to N --env NAME works, --dry-run makes the
 *      real run's checks, rolling back to the live generation is a no-op.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { memoryOutput } from '../../scripts/cli/output.js';
import type { OptionValues } from '../../scripts/core/options.js';
import { listGenerations, readLive } from '../../scripts/state/generation.js';
import { readBuildRecord } from '../../scripts/state/record.js';
import { readHistory } from '../../scripts/state/history.js';
import { runCommand } from '../fixtures/command.js';
import {
  addTestedBuilds,
  commitAll,
  git,
  makeBuildingInstallation,
  makeInstallation,
  writeRepo,
  VERSION,
  type FakeInstallation,
} from '../fixtures/installation.js';

const ENV = { ...process.env, GITHUB_ACTOR: 'octo' };

let fi: FakeInstallation | undefined;
afterEach(() => fi?.cleanup());

async function cli(repo: string, name: string, options: OptionValues = {}) {
  const out = memoryOutput();
  const ctx = { options: { root: fi!.root, ...options }, positionals: [], out, repo, env: ENV };
  const code = await runCommand(name, ctx);
  return { code, stdout: out.lines.join('\n'), stderr: out.errors.join('\n') };
}

/** A fake installation and a git repository in it; `versions` are the successive specs of env `a` (and b). */
async function setup(): Promise<{ repo: string; ids: Record<string, string> }> {
  fi = makeInstallation();
  const repo = join(fi.root, 'repo');
  mkdirSync(repo);
  return { repo, ids: {} };
}

const idOf = (d: Awaited<ReturnType<typeof writeRepo>>, name: string) => d.envs.find((e) => e.name === name)!.buildId;

describe('deploy moves only forward', () => {
  it('refuses a commit that does not descend from the live one, names both; a revert commit goes back', async () => {
    const { repo } = await setup();
    const d1 = await writeRepo(repo, { envs: { a: 1, b: 1 } });
    addTestedBuilds(fi!.root, d1);
    const c1 = commitAll(repo, 'a 1');
    const d2 = await writeRepo(repo, { envs: { a: 2, b: 1 } });
    addTestedBuilds(fi!.root, d2);
    const c2 = commitAll(repo, 'a 2');
    expect((await cli(repo, 'deploy')).code).toBe(0);
    const live = readLive(fi!.root).links;
    expect(live.a).toBe(idOf(d2, 'a'));

    // a re-run of an old deploy job: the old commit checked out
    git(repo, 'checkout', '-q', c1);
    const dry = await cli(repo, 'deploy', { 'dry-run': true });
    expect(dry.code).toBe(1);
    const refused = await cli(repo, 'deploy');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(c1.slice(0, 12));
    expect(refused.stderr).toContain(c2.slice(0, 12));
    expect(refused.stderr).toMatch(/does not descend from .*revert.*--allow-downgrade/s);
    expect(dry.stderr).toBe(refused.stderr);
    expect(readLive(fi!.root).links).toEqual(live);
    expect(listGenerations(fi!.inst.dir)).toEqual([1]);

    // asked for explicitly: allowed, and said
    const forced = await cli(repo, 'deploy', { 'allow-downgrade': true });
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stderr).toMatch(/deploying anyway \(--allow-downgrade\)/);
    expect(readLive(fi!.root).links.a).toBe(idOf(d1, 'a'));

    // the normal way back: main moves forward with a revert
    git(repo, 'checkout', '-q', 'main');
    expect((await cli(repo, 'deploy')).code).toBe(0); // main (c2) descends from c1: forward again
    expect(readLive(fi!.root).links.a).toBe(idOf(d2, 'a'));
    git(repo, 'revert', '--no-edit', 'HEAD');
    const reverted = await cli(repo, 'deploy');
    expect(reverted.code, reverted.stderr).toBe(0);
    expect(readLive(fi!.root).links.a).toBe(idOf(d1, 'a'));
    expect(readHistory(fi!.root).entries.at(-1)?.commit).toBe(git(repo, 'rev-parse', 'HEAD'));
  });

  it('outside git there is no commit to compare: deploys as before and says so', async () => {
    const { repo } = await setup();
    const d = await writeRepo(repo, { envs: { a: 1 } });
    addTestedBuilds(fi!.root, d);
    const r = await cli(repo, 'deploy');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/not a git checkout: deploying without checking that it moves forward/);
  });
});

describe('rollback that does what people mean', () => {
  /** generations: 1 {a1,b1}, 2 {a2,b1}, 3 {a2,b2} */
  async function threeGenerations() {
    const { repo } = await setup();
    const ds = [];
    for (const [a, b] of [
      [1, 1],
      [2, 1],
      [2, 2],
    ]) {
      const d = await writeRepo(repo, { envs: { a, b } });
      addTestedBuilds(fi!.root, d);
      commitAll(repo, `a ${a} b ${b}`);
      expect((await cli(repo, 'deploy')).code).toBe(0);
      ds.push(d);
    }
    return { repo, ids: { a1: idOf(ds[0], 'a'), a2: idOf(ds[1], 'a'), b1: idOf(ds[0], 'b'), b2: idOf(ds[2], 'b') } };
  }

  it('--env NAME returns NAME to its previous distinct build even when the last deploy did not change it', async () => {
    const { repo, ids } = await threeGenerations();
    const dry = await cli(repo, 'rollback', { env: 'a', 'dry-run': true });
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain(`~ a ${ids.a2} -> ${ids.a1}`);
    expect(listGenerations(fi!.inst.dir)).toEqual([1, 2, 3]);

    const r = await cli(repo, 'rollback', { env: 'a' });
    expect(r.code, r.stderr).toBe(0);
    expect(readLive(fi!.root).links).toEqual({ a: ids.a1, b: ids.b2 });
    expect(readBuildRecord(fi!.root, VERSION, 'a', ids.a2)?.bad).toBeDefined();

    // once more: no older distinct build that was not rolled back already
    const again = await cli(repo, 'rollback', { env: 'a' });
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/env 'a' has build .* nothing to roll back to/);
  });

  it('--to N --env NAME takes NAME from generation N; the same build is a no-op', async () => {
    const { repo, ids } = await threeGenerations();
    const r = await cli(repo, 'rollback', { to: '1', env: 'b' });
    expect(r.code, r.stderr).toBe(0);
    expect(readLive(fi!.root).links).toEqual({ a: ids.a2, b: ids.b1 });
    const gens = listGenerations(fi!.inst.dir);
    const same = await cli(repo, 'rollback', { to: '2', env: 'b' });
    expect(same.code, same.stderr).toBe(0);
    expect(same.stdout).toMatch(/nothing to do/);
    expect(listGenerations(fi!.inst.dir)).toEqual(gens);
  });

  it('--dry-run makes the checks of the real run: same exit code, same message, nothing written', async () => {
    const { repo } = await threeGenerations();
    const before = readHistory(fi!.root).entries.length;
    for (const opts of [{ env: 'nope' }, { to: '9' }, { to: '9', env: 'a' }, { to: '1', env: 'nope' }]) {
      const dry = await cli(repo, 'rollback', { ...opts, 'dry-run': true });
      const real = await cli(repo, 'rollback', opts);
      expect(dry.code, JSON.stringify(opts)).toBe(2);
      expect(real.code, JSON.stringify(opts)).toBe(2);
      expect(dry.stderr).toBe(real.stderr);
    }
    expect(listGenerations(fi!.inst.dir)).toEqual([1, 2, 3]);
    expect(readHistory(fi!.root).entries.length).toBe(before);
  });

  it('rollback --to N where N is live is a no-op with exit 0', async () => {
    const { repo } = await threeGenerations();
    const before = readHistory(fi!.root).entries.length;
    for (const dryRun of [true, false]) {
      const r = await cli(repo, 'rollback', { to: '3', 'dry-run': dryRun });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/generation 3 is already live: nothing to do/);
    }
    expect(readLive(fi!.root).ref?.generation).toBe(3);
    expect(readHistory(fi!.root).entries.length).toBe(before);
  });
});

describe('a drifted env is named by status and repaired by deploy --repair', () => {
  it('status names the repair; deploy --repair rebuilds beside the tainted build and swaps it in', async () => {
    fi = makeBuildingInstallation([{ name: 'tzdata', version: '2024a', module: false }]);
    const repo = join(fi.root, 'repo');
    mkdirSync(repo);
    const d = await writeRepo(repo, { envs: { a: 1, b: 2 } });
    commitAll(repo, 'two envs');
    const deployed = await cli(repo, 'deploy', { 'build-missing': true });
    expect(deployed.code, deployed.stderr).toBe(0);
    const a = idOf(d, 'a');
    expect(readLive(fi.root).links.a).toBe(a);

    // someone "fixes" the live env by hand
    const conda = join(fi.inst.dir, 'bin', 'conda');
    execFileSync(conda, ['install', '-y', '-p', join(fi.root, 'envs', 'a'), 'tzdata'], { encoding: 'utf8' });

    const drift = await cli(repo, 'status');
    expect(drift.code).toBe(1);
    expect(drift.stdout).toMatch(/a .*changed by hand.*conda-gitops deploy --repair a/);
    expect((await cli(repo, 'deploy')).stdout).toMatch(/nothing to deploy/); // a plain deploy leaves it

    const dry = await cli(repo, 'deploy', { repair: 'a', 'dry-run': true });
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(new RegExp(`would repair a: .*fresh build ${a}\\.r1`));
    expect(existsSync(join(fi.inst.builds, 'a', `${a}.r1`))).toBe(false);

    const repaired = await cli(repo, 'deploy', { repair: 'a' });
    expect(repaired.code, repaired.stderr).toBe(0);
    expect(readLive(fi.root).links).toEqual({ a: `${a}.r1`, b: idOf(d, 'b') });
    const fresh = readBuildRecord(fi.root, VERSION, 'a', `${a}.r1`);
    // a build record says what the BUILD is; its passing test is a verdict file beside it
    expect(fresh?.status).toBe('built');
    expect(fresh?.repairOf).toBe(a);
    expect(readBuildRecord(fi.root, VERSION, 'a', a)?.tainted?.repairedBy).toBe(`${a}.r1`);
    // the dry run predicted the same plan: the repair build swapped in for the hand-changed one
    const planLines = (text: string) => text.split('\n').filter((l) => /^ {2}[-+~!]/.test(l));
    expect(planLines(dry.stdout)).toEqual([`  ~ a ${a} -> ${a}.r1`]);
    expect(planLines(repaired.stdout)).toEqual(planLines(dry.stdout));
    expect(existsSync(join(fi.inst.builds, 'a', a, 'conda-meta'))).toBe(true); // the tainted build is kept
    const pkgs = readdirSync(join(fi.root, 'envs', 'a', 'conda-meta')).join(' ');
    expect(pkgs).not.toMatch(/tzdata/);
    const last = readHistory(fi.root).entries.at(-1)!;
    expect(last.command).toBe('deploy --repair a');
    expect(last.note).toMatch(new RegExp(`repaired .*a ${a} -> ${a}\\.r1`));

    // back in sync, and it stays: the repair build has the repository's inputs
    const clean = await cli(repo, 'status');
    expect(clean.code, clean.stdout).toBe(0);
    const again = await cli(repo, 'deploy');
    expect(again.stdout).toMatch(/nothing to deploy/);
    expect((await cli(repo, 'deploy', { 'repair-all-drifted': true })).stdout).toMatch(/nothing to repair/);

    // gc understands repair builds: the live one is kept, the tainted one goes once nothing links it
    const gc = await cli(repo, 'gc', { keep: '1', yes: true, grace: '0' });
    expect(gc.code, gc.stderr).toBe(0);
    expect(existsSync(join(fi.inst.builds, 'a', `${a}.r1`, 'conda-meta'))).toBe(true);
  });

  it('--repair of an env that is not in the repository, or not live, is bad input (exit 2)', async () => {
    const { repo } = await setup();
    const d = await writeRepo(repo, { envs: { a: 1 } });
    addTestedBuilds(fi!.root, d);
    commitAll(repo, 'a');
    expect((await cli(repo, 'deploy')).code).toBe(0);
    const nope = await cli(repo, 'deploy', { repair: 'nope' });
    expect(nope.code).toBe(2);
    expect(nope.stderr).toMatch(/--repair nope: not a REPLICATE env/);
    const untouched = await cli(repo, 'deploy', { repair: 'a' });
    expect(untouched.code).toBe(0);
    expect(untouched.stdout).toMatch(/a: live build .* is not changed by hand: nothing to repair/);
  });
});
