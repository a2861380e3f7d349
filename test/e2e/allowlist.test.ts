/**
 * Sources outside the allow-list, through `qa --base` and `plan --base`: the allow-list (channels, pip git hosts, pip
 * indexes) comes from the base commit, so a pull request cannot widen the list it is checked against; a PR that
 * changes only the allow-list passes with a prominent line for the admins' review; sources outside it fail
 * their env with nothing built.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Context } from '../../scripts/app/context.js';
import { memoryOutput } from '../../scripts/cli/output.js';
import type { Report } from '../../scripts/core/report.js';
import { writeChannel } from '../fake-conda/index.js';
import { runCommand } from '../fixtures/command.js';
import { makeQaWorld, STANDARD_RECORDS, worldSpec, writeRepo, type QaWorld } from '../fixtures/qa-world.js';
import { inventoryText, type InventoryOptions } from '../fixtures/repo.js';

describe('allow-lists from the base branch', () => {
  let world: QaWorld;
  let repo: string;
  let evil: string;
  let baseCommit: string;
  let inventory: InventoryOptions;
  const git = (...args: string[]) => execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8' }).trim();
  const commit = (msg: string) => {
    git('add', '-A');
    git('-c', 'user.name=t', '-c', 'user.email=t@example.invalid', 'commit', '-qm', msg);
    return git('rev-parse', 'HEAD');
  };
  /** a branch from the base commit with these files written */
  const branch = (name: string, files: Record<string, string>) => {
    git('checkout', '-q', '-B', name, baseCommit);
    writeRepo(repo, inventory, {}, files);
    return commit(name);
  };
  const builds = (env: string) => {
    const dir = join(world.root, 'v23.11.0', 'builds', env);
    return existsSync(dir) ? readdirSync(dir) : [];
  };

  async function run(command: 'qa' | 'plan', head: string) {
    const out = memoryOutput(true);
    const ctx = {
      options: { root: world.root, base: baseCommit, head, json: true },
      positionals: [],
      out,
      repo,
      env: { ...process.env },
    } as Context;
    const code = await runCommand(command, ctx);
    const result = out.results[0] as (Report & Record<string, unknown>) | undefined;
    const summary =
      command === 'qa' && result
        ? readFileSync(join(world.root, '.gitops', 'runs', result.runId, 'summary.md'), 'utf8')
        : '';
    return { code, result, out, summary };
  }

  beforeAll(() => {
    world = makeQaWorld();
    evil = writeChannel(join(world.base, 'evilchan'), STANDARD_RECORDS);
    repo = join(world.base, 'repo');
    inventory = { envs: { small: 'REPLICATE', other: 'REPLICATE' }, channels: [world.channel] };
    writeRepo(repo, inventory, {
      small: worldSpec(world, 'small', ['zlib']),
      other: worldSpec(world, 'other', ['zlib', 'python']),
    });
    git('init', '-q', '-b', 'main');
    baseCommit = commit('base');
  });
  afterAll(() => world?.cleanup());

  test('a PR that adds a channel to [conda] channels and builds from it fails QA, nothing built', async () => {
    const head = branch('widen-and-use', {
      'inventory.ini': inventoryText({ ...inventory, channels: [world.channel, evil] }),
      'env-specs/small.yml': worldSpec(world, 'small', ['zlib', `${evil}::numpy`]),
    });
    const { code, result, summary, out } = await run('qa', head);
    expect(code).toBe(1);
    expect(result!.ok).toBe(false);
    expect(result!.allowList).toMatchObject({ from: 'base', channels: [world.channel], allowListOnly: false });
    expect(result!.allowList!.widened).toEqual([`adds channel '${evil}' to [conda] channels`]);
    expect(summary).toMatch(/REFUSED: this pull request adds channel .*evilchan/);
    expect(summary).toMatch(/admin-reviewed pull request that changes\s+only channels, pip-git-hosts or pip-indexes/);
    expect(summary).toContain(`Allow-list in effect (from the base branch): channels ${world.channel}`);
    expect(out.errors.join('\n')).toMatch(/REFUSED/);
    expect(builds('small')).toEqual([]);

    const plan = await run('plan', head);
    expect(plan.code).toBe(2);
    expect(plan.out.errors.join('\n')).toMatch(/inventory\.ini:1: error: REFUSED: this pull request adds channel/);
  }, 120_000);

  test('a PR that changes only the allow-list passes with a prominent line, nothing built', async () => {
    const head = branch('widen-only', {
      'inventory.ini': inventoryText({ ...inventory, channels: [world.channel, evil], pipGitHosts: ['github.com'] }),
    });
    const { code, result, summary } = await run('qa', head);
    expect(code).toBe(0);
    expect(result!.allowList).toMatchObject({ from: 'base', allowListOnly: true });
    expect(result!.allowList!.widened).toEqual([
      `adds channel '${evil}' to [conda] channels`,
      "adds 'github.com' to [conda] pip-git-hosts",
    ]);
    expect(summary).toMatch(/ALLOW-LIST CHANGE: this pull request adds channel/);
    expect(summary).toMatch(/CODEOWNERS/);
    expect(result!.counts.total).toBe(0);

    const plan = await run('plan', head);
    expect(plan.code).toBe(0);
    expect(plan.out.errors.join('\n')).toMatch(/ALLOW-LIST CHANGE/);
  }, 120_000);

  test('sources outside the base allow-list fail their env with its line, nothing built', async () => {
    const head = branch('sources', {
      'env-specs/small.yml': worldSpec(world, 'small', ['zlib', `numpy[channel=${evil}]`]),
      'env-specs/other.yml': worldSpec(
        world,
        'other',
        ['zlib', 'python', 'pip'],
        ['--index-url https://evil.example/simple'],
      ),
    });
    const { code, result } = await run('qa', head);
    expect(code).toBe(1);
    const by = Object.fromEntries(result!.envs.map((e) => [e.env, e]));
    expect(by.small).toMatchObject({ status: 'failed', file: 'env-specs/small.yml', line: 6 });
    expect(by.small!.hint).toMatch(/is not allowed by \[conda\] channels/);
    expect(by.other).toMatchObject({ status: 'failed', file: 'env-specs/other.yml', line: 9 });
    expect(by.other!.hint).toMatch(/not under \[conda\] pip-indexes/);
    expect(builds('small')).toEqual([]);
    expect(builds('other')).toEqual([]);
  }, 120_000);

  test('a channel escaping its label fails plan --base with file and line', async () => {
    const head = branch('dotdot', {
      'env-specs/small.yml': worldSpec(world, 'small', ['zlib', `${world.channel}/label/../../evilchan::numpy`]),
    });
    const plan = await run('plan', head);
    expect(plan.code).toBe(2);
    expect(plan.out.errors.join('\n')).toMatch(/env-specs\/small\.yml:6: error: .*not a channel name: '\.\.'/);
  }, 120_000);
});
