/**
 * Crash safety (docs/deploy.md): kill -9 the compiled CLI's deploy at injected steps and at random
 * moments, 60 times. After each kill every REPLICATE env still runs (old or new build, never a mix of
 * generations), and the next deploy completes and leaves no temporary entries behind.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readLive } from '../../scripts/state/generation.js';
import type { LinkMap } from '../../scripts/core/generation.js';
import { readHistory } from '../../scripts/state/history.js';
import { memoryOutput } from '../../scripts/cli/output.js';
import { deploy, type DeployOptions } from '../../scripts/app/deploy.js';
import type { Desired } from '../../scripts/core/desired.js';
import { addTestedBuilds, commitAll, compiledCli, makeInstallation, writeRepo } from '../fixtures/installation.js';
import type { FakeInstallation } from '../fixtures/installation.js';

/** Every step of a deploy that has a crash point, in order (`current-tmp-link` only runs on an installation switch). */
const STEPS = [
  'locked',
  'generation-half',
  'generation-written',
  'swap-tmp-link',
  'swapped',
  'links-ensured',
  'kernel-written',
  'before-history',
  'done',
];
const TRIALS = 56;

const links = (d: Desired): LinkMap => Object.fromEntries(d.envs.map((e) => [e.name, e.buildId]));

describe('kill -9 during deploy', () => {
  let fi: FakeInstallation;
  let cli: string;
  const repos: string[] = [];
  const states: Desired[] = [];

  beforeAll(async () => {
    cli = await compiledCli();
    fi = makeInstallation();
    // two desired states: 12 envs shared (half of them at different builds), one env only in each
    const base = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`env${String(i).padStart(2, '0')}`, i]));
    const a = { ...base, only_a: 100 };
    const b = { ...Object.fromEntries(Object.entries(base).map(([k, v]) => [k, v % 2 ? v + 50 : v])), only_b: 200 };
    for (const [i, envs] of [a, b].entries()) {
      const dir = join(fi.root, `repo-${i}`);
      mkdirSync(dir);
      const d = await writeRepo(dir, {
        envs,
        kernels: { env00: 'Env 0', env01: 'Env 1', [i ? 'only_b' : 'only_a']: 'Only' },
      });
      addTestedBuilds(fi.root, d);
      commitAll(dir, `state ${i}`);
      repos.push(dir);
      states.push(d);
    }
    expect((await deployAt(repos[0])).result.ok).toBe(true);
  }, 120_000);
  afterAll(() => fi?.cleanup());

  /** The deploy use case in this process (the killed deploys run the compiled CLI). */
  async function deployAt(repo: string, opts: Partial<DeployOptions> = {}) {
    const out = memoryOutput();
    const result = await deploy({
      repoDir: repo,
      rootFlag: fi.root,
      env: process.env,
      out,
      force: false,
      dryRun: false,
      buildMissing: false,
      jobs: 1,
      waitSeconds: 0,
      // the two states are two unrelated repositories deployed in turn: neither descends from the other
      allowDowngrade: true,
      ...opts,
    });
    return { result, out };
  }

  /**
   * Run the CLI's deploy and kill it: at an injected step, or `delayMs` after it took the lock (the
   * moment its work on ROOT starts; polling the lock directory finds it within a millisecond or so).
   */
  function killedDeploy(
    repo: string,
    how: { step?: string; delayMs?: number },
  ): Promise<{ signal: NodeJS.Signals | null; code: number | null; lockedForMs?: number }> {
    return new Promise((resolve) => {
      const env = { ...process.env, ...(how.step ? { CONDA_GITOPS_CRASH_AT: how.step } : {}) };
      const args = [cli, 'deploy', '--root', fi.root, '--repo', repo, '--allow-downgrade']; // see deployAt
      const child = spawn(process.execPath, args, {
        env,
        stdio: 'ignore',
      });
      let timer: NodeJS.Timeout | undefined;
      let lockedAt: number | undefined;
      const poll = setInterval(() => {
        if (!existsSync(join(fi.root, '.gitops', 'lock'))) return;
        clearInterval(poll);
        lockedAt = performance.now();
        if (how.delayMs !== undefined) timer = setTimeout(() => child.kill('SIGKILL'), how.delayMs);
      }, 1);
      child.on('close', (code, signal) => {
        clearInterval(poll);
        clearTimeout(timer);
        resolve({ code, signal, ...(lockedAt !== undefined ? { lockedForMs: performance.now() - lockedAt } : {}) });
      });
    });
  }

  /** Every env a state asks for resolves through ROOT/envs and runs, printing the build it is. */
  function runEnvs(live: LinkMap): void {
    for (const [name, id] of Object.entries(live)) {
      const out = execFileSync(join(fi.root, 'envs', name, 'bin', 'python'), { encoding: 'utf8' }).trim();
      expect(out).toBe(`${name} ${id}`);
    }
  }

  function temporaries(): string[] {
    const found: string[] = [];
    const look = (dir: string) => {
      if (!existsSync(dir)) return;
      for (const e of readdirSync(dir)) if (/tmp|^(lock)?\..*(new|gone|dead)-\d+/.test(e)) found.push(join(dir, e));
    };
    look(fi.root);
    look(fi.inst.dir);
    look(join(fi.inst.dir, 'generations'));
    look(join(fi.root, '.gitops'));
    look(join(fi.root, 'kernels'));
    for (const k of existsSync(join(fi.root, 'kernels')) ? readdirSync(join(fi.root, 'kernels')) : [])
      if (k !== '.conda-gitops-launch') look(join(fi.root, 'kernels', k));
    return found;
  }

  it(`${TRIALS} kills spread over every step: live envs always run, the next deploy completes cleanly`, async () => {
    // calibrate: how long a deploy works on ROOT after taking the lock, here and now
    const c1 = await killedDeploy(repos[1], {});
    const c2 = await killedDeploy(repos[0], {});
    expect([c1.code, c2.code]).toEqual([0, 0]);
    const window = Math.max(5, c1.lockedForMs ?? 0, c2.lockedForMs ?? 0);
    let killedMidway = 0;
    const seen = new Set<string>();

    for (let trial = 0; trial < TRIALS; trial++) {
      const from = trial % 2;
      const to = 1 - from;
      expect(readLive(fi.root).links).toEqual(links(states[from]));
      const how =
        trial % 2 === 0 ? { step: STEPS[(trial / 2) % STEPS.length] } : { delayMs: Math.floor(Math.random() * window) };
      const r = await killedDeploy(repos[to], how);
      if (r.signal === 'SIGKILL') killedMidway++;

      // right after the kill: the live generation is the old or the new one, whole, and every env runs
      const live = readLive(fi.root).links;
      const which =
        JSON.stringify(live) === JSON.stringify(links(states[from]))
          ? 'old'
          : JSON.stringify(live) === JSON.stringify(links(states[to]))
            ? 'new'
            : 'mixed';
      expect(which, `trial ${trial} ${JSON.stringify(how)}`).not.toBe('mixed');
      seen.add(which);
      runEnvs(live);

      // the next deploy (with the lock the killed one may have left) completes
      const tn = performance.now();
      const { result, out } = await deployAt(repos[to], { waitSeconds: 60 });
      if (process.env.CRASH_DEBUG)
        console.log(trial, JSON.stringify(how), r.signal, which, `${(performance.now() - tn).toFixed(0)} ms`);
      expect(result.ok, out.errors.join('\n')).toBe(true);
      expect(readLive(fi.root).links).toEqual(links(states[to]));
      runEnvs(links(states[to]));
      expect(temporaries(), `trial ${trial} ${JSON.stringify(how)}`).toEqual([]);
      const last = readHistory(fi.root).entries.at(-1)!;
      expect(last.to).toEqual(readLive(fi.root).ref);
      expect(existsSync(join(fi.root, 'kernels', to ? 'only_b' : 'only_a', 'kernel.json'))).toBe(true);
      expect(existsSync(join(fi.root, 'kernels', to ? 'only_a' : 'only_b'))).toBe(false);
    }
    expect(killedMidway).toBeGreaterThanOrEqual(TRIALS * 0.6);
    expect([...seen].sort()).toEqual(['new', 'old']);
    // every generation that exists is complete: each link resolves to a build
    for (const g of readdirSync(join(fi.inst.dir, 'generations'))) {
      for (const e of readdirSync(join(fi.inst.dir, 'generations', g)).filter((x) => !x.startsWith('.'))) {
        expect(existsSync(join(fi.inst.dir, 'generations', g, e, 'bin', 'python'))).toBe(true);
      }
    }
  }, 480_000);
});
