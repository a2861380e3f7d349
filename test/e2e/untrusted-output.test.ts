/**
 * What a pull request's test prints is untrusted output (docs/security.md, "Output of builds and tests"): the run
 * stays bounded in time, memory and file sizes however much it prints, and whatever it prints is shown as text,
 * never obeyed: no workflow command reaches the runner from it, no HTML reaches the job summary.
 * Played with the compiled CLI in a GitHub Actions environment.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeQaWorld, worldSpec, writeRepo, type QaWorld } from '../fixtures/qa-world.js';
import { runCli } from '../fixtures/repo.js';
import { detectSandbox } from '../../scripts/engine/sandbox.js';

let world: QaWorld;
beforeAll(() => {
  world = makeQaWorld();
}, 120_000);
afterAll(() => world?.cleanup());

// tests run sandboxed or not at all: without bubblewrap the inventory accepts the risk for these harmless scripts
const sandbox = await detectSandbox({ PATH: process.env.PATH });

function repo(name: string, tests: Record<string, string>): string {
  const dir = writeRepo(
    join(world.base, name),
    { envs: Object.fromEntries(Object.keys(tests).map((e) => [e, 'REPLICATE'])), channels: [world.channel] },
    Object.fromEntries(Object.keys(tests).map((e) => [e, worldSpec(world, e, ['python', 'zlib'])])),
    Object.fromEntries(Object.entries(tests).map(([e, text]) => [`env-specs/${e}.test.sh`, `#!/bin/sh\n${text}\n`])),
  );
  if (sandbox.kind !== 'bwrap') {
    const inv = join(dir, 'inventory.ini');
    const text = readFileSync(inv, 'utf8').replace('[conda]\n', '[conda]\nunsandboxed-tests = allow\n');
    writeFileSync(inv, text);
  }
  return dir;
}

function actions(name: string, extra: Record<string, string> = {}) {
  // the runner creates the job summary and output files of each step
  writeFileSync(join(world.base, `${name}.step-summary.md`), '');
  writeFileSync(join(world.base, `${name}.output`), '');
  return {
    GITHUB_ACTIONS: 'true',
    GITHUB_OUTPUT: join(world.base, `${name}.output`),
    GITHUB_STEP_SUMMARY: join(world.base, `${name}.step-summary.md`),
    CONDA_GITOPS_ROOT: world.root,
    ...extra,
  };
}

/** The lines the Actions runner reads as workflow commands: it splits on CR and LF and trims leading space. */
function workflowCommands(output: string): string[] {
  return output
    .split(/\r\n|\r|\n/)
    .map((l) => l.trimStart())
    .filter((l) => l.startsWith('::'));
}

/** The run id in the CLI's human output (`report: ROOT/.gitops/runs/<id>/report.json`). */
const runIdOf = (text: string) => /\/\.gitops\/runs\/([^/\s]+)\/report\.json/.exec(text)?.[1] ?? 'no run id printed';

const runDirOf = (stdout: string) =>
  JSON.parse(stdout) as {
    runId: string;
    envs: Array<{ env: string; status: string; hint?: string; excerpt?: string[]; log?: string }>;
  };

describe('output bombs from a test stay bounded', () => {
  const LIMIT = 1024 * 1024;
  const BOMB =
    '50 MB of lines and one 20 MB line: QA finishes, logs keep head and tail with a cut line, ' +
    'the job summary stays under 1 MiB';
  test(
    BOMB,
    async () => {
      const dir = repo('pr-bomb', {
        loud: "yes 'a line of test output, again and again' | head -c 50000000\necho",
        longline: "head -c 20000000 /dev/zero | tr '\\0' x\necho\necho 'the last line'\nexit 1",
      });
      const summaryFile = join(world.base, 'pr-bomb.step-summary.md');
      const res = await runCli(['qa', '--json', '--repo', dir], {
        env: actions('pr-bomb', { CONDA_GITOPS_OUTPUT_LIMIT: String(LIMIT) }),
      });
      expect(res.code, res.stderr.slice(-2000)).toBe(1);
      const report = runDirOf(res.stdout);
      const by = Object.fromEntries(report.envs.map((e) => [e.env, e]));
      expect(by.loud?.status).toBe('tested');
      expect(by.longline?.status).toBe('failed');
      const run = join(world.root, '.gitops', 'runs', report.runId);
      for (const env of ['loud', 'longline']) {
        const log = join(run, 'logs', `${env}.log`);
        // head and tail of each stream, the cut named
        expect(statSync(log).size).toBeLessThan(3 * LIMIT);
        expect(readFileSync(log, 'utf8')).toMatch(/\d+ bytes of output cut here/);
      }
      // the build's own log under ROOT is bounded too
      const builds = join(world.root, 'v23.11.0', 'builds', 'loud');
      for (const f of readdirSync(builds).filter((f) => f.endsWith('.log')))
        expect(statSync(join(builds, f)).size).toBeLessThan(3 * LIMIT);
      expect(statSync(join(run, 'summary.md')).size).toBeLessThan(1024 * 1024);
      expect(statSync(summaryFile).size).toBeLessThan(1024 * 1024);
      expect(statSync(join(run, 'report.json')).size).toBeLessThan(1024 * 1024);
      expect(res.stdout.length + res.stderr.length).toBeLessThan(1024 * 1024);
      // the failure still says what the test said last
      expect(by.longline!.excerpt!.join('\n')).toContain('the last line');
    },
    300_000,
  );
});

describe("a test's output is shown, never obeyed", () => {
  const SHOWN = 'CR, ::workflow commands and HTML printed by a test reach the runner and the summary as text';
  test(
    SHOWN,
    async () => {
      const dir = repo('pr-commands', {
        sneaky: [
          "printf 'progress 10%%\\r::warning::forged too\\n'",
          "echo '::add-mask::the-runner-would-hide-this'",
          "echo '   ::stop-commands::tok'",
          // the last line is what the hint quotes, and the CLI echoes the hint
          "printf 'x\\r::warning::forged by the test\\n'",
          'exit 1',
        ].join('\n'),
        html: ['echo \'<img src=x onerror=alert(1)><a href="https://evil.example">click</a>\'', 'exit 1'].join('\n'),
      });
      const summaryFile = join(world.base, 'pr-commands.step-summary.md');
      const res = await runCli(['qa', '--repo', dir], { env: actions('pr-commands') });
      expect(res.code, res.stderr.slice(-2000)).toBe(1);
      const commands = workflowCommands(res.stdout + '\n' + res.stderr);
      // the tool's own annotation of the failed env, nothing the test printed
      expect(commands.length).toBeGreaterThan(0);
      for (const c of commands) expect(c).toMatch(/^::error file=[^,]*(,line=\d+)?,title=(sneaky|html)%3A /);
      expect(res.stdout + res.stderr).toContain('forged by the test');
      for (const file of [
        summaryFile,
        join(world.root, '.gitops', 'runs', runIdOf(res.stdout + res.stderr), 'summary.md'),
      ]) {
        const md = readFileSync(file, 'utf8');
        // outside code fences (which GitHub shows as text) no HTML of the test's
        const prose = md.replace(/^```\n[\s\S]*?^```\n/gm, '');
        expect(prose).not.toMatch(/<img|<a href/);
        expect(prose).toContain('&lt;img');
        expect(md).toMatch(/^```\n(?:.*\n)*?<img src=x onerror=alert\(1\)>.*\n(?:.*\n)*?```\n/m);
      }
    },
    300_000,
  );
});
