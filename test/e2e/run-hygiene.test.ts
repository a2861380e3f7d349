/**
 * Secrets and stray processes of a run, replayed against the compiled CLI and the fake conda:
 * - secrets of the runner's environment (GITHUB_TOKEN, ACTIONS_RUNTIME_TOKEN) and the checkout's `.git/config`
 *   auth header never reach a child's environment nor any file the tool writes (logs, report.json, summary.md,
 *   junit.xml, the job summary, step outputs, its own stdout/stderr);
 * - nothing a build or test starts outlives the run (`sleep &`, `setsid sleep &`), a background child holding
 *   the test's stdout does not hang QA, and SIGTERM to the CLI stops everything, marks the build `aborted`,
 *   removes the temp dirs and exits 143; the next run builds normally.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { makeQaWorld, worldSpec, type QaWorld } from '../fixtures/qa-world.js';
import { builtCli } from '../fixtures/repo.js';
import { readBuildRecord } from '../../scripts/state/record.js';

const GITHUB_TOKEN = `ghs_${'A1b2C3d4'.repeat(4)}`;
const RUNTIME_TOKEN = `eyJ0eXAiOiJKV1Qi.${'runtime9'.repeat(3)}`;
const AUTH_HEADER = Buffer.from(`x-access-token:${GITHUB_TOKEN}`).toString('base64');
const SECRETS = [GITHUB_TOKEN, RUNTIME_TOKEN, AUTH_HEADER];
/** unique per test run, so the process checks never see another suite's sleeps */
const TAG = `${process.pid}${Math.floor(Math.random() * 1000)}`;
const bwrap = existsSync('/usr/bin/bwrap');
if (!bwrap) console.log('run-hygiene: bubblewrap (/usr/bin/bwrap) missing: the PID-namespace variants are skipped');

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Processes (pid, cmdline) whose command line (or, with `file: 'environ'`, environment) contains `needle`. */
function processesWith(needle: string, file: 'cmdline' | 'environ' = 'cmdline'): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const text = readFileSync(`/proc/${pid}/${file}`, 'utf8').replace(/\0/g, ' ');
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (text.includes(needle) && Number(pid) !== process.pid) found.push(`${pid}: ${cmd}`);
    } catch {
      // gone
    }
  }
  return found;
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

describe('clean environments, no secrets out, nothing outlives a run', () => {
  let world: QaWorld;
  let repo: string;
  let tmp: string;
  let cli: string;
  const git = (...args: string[]) => execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8' }).trim();

  /** The compiled CLI with the runner's secrets in its environment and a private TMPDIR. */
  function start(args: string[], env: Record<string, string> = {}) {
    const child = spawn(process.execPath, [cli, ...args, '--root', world.root, '--repo', repo], {
      env: {
        ...process.env,
        GITHUB_TOKEN,
        ACTIONS_RUNTIME_TOKEN: RUNTIME_TOKEN,
        MY_SERVICE_PASSWORD: 'hunter2hunter2',
        TEAM_SETTING: 'visible-to-tests',
        TMPDIR: tmp,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    // a hang detector, not a timing assertion: a QA that never ends is killed so the suite can report it
    const guard = setTimeout(() => child.kill('SIGKILL'), 90_000);
    const done = new Promise<Run>((resolve) =>
      child.on('close', (code, signal) => {
        clearTimeout(guard);
        resolve({ code, signal, stdout, stderr });
      }),
    );
    return { child, done };
  }

  function writeSpecs(tests: Record<string, string>, inventoryExtra = '') {
    const names = Object.keys(tests);
    rmSync(join(repo, 'env-specs'), { recursive: true, force: true });
    mkdirSync(join(repo, 'env-specs'));
    writeFileSync(
      join(repo, 'inventory.ini'),
      [
        '[conda]',
        'version = 23.11.0',
        `channels = ${world.channel}`,
        ...(inventoryExtra ? [inventoryExtra] : []),
        '',
        '[environments]',
        ...names.map((n) => `${n} = REPLICATE`),
        '',
      ].join('\n'),
    );
    for (const [name, script] of Object.entries(tests)) {
      writeFileSync(join(repo, 'env-specs', `${name}.yml`), worldSpec(world, name, ['python=3.11', 'zlib']));
      writeFileSync(join(repo, 'env-specs', `${name}.test.sh`), script);
    }
  }

  beforeAll(async () => {
    world = makeQaWorld();
    repo = join(world.base, 'repo');
    tmp = join(world.base, 'tmp');
    mkdirSync(join(repo, 'env-specs'), { recursive: true });
    mkdirSync(tmp, { recursive: true });
    git('init', '-q', '-b', 'main');
    // what actions/checkout leaves without persist-credentials: false
    git('config', 'http.https://github.com/.extraheader', `AUTHORIZATION: basic ${AUTH_HEADER}`);
    // conda reports the environment it was started with on stderr, which goes to the build log (the sandbox of
    // a QA build has nowhere else to write; the log is redacted, but a leaked variable keeps its name)
    const bin = join(world.conda.prefix, 'bin');
    renameSync(join(bin, 'conda'), join(bin, 'conda.real'));
    writeFileSync(
      join(bin, 'conda'),
      `#!/bin/sh\nenv | sed 's/^/conda-env: /' >&2\nexec '${join(bin, 'conda.real')}' "$@"\n`,
    );
    chmodSync(join(bin, 'conda'), 0o755);
    cli = await builtCli();
  });
  afterAll(() => {
    for (const p of processesWith(TAG)) process.kill(Number(p.split(':')[0]), 'SIGKILL');
    world?.cleanup();
  });

  test('tokens in the CLI environment reach no child and no written file', async () => {
    const gitConfig = join(repo, '.git', 'config');
    writeSpecs(
      {
        leaky: [
          'echo "child env:"; env',
          'echo "parent env:"; tr "\\0" "\\n" < /proc/$PPID/environ',
          // the test looks for the tokens itself (its output is redacted; in the sandbox it can write nowhere
          // outside its temp dir): a part of each value, which the redactor would not mask, decides
          ...[GITHUB_TOKEN, RUNTIME_TOKEN].flatMap((t, i) => [
            `env | grep -qF '${t.slice(-12)}' && echo "LEAK${i}: env" || echo "CLEAN${i}: env"`,
            `tr "\\0" "\\n" < /proc/$PPID/environ | grep -qF '${t.slice(-12)}' ` +
              `&& echo "LEAK${i}: parent" || echo "CLEAN${i}: parent"`,
          ]),
          'env | sed "s/^/test-env: /"',
          `echo "checkout config:"; cat '${gitConfig}'`,
          'exit 1',
          '',
        ].join('\n'),
      },
      'pass-env = TEAM_SETTING, GITHUB_WORKSPACE',
    );
    const summary = join(world.base, 'step-summary.md');
    const outputs = join(world.base, 'step-outputs.txt');
    writeFileSync(summary, '');
    writeFileSync(outputs, '');
    const run = await start(['qa', '--json'], {
      GITHUB_ACTIONS: 'true',
      GITHUB_STEP_SUMMARY: summary,
      GITHUB_OUTPUT: outputs,
    }).done;
    expect(run.code, run.stderr).toBe(1);
    const report = JSON.parse(run.stdout.slice(run.stdout.search(/^\{$/m))) as { root: string; runId: string };
    const runDir = join(report.root, '.gitops', 'runs', report.runId);
    const written = [...filesUnder(runDir), ...filesUnder(join(world.root, 'v23.11.0', 'builds')), summary, outputs];
    // the test really ran and printed what it could find: the leak would be in these files
    expect(readFileSync(join(runDir, 'logs', 'leaky.log'), 'utf8')).toContain('parent env:');
    expect(written.some((f) => f.endsWith('junit.xml'))).toBe(true);
    for (const f of written) {
      const text = readFileSync(f, 'utf8');
      for (const s of SECRETS) expect(text.includes(s), `${s} in ${f}`).toBe(false);
      expect(text, f).not.toContain('hunter2hunter2');
    }
    // stdout carries the ::add-mask:: commands that register the secrets with the runner, and nothing else of them
    const stdoutLines = run.stdout.split('\n').filter((l) => !l.startsWith('::add-mask::'));
    expect(run.stdout).toContain(`::add-mask::${GITHUB_TOKEN}`);
    for (const s of SECRETS) {
      expect(stdoutLines.join('\n')).not.toContain(s);
      expect(run.stderr).not.toContain(s);
    }
    // the test itself got no secret: not in its environment, nor in its parent's (a PID namespace: bubblewrap)
    const testLog = readFileSync(join(runDir, 'logs', 'leaky.log'), 'utf8');
    for (const i of [0, 1]) {
      expect(testLog).toContain(`CLEAN${i}: env`);
      if (bwrap) expect(testLog).toContain(`CLEAN${i}: parent`);
    }
    expect(testLog).not.toMatch(/LEAK\d/);
    // what the inventory's pass-env names reaches the test; nothing else of the runner does
    expect(testLog).toMatch(/^test-env: TEAM_SETTING=visible-to-tests$/m);
    expect(testLog).not.toMatch(/^test-env: (GITHUB_ACTIONS|GITHUB_STEP_SUMMARY|MY_SERVICE_PASSWORD)=/m);
    // conda ran with the allow-listed environment only
    const condaEnv = filesUnder(join(world.root, 'v23.11.0', 'builds'))
      .filter((f) => f.endsWith('.log'))
      .map((f) => readFileSync(f, 'utf8'))
      .join('\n');
    expect(condaEnv).toMatch(/^conda-env: PATH=/m);
    expect(condaEnv).not.toMatch(
      /^conda-env: (GITHUB_TOKEN|ACTIONS_RUNTIME_TOKEN|MY_SERVICE_PASSWORD|GITHUB_ACTIONS)=/m,
    );
  }, 120_000);

  describe.each([
    { mode: 'with bubblewrap (PID namespace)', env: {} as Record<string, string>, skip: !bwrap, n: 'a' },
    {
      mode: 'without bubblewrap (process group + run marker)',
      env: { CONDA_GITOPS_BWRAP: 'none' },
      skip: false,
      n: 'b',
    },
  ])('$mode', ({ env: modeEnv, skip, n }) => {
    test.skipIf(skip)(
      '`sleep &` and `setsid sleep &` are gone after qa; a held stdout does not hang it',
      async () => {
        writeSpecs({
          [`bg${n}`]: `sleep 300.${TAG}1 &\nsetsid sleep 301.${TAG}2 &\necho started\n`,
          [`held${n}`]: `(sleep 302.${TAG}3; echo late) &\necho holding\n`,
        });
        const run = await start(['qa', '--jobs', '2'], modeEnv).done;
        expect(run.signal, run.stderr).toBeNull();
        expect(run.code, run.stderr).toBe(0);
        expect(processesWith(`.${TAG}`)).toEqual([]);
      },
      120_000,
    );

    test.skipIf(skip)(
      'SIGTERM mid-build exits 143, leaves no process or temp dir, marks the build aborted',
      async () => {
        writeSpecs({ [`slow${n}`]: 'exit 0\n' });
        const { child, done } = start(['build', '--env', `slow${n}`], {
          ...modeEnv,
          FAKE_CONDA_DELAY_MS: `2${TAG}`,
          CONDA_GITOPS_PASS_ENV: 'FAKE_CONDA_DELAY_MS',
        });
        const buildsDir = join(world.root, 'v23.11.0', 'builds', `slow${n}`);
        const record = () => {
          const id = existsSync(buildsDir) ? readdirSync(buildsDir).find((d) => d.endsWith('.json')) : undefined;
          return id ? readBuildRecord(world.root, '23.11.0', `slow${n}`, id.replace(/\.json$/, '')) : undefined;
        };
        for (let i = 0; record()?.status !== 'building'; i++) {
          if (i > 600) throw new Error('the build never started');
          await new Promise((r) => setTimeout(r, 50));
        }
        // conda is running (sleeping FAKE_CONDA_DELAY_MS) when the run is cancelled
        const conda = () =>
          processesWith(`FAKE_CONDA_DELAY_MS=2${TAG}`, 'environ').filter((p) => !p.startsWith(`${child.pid}:`));
        for (let i = 0; conda().length === 0; i++) {
          if (i > 600) throw new Error('conda never started');
          await new Promise((r) => setTimeout(r, 50));
        }
        child.kill('SIGTERM');
        const run = await done;
        expect(run.code, run.stderr).toBe(143);
        expect(processesWith(`FAKE_CONDA_DELAY_MS=2${TAG}`, 'environ')).toEqual([]);
        expect(processesWith(join(world.conda.prefix, 'bin'))).toEqual([]);
        expect(record()?.status).toBe('aborted');
        expect(readdirSync(tmp).filter((d) => /^cg-(build|ref|test)-/.test(d))).toEqual([]);
        expect(run.stderr).toMatch(/interrupted|SIGTERM/);

        // an immediate rerun builds it (no `prefix already exists`, no recorded failure)
        const again = await start(['build', '--env', `slow${n}`], modeEnv).done;
        expect(again.code, again.stderr).toBe(0);
        expect(record()?.status).toBe('built');
        expect(statSync(join(buildsDir)).isDirectory()).toBe(true);
      },
      120_000,
    );
  });
});
