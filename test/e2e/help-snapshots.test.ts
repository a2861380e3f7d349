/**
 * Every command's --help, as users read it, against a file snapshot (test/e2e/__snapshots__/help/). A change
 * to help text fails here until a maintainer updates the snapshot deliberately: `npx vitest run
 * test/e2e/help-snapshots.test.ts -u`, then reviews the diff.
 */
import { describe, expect, it } from 'vitest';
import { execute } from '../../scripts/cli/dispatch.js';
import { memoryOutput } from '../../scripts/cli/output.js';
import { COMMANDS } from '../../scripts/cli/registry.js';
import { tempDir } from '../fixtures/installation.js';
import { rmSync } from 'node:fs';

async function help(argv: string[]): Promise<string> {
  const dir = tempDir('cg-help-');
  try {
    const out = memoryOutput();
    expect(await execute(argv, { out, cwd: dir, env: {} })).toBe(0);
    return out.lines.join('\n') + '\n';
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('--help of every command', () => {
  for (const c of COMMANDS) {
    it(c.name, async () => {
      await expect(await help([c.name, '--help'])).toMatchFileSnapshot(`__snapshots__/help/${c.name}.txt`);
    });
  }

  it('says what each command is for, in words a user acts on', async () => {
    const test = await help(['test', '--help']);
    expect(test).toMatch(/--jobs N\s+test N environments in parallel/);
    const fix = await help(['fix', '--help']);
    expect(fix).toMatch(/--dry-run\s+write nothing/);
    for (const c of COMMANDS) expect(await help([c.name, '--help'])).not.toMatch(/design section|section \d+ of/i);
  });
});
