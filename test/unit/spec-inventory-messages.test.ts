/** Messages an env owner can act on: every problem at once, no parser internals, names and lines. */
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { parseSpec } from '../../scripts/core/spec.js';
import { parseInventory } from '../../scripts/core/inventory.js';
import { classifyPipEntry } from '../../scripts/core/pip.js';
import { versionSpecChecker, versionSpecMessage } from '../../scripts/core/matchspec.js';
import { checkRepoDir } from '../../scripts/repo/repo.js';

/** temp dirs of this file, removed after its tests */
const tempDirs: string[] = [];
const tracked = (dir: string): string => (tempDirs.push(dir), dir);
afterAll(() => tempDirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const messages = (ps: Array<{ line: number; message: string }>) => ps.map((p) => `${p.line}: ${p.message}`);

describe('messages an env owner can act on', () => {
  test('validate reports a bad dependency and a disallowed channel of the same spec in one run', async () => {
    const dir = tracked(mkdtempSync(join(tmpdir(), 'cg-msg-')));
    mkdirSync(join(dir, 'env-specs'));
    writeFileSync(
      join(dir, 'inventory.ini'),
      '[conda]\nversion = 23.11.0\nchannels = conda-forge\n\n[environments]\na = REPLICATE\n',
    );
    writeFileSync(
      join(dir, 'env-specs', 'a.yml'),
      'channels:\n  - conda-forge\n  - defaults\ndependencies:\n  - numpy==>1\n  - python\n',
    );
    const { repo, problems } = await checkRepoDir(dir);
    expect(repo).toBeUndefined();
    const text = messages(problems).join('\n');
    expect(text).toMatch(/^5: invalid version spec '==>1'/m);
    expect(text).toMatch(/^3: channel 'defaults' \(channels list\) is not allowed/m);
  });

  test('an invalid version spec is explained without the parser trace', async () => {
    const check = await versionSpecChecker();
    for (const v of ['==>1', '>=1,<', 'abc def']) {
      const m = check(v)!;
      expect(m).toMatch(new RegExp(`^invalid version spec '${v.replace(/[|*+]/g, '\\$&')}'`));
      expect(m).not.toMatch(/at line|in Tag|in Eof/);
    }
    expect(check('==>1')).toMatch(/operators cannot be combined/);
    expect(check('>=1,<')).toMatch(/an operator has no version after it/);
    // a readable reason from rattler is kept
    expect(versionSpecMessage('1..2', "malformed version string '1..2'")).toMatch(/malformed version string/);
  });

  test('a duplicated key in a spec is named with both lines', () => {
    const r = parseSpec('name: a\nchannels: []\ndependencies:\n  - python\nchannels:\n  - conda-forge\n', 'f.yml', 'a');
    expect(messages(r.problems)).toEqual(["5: invalid YAML: duplicated key 'channels' (first at line 2): keep one"]);
  });

  test('a duplicated key in inventory.ini is named with both lines', () => {
    const r = parseInventory(
      '[conda]\nversion = 23.11.0\nchannels = conda-forge\n\n[environments]\na = REPLICATE\na = export\n',
    );
    expect(messages(r.problems)).toEqual(["7: duplicate key 'a' in [environments] (first at line 6)"]);
  });

  test('an unknown key gets a did-you-mean, in a spec and in inventory.ini', () => {
    const spec = parseSpec(
      'name: a\nchanels:\n  - conda-forge\ndependencies:\n  - python\n  - pipp:\n    - x\n',
      'f.yml',
      'a',
    );
    expect(messages(spec.problems)).toEqual([
      "2: unknown key 'chanels' is ignored by conda: did you mean 'channels'?",
      "6: unknown dependency section 'pipp:' (only 'pip:' is allowed): did you mean 'pip'?",
    ]);
    const inv = parseInventory(
      '[conda]\nversion = 23.11.0\nchannels = conda-forge\nfrontent = mamba\n\n[enviroments]\n',
    );
    const text = messages(inv.problems).join('\n');
    expect(text).toMatch(/^4: unknown key 'frontent' in \[conda\]: did you mean 'frontend'\?$/m);
    expect(text).toMatch(/^6: unknown section \[enviroments\] .*: did you mean \[environments\]\?$/m);
  });

  test('a pip requirement with an operator and no version is rejected at its line', () => {
    expect(classifyPipEntry('requests>=2,<', 7).problem).toMatch(
      /'requests>=2,<' is not a valid pip requirement: '<' has no version after it/,
    );
    expect(classifyPipEntry('requests>=2,,<3', 7).problem).toMatch(/an empty clause between commas/);
    for (const ok of ['requests>=2,<3', 'a==1.*', 'c~=1.4.2', 'd!=1.0, >0.9', 'e===1.0'])
      expect([ok, classifyPipEntry(ok, 1).problem]).toEqual([ok, undefined]);
    const spec = parseSpec('dependencies:\n  - pip\n  - pip:\n    - requests>=2,<\n', 'f.yml', 'a');
    expect(messages(spec.problems)).toEqual([expect.stringMatching(/^4: 'requests>=2,<' is not a valid pip/)]);
  });

  test('a kernel display name with ; or # is kept whole; a comment after a space is still a comment', () => {
    const inv = (display: string) =>
      parseInventory(
        '[conda]\nversion = 23.11.0\nchannels = conda-forge\n\n[environments]\na = REPLICATE\n\n' +
          `[kernels]\na = ${display}\n`,
      ).inventory?.kernels[0]?.displayName;
    expect(inv('Python 3; GPU')).toBe('Python 3; GPU');
    expect(inv('C# tools')).toBe('C# tools');
    expect(inv('"Python 3; GPU"')).toBe('Python 3; GPU');
    expect(inv('Analytics (Python 3.11)   ; NAME = display name')).toBe('Analytics (Python 3.11)');
    expect(inv('Python 3 (GPU) # a comment')).toBe('Python 3 (GPU)');
  });
});
