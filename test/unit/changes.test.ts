import { afterAll, describe, expect, test } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { changedEnvs, describeChanges, type RepoSnapshot } from '../../scripts/core/changes.js';
import { guardPlan, canonicalChannel, MAX_PREFIX_BYTES } from '../../scripts/core/planguard.js';
import {
  changedFiles,
  exportRepoFiles,
  headCommit,
  resolveCommit,
  showFile,
  topLevel,
} from '../../scripts/engine/git.js';
import { runPool } from '../../scripts/engine/pool.js';
import type { EnvSpec, Inventory } from '../../scripts/core/types.js';
import { runCommand } from '../fixtures/command.js';
import type { Context } from '../../scripts/app/context.js';

/** every temp dir of this file lives under one parent, removed when the file is done */
const TMP = mkdtempSync(join(tmpdir(), 'cg-changes-'));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

function inventory(opts: {
  version?: string;
  frontend?: Inventory['conda']['frontend'];
  envs: Record<string, 'REPLICATE' | 'export'>;
  kernels?: Record<string, string>;
  noarch?: string[];
}): Inventory {
  return {
    file: 'inventory.ini',
    conda: { version: opts.version ?? '23.11.0', frontend: opts.frontend ?? 'conda', channels: [], line: 1 },
    environments: Object.entries(opts.envs).map(([name, mode], i) => ({ name, mode, line: 10 + i })),
    kernels: Object.entries(opts.kernels ?? {}).map(([name, displayName], i) => ({ name, displayName, line: 40 + i })),
    legacyNoarch: (opts.noarch ?? []).map((name, i) => ({ name, line: 60 + i })),
  };
}

const spec = (deps: string[]) => `name: x\ndependencies:\n${deps.map((d) => `  - ${d}\n`).join('')}`;

function snapshot(inv: Inventory, specs: Record<string, string>, tests: Record<string, string> = {}): RepoSnapshot {
  return { inventory: inv, specTexts: new Map(Object.entries(specs)), testTexts: new Map(Object.entries(tests)) };
}

describe('changedEnvs', () => {
  const envs = { a: 'REPLICATE', b: 'REPLICATE', c: 'REPLICATE', old: 'export' } as const;
  const specs = {
    a: spec(['python=3.11']),
    b: spec(['numpy']),
    c: spec(['pandas', 'ipums_utils']),
    old: spec(['python=2.7']),
  };
  const base = snapshot(inventory({ envs }), specs);

  test('nothing changed -> nothing to build', () => {
    const c = changedEnvs(base, snapshot(inventory({ envs }), { ...specs }));
    expect(c.envs).toEqual([]);
    expect(c.dropped).toEqual([]);
    expect(describeChanges(c)).toEqual([]);
  });

  test('a spec edit builds exactly that env', () => {
    const c = changedEnvs(base, snapshot(inventory({ envs }), { ...specs, b: spec(['numpy=1.26']) }));
    expect(c.envs).toEqual([{ name: 'b', reasons: ['spec'] }]);
  });

  test('a CRLF-only or comment edit still counts as a spec change (the build id decides whether it rebuilds)', () => {
    const c = changedEnvs(base, snapshot(inventory({ envs }), { ...specs, a: specs.a.replace(/\n/g, '\r\n') }));
    expect(c.envs.map((e) => e.name)).toEqual(['a']);
  });

  test('conda version change replicates every REPLICATE env, never export ones', () => {
    const c = changedEnvs(base, snapshot(inventory({ envs, version: '24.1.2' }), specs));
    expect(c.envs.map((e) => e.name)).toEqual(['a', 'b', 'c']);
    expect(c.envs.every((e) => e.reasons.includes('conda-version'))).toBe(true);
    expect(c.condaVersion).toEqual({
      base: '23.11.0',
      head: '24.1.2',
      changed: true,
      frontends: { base: 'conda', head: 'conda' },
    });
    expect(describeChanges(c)[0]).toMatch(/23\.11\.0 -> 24\.1\.2/);
  });

  test('frontend change rebuilds everything too', () => {
    const c = changedEnvs(base, snapshot(inventory({ envs, frontend: 'mamba' }), specs));
    expect(c.envs.map((e) => e.name)).toEqual(['a', 'b', 'c']);
    expect(c.condaVersion.frontends).toEqual({ base: 'conda', head: 'mamba' });
  });

  test('inventory line changes: export -> REPLICATE builds, REPLICATE -> export and removal drop', () => {
    const head = snapshot(inventory({ envs: { a: 'REPLICATE', b: 'export', old: 'REPLICATE', d: 'REPLICATE' } }), {
      ...specs,
      d: spec(['r-base']),
    });
    const c = changedEnvs(base, head);
    expect(c.envs).toEqual([
      { name: 'd', reasons: ['added', 'spec'] },
      { name: 'old', reasons: ['inventory'] },
    ]);
    expect(c.dropped).toEqual(['b', 'c']);
  });

  test('export envs whose spec changed are listed but not built', () => {
    const c = changedEnvs(base, snapshot(inventory({ envs }), { ...specs, old: spec(['python=2.7.18']) }));
    expect(c.envs).toEqual([]);
    expect(c.exportOnly).toEqual(['old']);
  });

  test('legacy-noarch changes rebuild only the envs that use the package', () => {
    const c = changedEnvs(base, snapshot(inventory({ envs, noarch: ['ipums_utils'] }), specs));
    expect(c.envs).toEqual([{ name: 'c', reasons: ['legacy-noarch'] }]);
  });

  test('kernels added, removed, renamed; a new kernel env is re-tested', () => {
    const b2 = snapshot(inventory({ envs, kernels: { b: 'B kernel', c: 'C' } }), specs);
    const h2 = snapshot(inventory({ envs, kernels: { a: 'A kernel', c: 'C (new)' } }), specs);
    const c = changedEnvs(b2, h2);
    expect(c.kernels).toEqual({ added: ['a'], removed: ['b'], changed: ['c'] });
    expect(c.envs).toEqual([{ name: 'a', reasons: ['kernel'] }]);
  });

  test('a changed per-env test script re-tests that env', () => {
    const c = changedEnvs(
      snapshot(inventory({ envs }), specs, { a: 'exit 0' }),
      snapshot(inventory({ envs }), specs, { a: 'exit 1' }),
    );
    expect(c.envs).toEqual([{ name: 'a', reasons: ['test'] }]);
  });
});

function envSpec(name: string, channels: string[], deps: Array<[string, number, string?]>): EnvSpec {
  return {
    file: `env-specs/${name}.yml`,
    name,
    channels,
    pip: [],
    variables: {},
    dependencies: deps.map(([text, line, channel]) => ({
      text,
      line,
      spec: { name: text.replace(/^.*::/, '').split(/[=<> ]/)[0], ...(channel ? { channel } : {}) },
    })),
  };
}

describe('guardPlan', () => {
  test('a prefix over the limit fails with the byte count and the limit', () => {
    const long = '/' + 'p'.repeat(240) + '/v23.11.0/builds/hlink/0123456789ab';
    const ok = '/pkg/conda/v23.11.0/builds/hlink/0123456789ab';
    const failures = guardPlan(
      [
        { name: 'hlink', spec: envSpec('hlink', [], [['python', 3]]), prefix: long },
        { name: 'short', spec: envSpec('short', [], [['python', 3]]), prefix: ok },
      ],
      [],
    );
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ env: 'hlink', kind: 'prefix-length', file: 'env-specs/hlink.yml' });
    expect(failures[0].message).toContain(`${Buffer.byteLength(long)} bytes`);
    expect(failures[0].message).toContain(`${MAX_PREFIX_BYTES}-byte`);
  });

  test('exactly the limit is fine; multibyte characters count as bytes', () => {
    const exact = '/' + 'a'.repeat(MAX_PREFIX_BYTES - 1);
    expect(guardPlan([{ name: 'e', spec: envSpec('e', [], []), prefix: exact }], [])).toEqual([]);
    const multibyte = '/' + 'é'.repeat(128); // 257 bytes, 129 characters
    expect(guardPlan([{ name: 'e', spec: envSpec('e', [], []), prefix: multibyte }], [])).toHaveLength(1);
  });

  test('channels outside [conda] channels fail at the line that names them', () => {
    const text = 'name: x\nchannels:\n  - conda-forge\n  - bioconda\ndependencies:\n  - python\n  - pytorch::pytorch\n';
    const s = envSpec(
      'x',
      ['conda-forge', 'bioconda'],
      [
        ['python', 6],
        ['pytorch::pytorch', 7, 'pytorch'],
      ],
    );
    const failures = guardPlan(
      [{ name: 'x', spec: s, prefix: '/r/v1/builds/x/1', specText: text }],
      ['conda-forge', 'file:///srv/mpc'],
    );
    expect(failures.map((f) => [f.kind, f.line])).toEqual([
      ['channel', 4],
      ['channel', 7],
    ]);
    expect(failures[0].message).toMatch(/'bioconda'.*not allowed/);
    expect(failures[1].message).toContain("'pytorch::pytorch'");
  });

  test('channel spellings are compared canonically; nodefaults and an empty allow-list pass', () => {
    expect(canonicalChannel('https://conda.anaconda.org/conda-forge/')).toBe('conda-forge');
    expect(canonicalChannel('Conda-Forge/linux-64')).toBe('conda-forge');
    expect(canonicalChannel('file:///srv/MPC/noarch')).toBe('file:///srv/MPC');
    const s = envSpec('x', ['https://conda.anaconda.org/conda-forge', 'nodefaults', 'file:///srv/mpc/'], []);
    expect(guardPlan([{ name: 'x', spec: s, prefix: '/r' }], ['conda-forge', 'file:///srv/mpc'])).toEqual([]);
    expect(guardPlan([{ name: 'x', spec: envSpec('x', ['anything'], []), prefix: '/r' }], [])).toEqual([]);
  });
});

describe('git reader', () => {
  function repo(): { dir: string; commit: (msg: string) => string } {
    const dir = mkdtempSync(join(TMP, 'cg-git-'));
    const g = (...args: string[]) => execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8' }).trim();
    g('init', '-q', '-b', 'main');
    g('config', 'user.email', 't@example.invalid');
    g('config', 'user.name', 't');
    return {
      dir,
      commit: (msg) => {
        g('add', '-A');
        g('commit', '-qm', msg);
        return g('rev-parse', 'HEAD');
      },
    };
  }

  test('reads files at a ref, lists changed files, exports a commit without touching the work tree', async () => {
    const r = repo();
    mkdirSync(join(r.dir, 'env-specs'));
    writeFileSync(join(r.dir, 'inventory.ini'), '[conda]\nversion = 1\n');
    writeFileSync(join(r.dir, 'env-specs', 'a.yml'), 'A1\n');
    writeFileSync(join(r.dir, 'env-specs', 'b.yml'), 'B1\n');
    writeFileSync(join(r.dir, 'README'), 'x');
    const c1 = r.commit('one');
    writeFileSync(join(r.dir, 'env-specs', 'a.yml'), 'A2\n');
    writeFileSync(join(r.dir, 'env-specs', 'c.yml'), 'C2\n');
    const c2 = r.commit('two');
    writeFileSync(join(r.dir, 'env-specs', 'a.yml'), 'A3 uncommitted\n');

    expect(await resolveCommit(r.dir, 'HEAD~1')).toBe(c1);
    expect(await showFile(r.dir, c1, 'env-specs/a.yml')).toBe('A1\n');
    expect(await showFile(r.dir, c1, 'env-specs/c.yml')).toBeUndefined();
    expect((await changedFiles(r.dir, c1, c2)).sort()).toEqual(['env-specs/a.yml', 'env-specs/c.yml']);

    const dest = mkdtempSync(join(TMP, 'cg-export-'));
    const written = await exportRepoFiles(r.dir, c1, dest);
    expect(written.sort()).toEqual(['env-specs/a.yml', 'env-specs/b.yml', 'inventory.ini']);
    expect(readFileSync(join(dest, 'env-specs', 'a.yml'), 'utf8')).toBe('A1\n');
    expect(existsSync(join(dest, 'README'))).toBe(false);
    expect(readFileSync(join(r.dir, 'env-specs', 'a.yml'), 'utf8')).toBe('A3 uncommitted\n');
    expect(execFileSync('git', ['-C', r.dir, 'status', '--porcelain'], { encoding: 'utf8' })).toBe(
      ' M env-specs/a.yml\n',
    );
  });

  test('a repo in a subdirectory of the work tree exports relative to that subdirectory', async () => {
    const r = repo();
    mkdirSync(join(r.dir, 'ops', 'env-specs'), { recursive: true });
    writeFileSync(join(r.dir, 'ops', 'inventory.ini'), 'INV\n');
    writeFileSync(join(r.dir, 'ops', 'env-specs', 'a.yml'), 'A\n');
    const c = r.commit('sub');
    const dest = mkdtempSync(join(TMP, 'cg-export-'));
    expect((await exportRepoFiles(join(r.dir, 'ops'), c, dest)).sort()).toEqual(['env-specs/a.yml', 'inventory.ini']);
  });

  test('unknown or option-like refs are usage errors, never git flags', async () => {
    const r = repo();
    writeFileSync(join(r.dir, 'f'), 'x');
    r.commit('c');
    await expect(resolveCommit(r.dir, 'no-such-branch')).rejects.toThrow(/not found/);
    await expect(resolveCommit(r.dir, '--output=/tmp/x')).rejects.toThrow(/invalid git ref/);
    await expect(showFile(r.dir, '-p', 'f')).rejects.toThrow(/invalid git ref/);
  });

  test('HEAD and the work-tree top of a repository; undefined outside git', async () => {
    const r = repo();
    mkdirSync(join(r.dir, 'a dir with $(spaces)'));
    writeFileSync(join(r.dir, 'a dir with $(spaces)', 'f'), 'x');
    const c = r.commit('c');
    expect(await headCommit(r.dir)).toBe(c);
    const top = execFileSync('git', ['-C', r.dir, 'rev-parse', '--show-toplevel'], { encoding: 'utf8' }).trim();
    expect(await topLevel(join(r.dir, 'a dir with $(spaces)'))).toBe(top);
    const plain = mkdtempSync(join(TMP, 'cg-not-git-'));
    expect(await headCommit(plain)).toBeUndefined();
    expect(await topLevel(plain)).toBeUndefined();
  });

  test('a git without a commit has no HEAD', async () => {
    expect(await headCommit(repo().dir)).toBeUndefined();
  });
});

describe('runPool', () => {
  test('keeps order, never exceeds the bound, and uses all workers', async () => {
    let inFlight = 0;
    let peak = 0;
    const out = await runPool([5, 1, 4, 2, 3, 1, 1, 2], 3, async (ms, i) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, ms * 5));
      inFlight--;
      return i * 10;
    });
    expect(out).toEqual([0, 10, 20, 30, 40, 50, 60, 70]);
    expect(peak).toBe(3);
  });

  test('a throw rejects after in-flight work settles; an empty list is fine', async () => {
    let finished = 0;
    await expect(
      runPool([1, 2, 3], 2, async (x) => {
        if (x === 1) throw new Error('boom');
        await new Promise((r) => setTimeout(r, 10));
        finished++;
        return x;
      }),
    ).rejects.toThrow('boom');
    expect(finished).toBe(1);
    expect(await runPool([], 4, async () => 1)).toEqual([]);
  });
});

describe('plan --base/--head (command)', () => {
  async function planCmd(repo: string, options: Record<string, string | boolean>) {
    const run = (c: Context) => runCommand('plan', c);
    const { memoryOutput } = await import('../../scripts/cli/output.js');
    const out = memoryOutput(true);
    const code = await run({ options: { json: true, ...options }, positionals: [], out, repo, env: {} });
    return { code, out, result: out.results[0] as Record<string, unknown> };
  }
  const inv = (envs: string[], extra = '') =>
    '[conda]\nversion = 23.11.0\nchannels = conda-forge\n\n' +
    `[environments]\n${envs.map((e) => `${e} = REPLICATE`).join('\n')}\n${extra}`;
  const yml = (deps: string[]) =>
    `channels:\n  - conda-forge\ndependencies:\n${deps.map((d) => `  - ${d}\n`).join('')}`;

  function gitRepo() {
    const dir = mkdtempSync(join(TMP, 'cg-plan-'));
    const g = (...args: string[]) => execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8' }).trim();
    g('init', '-q', '-b', 'main');
    mkdirSync(join(dir, 'env-specs'));
    const commit = (files: Record<string, string>, remove: string[] = []) => {
      for (const [p, t] of Object.entries(files)) writeFileSync(join(dir, p), t);
      for (const p of remove) execFileSync('git', ['-C', dir, 'rm', '-q', p]);
      g('add', '-A');
      g('-c', 'user.name=t', '-c', 'user.email=t@example.invalid', 'commit', '-qm', 'c');
      return g('rev-parse', 'HEAD');
    };
    return { dir, commit };
  }

  test('lists exactly the envs a PR changes, the kernels it adds and the envs it drops, with a CI matrix', async () => {
    const r = gitRepo();
    const base = r.commit({
      'inventory.ini': inv(['a', 'b', 'c']),
      'env-specs/a.yml': yml(['python=3.11']),
      'env-specs/b.yml': yml(['numpy']),
      'env-specs/c.yml': yml(['pandas']),
    });
    r.commit(
      {
        'inventory.ini': inv(['a', 'b'], '\n[kernels]\na = A (Python 3)\n'),
        'env-specs/b.yml': yml(['numpy=1.26']),
      },
      ['env-specs/c.yml'],
    );
    const { code, result, out } = await planCmd(r.dir, { base, head: 'HEAD' });
    expect(code).toBe(0);
    expect(result.envs).toEqual([
      expect.objectContaining({ name: 'a', reasons: ['kernel'], action: 'build', plan: 'build' }),
      expect.objectContaining({ name: 'b', reasons: ['spec'], action: 'build', plan: 'build' }),
    ]);
    expect(result.dropped).toEqual(['c']);
    expect(result.kernels).toEqual({ added: ['a'], removed: [], changed: [] });
    expect((result.matrix as { include: Array<{ env: string }> }).include.map((m) => m.env)).toEqual(['a', 'b']);
    expect(out.errors.join('\n')).toMatch(/plan: 2 to build, 0 to test, 0 already tested, 1 to unlink at deploy/);
  });

  test('a build prefix over the limit fails the plan with the spec file and the numbers', async () => {
    const r = gitRepo();
    const base = r.commit({ 'inventory.ini': inv(['a']), 'env-specs/a.yml': yml(['python']) });
    r.commit({ 'env-specs/a.yml': yml(['python=3.11']) });
    const longRoot = join(tmpdir(), 'x'.repeat(230));
    const pr = await planCmd(r.dir, { base, head: 'HEAD', root: longRoot });
    expect(pr.code).toBe(2);
    expect(pr.out.errors.join('\n')).toMatch(
      /env-specs\/a\.yml:1: error: a: build prefix is \d+ bytes, longer than conda's 255-byte limit/,
    );
    // without --base the plan is against an installation: the root must exist, and the same guard applies
    const missing = await planCmd(r.dir, { root: longRoot });
    expect(missing.code).toBe(2);
    expect(missing.out.errors.join('\n')).toMatch(/does not exist/);
    mkdirSync(longRoot);
    try {
      const plain = await planCmd(r.dir, { root: longRoot });
      expect(plain.code).toBe(2);
      expect(plain.out.errors.join('\n')).toMatch(/255-byte limit/);
    } finally {
      rmSync(longRoot, { recursive: true, force: true });
    }
  });

  test('between two commits only the changed files are read, and the plan equals the plan of a checkout', async () => {
    const r = gitRepo();
    const base = r.commit({
      'inventory.ini': inv(['a', 'b', 'c', 'd'], 'e = export\nf = REPLICATE\n'),
      'env-specs/a.yml': yml(['python=3.11']),
      'env-specs/b.yml': yml(['numpy']),
      'env-specs/c.yml': yml(['pandas']),
      'env-specs/d.yml': yml(['scipy']),
      'env-specs/e.yml': yml(['requests']),
      'env-specs/f.yml': yml(['six']),
      'env-specs/d.test.sh': 'true\n',
    });
    const head = r.commit(
      {
        // e: export -> REPLICATE with its spec unchanged; a: a kernel; b: spec; d: test; c dropped; g added
        'inventory.ini': inv(['a', 'b', 'd', 'e', 'g'], 'f = REPLICATE\n\n[kernels]\na = A (Python 3)\n'),
        'env-specs/b.yml': yml(['numpy=1.26']),
        'env-specs/d.test.sh': 'false\n',
        'env-specs/d.test.py': 'import scipy\n',
        'env-specs/g.yml': yml(['polars']),
      },
      ['env-specs/c.yml'],
    );
    const byCommits = await planCmd(r.dir, { base, head: 'HEAD' });
    // the work tree is HEAD: the whole-repository path must agree
    const byTree = await planCmd(r.dir, { base });
    expect(byCommits.code).toBe(0);
    expect(byCommits.result.envs).toEqual(byTree.result.envs);
    for (const k of ['dropped', 'exportOnly', 'kernels', 'matrix', 'condaVersion'])
      expect([k, byCommits.result[k]]).toEqual([k, byTree.result[k]]);
    expect((byCommits.result.envs as Array<{ name: string }>).map((e) => e.name)).toEqual(['a', 'b', 'd', 'e', 'g']);
    expect(byCommits.result.head).toEqual({ ref: 'HEAD', commit: head });

    // a broken spec in the PR fails the plan naming its line, like the checkout path
    r.commit({ 'env-specs/f.yml': yml(['numpy==>1']) });
    const broken = await planCmd(r.dir, { base, head: 'HEAD' });
    expect(broken.code).toBe(2);
    expect(broken.out.errors.join('\n')).toMatch(/env-specs\/f\.yml:4: error:/);
    // a spec missing at head for an env the inventory lists is an inventory error
    r.commit({}, ['env-specs/f.yml']);
    const missing = await planCmd(r.dir, { base, head: 'HEAD' });
    expect(missing.code).toBe(2);
    expect(missing.out.errors.join('\n')).toMatch(/inventory\.ini:\d+: error: REPLICATE environment 'f' has no spec/);
  });

  test('a repository in a subdirectory of the work tree plans by commits too', async () => {
    const r = gitRepo();
    mkdirSync(join(r.dir, 'ops', 'env-specs'), { recursive: true });
    const base = r.commit({
      'ops/inventory.ini': inv(['a', 'b']),
      'ops/env-specs/a.yml': yml(['python']),
      'ops/env-specs/b.yml': yml(['six']),
    });
    r.commit({ 'ops/env-specs/a.yml': yml(['python=3.12']), 'env-specs/x.yml': 'not ours\n' });
    const pr = await planCmd(join(r.dir, 'ops'), { base, head: 'HEAD' });
    expect(pr.code).toBe(0);
    expect((pr.result.envs as Array<{ name: string; reasons: string[] }>).map((e) => [e.name, e.reasons])).toEqual([
      ['a', ['spec']],
    ]);
  });

  test('--head without --base is a usage error; an unknown ref too', async () => {
    const r = gitRepo();
    r.commit({ 'inventory.ini': inv(['a']), 'env-specs/a.yml': yml(['python']) });
    const noBase = await planCmd(r.dir, { head: 'HEAD' });
    expect(noBase.code).toBe(2);
    expect(noBase.out.errors.join('\n')).toMatch(/--head needs --base/);
    const unknown = await planCmd(r.dir, { base: 'nope', head: 'HEAD' });
    expect(unknown.code).toBe(2);
    expect(unknown.out.errors.join('\n')).toMatch(/not found/);
  });
});
