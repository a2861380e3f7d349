/** `build`'s summary line: built now, already built, failed add up to the envs of the run (never "-1 already"). */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { join } from 'node:path';
import { memoryOutput } from '../../scripts/cli/output.js';
import { runCommand } from '../fixtures/command.js';
import { makeQaWorld, worldSpec, writeRepo, type QaWorld } from '../fixtures/qa-world.js';

describe("build's summary line", () => {
  let world: QaWorld;
  let repo: string;
  const build = async () => {
    const out = memoryOutput(false);
    const code = await runCommand('build', {
      options: { root: world.root },
      positionals: [],
      out,
      repo,
      env: process.env,
    });
    return { code, summary: out.lines.find((l) => l.startsWith('build: ')) ?? '' };
  };

  beforeAll(() => {
    world = makeQaWorld();
    repo = writeRepo(
      join(world.base, 'repo'),
      { envs: { good: 'REPLICATE', gone: 'REPLICATE' }, channels: [world.channel] },
      { good: worldSpec(world, 'good', ['zlib']), gone: worldSpec(world, 'gone', ['numpy=9.9']) },
    );
  });
  afterAll(() => world?.cleanup());

  test('a fresh build that failed counts once, as failed', async () => {
    const first = await build();
    expect(first.code).toBe(1);
    expect(first.summary).toMatch(/^build: 1 built now, 0 already built or tested, 1 failed /);
    const again = await build();
    expect(again.summary).toMatch(/^build: 0 built now, 1 already built or tested, 1 failed /);
  }, 120_000);
});
