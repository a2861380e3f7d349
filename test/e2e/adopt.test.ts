import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
  existsSync,
  readdirSync,
  unlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  dropPrefix,
  fromDirectUrl,
  gitUrlForPip,
  ignoresNoBuilds,
  managedRootOf,
  nameEnv,
  pipEntriesFromDists,
  pipPins,
  renderInventory,
  replacePipEntries,
  replicateSelector,
  setPipSection,
  stripBuilds,
} from '../../scripts/engine/adopt.js';
import { parseInventory } from '../../scripts/core/inventory.js';
import { parseSpec } from '../../scripts/core/spec.js';
import { checkRepoDir } from '../../scripts/repo/repo.js';
import { memoryOutput } from '../../scripts/cli/output.js';
import type { Context } from '../../scripts/app/context.js';
import {
  installFakeConda,
  makeGitPackage,
  runConda,
  writeChannel,
  writeWheel,
  type FakeConda,
} from '../fake-conda/index.js';
import { runCommand } from '../fixtures/command.js';

// ---- pure parts ------------------------------------------------------------------------------------------

const export43 = [
  'name: census',
  'channels:',
  '- mpc',
  '- defaults',
  'dependencies:',
  '- mpc::ipums_utils=0.9.1=py36_0',
  '- numpy=1.13.1=py36_0',
  '- python=3.6.2=0',
  '- pip:',
  '  - gitpkg==0.3.0',
  '  - requests==2.18.4',
  'prefix: /old/conda/envs/census',
  '',
].join('\n');

describe('export fix-ups (pure)', () => {
  it('knows which conda ignored --no-builds', () => {
    expect(['4.3.0', '4.3.22', '4.3.30'].map(ignoresNoBuilds)).toEqual([true, true, true]);
    expect(['4.2.13', '4.3.31', '4.8.5', '23.11.0'].map(ignoresNoBuilds)).toEqual([false, false, false, false]);
  });

  it('strips builds from conda deps, never from pip pins', () => {
    const r = stripBuilds(export43);
    expect(r.stripped).toBe(3);
    expect(r.text).toContain('- mpc::ipums_utils=0.9.1\n- numpy=1.13.1\n- python=3.6.2\n');
    expect(r.text).toContain('  - gitpkg==0.3.0\n');
    expect(stripBuilds(r.text).stripped).toBe(0);
  });

  it('strips builds in the modern indented layout and keeps CRLF', () => {
    const t = 'name: x\r\ndependencies:\r\n  - python=3.11.5=hab00c5b_0_cpython\r\n  - pip:\r\n      - a==1\r\n';
    expect(stripBuilds(t).text).toBe('name: x\r\ndependencies:\r\n  - python=3.11.5\r\n  - pip:\r\n      - a==1\r\n');
  });

  it('pip section from site-packages: conda-owned and versionless dists left out, same text kept', () => {
    const entries = pipEntriesFromDists(
      [
        { name: 'Tidyup', version: '0.4.2', installer: 'pip' },
        { name: 'numpy', version: '1.26.4', installer: 'conda' },
        { name: 'six', version: '1.16.0' },
        { name: 'editpkg', directUrl: { url: 'file:///src/editpkg', editable: true } },
        { name: 'editpkg', version: '1.0', installer: 'pip' },
        { name: 'onlylink', directUrl: { url: 'file:///src/x', editable: true } },
      ],
      new Set(['six==1.16.0', 'tidyup==0.4.1']),
    );
    expect(entries).toEqual(['editpkg==1.0', 'Tidyup==0.4.2']);
    const modern = 'name: x\ndependencies:\n  - python=3.6\n  - pip:\n      - editpkg (/src/editpkg)==1.0\n';
    expect(setPipSection(modern, entries)).toEqual({
      text: 'name: x\ndependencies:\n  - python=3.6\n  - pip:\n      - editpkg==1.0\n      - Tidyup==0.4.2\n',
      changed: true,
      had: 1,
    });
    const flush = 'name: x\ndependencies:\n- python=3.6\n\n';
    expect(setPipSection(flush, ['a==1']).text).toBe('name: x\ndependencies:\n- python=3.6\n- pip:\n    - a==1\n\n');
    const same = 'dependencies:\n  - pip:\n    - tidyup==0.4.2\n';
    expect(setPipSection(same, ['Tidyup==0.4.2'])).toMatchObject({ text: same, changed: false });
    expect(setPipSection(modern, []).text).toBe('name: x\ndependencies:\n  - python=3.6\n');
  });

  it('drops prefix:', () => {
    const r = dropPrefix(export43);
    expect(r.dropped).toBe('/old/conda/envs/census');
    expect(r.text).not.toContain('prefix:');
    expect(r.text.endsWith('  - requests==2.18.4\n')).toBe(true);
  });

  it('names the env where conda exported `name: null` (conda <= 4.12 with -p; real conda 4.3.22 and 4.8.5)', () => {
    const nulled = export43.replace('name: census', 'name: null');
    const r = nameEnv(nulled, 'census');
    expect(r).toEqual({ text: export43, named: true });
    const names = (t: string) => parseSpec(t, 'census.yml', 'census').problems.filter((p) => p.line === 1);
    expect(names(nulled)).toMatchObject([{ message: expect.stringMatching(/name 'null' differs/) }]);
    expect(names(r.text)).toEqual([]);
    for (const v of ['~', "''", ''])
      expect(nameEnv(nulled.replace('name: null', `name: ${v}`), 'census').text).toBe(export43);
    expect(nameEnv(nulled.replace('name: null\n', ''), 'census').text).toBe(export43);
    expect(nameEnv(export43, 'census')).toEqual({ text: export43, named: false });
    // a name conda wrote is kept, even when it is not the env's (the spec parser warns about it)
    expect(nameEnv(export43, 'other')).toEqual({ text: export43, named: false });
  });

  it('replaces recovered pip pins by their git source', () => {
    const r = replacePipEntries(export43, new Map([['gitpkg', 'git+https://h/g.git@abc#egg=gitpkg']]));
    expect(r.replaced).toEqual([{ from: 'gitpkg==0.3.0', to: 'git+https://h/g.git@abc#egg=gitpkg' }]);
    expect(r.text).toContain('  - git+https://h/g.git@abc#egg=gitpkg\n  - requests==2.18.4\n');
    expect(pipPins(export43)).toEqual([
      { name: 'gitpkg', version: '0.3.0' },
      { name: 'requests', version: '2.18.4' },
    ]);
  });

  it('reads PEP 610 direct_url.json', () => {
    expect(
      fromDirectUrl('g', {
        url: 'https://h/g.git',
        vcs_info: { vcs: 'git', commit_id: 'c0ffee', requested_revision: 'v1' },
      }),
    ).toEqual({ name: 'g', entry: 'git+https://h/g.git@c0ffee#egg=g', from: 'direct_url.json' });
    expect(fromDirectUrl('g', { url: 'https://h/g', vcs_info: { vcs: 'hg', commit_id: 'x' } })).toMatchObject({
      reason: expect.stringContaining('hg'),
    });
    expect(fromDirectUrl('g', { url: 'file:///src/g', dir_info: { editable: true } })).toEqual({
      editableDir: '/src/g',
    });
    expect(fromDirectUrl('g', { url: 'https://files/g-1.0.tar.gz', archive_info: {} })).toBeUndefined();
  });

  it('turns git remotes into URLs pip accepts', () => {
    expect(gitUrlForPip('git@github.com:ipums/x.git', '/src')).toBe('ssh://git@github.com/ipums/x.git');
    expect(gitUrlForPip('https://github.com/ipums/x.git', '/src')).toBe('https://github.com/ipums/x.git');
    expect(gitUrlForPip('../upstream', '/src/x')).toBe('file:///src/upstream');
  });

  it('renders an inventory the inventory parser accepts', () => {
    const text = renderInventory({
      source: '/old/conda',
      condaVersion: '4.3.22',
      channels: ['mpc', 'defaults'],
      envs: [
        { name: 'census', mode: 'REPLICATE' },
        { name: 'old_thing', mode: 'export' },
      ],
      legacyNoarch: ['ipums_utils'],
      skipped: [{ name: 'bad name', reason: 'invalid' }],
    });
    const { inventory, problems } = parseInventory(text);
    expect(problems.filter((p) => p.severity === 'error')).toEqual([]);
    expect(inventory!.environments.map((e) => [e.name, e.mode])).toEqual([
      ['census', 'REPLICATE'],
      ['old_thing', 'export'],
    ]);
    expect(inventory!.legacyNoarch.map((l) => l.name)).toEqual(['ipums_utils']);
    expect(inventory!.conda.version).toBe('4.3.22');
  });

  it('--replicate all|NAMES, and the managed root of ROOT/vX', () => {
    expect(replicateSelector('all', ['a']).isReplicate('zz')).toBe(true);
    const s = replicateSelector('a, c', ['a', 'b']);
    expect([s.isReplicate('a'), s.isReplicate('b')]).toEqual([true, false]);
    expect(s.unknown).toEqual(['c']);
    expect(replicateSelector(undefined, ['a']).isReplicate('a')).toBe(false);
    expect(managedRootOf('/pkg/conda/v4.3.22', '4.3.22')).toBe('/pkg/conda');
    expect(managedRootOf('/opt/anaconda3', '4.3.22')).toBeUndefined();
  });
});

// ---- against a fake conda 4.3.22 installation ---------------------------------------------------------------

const git = (dir: string, args: string[]) =>
  execFileSync('git', ['-C', dir, ...args], {
    encoding: 'utf8',
    env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1' },
  }).trim();

function context(repo: string, options: Context['options']) {
  const out = memoryOutput();
  return { ctx: { options, positionals: [], out, repo, env: { ...process.env } } as Context, out };
}

function sitePackages(prefix: string): string {
  const lib = join(prefix, 'lib');
  const py = readdirSync(lib).find((d) => /^python\d/.test(d))!;
  return join(lib, py, 'site-packages');
}

function fakeDist(prefix: string, name: string, version: string): string {
  const dir = join(sitePackages(prefix), `${name}-${version}.dist-info`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'METADATA'), `Metadata-Version: 2.1\nName: ${name}\nVersion: ${version}\n`);
  writeFileSync(join(dir, 'INSTALLER'), 'pip\n');
  return dir;
}

describe('adopt and export against a fake conda 4.3.22', () => {
  let tmp: string;
  let old: FakeConda;
  let repo: string;
  let gitpkg: { dir: string; url: string };
  let editSha: string;

  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'adopt-'));
    const channels = join(tmp, 'channels');
    writeChannel(join(channels, 'mpc'), [
      { name: 'python', version: '3.6.2', module: false },
      { name: 'pip', version: '9.0.1', module: false },
      { name: 'pip', version: '23.2.1', module: false },
      { name: 'numpy', version: '1.13.1' },
      { name: 'ipums_utils', version: '0.9.1', legacyNoarchPython: true },
      // the boolean noarch in repodata means generic to conda: not legacy
      { name: 'fontpkg', version: '1.0', noarch: true, module: false },
      { name: 'tabulate', version: '0.8.2', noarch: 'python' },
    ]);
    old = installFakeConda(join(tmp, 'old'), '4.3.22', {
      channels: ['mpc'],
      customChannels: { mpc: pathToFileURL(channels).href },
    });

    const spec = (name: string, deps: string[], pip: string[] = []) => {
      const file = join(tmp, `${name}.yml`);
      writeFileSync(
        file,
        [
          `name: ${name}`,
          'channels:',
          '  - mpc',
          'dependencies:',
          ...deps.map((d) => `  - ${d}`),
          ...(pip.length ? ['  - pip:', ...pip.map((p) => `      - ${p}`)] : []),
          '',
        ].join('\n'),
      );
      const r = runConda(old, ['env', 'create', '-f', file, '-p', join(old.prefix, 'envs', name)], {
        env: { ...process.env, PIP_NO_INDEX: '1' },
      });
      if (r.code !== 0) throw new Error(`env create ${name} failed:\n${r.stdout}${r.stderr}`);
    };
    gitpkg = makeGitPackage(join(tmp, 'src', 'gitpkg'), 'gitpkg', '0.3.0');
    spec('census', ['python=3.6.2', 'numpy=1.13.1', 'ipums_utils=0.9.1', 'fontpkg=1.0']);
    spec('gitenv', ['python=3.6.2', 'pip=9.0.1'], [`${gitpkg.url}#egg=gitpkg`]);
    spec('devenv', ['python=3.6.2', 'pip=9.0.1', 'tabulate=0.8.2']);
    // a modern pip in a 4.3 installation: conda 4.3's export loses the whole pip section (pip >= 18)
    spec('modernpip', ['python=3.6.2', 'pip=23.2.1'], [writeWheel(join(tmp, 'wheels'), 'tidyup', '0.4.2')]);

    // devenv: an old-style editable install (`setup.py develop`): .egg-link into a git checkout with an ssh remote,
    // and one into a plain directory; plus a dist built from git by setuptools_scm that left no record
    const edit = makeGitPackage(join(tmp, 'src', 'editpkg'), 'editpkg', '1.0');
    git(edit.dir, ['remote', 'add', 'origin', 'git@github.com:ipums/editpkg.git']);
    editSha = git(edit.dir, ['rev-parse', 'HEAD']);
    const dev = join(old.prefix, 'envs', 'devenv');
    fakeDist(dev, 'editpkg', '1.0');
    writeFileSync(join(sitePackages(dev), 'editpkg.egg-link'), `${edit.dir}\n.\n`);
    mkdirSync(join(tmp, 'src', 'notgit'), { recursive: true });
    fakeDist(dev, 'notgit', '0.1');
    writeFileSync(join(sitePackages(dev), 'notgit.egg-link'), `${join(tmp, 'src', 'notgit')}\n.\n`);
    fakeDist(dev, 'scmpkg', '2.1.dev3+g0123abcd');

    repo = join(tmp, 'repo');
    mkdirSync(repo);
  }, 120_000);

  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('writes inventory.ini and a spec per env, strips builds, drops prefix, recovers git sources', async () => {
    const run = (c: Context) => runCommand('adopt', c);
    const { ctx, out } = context(repo, { root: old.prefix, replicate: 'census,gitenv' });
    const code = await run(ctx);
    const said = out.lines.join('\n');
    expect(code, said + out.errors.join('\n')).toBe(0);

    const inv = parseInventory(readFileSync(join(repo, 'inventory.ini'), 'utf8'));
    expect(inv.problems.filter((p) => p.severity === 'error')).toEqual([]);
    expect(inv.inventory!.conda.version).toBe('4.3.22');
    expect(inv.inventory!.conda.channels).toEqual(['mpc']);
    expect(inv.inventory!.environments.map((e) => [e.name, e.mode])).toEqual([
      ['census', 'REPLICATE'],
      ['devenv', 'export'],
      ['gitenv', 'REPLICATE'],
      ['modernpip', 'export'],
    ]);
    // legacy noarch is what ships a pre-link script in the old installation (conda-meta files), not repodata's
    // boolean noarch (fontpkg: generic) nor noarch: python (tabulate)
    expect(inv.inventory!.legacyNoarch.map((l) => l.name)).toEqual(['ipums_utils']);

    const census = readFileSync(join(repo, 'env-specs', 'census.yml'), 'utf8');
    expect(census).not.toContain('prefix:');
    const deps = parseSpec(census, 'census.yml', 'census').spec!.dependencies;
    expect(deps.length).toBeGreaterThanOrEqual(3);
    for (const d of deps) expect(d.spec.build, d.text).toBeUndefined();
    expect(deps.map((d) => d.text)).toEqual(
      expect.arrayContaining(['numpy=1.13.1', 'ipums_utils=0.9.1', 'python=3.6.2']),
    );
    expect(said).toMatch(
      new RegExp(
        String.raw`env-specs\/census\.yml: stripped \d+ build strings \(conda 4\.3\.22 ignores --no-builds\); ` +
          String.raw`dropped 'prefix: .*census'`,
      ),
    );

    const sha = git(gitpkg.dir, ['rev-parse', 'HEAD']);
    const gitenv = parseSpec(readFileSync(join(repo, 'env-specs', 'gitenv.yml'), 'utf8'), 'gitenv.yml', 'gitenv').spec!;
    expect(gitenv.pip.map((p) => p.text)).toContain(`${gitpkg.url}@${sha}#egg=gitpkg`);
    expect(said).toContain(`pip gitpkg==0.3.0 -> ${gitpkg.url}@${sha}#egg=gitpkg`);

    const devenv = parseSpec(readFileSync(join(repo, 'env-specs', 'devenv.yml'), 'utf8'), 'devenv.yml', 'devenv').spec!;
    expect(devenv.pip.map((p) => p.text)).toContain(
      `git+ssh://git@github.com/ipums/editpkg.git@${editSha}#egg=editpkg`,
    );
    expect(devenv.pip.map((p) => p.text)).toEqual(
      expect.arrayContaining(['notgit==0.1', 'scmpkg==2.1.dev3+g0123abcd']),
    );
    expect(said).toMatch(
      /pip 'notgit' left as name==version: editable install from .*notgit, which is not a git checkout/,
    );
    expect(said).toMatch(
      /pip 'scmpkg' left as name==version: version 2\.1\.dev3\+g0123abcd was built from a git checkout/,
    );
    expect(said).toMatch(/git sources not recovered \(2\): devenv:notgit, devenv:scmpkg/);

    // the pip section comes from site-packages, not from conda 4.3's export (which lost it to pip >= 18)
    const modern = parseSpec(readFileSync(join(repo, 'env-specs', 'modernpip.yml'), 'utf8'), 'm.yml', 'modernpip');
    expect(modern.spec!.pip.map((p) => p.text)).toEqual(['tidyup==0.4.2']);
    expect(said).toMatch(/env-specs\/modernpip\.yml: .*pip section read from site-packages/);

    // the adopted repository validates as it stands
    const checked = await checkRepoDir(repo);
    expect(checked.problems.filter((p) => p.severity === 'error')).toEqual([]);
  }, 60_000);

  it('finds the kernelspecs that run its envs and writes them into [kernels] with their display names', async () => {
    const run = (c: Context) => runCommand('adopt', c);
    const envs = join(old.prefix, 'envs');
    const kernelspec = (dir: string, argv: string[], display: string, language = 'python') => {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'kernel.json'), JSON.stringify({ argv, display_name: display, language }));
    };
    const py = (env: string) => [
      join(envs, env, 'bin', 'python'),
      '-m',
      'ipykernel_launcher',
      '-f',
      '{connection_file}',
    ];
    // the installation's own share/jupyter/kernels: census's ipykernel kernel, and one not in any env of it
    kernelspec(join(old.prefix, 'share', 'jupyter', 'kernels', 'census'), py('census'), 'Census; 2020 (Py 3.6)');
    kernelspec(join(old.prefix, 'share', 'jupyter', 'kernels', 'system'), ['/usr/bin/python3', '-m', 'x'], 'System');
    // an admin's JUPYTER_PATH directory (--kernels-from): gitenv's python, and devenv's own R kernel, which devenv
    // ships as share/jupyter/kernels/ir
    const site = join(tmp, 'site-kernels');
    kernelspec(join(site, 'kernels', 'gitenv-py'), py('gitenv'), 'Git env');
    const rArgv = (prefix: string) => [
      join(prefix, 'bin', 'R'),
      '--slave',
      '-e',
      'IRkernel::main()',
      '--args',
      '{connection_file}',
    ];
    kernelspec(join(site, 'kernels', 'ir-dev'), rArgv(join(envs, 'devenv')), 'Dev (R)', 'R');
    kernelspec(join(envs, 'devenv', 'share', 'jupyter', 'kernels', 'ir'), rArgv(join(envs, 'devenv')), 'R', 'R');

    const dir = join(tmp, 'repo-kernels');
    const { ctx, out } = context(dir, {
      root: old.prefix,
      replicate: 'census,devenv',
      'kernels-from': [join(site, 'kernels')],
    });
    const code = await run(ctx);
    const said = out.lines.join('\n') + out.errors.join('\n');
    expect(code, said).toBe(0);
    const inv = parseInventory(readFileSync(join(dir, 'inventory.ini'), 'utf8'));
    expect(inv.problems.filter((p) => p.severity === 'error')).toEqual([]);
    expect(inv.inventory!.kernels.map((k) => [k.name, k.spec, k.displayName])).toEqual([
      ['census', undefined, 'Census; 2020 (Py 3.6)'],
      ['devenv', 'ir', 'Dev (R)'],
    ]);
    // gitenv is not REPLICATE: its kernel is written, commented out, with what to do
    expect(readFileSync(join(dir, 'inventory.ini'), 'utf8')).toMatch(
      /^; gitenv += Git env +; gitenv is `export`: mark it REPLICATE to publish this kernel$/m,
    );
    expect(said).toContain(
      `kernel census = Census; 2020 (Py 3.6) (from ${join(old.prefix, 'share', 'jupyter', 'kernels', 'census')})`,
    );
    expect(said).toContain(`kernel devenv:ir = Dev (R) (from ${join(site, 'kernels', 'ir-dev')})`);
    expect(said).toMatch(/kernels found: 3 \(2 written, 1 commented out: its env is `export`\)/);
    expect(said).not.toContain('System');
    const checked = await checkRepoDir(dir);
    expect(checked.problems.filter((p) => p.severity === 'error')).toEqual([]);
  }, 60_000);

  it('refuses to overwrite an inventory without --force', async () => {
    const run = (c: Context) => runCommand('adopt', c);
    const { ctx, out } = context(repo, { root: old.prefix });
    expect(await run(ctx)).toBe(2);
    expect(out.errors.join('\n')).toMatch(/inventory\.ini exists: adopt writes a new inventory/);
  });

  it('refuses a directory that is not a conda installation', async () => {
    const run = (c: Context) => runCommand('adopt', c);
    const { ctx, out } = context(join(tmp, 'other'), { root: tmp });
    expect(await run(ctx)).toBe(2);
    expect(out.errors.join('\n')).toMatch(/not a conda installation/);
  });

  it('export re-exports only the listed envs it is asked for', async () => {
    const run = (c: Context) => runCommand('export', c);
    const spec = join(repo, 'env-specs', 'census.yml');
    const before = readFileSync(spec, 'utf8');
    unlinkSync(spec);
    const gitenvBefore = readFileSync(join(repo, 'env-specs', 'gitenv.yml'), 'utf8');
    writeFileSync(join(repo, 'env-specs', 'gitenv.yml'), 'edited by hand\n');
    const { ctx, out } = context(repo, { root: old.prefix, env: ['census'] });
    expect(await run(ctx)).toBe(0);
    expect(readFileSync(spec, 'utf8')).toBe(before);
    expect(readFileSync(join(repo, 'env-specs', 'gitenv.yml'), 'utf8')).toBe('edited by hand\n');
    expect(out.lines.join('\n')).toContain('exported 1 of 1 env');
    writeFileSync(join(repo, 'env-specs', 'gitenv.yml'), gitenvBefore);
  }, 30_000);

  it('export names each env once, however often --env names it', async () => {
    const run = (c: Context) => runCommand('export', c);
    const { ctx, out } = context(repo, { root: old.prefix, env: ['census', 'census'] });
    expect(await run(ctx)).toBe(0);
    expect(out.errors.filter((l) => l.includes('export census'))).toEqual(['[1/1] export census']);
    expect(out.lines.join('\n')).toContain('exported 1 of 1 env from');
    expect((out.results[0] as { envs: Array<{ name: string }> }).envs.map((e) => e.name)).toEqual(['census']);
  }, 30_000);

  it('export names a legacy noarch package the env has that [legacy-noarch] does not list', async () => {
    const run = (c: Context) => runCommand('export', c);
    const invFile = join(repo, 'inventory.ini');
    const inv = readFileSync(invFile, 'utf8');
    writeFileSync(invFile, inv.replace(/^ipums_utils$/m, ''));
    try {
      const { ctx, out } = context(repo, { root: old.prefix, env: ['census'] });
      expect(await run(ctx)).toBe(0);
      expect(out.errors.join('\n')).toContain(
        "warning: env-specs/census.yml: 'ipums_utils' is a legacy noarch package (it ships " +
          'bin/.ipums_utils-pre-link.sh): list it under [legacy-noarch] in inventory.ini, else conda >= 4.7 ' +
          'fails to create the env (LinkError: pre-link script failed)',
      );
      expect(out.errors.join('\n')).not.toContain("'fontpkg' is a legacy");
    } finally {
      writeFileSync(invFile, inv);
    }
  }, 30_000);

  it('export keeps hand-written loose pins the env still satisfies, unless --exact', async () => {
    const run = (c: Context) => runCommand('export', c);
    const spec = join(repo, 'env-specs', 'census.yml');
    const exactBefore = readFileSync(spec, 'utf8');
    const handWritten = [
      '# census: written by hand',
      'name: census',
      'channels:',
      '  - mpc',
      'dependencies:',
      '  - python=3.6  # the Python the readers support',
      '  - numpy>=1.20',
      '  - ipums_utils',
      '  - tabulate',
      '',
    ].join('\n');
    writeFileSync(spec, handWritten);
    const first = context(repo, { root: old.prefix, env: ['census'] });
    expect(await run(first.ctx), first.out.errors.join('\n')).toBe(0);
    const merged = readFileSync(spec, 'utf8');
    const lines = merged.split('\n');
    expect(lines.slice(0, 8)).toEqual([
      '# census: written by hand',
      'name: census',
      'channels:',
      '  - mpc',
      'dependencies:',
      '  - python=3.6  # the Python the readers support',
      '  - numpy=1.13.1',
      '  - ipums_utils',
    ]);
    expect(merged).not.toContain('tabulate');
    const said = first.out.lines.join('\n');
    expect(said).toContain(
      "env-specs/census.yml:7: 'numpy>=1.20' no longer holds (1.13.1 installed): written 'numpy=1.13.1'",
    );
    expect(said).toContain("env-specs/census.yml:9: dropped 'tabulate': no longer in the env");
    expect(said).toMatch(/env-specs\/census\.yml: kept 2 entries as written/);
    const json = first.out.results[0] as { envs: Array<{ name: string; merge?: { kept: string[] } }> };
    expect(json.envs[0]!.merge!.kept).toEqual(['python=3.6', 'ipums_utils']);
    // the merged spec is valid
    expect(parseSpec(merged, 'census.yml', 'census').problems.filter((p) => p.severity === 'error')).toEqual([]);

    // --exact: today's plain export, every version exact
    writeFileSync(spec, handWritten);
    const exact = context(repo, { root: old.prefix, env: ['census'], exact: true });
    expect(await run(exact.ctx), exact.out.errors.join('\n')).toBe(0);
    expect(readFileSync(spec, 'utf8')).toBe(exactBefore);
  }, 60_000);

  it('export refuses to merge into a spec that does not parse, and says how to overwrite it', async () => {
    const run = (c: Context) => runCommand('export', c);
    const spec = join(repo, 'env-specs', 'census.yml');
    const before = readFileSync(spec, 'utf8');
    writeFileSync(spec, 'name: census\ndependencies:\n  - numpy==>1\n');
    const { ctx, out } = context(repo, { root: old.prefix, env: ['census'] });
    expect(await run(ctx)).toBe(1);
    expect(readFileSync(spec, 'utf8')).toBe('name: census\ndependencies:\n  - numpy==>1\n');
    expect(out.errors.join('\n')).toMatch(
      /census: not exported: env-specs\/census\.yml:3: invalid version spec .*--exact/,
    );
    writeFileSync(spec, before);
  }, 60_000);

  it('export names an env the inventory does not list as a usage error', async () => {
    const run = (c: Context) => runCommand('export', c);
    const { ctx, out } = context(repo, { root: old.prefix, env: ['nosuch'] });
    expect(await run(ctx)).toBe(2);
    expect(out.errors.join('\n')).toMatch(/not listed/);
    expect(existsSync(join(repo, 'env-specs', 'nosuch.yml'))).toBe(false);
  });
});
