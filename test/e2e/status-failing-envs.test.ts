/**
 * `status` names every env that keeps the installation from matching the repository in its human output, each
 * with a `To repair:` line that works: a live env whose tests now fail (the repository added a test that fails),
 * and an env whose new spec was never built. The lines are run as printed.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { memoryOutput } from '../../scripts/cli/output.js';
import type { OptionValues } from '../../scripts/core/options.js';
import { desiredState } from '../../scripts/core/desired.js';
import { loadRepo } from '../../scripts/repo/repo.js';
import { readBuildRecord } from '../../scripts/state/record.js';
import { installFakeConda, writeChannel } from '../fake-conda/fixtures.js';
import { runCommand } from '../fixtures/command.js';
import {
  addTestedBuilds,
  addVerdict,
  commitAll,
  makeInstallation,
  tempDir,
  writeRepo,
} from '../fixtures/installation.js';

const V = '23.11.0';
let dirs: string[] = [];
afterEach(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});

const repairLines = (text: string) =>
  text
    .split('\n')
    .filter((l) => l.startsWith('To repair: '))
    .map((l) => l.slice('To repair: '.length));

/** `conda-gitops NAME --opt V ...` as printed (up to a parenthesised explanation) -> name, options, positionals. */
function parseCommand(line: string): { name: string; options: OptionValues; positionals: string[] } {
  const [name, ...rest] = line.split(' (')[0]!.split(' ').slice(1);
  const options: OptionValues = {};
  const positionals: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const w = rest[i]!;
    if (!w.startsWith('--')) positionals.push(w);
    else if (rest[i + 1] && !rest[i + 1]!.startsWith('--')) options[w.slice(2)] = rest[++i]!;
    else options[w.slice(2)] = true;
  }
  return { name: name!, options, positionals };
}

describe('status names every env out of line, each with a repair line that works', () => {
  it('a live env whose tests fail and an env not built: both named, each repair line works', async () => {
    const tmp = tempDir('status-failing-');
    dirs.push(tmp);
    const root = join(tmp, 'root');
    const channels = join(tmp, 'channels');
    writeChannel(join(channels, 'conda-forge'), [
      { name: 'python', version: '3.11.7', module: false },
      { name: 'zlib', version: '1.2.1', module: false },
      { name: 'zlib', version: '1.2.2', module: false },
    ]);
    installFakeConda(join(root, `v${V}`), V, {
      channels: ['conda-forge'],
      customChannels: { 'conda-forge': pathToFileURL(channels).href },
    });
    const repo = join(tmp, 'repo');
    const cli = async (name: string, options: OptionValues = {}, positionals: string[] = []) => {
      const out = memoryOutput();
      const ctx = { options: { root, ...options }, positionals, out, repo, env: { ...process.env } };
      const code = await runCommand(name, ctx);
      return { code, stdout: out.lines.join('\n'), stderr: out.errors.join('\n') };
    };
    // main deployed: tester, changed and steady, all passing
    addTestedBuilds(root, await writeRepo(repo, { version: V, envs: { tester: 1, changed: 1, steady: 1 } }));
    commitAll(repo, 'three envs');
    expect((await cli('deploy')).code).toBe(0);

    // main moves on: tester gets a test that fails (QA tested its live build: a failing verdict), changed a new spec
    // nobody built yet
    await writeRepo(repo, { version: V, envs: { tester: 1, changed: 2, steady: 1 } });
    writeFileSync(join(repo, 'env-specs', 'tester.test.sh'), 'echo "tester: the check failed" >&2\nexit 1\n');
    const d = desiredState(await loadRepo(repo));
    const tester = d.envs.find((e) => e.name === 'tester')!;
    addVerdict(root, readBuildRecord(root, V, 'tester', tester.buildId)!, tester.verdictKey, false);
    commitAll(repo, 'tester: a test; changed: zlib 1.2.2');

    const st = await cli('status');
    expect(st.code).toBe(1);
    const text = st.stdout;
    expect(text).toMatch(/\n {2}tester\s+.*its tests failed/);
    expect(text).toMatch(/\n {2}changed\s+.*not built yet/);
    expect(text).not.toMatch(/\n {2}steady\s/);
    const lines = repairLines(text);
    expect(lines).toEqual([
      expect.stringMatching(/^conda-gitops test --env tester \(/),
      expect.stringMatching(/^conda-gitops deploy --build-missing/),
    ]);
    expect(lines).not.toContain('conda-gitops deploy'); // it refuses: no passing build for either

    // each line, as printed: the test runs again and says why it fails; the missing build gets built
    const test = parseCommand(lines[0]!);
    const ran = await cli(test.name, test.options, test.positionals);
    expect(ran.code).toBe(1);
    expect(ran.stdout + ran.stderr).toMatch(/tester/);
    const build = parseCommand(lines[1]!);
    const built = await cli(build.name, build.options, build.positionals);
    expect(built.stderr + built.stdout).toMatch(/building \d missing env/);
    const after = await cli('status');
    expect(after.stdout).not.toMatch(/changed\s+.*not built yet/);
    expect(after.stdout).toMatch(/\n {2}tester\s+.*its tests failed/);
  }, 120_000);

  it('an env main asks for whose build was rolled back: named, and its repair line puts it back', async () => {
    const fi = makeInstallation({ version: V });
    dirs.push(fi.root);
    const root = fi.root;
    const repo = join(root, 'repo');
    const cli = async (name: string, options: OptionValues = {}, positionals: string[] = []) => {
      const out = memoryOutput();
      const ctx = { options: { root, ...options }, positionals, out, repo, env: { ...process.env } };
      const code = await runCommand(name, ctx);
      return { code, stdout: out.lines.join('\n'), stderr: out.errors.join('\n') };
    };
    addTestedBuilds(root, await writeRepo(repo, { version: V, envs: { hlink: 1, geo: 1 } }));
    commitAll(repo, 'one');
    expect((await cli('deploy')).code).toBe(0);
    addTestedBuilds(root, await writeRepo(repo, { version: V, envs: { hlink: 2, geo: 1 } }));
    commitAll(repo, 'hlink 2');
    expect((await cli('deploy')).code).toBe(0);
    expect((await cli('rollback')).code).toBe(0);

    const st = await cli('status');
    expect(st.code).toBe(1);
    expect(st.stdout).toMatch(/\n {2}hlink\s+different: .*rolled back/);
    const lines = repairLines(st.stdout);
    expect(lines).toEqual([expect.stringMatching(/^conda-gitops deploy --force \(.*hlink/)]);
    const { name, options, positionals } = parseCommand(lines[0]!);
    const r = await cli(name, options, positionals);
    expect(r.code, r.stderr).toBe(0);
    const after = await cli('status');
    expect(after.code, after.stdout).toBe(0);
  });
});
