/**
 * Benchmark of validate + plan on generated repos of 1,000 and 10,000 envs, and of `conda-gitops --help`.
 * A plain node script (run from dist/ by `npm run bench`): prints measured numbers and the targets, exits 1
 * when a target is missed. Each size is measured in a fresh child process so its peak RSS is its own and
 * module loading (rattler, ajv) is paid like a real run pays it.
 *
 *   node dist/test/bench/validate.bench.js            all measurements
 *   node dist/test/bench/validate.bench.js --one N REPO ROOT    (internal) one in-process measurement, JSON on stdout
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeGeneratedRepo } from '../fixtures/repo.js';

const here = dirname(fileURLToPath(import.meta.url));
const cli = resolve(here, '../../scripts/cli/main.js');
const TARGETS = { '1000': 1, '10000': 10, rssMb: 200, helpSeconds: 0.3 };
const RUNS = 3;

interface OneResult {
  n: number;
  envs: number;
  seconds: number;
  cpuSeconds: number;
  validateSeconds: number;
  planSeconds: number;
  build: number;
  maxRssMb: number;
}

/** In-process: what `validate` and `plan` do on a generated repo, timed from a cold start of the library. */
async function one(n: number, dir: string, root: string): Promise<OneResult> {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const { checkRepoDir } = await import('../../scripts/repo/repo.js');
  const { desiredState } = await import('../../scripts/core/desired.js');
  const { planAgainstRoot } = await import('../../scripts/core/plan.js');
  const { envPlanFromDisk } = await import('../../scripts/app/deploy.js');
  const { readLive } = await import('../../scripts/state/generation.js');
  const { repo, problems } = await checkRepoDir(dir);
  if (!repo)
    throw new Error(
      `generated repo is invalid:\n${problems
        .slice(0, 5)
        .map((p) => `${p.file}:${p.line}: ${p.message}`)
        .join('\n')}`,
    );
  const desired = desiredState(repo);
  const t1 = performance.now();
  const plan = planAgainstRoot(desired.condaVersion, envPlanFromDisk(root, desired, readLive(root).links));
  const t2 = performance.now();
  const cpu = process.cpuUsage(cpu0);
  return {
    n,
    envs: desired.envs.length,
    seconds: (t2 - t0) / 1000,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    validateSeconds: (t1 - t0) / 1000,
    planSeconds: (t2 - t1) / 1000,
    build: plan.counts.build,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
  };
}

/** The V8 flags of the CLI's shebang: the in-process measurement runs with the same settings. */
const CLI_V8_FLAGS = ['--max-semi-space-size=4'];

const timeBin = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;

/** Run the real CLI once: wall seconds, exit code and (with /usr/bin/time) cpu seconds and peak RSS. */
function runCli(args: string[]): {
  seconds: number;
  status: number | null;
  cpuSeconds?: number;
  maxRssMb?: number;
  stderr: string;
} {
  // run the file itself, as npx does, so its shebang's V8 flags apply
  const cmd = timeBin ?? cli;
  const argv = timeBin ? ['-f', 'maxrss_kb=%M cpu=%U+%S', cli, ...args] : args;
  const t0 = performance.now();
  const r = spawnSync(cmd, argv, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  const seconds = (performance.now() - t0) / 1000;
  const m = /maxrss_kb=(\d+) cpu=([\d.]+)\+([\d.]+)/.exec(r.stderr ?? '');
  return {
    seconds,
    status: r.status,
    stderr: r.stderr ?? '',
    ...(m ? { maxRssMb: Number(m[1]) / 1024, cpuSeconds: Number(m[2]) + Number(m[3]) } : {}),
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

const fmt = (s: number) => `${s.toFixed(3)} s`;

async function all(): Promise<number> {
  const missed: string[] = [];
  const results: OneResult[] = [];
  for (const n of [1000, 10000]) {
    // generated here, measured in a child: generating must not count in the child's time or peak RSS
    const base = mkdtempSync(join(tmpdir(), 'cg-bench-'));
    try {
      const dir = join(base, 'repo');
      const root = join(base, 'root');
      mkdirSync(root);
      writeGeneratedRepo(dir, n);
      // best of RUNS cold runs for time (noise from other processes only ever adds), worst for memory
      const runs: OneResult[] = [];
      for (let i = 0; i < RUNS; i++) {
        const r = spawnSync(
          process.execPath,
          [...CLI_V8_FLAGS, fileURLToPath(import.meta.url), '--one', String(n), dir, root],
          { encoding: 'utf8' },
        );
        if (r.status !== 0) throw new Error(`bench child for ${n} envs failed:\n${r.stderr}`);
        runs.push(JSON.parse(r.stdout) as OneResult);
      }
      const res = runs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
      const rssMb = Math.max(...runs.map((r) => r.maxRssMb));
      results.push(res);
      const target = TARGETS[String(n) as '1000' | '10000'];
      console.log(
        `validate+plan ${n} envs (${res.envs} REPLICATE, ${res.build} to build), ` +
          `in-process: ${fmt(res.seconds)} (validate ${fmt(res.validateSeconds)}, plan ${fmt(res.planSeconds)}; ` +
          `cpu ${fmt(res.cpuSeconds)}), peak RSS ${rssMb.toFixed(0)} MB  ` +
          `[target <= ${target} s, <= ${TARGETS.rssMb} MB; best/worst of ${RUNS}]`,
      );
      if (res.seconds > target) missed.push(`${n} envs in-process ${fmt(res.seconds)} > ${target} s`);
      if (rssMb > TARGETS.rssMb) missed.push(`${n} envs peak RSS ${rssMb.toFixed(0)} MB > ${TARGETS.rssMb} MB`);

      // the same through the real CLI
      for (const args of [
        ['validate', '--repo', dir],
        ['plan', '--repo', dir, '--root', root, '--json'],
      ]) {
        const cs = Array.from({ length: RUNS }, () => runCli(args));
        const failed = cs.find((c) => c.status !== 0);
        if (failed)
          throw new Error(`conda-gitops ${args[0]} failed (exit ${failed.status}):\n${failed.stderr.slice(0, 2000)}`);
        const seconds = Math.min(...cs.map((c) => c.seconds));
        const rssList = cs.flatMap((c) => (c.maxRssMb === undefined ? [] : [c.maxRssMb]));
        const cliRss = rssList.length ? Math.max(...rssList) : undefined;
        const cpu = cs.flatMap((c) => (c.cpuSeconds === undefined ? [] : [c.cpuSeconds]));
        const extra =
          (cpu.length ? `, cpu ${fmt(Math.min(...cpu))}` : '') +
          (cliRss === undefined ? '' : `, peak RSS ${cliRss.toFixed(0)} MB`);
        console.log(`  CLI ${args[0]!.padEnd(8)} ${n} envs: ${fmt(seconds)}${extra}`);
        if (seconds > target) missed.push(`CLI ${args[0]} ${n} envs ${fmt(seconds)} > ${target} s`);
        if (cliRss !== undefined && cliRss > TARGETS.rssMb)
          missed.push(`CLI ${args[0]} ${n} envs peak RSS ${cliRss.toFixed(0)} MB > ${TARGETS.rssMb} MB`);
      }
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  }
  const ratio = results[1]!.seconds / results[0]!.seconds;
  console.log(`10k/1k ratio: ${ratio.toFixed(2)} (10x the envs; linear growth is <= ~10)`);

  const helps: number[] = [];
  for (let i = 0; i < 10; i++) {
    const c = runCli(['--help']);
    if (c.status !== 0) throw new Error(`conda-gitops --help exited ${c.status}`);
    helps.push(c.seconds);
  }
  const help = median(helps);
  console.log(
    `conda-gitops --help: median ${fmt(help)} over 10 runs ` +
      `(min ${fmt(Math.min(...helps))}, max ${fmt(Math.max(...helps))})  [target <= ${TARGETS.helpSeconds} s]`,
  );
  if (help > TARGETS.helpSeconds) missed.push(`--help median ${fmt(help)} > ${TARGETS.helpSeconds} s`);

  if (missed.length) {
    console.log(`targets missed:\n  ${missed.join('\n  ')}`);
    return 1;
  }
  console.log('all targets met');
  return 0;
}

const oneIdx = process.argv.indexOf('--one');
if (oneIdx >= 0) {
  const [n, dir, root] = process.argv.slice(oneIdx + 1);
  process.stdout.write(JSON.stringify(await one(Number(n), dir!, root!)) + '\n');
} else {
  process.exitCode = await all();
}
