/**
 * One reader, one desired state: a commit (git cat-file) and the work tree of the same bytes are read into the
 * same RepoFiles, test scripts and requirements files included, and give the same desired state (build ids and
 * the verdict keys a deploy asks for). Hostile entries are refused the same way on both sides.
 */
import { gitRepo } from '../fixtures/git-repo.js';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readRepoFiles, checkRepoFiles } from '../../scripts/repo/repo.js';
import { readCommitFiles, readPrDelta } from '../../scripts/repo/snapshot.js';
import { desiredState } from '../../scripts/core/desired.js';
import { InputError } from '../../scripts/core/errors.js';
import { inventoryText, specText } from '../fixtures/repo.js';

describe('the work tree and a commit read into the same snapshot', () => {
  let dir: string;
  const { git, commit } = gitRepo(() => dir);

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cg-snapshot-'));
    mkdirSync(join(dir, 'env-specs', 'pkg'), { recursive: true });
    writeFileSync(
      join(dir, 'inventory.ini'),
      inventoryText({ envs: { app: 'REPLICATE', tool: 'REPLICATE', old: 'export' }, kernels: { app: 'App' } }),
    );
    writeFileSync(join(dir, 'env-specs', 'app.yml'), specText('app', { deps: ['python=3.11', 'ipykernel'] }));
    writeFileSync(join(dir, 'env-specs', 'app.test.py'), 'import requests\n');
    writeFileSync(join(dir, 'env-specs', 'app.test.sh'), 'echo ok\n');
    writeFileSync(join(dir, 'env-specs', 'tool.yml'), specText('tool', { deps: ['zlib'] }));
    writeFileSync(join(dir, 'env-specs', 'old.yml'), specText('old'));
    writeFileSync(join(dir, 'env-specs', 'requirements.txt'), 'tabulate==0.9.0\n');
    writeFileSync(join(dir, 'env-specs', 'pkg', 'setup.py'), '# a local pip source: read by the build only\n');
    symlinkSync('tool.yml', join(dir, 'env-specs', 'tool-alias.txt'));
    git('init', '-q', '-b', 'main');
    commit('initial');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('same files, bytes and desired state (test scripts included) from the work tree and from HEAD', async () => {
    const tree = readRepoFiles(dir);
    const head = await readCommitFiles(dir, 'HEAD');
    const asText = (f: typeof tree) => ({
      inventory: Buffer.from(f.inventory!).toString(),
      specs: Object.fromEntries([...f.specs].map(([k, v]) => [k, Buffer.from(v).toString()]).sort()),
    });
    expect(asText(head.files)).toEqual(asText(tree));
    expect(Object.keys(asText(tree).specs)).toEqual([
      'app.test.py',
      'app.test.sh',
      'app.yml',
      'old.yml',
      'requirements.txt',
      'tool-alias.txt',
      'tool.yml',
    ]);
    const a = desiredState((await checkRepoFiles(dir, tree)).repo!);
    const b = desiredState((await checkRepoFiles(dir, head.files)).repo!);
    expect(b).toEqual(a);
    // the verdict key covers the test scripts: not the key of an env without tests
    const noTests = readRepoFiles(dir);
    noTests.specs.delete('app.test.py');
    noTests.specs.delete('app.test.sh');
    const c = desiredState((await checkRepoFiles(dir, noTests)).repo!);
    expect(c.envs.find((e) => e.name === 'app')!.verdictKey).not.toBe(a.envs.find((e) => e.name === 'app')!.verdictKey);
  });

  test("a PR's changed env: the same desired env from the delta reader as from the whole repo", async () => {
    const base = git('rev-parse', 'HEAD');
    git('checkout', '-q', '-b', 'pr');
    writeFileSync(join(dir, 'env-specs', 'app.test.py'), 'import requests, sys\n');
    commit('app: test');
    const delta = await readPrDelta(dir, base, 'HEAD');
    expect(delta!.changes.envs).toEqual([{ name: 'app', reasons: ['test'] }]);
    const whole = desiredState((await checkRepoFiles(dir, readRepoFiles(dir))).repo!);
    expect(delta!.desired.envs).toEqual(whole.envs.filter((e) => e.name === 'app'));
    git('checkout', '-q', 'main');
  });

  test('a symlink leading out of the repository is refused at its path, in a commit as in the work tree', async () => {
    git('checkout', '-q', '-b', 'evil');
    symlinkSync('/etc/passwd', join(dir, 'env-specs', 'tool.test.sh'));
    commit('evil link');
    const messages = (e: unknown) => (e as InputError).problems.map((p) => `${p.file}: ${p.message}`);
    let fromTree: unknown;
    try {
      readRepoFiles(dir);
    } catch (e) {
      fromTree = e;
    }
    const fromCommit = await readCommitFiles(dir, 'HEAD').catch((e: unknown) => e);
    expect(fromTree).toBeInstanceOf(InputError);
    expect(fromCommit).toBeInstanceOf(InputError);
    expect(messages(fromCommit)).toEqual(messages(fromTree));
    expect(messages(fromCommit)).toEqual([
      'env-specs/tool.test.sh: is a symlink leading out of the repository: not read',
    ]);
    git('checkout', '-qf', 'main');
  });
});
