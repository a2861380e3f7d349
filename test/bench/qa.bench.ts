/**
 * QA speed, against the fake conda:
 *  1. a PR touching k = 3 of N = 40 envs builds exactly 3; a second run of the same head builds 0;
 *  2. `--jobs 4` over 8 envs with a fixed fake-conda delay (a sleep, so the 2 cores are not the limit)
 *     is >= 3.5x faster than `--jobs 1`;
 *  3. orchestration overhead (wall time of the pool minus the time spent inside conda calls) <= 5% of the
 *     time inside conda, measured on the `--jobs 1` run; the per-env overhead in ms is printed too, since it
 *     does not depend on how slow conda is.
 * A plain node script run from dist/ by `npm run bench`; exits 1 when a target is missed.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Context } from '../../scripts/app/context.js';
import { memoryOutput } from '../../scripts/cli/output.js';
import { loadRepo } from '../../scripts/repo/repo.js';
import { desiredState } from '../../scripts/core/desired.js';
import { runBuilds } from '../../scripts/app/pipeline.js';
import { runCommand } from '../fixtures/command.js';
const qa = (c: Context) => runCommand('qa', c);
import type { ChannelRecord } from '../fake-conda/index.js';
import { makeQaWorld, worldSpec, writeRepo, type QaWorld } from '../fixtures/qa-world.js';

const N = 40;
const K = 3;
const PAR_ENVS = 8;
const DELAY_MS = 6000;
const TARGET_SPEEDUP = 3.5;
const TARGET_OVERHEAD = 0.05;

const records: ChannelRecord[] = [
  { name: 'zlib', version: '1.2.13', module: false },
  ...Array.from({ length: N + 2 * PAR_ENVS }, (_, i) => ({
    name: `pkg${String(i).padStart(2, '0')}`,
    version: '1.0',
    module: false,
  })),
];

function gitIn(dir: string, ...args: string[]): string {
  return execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8' }).trim();
}
function commitAll(dir: string, msg: string): string {
  gitIn(dir, 'add', '-A');
  gitIn(dir, '-c', 'user.name=bench', '-c', 'user.email=bench@example.invalid', 'commit', '-qm', msg);
  return gitIn(dir, 'rev-parse', 'HEAD');
}

async function runQa(world: QaWorld, repo: string, options: Context['options']) {
  const out = memoryOutput(true);
  const t0 = performance.now();
  const code = await qa({
    options: { root: world.root, json: true, ...options },
    positionals: [],
    out,
    repo,
    env: process.env,
  });
  const seconds = (performance.now() - t0) / 1000;
  const result = out.results[0] as { built: number; counts: { failed: number }; timing: { condaSeconds: number } };
  if (code !== 0) throw new Error(`bench: qa exited ${code}:\n${out.errors.slice(-20).join('\n')}`);
  return { ...result, seconds };
}

/** 1. k of N */
async function kOfN(world: QaWorld): Promise<boolean> {
  const repo = join(world.base, 'repo-k');
  const envs = Object.fromEntries(
    Array.from({ length: N }, (_, i) => [`env${String(i).padStart(2, '0')}`, 'REPLICATE' as const]),
  );
  const specs = Object.fromEntries(
    Object.keys(envs).map((name, i) => [name, worldSpec(world, name, ['zlib', `pkg${String(i).padStart(2, '0')}`])]),
  );
  writeRepo(repo, { envs, channels: [world.channel] }, specs);
  gitIn(repo, 'init', '-q', '-b', 'main');
  const base = commitAll(repo, 'base: 40 envs');
  const setup = await runQa(world, repo, { jobs: '4' });
  // the PR: three specs change
  for (const i of [5, 17, 33]) {
    const name = `env${String(i).padStart(2, '0')}`;
    writeFileSync(
      join(repo, 'env-specs', `${name}.yml`),
      worldSpec(world, name, ['zlib=1.2', `pkg${String(i).padStart(2, '0')}=1.0`]),
    );
  }
  commitAll(repo, `PR: touch ${K} envs`);
  const first = await runQa(world, repo, { base, head: 'HEAD', jobs: '4' });
  const second = await runQa(world, repo, { base, head: 'HEAD', jobs: '4' });
  console.log(`k of N: setup built ${setup.built} of ${N} envs in ${setup.seconds.toFixed(1)} s`);
  console.log(
    `  PR touching ${K} of ${N}: first run built ${first.built} (${first.seconds.toFixed(1)} s), ` +
      `second run built ${second.built} (${second.seconds.toFixed(2)} s) (target ${K}, then 0)`,
  );
  return setup.built === N && first.built === K && second.built === 0;
}

/** 2 and 3: a pool of 8 envs with a fixed delay, jobs 1 vs 4. */
async function jobs(world: QaWorld): Promise<boolean> {
  process.env.FAKE_CONDA_DELAY_MS = String(DELAY_MS);
  // children get an allow-listed environment: the runner-side setting passes the fake conda's delay
  process.env.CONDA_GITOPS_PASS_ENV = 'FAKE_CONDA_DELAY_MS';
  try {
    const timed = async (label: string, first: number, jobsN: number) => {
      const repo = join(world.base, `repo-${label}`);
      const names = Array.from({ length: PAR_ENVS }, (_, i) => `${label}${i}`);
      writeRepo(
        repo,
        { envs: Object.fromEntries(names.map((n) => [n, 'REPLICATE' as const])), channels: [world.channel] },
        Object.fromEntries(
          names.map((n, i) => [n, worldSpec(world, n, ['zlib', `pkg${String(first + i).padStart(2, '0')}`])]),
        ),
      );
      const r = await loadRepo(repo);
      const desired = desiredState(r);
      const t0 = performance.now();
      const res = await runBuilds({
        root: world.root,
        repo: r,
        desired,
        envs: desired.envs,
        jobs: jobsN,
        out: memoryOutput(),
      });
      const wall = (performance.now() - t0) / 1000;
      const failed = res.envs.filter((e) => e.result.status === 'failed');
      if (failed.length || res.fresh !== PAR_ENVS)
        throw new Error(`bench: ${label}: ${failed.length} failed, ${res.fresh} built`);
      return { wall, conda: res.condaSeconds, test: res.testSeconds };
    };
    const one = await timed('serial', N, 1);
    const four = await timed('pool', N + PAR_ENVS, 4);
    const speedup = one.wall / four.wall;
    const overhead = (one.wall - one.conda) / one.conda;
    console.log(`jobs: ${PAR_ENVS} envs, FAKE_CONDA_DELAY_MS=${DELAY_MS} (create + list per env)`);
    console.log(
      `  --jobs 1: ${one.wall.toFixed(2)} s; --jobs 4: ${four.wall.toFixed(2)} s; ` +
        `speedup ${speedup.toFixed(2)}x (target >= ${TARGET_SPEEDUP}x)`,
    );
    console.log(
      `overhead (--jobs 1): wall ${one.wall.toFixed(2)} s, inside conda ${one.conda.toFixed(2)} s, ` +
        `tests ${one.test.toFixed(3)} s: ` +
        `${(overhead * 100).toFixed(2)}% (target <= ${TARGET_OVERHEAD * 100}%), ` +
        `${(((one.wall - one.conda) / PAR_ENVS) * 1000).toFixed(0)} ms per env`,
    );
    return speedup >= TARGET_SPEEDUP && overhead <= TARGET_OVERHEAD;
  } finally {
    delete process.env.FAKE_CONDA_DELAY_MS;
    delete process.env.CONDA_GITOPS_PASS_ENV;
  }
}

async function main(): Promise<number> {
  const world = makeQaWorld({ records });
  mkdirSync(world.base, { recursive: true });
  try {
    const a = await kOfN(world);
    const b = await jobs(world);
    return a && b ? 0 : 1;
  } finally {
    rmSync(world.base, { recursive: true, force: true });
  }
}

process.exitCode = await main();
