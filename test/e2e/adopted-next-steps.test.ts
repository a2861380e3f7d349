/**
 * Right after `adopt`: ROOT/current -> the hand-run installation, its envs a real `envs/` directory, no generation.
 * What status, deploy, kernels and rollback tell the administrator there: every `To repair:` line is a step that
 * works, a kernel is only written when its python exists, and every refusal names the way forward (a pull request
 * that sets `[conda] version`), not "nothing is deployed". Then the first upgrade out of it says what is live.
 */
import { existsSync, mkdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { memoryOutput } from '../../scripts/cli/output.js';
import type { OptionValues } from '../../scripts/core/options.js';
import { desiredState } from '../../scripts/core/desired.js';
import { loadRepo } from '../../scripts/repo/repo.js';
import { installerTemplate, installFakeConda, runConda, writeChannel } from '../fake-conda/fixtures.js';
import { runCommand } from '../fixtures/command.js';
import { addTestedBuilds, commitAll, tempDir } from '../fixtures/installation.js';

const OLD = '4.3.22';
const NEW = '24.1.2';

let dirs: string[] = [];
afterEach(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});

interface Adopted {
  root: string;
  repo: string;
  cli: (
    name: string,
    options?: OptionValues,
    positionals?: string[],
  ) => Promise<{ code: number; stdout: string; stderr: string }>;
}

/**
 * A hand-run conda 4.3.22 at ROOT/v4.3.22 with envs a and b, `current -> v4.3.22` and no ROOT/envs (as the
 * account ran it), adopted into a repository (every env REPLICATE) with `[kernels]` naming `kernels`, committed.
 */
async function adopted(kernels: string[] = ['a']): Promise<Adopted> {
  const tmp = tempDir('adopted-');
  dirs.push(tmp);
  const root = join(tmp, 'root');
  const channels = join(tmp, 'channels');
  writeChannel(join(channels, 'conda-forge'), [
    { name: 'python', version: '3.11.7', module: false },
    { name: 'zlib', version: '1.2.1', module: false },
  ]);
  const old = installFakeConda(join(root, `v${OLD}`), OLD, {
    channels: ['conda-forge'],
    customChannels: { 'conda-forge': pathToFileURL(channels).href },
  });
  for (const [n, deps] of [
    ['a', ['python=3.11.7']],
    ['b', ['python=3.11.7', 'zlib=1.2.1']],
  ] as const) {
    const file = join(tmp, `${n}.yml`);
    writeFileSync(
      file,
      `name: ${n}\nchannels:\n  - conda-forge\ndependencies:\n${deps.map((d) => `  - ${d}\n`).join('')}`,
    );
    const r = runConda(old, ['env', 'create', '-f', file, '-p', join(old.prefix, 'envs', n)]);
    if (r.code !== 0) throw new Error(`env create ${n} failed:\n${r.stdout}${r.stderr}`);
  }
  symlinkSync(`v${OLD}`, join(root, 'current'));
  const repo = join(tmp, 'repo');
  mkdirSync(repo);
  const cli = async (name: string, options: OptionValues = {}, positionals: string[] = []) => {
    const out = memoryOutput();
    const ctx = { options: { root, ...options }, positionals, out, repo, env: { ...process.env } };
    const code = await runCommand(name, ctx);
    return { code, stdout: out.lines.join('\n'), stderr: out.errors.join('\n') };
  };
  const r = await cli('adopt', { root: join(root, `v${OLD}`), replicate: 'all' });
  expect(r.code, r.stderr).toBe(0);
  const inv = join(repo, 'inventory.ini');
  writeFileSync(
    inv,
    readFileSync(inv, 'utf8').replace(
      /^\[kernels\]$/m,
      `[kernels]\n${kernels.map((k) => `${k} = Python (${k})`).join('\n')}`,
    ),
  );
  commitAll(repo, 'adopt the existing installation');
  return { root, repo, cli };
}

/** The `To repair:` lines of a status output. */
const repairLines = (text: string) =>
  text
    .split('\n')
    .filter((l) => l.startsWith('To repair: '))
    .map((l) => l.slice('To repair: '.length));

/**
 * Run each `To repair:` line that is a conda-gitops command (the words up to a parenthesised explanation) and
 * return the results; the others are steps in git, returned as they are.
 */
async function runRepairs(a: Adopted, lines: string[]) {
  const ran: Array<{ line: string; code?: number; stdout?: string; stderr?: string }> = [];
  for (const line of lines) {
    if (!line.startsWith('conda-gitops ')) {
      ran.push({ line });
      continue;
    }
    const words = line
      .split(' (')[0]!
      .replace(/, then .*$/, '')
      .split(' ')
      .slice(1);
    const [name, ...rest] = words;
    const options: OptionValues = {};
    const positionals: string[] = [];
    for (let i = 0; i < rest.length; i++) {
      const w = rest[i]!;
      if (!w.startsWith('--')) positionals.push(w);
      else if (rest[i + 1] && !rest[i + 1]!.startsWith('--')) options[w.slice(2)] = rest[++i]!;
      else options[w.slice(2)] = true;
    }
    ran.push({ line, ...(await a.cli(name!, options, positionals)) });
  }
  return ran;
}

describe('right after adopt', () => {
  it('status names the adopted envs and only repair steps that work; deploy names the [conda] version PR', async () => {
    const a = await adopted();
    const st = await a.cli('status');
    expect(st.code).toBe(1); // the repository is not deployed yet
    expect(st.stdout).toContain(`live: the adopted installation v${OLD}`);
    for (const n of ['a', 'b']) {
      expect(st.stdout).toMatch(new RegExp(`\\n  ${n}\\s+.*served by the adopted installation v${OLD}`));
    }
    const lines = repairLines(st.stdout);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines).not.toContain('conda-gitops deploy'); // it refuses to deploy into the adopted installation
    for (const r of await runRepairs(a, lines)) {
      if (r.code === undefined) expect(r.line).toMatch(/\[conda\] version/);
      else expect(r.code, `${r.line}\n${r.stdout}\n${r.stderr}`).toBe(0);
    }
    // the kernel it wrote starts: its python is the adopted env's own (ROOT/envs does not exist yet)
    const argv = (JSON.parse(readFileSync(join(a.root, 'kernels', 'a', 'kernel.json'), 'utf8')) as { argv: string[] })
      .argv;
    expect(argv.slice(1, 4)).toEqual([
      join(a.root, `v${OLD}`, 'envs', 'a'),
      'a',
      join(a.root, `v${OLD}`, 'envs', 'a', 'bin', 'python'),
    ]);
    expect(existsSync(argv[0]!)).toBe(true); // the launcher
    expect(existsSync(argv[3]!)).toBe(true);
    const again = await a.cli('status');
    expect(again.stdout).not.toMatch(/kernel a/);
    expect(repairLines(again.stdout).every((l) => !l.startsWith('conda-gitops '))).toBe(true);

    const dry = await a.cli('deploy', { 'dry-run': true });
    expect(dry.code).toBe(1);
    expect(dry.stderr).toMatch(/v4\.3\.22 is the adopted installation/);
    expect(dry.stderr).toMatch(/\[conda\] version/);
    expect(dry.stderr).not.toContain('conda-gitops adopt');
  }, 60_000);

  it('kernels never writes a kernel whose python does not exist, and says which', async () => {
    const a = await adopted(['a', 'b']);
    rmSync(join(a.root, `v${OLD}`, 'envs', 'b', 'bin', 'python'));
    const k = await a.cli('kernels');
    expect(k.code).toBe(1);
    expect(k.stderr).toContain(`kernel 'b': ${join(a.root, `v${OLD}`, 'envs', 'b', 'bin', 'python')} does not exist`);
    expect(existsSync(join(a.root, 'kernels', 'b'))).toBe(false);
    const argv = (JSON.parse(readFileSync(join(a.root, 'kernels', 'a', 'kernel.json'), 'utf8')) as { argv: string[] })
      .argv;
    expect(existsSync(argv[3]!)).toBe(true);
  }, 60_000);

  it('rollback in every form names the way forward; an unknown installation is bad input', async () => {
    const a = await adopted();
    for (const [options, positionals] of [
      [{}, []],
      [{ to: '1' }, []],
      [{ env: 'a' }, []],
      [{ installation: true }, []],
      [{ installation: true, 'dry-run': true }, []],
    ] as Array<[OptionValues, string[]]>) {
      const r = await a.cli('rollback', options, positionals);
      const what = JSON.stringify(options);
      expect(r.code, what).toBe(1);
      expect(r.stderr, what).not.toMatch(/nothing is deployed/);
      expect(r.stderr, what).toContain(`ROOT/current is the adopted installation v${OLD}`);
      expect(r.stderr, what).toMatch(/\[conda\] version/);
    }
    const same = await a.cli('rollback', { installation: true }, [OLD]);
    expect(same.code, same.stderr).toBe(0);
    expect(same.stdout).toMatch(/already current: nothing to do/);
    const unknown = await a.cli('rollback', { installation: true }, ['v9.9.9']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no installation .*v9\.9\.9/);
    expect(readlinkSync(join(a.root, 'current'))).toBe(`v${OLD}`);
    // no cutover yet, and the history says what is live meanwhile
    const h = await a.cli('history');
    expect(h.code).toBe(0);
    expect(h.stdout).toContain(`ROOT/current is the adopted installation v${OLD}`);
  }, 60_000);
});

describe('the first upgrade out of the adopted installation', () => {
  it('deploy names the adopted installation as live; back on it, rollback to vNEW names deploy --force', async () => {
    const a = await adopted();
    // the upgrade pull request, merged: [conda] version, its installer; builds that passed in vNEW
    const inv = join(a.repo, 'inventory.ini');
    const installer = installerTemplate(join(a.root, '..', 'installers'), [NEW]);
    writeFileSync(
      inv,
      readFileSync(inv, 'utf8')
        .replace(`version = ${OLD}`, `version = ${NEW}`)
        .replace('[conda]\n', `[conda]\ninstaller = ${installer}\n`),
    );
    expect((await a.cli('install-conda', { version: NEW })).code).toBe(0);
    const d = desiredState(await loadRepo(a.repo));
    addTestedBuilds(a.root, d);
    commitAll(a.repo, `conda ${NEW}`);
    // before the deploy, status names the deploy, and that works
    const before = await a.cli('status');
    expect(repairLines(before.stdout)).toContain('conda-gitops deploy');

    const dry = await a.cli('deploy', { 'dry-run': true });
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain(`deploy v${OLD} (adopted) -> v${NEW}/generations/1 (new)`);
    expect(dry.stdout).not.toContain('nothing live');
    const up = await a.cli('deploy');
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).toContain(`deploy v${OLD} (adopted) -> v${NEW}/generations/1 (new)`);
    expect(readlinkSync(join(a.root, 'current'))).toBe(`v${NEW}`);

    expect((await a.cli('rollback', { installation: true })).code).toBe(0);
    expect(readlinkSync(join(a.root, 'current'))).toBe(`v${OLD}`);
    const forward = await a.cli('rollback', { installation: true }, [`v${NEW}`]);
    expect(forward.code).toBe(1);
    expect(forward.stderr).toContain(`ROOT/current is the adopted installation v${OLD}`);
    expect(forward.stderr).toContain('conda-gitops deploy --force');
    // every repair line status prints back there works
    const st = await a.cli('status');
    for (const r of await runRepairs(a, repairLines(st.stdout))) {
      if (r.code !== undefined) expect(r.code, `${r.line}\n${r.stdout}\n${r.stderr}`).toBe(0);
    }
    expect(readlinkSync(join(a.root, 'current'))).toBe(`v${NEW}`);
  }, 90_000);
});
