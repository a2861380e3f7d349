/** "did you mean" for the names and values an env owner types in inventory.ini and env-specs/. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { checkRepoDir } from '../../scripts/repo/repo.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const SPEC = 'channels:\n  - conda-forge\ndependencies:\n  - python\n';

/** validate's problems, as `file:line: severity: message` lines */
async function problemsOf(inventory: string, files: Record<string, string>): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'cg-dym-'));
  dirs.push(dir);
  mkdirSync(join(dir, 'env-specs'));
  writeFileSync(join(dir, 'inventory.ini'), inventory);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, 'env-specs', name), text);
  const { problems } = await checkRepoDir(dir);
  return problems.map((p) => `${p.file}:${p.line}: ${p.severity}: ${p.message}`);
}

const inv = (envs: string, extra = '') =>
  `[conda]\nversion = 23.11.0\nchannels = conda-forge\n\n[environments]\n${envs}\n${extra}`;

describe('did you mean, in inventory.ini and env-specs/', () => {
  test('a kernel naming no env suggests the env', async () => {
    const p = await problemsOf(inv('sci = REPLICATE', '\n[kernels]\nsic = Science\n'), { 'sci.yml': SPEC });
    expect(p).toEqual([
      "inventory.ini:9: error: kernel 'sic' is not an environment listed in [environments]: did you mean 'sci'?",
    ]);
  });

  test('a misspelt mode suggests the mode', async () => {
    const p = await problemsOf(inv('web = REPLICTE'), { 'web.yml': SPEC });
    expect(p).toEqual([
      "inventory.ini:6: error: invalid value 'REPLICTE' for environments.web: expected one of REPLICATE, export: " +
        "did you mean 'REPLICATE'?",
    ]);
  });

  test('an env whose name is a typo of an unlisted spec: one error naming the spec, no separate warning', async () => {
    const p = await problemsOf(inv('wbe = REPLICATE'), { 'web.yml': SPEC });
    expect(p).toEqual([
      "inventory.ini:6: error: REPLICATE environment 'wbe' has no spec: did you mean 'web' (env-specs/web.yml)?",
    ]);
  });

  test('a test script for no listed env is warned about, with the env it was meant for', async () => {
    const p = await problemsOf(inv('tools = REPLICATE'), { 'tools.yml': SPEC, 'tool.test.py': 'pass\n' });
    expect(p).toEqual([
      "env-specs/tool.test.py:1: warning: 'tool' is not an environment listed in inventory.ini: " +
        "this test never runs: did you mean 'tools.test.py'?",
    ]);
  });
});
