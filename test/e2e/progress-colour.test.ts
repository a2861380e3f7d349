/**
 * What a user sees while a long build runs and how statuses look: a start line when a long step starts, a
 * heartbeat with the elapsed time while it runs (not a TTY here: plain lines every CONDA_GITOPS_HEARTBEAT_SECONDS),
 * colour only when asked for (FORCE_COLOR) and never under NO_COLOR or --json.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../fake-conda/index.js';
import { makeQaWorld, worldSpec, writeRepo, type QaWorld } from '../fixtures/qa-world.js';

const CLI = join(repoRoot(), 'dist', 'scripts', 'cli', 'main.js');
const ANSI = /\x1b\[/;

interface Run {
  code: number | null;
  stdout: string;
  /** stderr lines with the ms since the start at which each arrived */
  lines: Array<{ at: number; text: string }>;
  stderr: string;
}

describe('progress lines and colour of the CLI', () => {
  let world: QaWorld;
  let repo: string;
  const run = (args: string[], extra: Record<string, string>): Promise<Run> => {
    const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
    for (const k of ['FORCE_COLOR', 'NO_COLOR', 'CONDA_GITOPS_HEARTBEAT_SECONDS']) if (!(k in extra)) delete env[k];
    const t0 = Date.now();
    const child = spawn(process.execPath, [CLI, ...args, '--root', world.root, '--repo', repo], { env });
    let stdout = '';
    let stderr = '';
    let partial = '';
    const lines: Run['lines'] = [];
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      const parts = (partial + d.toString()).split('\n');
      partial = parts.pop()!;
      for (const text of parts) lines.push({ at: Date.now() - t0, text });
    });
    return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr, lines })));
  };

  beforeAll(() => {
    world = makeQaWorld();
    repo = writeRepo(
      join(world.base, 'repo'),
      { envs: { slow: 'REPLICATE', gone: 'REPLICATE' }, channels: [world.channel] },
      { slow: worldSpec(world, 'slow', ['zlib']), gone: worldSpec(world, 'gone', ['numpy=9.9']) },
    );
  });
  afterAll(() => world?.cleanup());

  test('a slow conda step prints its start line at once and a heartbeat with the elapsed time', async () => {
    const r = await run(['build', '--env', 'slow'], {
      FAKE_CONDA_DELAY_MS: '3000',
      CONDA_GITOPS_PASS_ENV: 'FAKE_CONDA_DELAY_MS',
      CONDA_GITOPS_HEARTBEAT_SECONDS: '1',
    });
    expect(r.code, r.stderr).toBe(0);
    const at = (re: RegExp) => r.lines.find((l) => re.test(l.text));
    const started = at(/^\[1\/1\] slow create started$/);
    const ended = at(/^\[1\/1\] slow create \d+\.\ds$/);
    expect(started, r.stderr).toBeDefined();
    expect(ended, r.stderr).toBeDefined();
    // the start line came while conda was still working (the step takes 3 s), not with its end
    expect(ended!.at - started!.at).toBeGreaterThan(1500);
    const beats = r.lines.filter((l) => /^\[1\/1\] slow create still running, \d+s$/.test(l.text));
    expect(beats.length, r.stderr).toBeGreaterThanOrEqual(1);
    expect(beats.every((b) => b.at > started!.at && b.at < ended!.at)).toBe(true);
    // not a terminal and no FORCE_COLOR: no colour
    expect(r.stderr).not.toMatch(ANSI);
  }, 120_000);

  test('FORCE_COLOR colours the statuses; NO_COLOR and --json print no colour codes', async () => {
    const forced = await run(['build'], { FORCE_COLOR: '1' });
    expect(forced.code).toBe(1); // `gone` asks for a version the channel does not have
    expect(forced.stderr).toMatch(/\x1b\[31mFAILED\x1b\[39m create/);
    expect(forced.stdout + forced.stderr).toMatch(/\x1b\[32m/);
    const plain = await run(['build'], { NO_COLOR: '1' });
    expect(plain.stdout + plain.stderr).not.toMatch(ANSI);
    expect(plain.stderr).toMatch(/FAILED create/);
    const json = await run(['build', '--json'], { FORCE_COLOR: '1' });
    expect(json.stdout + json.stderr).not.toMatch(ANSI);
    expect(() => JSON.parse(json.stdout)).not.toThrow();
  }, 120_000);

  test('--help says how to turn colour off and tune the heartbeat', async () => {
    const help = await run(['--help'], {});
    expect(help.stdout).toMatch(/NO_COLOR=1 turns colour off, FORCE_COLOR=1 forces it/);
    expect(help.stdout).toContain('CONDA_GITOPS_HEARTBEAT_SECONDS');
  });
});
