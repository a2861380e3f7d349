import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { memoryOutput } from '../../scripts/cli/output.js';
import type { Context } from '../../scripts/app/context.js';
import { runCommand } from '../fixtures/command.js';
const run = (c: Context) => runCommand('fix', c);
import { writeChannel } from '../fake-conda/index.js';

const HLINK = [
  'name: hlink',
  'channels:',
  '  - mpc',
  'dependencies:',
  '  # pinned by the census team',
  '  - python=3.6',
  '  - numpy=1.13',
  '  - ipums_utils=1.2.0',
  '  - pip',
  '  - pip:',
  '      - numpy==1.13.1',
  '      - tabulate==0.8.2',
  '      - requests==2.18.4',
  '',
].join('\n');

const CLEAN = 'name: clean\nchannels:\n  - mpc\ndependencies:\n  - python=3.6\n';

describe('fix command', () => {
  let tmp: string;
  let repo: string;
  let root: string;

  beforeEach(() => {
    tmp = mkdtempSync(join(tmpdir(), 'fix-'));
    repo = join(tmp, 'repo');
    root = join(tmp, 'root');
    const channels = join(tmp, 'channels');
    writeChannel(join(channels, 'mpc'), [
      { name: 'python', version: '3.6.15' },
      { name: 'numpy', version: '1.13.1' },
      { name: 'ipums_utils', version: '1.2.5', legacyNoarchPython: true },
      { name: 'ipums_utils', version: '1.3.0', legacyNoarchPython: true },
      { name: 'tabulate', version: '0.8.2', noarch: 'python' },
    ]);
    // the installation's .condarc maps the name `mpc` to the local channel; no conda binary is needed for it
    mkdirSync(join(root, 'v23.11.0'), { recursive: true });
    writeFileSync(join(root, 'v23.11.0', '.condarc'), `custom_channels:\n  mpc: ${pathToFileURL(channels).href}\n`);
    mkdirSync(join(repo, 'env-specs'), { recursive: true });
    writeFileSync(
      join(repo, 'inventory.ini'),
      [
        '[conda]',
        'version = 23.11.0',
        'channels = mpc',
        '',
        '[environments]',
        'hlink = REPLICATE',
        'clean = REPLICATE',
        'notes = export',
        '',
        '[legacy-noarch]',
        'ipums_utils',
        '',
      ].join('\n'),
    );
    writeFileSync(join(repo, 'env-specs', 'hlink.yml'), HLINK);
    writeFileSync(join(repo, 'env-specs', 'clean.yml'), CLEAN);
    writeFileSync(
      join(repo, 'env-specs', 'notes.yml'),
      'name: notes\ndependencies:\n  - numpy\n  - pip:\n    - numpy==1.0\n',
    );
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  const fix = async (options: Context['options'], json = false) => {
    const out = memoryOutput(json);
    const code = await run({
      options: { root, ...options },
      positionals: [],
      out,
      repo,
      env: { PATH: process.env.PATH },
    });
    return { code, out, text: out.lines.join('\n') };
  };
  const spec = (name: string) => readFileSync(join(repo, 'env-specs', `${name}.yml`), 'utf8');

  it('--check (deprecated) is --dry-run with a warning', async () => {
    const r = await fix({ check: true });
    expect(r.code).toBe(1);
    expect(spec('hlink')).toBe(HLINK);
    expect(r.out.errors.join('\n')).toContain('--check is deprecated: use --dry-run');
  });

  it('--dry-run exits 1 when a rule applies and writes nothing', async () => {
    const r = await fix({ 'dry-run': true });
    expect(r.code).toBe(1);
    expect(spec('hlink')).toBe(HLINK);
    expect(r.text).toContain('-      - numpy==1.13.1');
    expect(r.text).toContain('+  - tabulate=0.8.2');
    expect(r.text).toContain('would change 1 of 2 specs');
  });

  const REWRITES_IN_PLACE =
    'rewrites in place, keeps comments, lists versions gone with the nearest; --accept-nearest writes it';
  it(REWRITES_IN_PLACE, async () => {
    const first = await fix({});
    expect(first.code).toBe(0);
    const after = spec('hlink');
    expect(after).toContain('  # pinned by the census team\n');
    expect(after).not.toContain('numpy==1.13.1');
    expect(after).toContain('  - tabulate=0.8.2\n  - pip:\n      - requests==2.18.4\n');
    expect(after).toContain('  - ipums_utils=1.2.0\n'); // never guessed
    expect(first.text).toMatch(
      new RegExp(
        String.raw`env-specs\/hlink\.yml:8: version-gone: 'ipums_utils=1\.2\.0': ` +
          String.raw`the channel does not have this version; available: 1\.2\.5, 1\.3\.0; nearest 1\.2\.5`,
      ),
    );
    expect(first.text).toMatch(/env-specs\/hlink\.yml:8: legacy-noarch:/);
    expect(spec('notes')).toContain('numpy==1.0'); // export envs only with --env

    expect((await fix({ check: true })).code).toBe(1); // a version is still gone
    const second = await fix({ 'accept-nearest': true });
    expect(second.code).toBe(0);
    expect(spec('hlink')).toContain('  - ipums_utils=1.2.5\n');
    const third = await fix({ check: true });
    expect(third.code).toBe(0);
    expect(third.text).toContain('would change 0 of 2 specs');
  });

  it('--env picks envs (export ones too); --json describes every rule', async () => {
    const r = await fix({ env: ['notes'] }, true);
    expect(r.code).toBe(0);
    const result = r.out.results[0] as {
      envs: Array<{ env: string; written: boolean; applied: Array<{ rule: string }> }>;
    };
    expect(result.envs.map((e) => e.env)).toEqual(['notes']);
    expect(result.envs[0]!.applied.map((a) => a.rule)).toEqual(['pip-duplicate']);
    expect(spec('notes')).toBe('name: notes\ndependencies:\n  - numpy\n');
  });

  it('a broken spec fails with exit 2 but the other specs are still fixed', async () => {
    writeFileSync(join(repo, 'env-specs', 'clean.yml'), 'dependencies: [\n');
    const r = await fix({});
    expect(r.code).toBe(2);
    expect(r.out.errors.join('\n')).toMatch(/env-specs\/clean\.yml:\d+: error/);
    expect(spec('hlink')).not.toBe(HLINK);
  });

  it('an unreadable channel makes its facts unknown, not absent', async () => {
    writeFileSync(
      join(repo, 'env-specs', 'clean.yml'),
      'name: clean\nchannels:\n  - http://channel.invalid/x\ndependencies:\n  - nosuch=1.0\n',
    );
    const r = await fix({ env: ['clean'], check: true });
    expect(r.code).toBe(0);
    expect(r.out.errors.join('\n')).toMatch(/channel http:\/\/channel\.invalid\/x: .*facts from it unknown/);
    expect(r.text).not.toContain('missing-package');
  });

  it('an unknown --env is a usage error', async () => {
    const r = await fix({ env: ['nosuch'] });
    expect(r.code).toBe(2);
    expect(r.out.errors.join('\n')).toMatch(/'nosuch' is not an environment in inventory\.ini/);
  });
});
