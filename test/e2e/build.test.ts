import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { load } from 'js-yaml';
import { execFileSync, spawn } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  realpathSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { absolutizePipLine, buildEnv, buildSteps, recordVerdict, type BuildInput } from '../../scripts/engine/build.js';
import { installationTools, runBuilds } from '../../scripts/app/pipeline.js';
import { loadRepo } from '../../scripts/repo/repo.js';
import { desiredState, type Desired } from '../../scripts/core/desired.js';
import { readBuildRecord, writeBuildRecord } from '../../scripts/state/record.js';
import { buildPaths } from '../../scripts/core/layout.js';
import { parseSpec } from '../../scripts/core/spec.js';
import { memoryOutput } from '../../scripts/cli/output.js';
import { repoRoot } from '../fake-conda/index.js';
import { makeQaWorld, worldSpec, writeRepo, type QaWorld } from '../fixtures/qa-world.js';
import { runCommand } from '../fixtures/command.js';
import { annotations, type Report } from '../../scripts/core/report.js';
import type { Context } from '../../scripts/app/context.js';

describe('buildSteps (pure)', () => {
  const text = [
    'name: hlink',
    'channels:',
    '  - conda-forge',
    'dependencies:',
    '  - python=3.11',
    '  - ipums_utils=1.2',
    '  - numpy',
    '  - pip',
    '  - pip:',
    '    - tabulate==0.9.0',
    '    - git+https://github.com/ipums/hlink.git@v3.1#egg=hlink',
    '    - -e git+https://example.org/x/tool.git@main#egg=tool',
    '    - other @ git+https://example.org/x/other.git',
    '    - -r requirements.txt',
    '    - -e ./localpkg',
    'variables:',
    '  HLINK_MODE: strict',
    '',
  ].join('\n');
  const spec = parseSpec(text, 'env-specs/hlink.yml', 'hlink').spec!;

  test('create gets the spec minus legacy-noarch packages and git entries; those become later phases', () => {
    const steps = buildSteps(spec, ['ipums_utils'], '/repo/env-specs');
    expect(steps.createSpec).toBe(
      [
        'name: hlink',
        'channels:',
        '  - conda-forge',
        'dependencies:',
        '  - python=3.11',
        '  - numpy',
        '  - pip',
        '  - pip:',
        '      - tabulate==0.9.0',
        '      - -r /repo/env-specs/requirements.txt',
        '      - -e /repo/env-specs/localpkg',
        'variables:',
        '  HLINK_MODE: strict',
        '',
      ].join('\n'),
    );
    expect(steps.legacyNoarch).toEqual([{ name: 'ipums_utils', text: 'ipums_utils=1.2', line: 6 }]);
    expect(steps.gitEntries.map((g) => [g.args, g.line])).toEqual([
      [['git+https://github.com/ipums/hlink.git@v3.1#egg=hlink'], 11],
      [['-e', 'git+https://example.org/x/tool.git@main#egg=tool'], 12],
      [['other @ git+https://example.org/x/other.git'], 13],
    ]);
  });

  test('a spec whose pip list is only git entries creates without a pip section', () => {
    const s = parseSpec(
      'dependencies:\n  - python\n  - pip:\n    - git+file:///x/y#egg=y\n',
      'env-specs/a.yml',
      'a',
    ).spec!;
    expect(buildSteps(s, [], '/r').createSpec).toBe('name: a\ndependencies:\n  - python\n');
  });

  test('a pip section without pip: the build adds pip where conda < 4.6.9 does not (probe product pip section)', () => {
    const s = parseSpec('dependencies:\n  - python\n  - pip:\n    - tidyup==0.4.2\n', 'env-specs/a.yml', 'a').spec!;
    const deps = (v?: string) =>
      (load(buildSteps(s, [], '/r', v ? { condaVersion: v } : {}).createSpec) as { dependencies: unknown[] })
        .dependencies;
    // 4.3.x-4.4.8 crash (TypeError), 4.4.9-4.6.8 skip the pip step and exit 0
    expect(deps('4.3.22')).toEqual(['python', 'pip', { pip: ['tidyup==0.4.2'] }]);
    expect(deps('4.6.8')).toEqual(['python', 'pip', { pip: ['tidyup==0.4.2'] }]);
    // from 4.6.9 conda adds it itself (conda_env/env.py): the file stays as written
    expect(deps('4.6.9')).toEqual(['python', { pip: ['tidyup==0.4.2'] }]);
    expect(deps('23.11.0')).toEqual(['python', { pip: ['tidyup==0.4.2'] }]);
  });

  test('conda 4.3 passes pip lines as arguments: option and value as one token (probe pip lines as arguments)', () => {
    const s = parseSpec(
      'dependencies:\n  - python\n  - pip\n  - pip:\n    - -r reqs.txt\n    - --requirement more.txt\n' +
        '    - -e ./pkg\n    - tidyup==0.4.2\n',
      'env-specs/a.yml',
      'a',
    ).spec!;
    const pip = (v: string) =>
      (
        (load(buildSteps(s, [], '/r', { condaVersion: v }).createSpec) as { dependencies: unknown[] })
          .dependencies[2] as { pip: string[] }
      ).pip;
    expect(pip('4.3.31')).toEqual(['-r/r/reqs.txt', '--requirement=/r/more.txt', '-e/r/pkg', 'tidyup==0.4.2']);
    // 4.4+ write a requirements file, where the spaced form is pip's own
    expect(pip('4.4.0')).toEqual(['-r /r/reqs.txt', '--requirement /r/more.txt', '-e /r/pkg', 'tidyup==0.4.2']);
  });

  test('relative pip paths resolve against the spec directory, URLs and absolute paths stay', () => {
    expect(absolutizePipLine('-r reqs.txt', 'requirements', '/r/env-specs')).toBe('-r /r/env-specs/reqs.txt');
    expect(absolutizePipLine('--editable=../pkg', 'editable', '/r/env-specs')).toBe('--editable /r/pkg');
    expect(absolutizePipLine('./wheels/a-1.0-py3-none-any.whl', 'path', '/r/env-specs')).toBe(
      '/r/env-specs/wheels/a-1.0-py3-none-any.whl',
    );
    expect(absolutizePipLine('/abs/a.whl', 'path', '/r')).toBe('/abs/a.whl');
    expect(absolutizePipLine('-r https://example.org/reqs.txt', 'requirements', '/r')).toBe(
      '-r https://example.org/reqs.txt',
    );
  });
});

describe('buildEnv against the fake conda', () => {
  let world: QaWorld;
  let repoDir: string;
  let desired: Desired;
  const specs = () => ({
    hlink: worldSpec(
      world,
      'hlink',
      ['python=3.11', 'numpy=1.26', 'ipums_utils=1.2', 'pip'],
      [`${world.gitUrl}#egg=hlinktool`],
    ),
    gone: worldSpec(world, 'gone', ['python=3.11', 'numpy=1.21.0']),
    small: worldSpec(world, 'small', ['zlib']),
    badgit: worldSpec(world, 'badgit', ['python=3.11', 'pip'], ['git+file:///nonexistent/repo.git#egg=nothing']),
  });

  beforeAll(() => {
    world = makeQaWorld();
    repoDir = writeRepo(
      join(world.base, 'repo'),
      {
        envs: { hlink: 'REPLICATE', gone: 'REPLICATE', small: 'REPLICATE', badgit: 'REPLICATE' },
        channels: [world.channel],
        // the world's git packages are local repositories (git+file://)
        pipGitHosts: ['file:///'],
        legacyNoarch: ['ipums_utils'],
      },
      specs(),
    );
  });
  afterAll(() => world?.cleanup());

  async function setup() {
    const repo = await loadRepo(repoDir);
    desired = desiredState(repo);
    return { repo, tools: installationTools(world.root, desired) };
  }
  const envOf = (name: string) => desired.envs.find((e) => e.name === name)!;
  const input = (name: string, tools: BuildInput['tools'], extra: Partial<BuildInput> = {}): BuildInput => ({
    root: world.root,
    condaVersion: '23.11.0',
    frontend: 'conda',
    env: envOf(name),
    specDir: join(repoDir, 'env-specs'),
    tools,
    ...extra,
  });

  const PHASES_IN_ORDER =
    'phases create -> legacy-noarch -> pip-git -> record; record beside the prefix; the user spec untouched';
  test(PHASES_IN_ORDER, async () => {
    const { tools } = await setup();
    const before = readFileSync(join(repoDir, 'env-specs', 'hlink.yml'), 'utf8');
    const phases: string[] = [];
    const out = await buildEnv(input('hlink', tools, { onPhase: (p, _s, ok) => phases.push(`${p}:${ok}`) }));
    expect(out.status).toBe('built');
    expect(out.fresh).toBe(true);
    expect(phases).toEqual(['create:true', 'legacy-noarch:true', 'pip-git:true', 'record:true']);
    const paths = buildPaths(world.root, '23.11.0', 'hlink', envOf('hlink').buildId);
    const rec = readBuildRecord(world.root, '23.11.0', 'hlink', envOf('hlink').buildId)!;
    expect(rec).toMatchObject({
      status: 'built',
      env: 'hlink',
      condaVersion: '23.11.0',
      prefix: paths.prefix,
      log: paths.log,
    });
    expect(rec.owner).toBeUndefined();
    expect(rec.phases.map((p) => p.name)).toEqual(['create', 'legacy-noarch', 'pip-git', 'record']);
    const names = rec.packages!.map((p) => `${p.name}=${p.version}`);
    expect(names).toEqual(expect.arrayContaining(['numpy=1.26.4', 'ipums_utils=1.2', 'hlinktool=0.3.0']));
    expect(readFileSync(join(repoDir, 'env-specs', 'hlink.yml'), 'utf8')).toBe(before);
    // the log holds each call: create from a derived file, then the install and pip calls
    const log = readFileSync(paths.log, 'utf8');
    expect(log).toMatch(/env create -f \S+hlink\.yml -p \S+\/builds\/hlink\//);
    expect(log).toContain('install -y -p');
    expect(log).toContain("-m pip install 'git+file://");
    // the legacy-noarch package went in by `install`, not in the create transaction
    expect(log.indexOf('ipums_utils')).toBeGreaterThan(log.indexOf('env create'));
    expect(existsSync(join(paths.prefix, 'bin', 'python'))).toBe(true);
  });

  test('a built build is never rebuilt; a verdict on it is a file beside it, the record is untouched', async () => {
    const { tools } = await setup();
    const again = await buildEnv(input('hlink', tools));
    expect(again).toMatchObject({ status: 'built', fresh: false });
    const before = readFileSync(buildPaths(world.root, '23.11.0', 'hlink', again.record.buildId).record, 'utf8');
    recordVerdict(
      world.root,
      again.record,
      { key: '0123456789abcdef', tests: '', kernel: false },
      { name: 'test', ok: false, seconds: 0.1 },
    );
    const third = await buildEnv(input('hlink', tools));
    expect(third).toMatchObject({ status: 'built', fresh: false });
    expect(readFileSync(buildPaths(world.root, '23.11.0', 'hlink', again.record.buildId).record, 'utf8')).toBe(before);
    const verdicts = buildPaths(world.root, '23.11.0', 'hlink', again.record.buildId).verdicts;
    const verdict = JSON.parse(readFileSync(join(verdicts, '0123456789abcdef.json'), 'utf8'));
    expect(verdict).toMatchObject({
      ok: false,
      key: '0123456789abcdef',
    });
  });

  test('a version gone from the channel fails create, classified with the versions the channel has', async () => {
    const { tools } = await setup();
    const out = await buildEnv(input('gone', tools));
    expect(out.status).toBe('failed');
    expect(out.phase).toBe('create');
    expect(out.failure).toMatchObject({ class: 'missing-version', package: 'numpy', available: ['1.25.0', '1.26.4'] });
    const rec = readBuildRecord(world.root, '23.11.0', 'gone', envOf('gone').buildId)!;
    expect(rec.status).toBe('failed');
    expect(rec.failure?.class).toBe('missing-version');
    // same inputs: the recorded failure is reported again without running conda; --retry-failed rebuilds
    const again = await buildEnv(input('gone', tools));
    expect(again).toMatchObject({ status: 'failed', fresh: false, phase: 'create' });
    expect(again.failure?.available).toEqual(['1.25.0', '1.26.4']);
    const retried = await buildEnv(input('gone', tools, { retryFailed: true }));
    expect(retried).toMatchObject({ status: 'failed', fresh: true });
  });

  test('a git entry that cannot be cloned fails the pip-git phase, naming the entry', async () => {
    const { tools } = await setup();
    const out = await buildEnv(input('badgit', tools));
    expect(out.status).toBe('failed');
    expect(out.phase).toBe('pip-git');
    expect(['git-clone-failure', 'pip-failure']).toContain(out.failure?.class);
    expect(out.failure?.spec).toBe('git+file:///nonexistent/repo.git#egg=nothing');
    expect(out.record.phases.map((p) => `${p.name}:${p.ok}`)).toEqual(['create:true', 'pip-git:false']);
  });

  test('an orphaned `building` record (builder killed with -9) is cleaned and rebuilt at once', async () => {
    const { tools } = await setup();
    const env = envOf('small');
    const paths = buildPaths(world.root, '23.11.0', 'small', env.buildId);
    // a builder process that died: its pid is gone, its lock is still fresh, its prefix half-built
    const dead = spawn(process.execPath, ['-e', '0']);
    await new Promise((r) => dead.on('close', r));
    mkdirSync(join(paths.prefix, 'conda-meta'), { recursive: true });
    writeFileSync(join(paths.prefix, 'half-built-marker'), '');
    writeBuildRecord(world.root, {
      format: 1,
      env: 'small',
      buildId: env.buildId,
      specHash: 'x',
      status: 'building',
      condaVersion: '23.11.0',
      frontend: 'conda',
      prefix: paths.prefix,
      phases: [],
      startedAt: new Date().toISOString(),
      log: paths.log,
      owner: { pid: dead.pid!, host: (await import('node:os')).hostname() },
    });
    mkdirSync(`${paths.record}.lock`);
    const t0 = Date.now();
    const out = await buildEnv(input('small', tools, { lockWaitSeconds: 30 }));
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(out).toMatchObject({ status: 'built', fresh: true });
    expect(existsSync(join(paths.prefix, 'half-built-marker'))).toBe(false);
    expect(existsSync(`${paths.record}.lock`)).toBe(false);
  });

  test('a build held by a live process is waited for, and reported when the wait runs out', async () => {
    const { tools } = await setup();
    const env = envOf('small');
    const paths = buildPaths(world.root, '23.11.0', 'small', env.buildId);
    const rec = readBuildRecord(world.root, '23.11.0', 'small', env.buildId)!;
    writeBuildRecord(world.root, {
      ...rec,
      status: 'building',
      owner: { pid: process.pid, host: (await import('node:os')).hostname() },
    });
    const release = await lockfile.lock(paths.record, { realpath: false, lockfilePath: `${paths.record}.lock` });
    try {
      const out = await buildEnv(input('small', tools, { lockWaitSeconds: 0.5 }));
      expect(out.status).toBe('failed');
      expect(out.failure?.excerpt[0]).toMatch(new RegExp(`locked by pid ${process.pid}`));
    } finally {
      await release();
    }
    writeBuildRecord(world.root, rec);
  });

  test('two builders of the same id at once: one runs conda, the other waits and takes its result', async () => {
    const { tools } = await setup();
    const env = envOf('small');
    const paths = buildPaths(world.root, '23.11.0', 'small', env.buildId);
    const rec = readBuildRecord(world.root, '23.11.0', 'small', env.buildId)!;
    writeBuildRecord(world.root, {
      ...rec,
      status: 'failed',
      failure: { class: 'timeout', excerpt: [] },
      phases: [{ name: 'create', ok: false, seconds: 1 }],
    });
    const [a, b] = await Promise.all([buildEnv(input('small', tools)), buildEnv(input('small', tools))]);
    expect([a.fresh, b.fresh].sort()).toEqual([false, true]);
    expect(a.status).toBe('built');
    expect(b.status).toBe('built');
    expect(readFileSync(paths.log, 'utf8').match(/env create/g)).toHaveLength(1);
  });

  test('a builder killed mid-create (the CLI, kill -9) leaves `building`; the next build recovers', async () => {
    const env = envOf('small');
    const rec = readBuildRecord(world.root, '23.11.0', 'small', env.buildId)!;
    writeBuildRecord(world.root, {
      ...rec,
      status: 'failed',
      failure: { class: 'timeout', excerpt: [] },
      phases: [{ name: 'create', ok: false, seconds: 1 }],
    });
    const cli = join(repoRoot(), 'dist', 'scripts', 'cli', 'main.js');
    // a builder killed with -9 cannot remove its temp dir: give it one under the world, which the suite removes
    const killedTmp = join(world.base, 'killed-builder-tmp');
    mkdirSync(killedTmp, { recursive: true });
    const child = spawn(process.execPath, [cli, 'build', '--root', world.root, '--repo', repoDir, '--env', 'small'], {
      env: {
        ...process.env,
        TMPDIR: killedTmp,
        FAKE_CONDA_DELAY_MS: '20000',
        CONDA_GITOPS_PASS_ENV: 'FAKE_CONDA_DELAY_MS',
      },
      stdio: 'ignore',
      detached: true,
    });
    const deadline = Date.now() + 15_000;
    while (readBuildRecord(world.root, '23.11.0', 'small', env.buildId)?.status !== 'building') {
      if (Date.now() > deadline) throw new Error('the CLI build never started');
      await new Promise((r) => setTimeout(r, 50));
    }
    process.kill(-child.pid!, 'SIGKILL'); // the builder and the conda it runs
    await new Promise((r) => child.on('close', r));
    expect(readBuildRecord(world.root, '23.11.0', 'small', env.buildId)?.status).toBe('building');
    const { tools } = await setup();
    const out = await buildEnv(input('small', tools, { lockWaitSeconds: 30 }));
    expect(out).toMatchObject({ status: 'built', fresh: true });
    expect(readBuildRecord(world.root, '23.11.0', 'small', env.buildId)?.owner).toBeUndefined();
  }, 40_000);

  const RUN_BUILDS =
    'runBuilds: progress lines, one log per env in the run dir, failures are values, builds at the resolved path';
  test(RUN_BUILDS, async () => {
    const { repo } = await setup();
    const link = join(world.base, 'root-link');
    if (!existsSync(link)) symlinkSync(world.root, link);
    const out = memoryOutput();
    const runDir = join(world.base, 'runs', 'r1');
    const res = await runBuilds({ root: link, repo, desired, envs: desired.envs, jobs: 2, out, runDir });
    const byEnv = Object.fromEntries(res.envs.map((e) => [e.result.env, e.result]));
    // hlink was built before and has no passing verdict: tested, not rebuilt
    expect(byEnv.hlink.status).toBe('tested');
    expect(res.envs.find((e) => e.result.env === 'hlink')!.fresh).toBe(false);
    expect(byEnv.small.status).toBe('tested');
    expect(byEnv.gone).toMatchObject({ status: 'failed', phase: 'create', file: 'env-specs/gone.yml', line: 6 });
    expect(byEnv.gone.hint).toMatch(/available: 1\.25\.0, 1\.26\.4; nearest 1\.25\.0/);
    expect(byEnv.badgit).toMatchObject({ status: 'failed', phase: 'pip-git', line: 8 });
    for (const e of res.envs) {
      expect(e.result.log).toBe(join(runDir, 'logs', `${e.result.env}.log`));
      expect(existsSync(e.result.log!)).toBe(true);
    }
    expect(readdirSync(join(runDir, 'logs')).sort()).toEqual(['badgit.log', 'gone.log', 'hlink.log', 'small.log']);
    // the prefix never goes through the link
    const prefix = readBuildRecord(world.root, '23.11.0', 'small', envOf('small').buildId)!.prefix;
    expect(prefix.startsWith(realpathSync(world.root))).toBe(true);
    expect(lstatSync(prefix).isDirectory()).toBe(true);
    expect(out.errors.some((l) => /^\[\d\/4\] small test \d+\.\ds$/.test(l))).toBe(true);
    expect(
      out.errors.some((l) =>
        /^\[\d\/4\] gone FAILED create \(missing-version\) \[recorded failure\] \d+\.\ds$/.test(l),
      ),
    ).toBe(true);
  });

  const QA_BAD_INPUT =
    'qa with bad input: a broken spec and a channel not allowed fail only their env, with file and line';
  test(QA_BAD_INPUT, async () => {
    const dir = writeRepo(
      join(world.base, 'repo-bad'),
      {
        envs: { small: 'REPLICATE', broken: 'REPLICATE', foreign: 'REPLICATE' },
        channels: [world.channel],
      },
      {
        small: worldSpec(world, 'small', ['zlib']),
        broken: `name: broken\nchannels:\n  - ${world.channel}\ndependencies:\n  - zlib\n  - numpy>=>1\n`,
        foreign:
          `name: foreign\nchannels:\n  - ${world.channel}\n  - https://conda.example.org/elsewhere\n` +
          'dependencies:\n  - zlib\n',
      },
    );
    const run = (c: Context) => runCommand('qa', c);
    const out = memoryOutput(true);
    const code = await run({
      options: { root: world.root, json: true },
      positionals: [],
      out,
      repo: dir,
      env: process.env,
    });
    expect(code).toBe(1);
    const report = out.results[0] as {
      envs: Array<{ env: string; status: string; phase?: string; file?: string; line?: number; hint?: string }>;
      runId: string;
    };
    const by = Object.fromEntries(report.envs.map((e) => [e.env, e]));
    expect(by.small.status).not.toBe('failed');
    expect(by.broken).toMatchObject({ status: 'failed', phase: 'spec', file: 'env-specs/broken.yml', line: 6 });
    expect(by.foreign).toMatchObject({ status: 'failed', phase: 'spec', file: 'env-specs/foreign.yml', line: 4 });
    expect(by.foreign.hint).toMatch(/not allowed/);
    expect(existsSync(join(world.root, '.gitops', 'runs', report.runId, 'report.json'))).toBe(true);
  });

  const QA_TEST_FAILURE =
    "qa --head: a failing NAME.test.py is a test-failure at the test's file:line, no temporary path in the report";
  test(QA_TEST_FAILURE, async () => {
    const dir = writeRepo(
      join(world.base, 'repo-testfail'),
      { envs: { census: 'REPLICATE' }, channels: [world.channel] },
      { census: worldSpec(world, 'census', ['python']) },
      { 'env-specs/census.test.py': 'import sys\nassert sys.version_info < (3, 0), "python 2 only"\n' },
    );
    const git = (...args: string[]) => execFileSync('git', ['-C', dir, ...args], { stdio: 'pipe' });
    git('init', '-q');
    git('add', '-A');
    git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'census with a test');
    const out = memoryOutput(true);
    const code = await runCommand('qa', {
      options: { root: world.root, json: true, head: 'HEAD' },
      positionals: [],
      out,
      repo: dir,
      env: process.env,
    });
    expect(code).toBe(1);
    const report = out.results[0] as Report;
    const census = report.envs.find((e) => e.env === 'census')!;
    expect(census).toMatchObject({
      status: 'failed',
      phase: 'test',
      class: 'test-failure',
      file: 'env-specs/census.test.py',
      line: 2,
    });
    expect(census.hint).toMatch(
      /^the env's own test failed at env-specs\/census\.test\.py:2: AssertionError: python 2 only/,
    );
    expect(annotations(report)[0]).toMatchObject({ file: 'env-specs/census.test.py', line: 2 });
    const runDir = join(world.root, '.gitops', 'runs', report.runId);
    for (const text of [
      readFileSync(join(runDir, 'report.json'), 'utf8'),
      readFileSync(join(runDir, 'summary.md'), 'utf8'),
      JSON.stringify(annotations(report)),
    ]) {
      expect(text).not.toMatch(/cg-ref-|cg-test-/);
      expect(text).toContain('env-specs/census.test.py');
    }
  });
});
