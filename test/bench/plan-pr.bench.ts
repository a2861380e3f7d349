/**
 * Benchmark of `plan --base main --head BRANCH` on a generated repository of 10,000 envs: a pull request
 * touching 1 env (target <= 0.5 s) and one touching 100 envs (target <= 1 s), measured through the real CLI
 * side by side with `validate` of the same repository (every spec parsed) and with the whole-repository plan
 * against the work tree (`plan --base main` with the branch checked out), so the ratios compare runs made on the
 * same machine in the same minute. A plain node script run from dist/ by `npm run bench`; exits 1 when a
 * target is missed.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeGeneratedRepo } from '../fixtures/repo.js';

const here = dirname(fileURLToPath(import.meta.url));
const cli = resolve(here, '../../scripts/cli/main.js');
const N = 10000;
const TARGETS: Record<string, number> = { '1': 0.5, '100': 1 };
const RUNS = 3;

function git(dir: string, ...args: string[]): string {
  return execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }).trim();
}

function commitAll(dir: string, message: string): void {
  git(dir, 'add', '-A');
  git(dir, '-c', 'user.name=bench', '-c', 'user.email=bench@example.invalid', 'commit', '-qm', message);
}

/** A branch off main changing the specs of `count` REPLICATE envs (a pinned python added). */
function branch(dir: string, name: string, count: number): void {
  git(dir, 'checkout', '-q', '-b', name, 'main');
  const inventory = readFileSync(join(dir, 'inventory.ini'), 'utf8');
  const replicated = [...inventory.matchAll(/^(env_\d+) = REPLICATE$/gm)].map((m) => m[1]!);
  const step = Math.floor(replicated.length / count);
  for (let i = 0; i < count; i++) {
    const file = join(dir, 'env-specs', `${replicated[i * step]!}.yml`);
    writeFileSync(file, readFileSync(file, 'utf8').replace(/python=3\.\d+/, 'python=3.12.1'));
  }
  commitAll(dir, `${name}: ${count} env(s)`);
  git(dir, 'checkout', '-q', 'main');
}

/** Best wall time of RUNS runs of the CLI (noise from other processes only ever adds). */
function time(args: string[]): { seconds: number; stdout: string } {
  let best = Infinity;
  let stdout = '';
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    // the V8 flags of the CLI's shebang, without depending on the file being executable
    const r = spawnSync(process.execPath, ['--max-semi-space-size=4', cli, ...args], {
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024,
    });
    const s = (performance.now() - t0) / 1000;
    if (r.status !== 0)
      throw new Error(
        `conda-gitops ${args.join(' ')} exited ${r.status}:\n${(r.stderr ?? String(r.error)).slice(0, 2000)}`,
      );
    best = Math.min(best, s);
    stdout = r.stdout;
  }
  return { seconds: best, stdout };
}

const fmt = (s: number) => `${s.toFixed(3)} s`;

function main(): number {
  const base = mkdtempSync(join(tmpdir(), 'cg-bench-pr-'));
  try {
    const dir = join(base, 'repo');
    writeGeneratedRepo(dir, N);
    git(dir, 'init', '-q', '-b', 'main');
    commitAll(dir, 'base');
    for (const count of [1, 100]) branch(dir, `pr${count}`, count);

    const missed: string[] = [];
    const validate = time(['validate', '--repo', dir]).seconds;
    console.log(`validate ${N} envs (every spec parsed): ${fmt(validate)}  [best of ${RUNS}]`);
    for (const count of [1, 100]) {
      const pr = time(['plan', '--repo', dir, '--base', 'main', '--head', `pr${count}`, '--json']);
      const planned = (JSON.parse(pr.stdout) as { envs: unknown[] }).envs.length;
      if (planned !== count) throw new Error(`plan of pr${count} lists ${planned} envs, expected ${count}`);
      // the same PR planned against the work tree: both sides read whole
      git(dir, 'checkout', '-q', `pr${count}`);
      const whole = time(['plan', '--repo', dir, '--base', 'main', '--json']).seconds;
      git(dir, 'checkout', '-q', 'main');
      const target = TARGETS[String(count)]!;
      console.log(
        `plan --base main --head pr${count} (${count} of ${N} envs changed): ${fmt(pr.seconds)} ` +
          `= ${(pr.seconds / validate).toFixed(2)} x validate-all; whole-repository plan of the same PR ` +
          `${fmt(whole)} (${(whole / pr.seconds).toFixed(1)} x slower)  [target <= ${target} s]`,
      );
      if (pr.seconds > target) missed.push(`pr${count}: ${fmt(pr.seconds)} > ${target} s`);
    }
    if (missed.length) {
      console.log(`targets missed:\n  ${missed.join('\n  ')}`);
      return 1;
    }
    console.log('all targets met');
    return 0;
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}

process.exitCode = main();
