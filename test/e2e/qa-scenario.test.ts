/**
 * The seed account's upgrade, end to end: a fake conda 4.3.22 installation with 20 envs covering every failure
 * cause of the seed account (internal-channel versions gone, noarch packages listed under pip, packages both
 * in conda and pip, pip packages from git, legacy noarch packages) -> adopt -> a PR upgrading to conda 23.11.0
 * -> QA: every failure classified with its hint -> fix -> QA: only the truly gone versions still fail, naming
 * the versions available -> the same QA again builds nothing -> fix --accept-nearest -> all pass.
 * Slow by nature (it builds about 50 envs with the fake conda); the other suites keep the details.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Context } from '../../scripts/app/context.js';
import { memoryOutput } from '../../scripts/cli/output.js';
import { reportSchemaErrors, type Report } from '../../scripts/core/report.js';
import { parseSpec } from '../../scripts/core/spec.js';
import { runPool } from '../../scripts/engine/pool.js';
import {
  installFakeConda,
  makeGitPackage,
  runCondaAsync,
  writeChannel,
  writeWheel,
  type ChannelRecord,
  type FakeConda,
} from '../fake-conda/index.js';
import { snapshotTree } from '../fixtures/repo.js';
import { runCommand } from '../fixtures/command.js';

const PUB: ChannelRecord[] = [
  { name: 'python', version: '3.11.4', module: false },
  { name: 'pip', version: '23.2.1', noarch: 'python', depends: ['python'] },
  { name: 'numpy', version: '1.26.4', depends: ['python'] },
  { name: 'pandas', version: '2.1.4', depends: ['python', 'numpy'] },
  { name: 'requests', version: '2.31.0', noarch: 'python', depends: ['python'] },
  { name: 'six', version: '1.16.0', noarch: 'python', depends: ['python'] },
  { name: 'zlib', version: '1.2.13', module: false },
];
const TOOLS_NOW = ['0.9.1', '1.0.0', '1.1.0'];
const mpc = (toolVersions: string[]): ChannelRecord[] => [
  { name: 'ipums_utils', version: '1.2', legacyNoarchPython: true, depends: ['python'] },
  ...toolVersions.map((version) => ({ name: 'ipums_tools', version, depends: ['python'] })),
];

/**
 * Everything under ROOT except builds/, the run directories and conda's own bookkeeping: files with size
 * and mtime, directories by name (a directory's mtime changes when builds/ or .gitops/ appear in it).
 */
function outsideBuildsAndRuns(root: string, version: string): string[] {
  const v = version.replace(/\./g, '\\.');
  const ours = new RegExp(`^(v${v}\\/(builds|pkgs|\\.fake-conda|\\.conda-gitops-installation)|\\.gitops|qa)(\\/| |$)`);
  return (
    snapshotTree(root)
      // conda's own writes are not ours: its package cache, and the fake's env registry
      // (real conda: ~/.conda/environments.txt); and ours: the marker saying the tool builds in this installation
      // the upgrade PR points ROOT/qa at the new installation (checked on its own below)
      .filter((l) => !ours.test(l))
      .map((l) => l.replace(/\/ [\d.]+$/, '/'))
  );
}

/**
 * The frontends the upgrade goes to: conda; micromamba (a single binary, no conda: the inventory's
 * version is micromamba's); mamba 2 beside conda, as Miniforge installs it.
 */
const FRONTENDS = [
  { frontend: 'conda', version: '23.11.0' },
  { frontend: 'micromamba', version: '2.0.5' },
  { frontend: 'mamba', version: '23.11.0', mambaVersion: '2.0.5' },
] as const;

type Cause = 'ok' | 'legacy' | 'gone' | 'pip-noarch' | 'both' | 'git';

describe.each(FRONTENDS)('QA scenario: adopt a conda 4.3.22 installation, upgrade to $frontend $version', (target) => {
  const NEW = target.version;
  let base: string;
  let old: FakeConda;
  let root: string;
  let repo: string;
  let adoptCommit: string;
  const envs = new Map<string, { cause: Cause; deps: string[]; pip: string[] }>();
  const git = (...args: string[]) => execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8' }).trim();
  const commit = (msg: string) => {
    git('add', '-A');
    git('-c', 'user.name=t', '-c', 'user.email=t@example.invalid', 'commit', '-qm', msg);
    return git('rev-parse', 'HEAD');
  };

  function context(options: Context['options']) {
    const out = memoryOutput(options.json === true);
    return { ctx: { options, positionals: [], out, repo, env: { ...process.env } } as Context, out };
  }
  async function qa(options: Context['options'] = {}) {
    const run = (c: Context) => runCommand('qa', c);
    const { ctx, out } = context({ root, base: adoptCommit, head: 'HEAD', jobs: '4', json: true, ...options });
    const code = await run(ctx);
    const result = out.results[0] as Report & { built: number };
    return {
      code,
      result,
      out,
      report: JSON.parse(
        readFileSync(join(result.root, '.gitops', 'runs', result.runId, 'report.json'), 'utf8'),
      ) as Report,
    };
  }
  const specLine = (env: string, needle: string) =>
    readFileSync(join(repo, 'env-specs', `${env}.yml`), 'utf8')
      .split('\n')
      .findIndex((l) => l.includes(needle)) + 1;

  beforeAll(async () => {
    base = mkdtempSync(join(tmpdir(), 'cg-scenario-'));
    const channels = join(base, 'channels');
    writeChannel(join(channels, 'pub'), PUB);
    writeChannel(join(channels, 'mpc'), mpc(['0.8.0', '0.9.0', ...TOOLS_NOW]));
    const condarc = {
      channels: ['mpc', 'pub'],
      customChannels: { mpc: pathToFileURL(channels).href, pub: pathToFileURL(channels).href },
    };
    // the old pip index had everything; the new one only what is still meant to come from pip
    const oldWheels = join(base, 'wheels-old');
    const newWheels = join(base, 'wheels-new');
    for (const [n, v] of [
      ['requests', '2.31.0'],
      ['pandas', '2.1.3'],
      ['tabulate', '0.9.0'],
    ] as const)
      writeWheel(oldWheels, n, v);
    writeWheel(newWheels, 'tabulate', '0.9.0');
    const hlink = makeGitPackage(join(base, 'src', 'hlinktool'), 'hlinktool', '0.3.0');
    const geo = makeGitPackage(join(base, 'src', 'geotool'), 'geotool', '1.4.0');

    // 20 envs in the old installation, covering every cause of the account
    const add = (name: string, cause: Cause, deps: string[], pip: string[] = []) =>
      envs.set(name, { cause, deps, pip });
    add('ok01', 'ok', ['python=3.11', 'numpy=1.26']);
    add('ok02', 'ok', ['python=3.11', 'pandas=2.1.4']);
    add('ok03', 'ok', ['zlib']);
    add('ok04', 'ok', ['python=3.11', 'requests=2.31.0']);
    add('ok05', 'ok', ['python=3.11', 'six']);
    add('ok06', 'ok', ['python=3.11', 'ipums_tools=1.1.0']);
    add('ok07', 'ok', ['python=3.11', 'numpy', 'zlib']);
    add('ok08', 'ok', ['python=3.11', 'pip'], ['tabulate==0.9.0']);
    add('legacy01', 'legacy', ['python=3.11', 'ipums_utils=1.2']);
    add('legacy02', 'legacy', ['python=3.11', 'numpy=1.26', 'ipums_utils']);
    add('gone01', 'gone', ['python=3.11', 'ipums_tools=0.8.0']);
    add('gone02', 'gone', ['python=3.11', 'ipums_tools=0.9.0']);
    add('gone03', 'gone', ['python=3.11', 'numpy=1.26', 'ipums_tools=0.9.0']);
    add('pipnoarch01', 'pip-noarch', ['python=3.11', 'pip'], ['requests==2.31.0']);
    add('pipnoarch02', 'pip-noarch', ['python=3.11', 'pip'], ['requests==2.31.0', 'tabulate==0.9.0']);
    add('pipnoarch03', 'pip-noarch', ['python=3.11', 'numpy=1.26', 'pip'], ['requests==2.31.0']);
    add('both01', 'both', ['python=3.11', 'pandas=2.1.4', 'pip']);
    add('both02', 'both', ['python=3.11', 'pandas=2.1.4', 'pip'], ['tabulate==0.9.0']);
    add('git01', 'git', ['python=3.11', 'pip'], [`${hlink.url}#egg=hlinktool`]);
    add('git02', 'git', ['python=3.11', 'pip'], [`${geo.url}#egg=geotool`, 'tabulate==0.9.0']);

    old = installFakeConda(join(base, 'old'), '4.3.22', condarc);
    const oldEnv = { ...process.env, PIP_NO_INDEX: '1', PIP_FIND_LINKS: oldWheels, PIP_DISABLE_PIP_VERSION_CHECK: '1' };
    await runPool([...envs], 4, async ([name, e]) => {
      const file = join(base, 'old-specs', `${name}.yml`);
      mkdirSync(join(base, 'old-specs'), { recursive: true });
      writeFileSync(
        file,
        [
          `name: ${name}`,
          'channels:',
          '  - mpc',
          '  - pub',
          'dependencies:',
          ...e.deps.map((d) => `  - ${d}`),
          ...(e.pip.length ? ['  - pip:', ...e.pip.map((p) => `      - ${p}`)] : []),
          '',
        ].join('\n'),
      );
      const prefix = join(old.prefix, 'envs', name);
      const r = await runCondaAsync(old, ['env', 'create', '-f', file, '-p', prefix], { env: oldEnv });
      if (r.code !== 0) throw new Error(`old env ${name}: ${r.stdout}${r.stderr}`);
      // how a package ends up both in conda and in pip: someone pip-installed another version over a conda package
      if (e.cause === 'both') {
        execFileSync(join(prefix, 'bin', 'python'), ['-m', 'pip', 'install', '-q', '--no-deps', 'pandas==2.1.3'], {
          env: oldEnv,
        });
      }
    });

    // since then the internal channel dropped old versions
    writeChannel(join(channels, 'mpc'), mpc(TOOLS_NOW));
    root = join(base, 'root');
    installFakeConda(join(root, `v${NEW}`), NEW, {
      ...condarc,
      frontend: target.frontend,
      ...('mambaVersion' in target ? { mambaVersion: target.mambaVersion } : {}),
    });
    process.env.PIP_NO_INDEX = '1';
    process.env.PIP_FIND_LINKS = newWheels;
    process.env.PIP_DISABLE_PIP_VERSION_CHECK = '1';

    repo = join(base, 'repo');
    mkdirSync(repo);
    git('init', '-q', '-b', 'main');
  }, 300_000);

  // CG_KEEP_SCENARIO=1 keeps the world for a look after a failure
  afterAll(() => {
    if (base && !process.env.CG_KEEP_SCENARIO) rmSync(base, { recursive: true, force: true });
  });

  test('adopt: 20 envs exported, builds stripped, legacy noarch listed, git sources recovered', async () => {
    const run = (c: Context) => runCommand('adopt', c);
    const { ctx, out } = context({ root: old.prefix, replicate: 'all' });
    expect(await run(ctx), out.errors.join('\n')).toBe(0);
    const inventory = readFileSync(join(repo, 'inventory.ini'), 'utf8');
    expect(inventory).toMatch(/^version = 4\.3\.22$/m);
    expect(inventory).toMatch(/\[legacy-noarch\]\nipums_utils\n/);
    expect(readdirSync(join(repo, 'env-specs')).filter((f) => f.endsWith('.yml'))).toHaveLength(20);
    for (const name of envs.keys()) {
      const spec = parseSpec(readFileSync(join(repo, 'env-specs', `${name}.yml`), 'utf8'), `${name}.yml`, name).spec!;
      for (const d of spec.dependencies) expect(d.spec.build, `${name}: ${d.text}`).toBeUndefined();
    }
    expect(readFileSync(join(repo, 'env-specs', 'git01.yml'), 'utf8')).toMatch(
      /git\+file:\/\/\S+hlinktool@[0-9a-f]{40}#egg=hlinktool/,
    );
    adoptCommit = commit('adopt the old installation');
    // the upgrade pull request: the same envs, replicated into the new installation
    writeFileSync(
      join(repo, 'inventory.ini'),
      inventory
        .replace(/^version = 4\.3\.22$/m, `version = ${NEW}`)
        .replace(/^frontend = conda$/m, `frontend = ${target.frontend}`),
    );
    // the legacy noarch module must be importable on every frontend: libmamba never runs its pre-link script,
    // the build does
    writeFileSync(
      join(repo, 'env-specs', 'legacy01.test.py'),
      'import ipums_utils\nassert ipums_utils.__version__ == "1.2"\n',
    );
    commit(`upgrade to ${target.frontend} ${NEW}`);
  }, 120_000);

  test(`QA against ${target.frontend} ${NEW}: every failure classified, with its hint and spec line`, async () => {
    const rootBefore = outsideBuildsAndRuns(root, NEW);
    const oldBefore = snapshotTree(old.prefix);
    const { code, report, result, out } = await qa();
    expect(code, out.errors.join('\n')).toBe(1);
    const table =
      `${base}\n` +
      report.envs
        .map(
          (e) =>
            `${e.env} ${e.status} ${e.phase ?? ''} ${e.class ?? ''} ${e.hint ?? ''} ${(e.excerpt ?? []).join(' / ')}`,
        )
        .join('\n');
    expect(result.built).toBe(20);
    expect(reportSchemaErrors(report)).toEqual([]);
    const by = new Map(report.envs.map((e) => [e.env, e]));
    expect(by.size).toBe(20);

    for (const [name, e] of envs) {
      const r = by.get(name)!;
      switch (e.cause) {
        case 'ok':
          expect(r.status, table).toBe('tested');
          break;
        case 'legacy': // adopt listed ipums_utils under [legacy-noarch]: installed after create, one by one
          expect(r.status, table).toBe('tested');
          expect(r.phases.map((p) => p.name)).toEqual(['create', 'legacy-noarch', 'record', 'test']);
          break;
        case 'git': // adopt recovered the git source: installed after create
          expect(r.status, table).toBe('tested');
          expect(r.phases.map((p) => p.name)).toContain('pip-git');
          break;
        case 'gone':
          expect(r).toMatchObject({
            status: 'failed',
            phase: 'create',
            class: 'missing-version',
            package: 'ipums_tools',
            available: TOOLS_NOW,
          });
          expect(r.hint).toMatch(
            /available: 0\.9\.1, 1\.0\.0, 1\.1\.0; nearest 0\.9\.1; run `conda-gitops fix --accept-nearest`/,
          );
          expect(r).toMatchObject({ file: `env-specs/${name}.yml`, line: specLine(name, 'ipums_tools') });
          break;
        case 'pip-noarch':
          expect(r).toMatchObject({ status: 'failed', phase: 'create', class: 'pip-failure' });
          expect(r.hint).toMatch(/move it to the conda section/);
          expect(r.line).toBe(specLine(name, 'requests=='));
          break;
        case 'both':
          expect(r, table).toMatchObject({ status: 'failed', phase: 'create', class: 'pip-failure' });
          expect(r.hint).toMatch(/listed in both sections, drop it from pip/);
          expect(r.line).toBe(specLine(name, 'pandas==2.1.3'));
          break;
      }
    }
    const runDir = join(root, '.gitops', 'runs', report.runId);
    const summary = readFileSync(join(runDir, 'summary.md'), 'utf8');
    expect(summary.split('\n').filter((l) => /^\| (ok|legacy|gone|pipnoarch|both|git)\d\d /.test(l))).toHaveLength(20);
    expect(readFileSync(join(runDir, 'junit.xml'), 'utf8').match(/<failure /g)).toHaveLength(8);
    expect(readdirSync(join(runDir, 'logs'))).toHaveLength(20);
    // QA wrote nothing outside builds/ and its run directory (conda's own package cache aside), and left the old
    // installation alone
    expect(outsideBuildsAndRuns(root, NEW)).toEqual(rootBefore);
    // ... but ROOT/qa: the upgrade PR points it at the installation it built into
    expect(readlinkSync(join(root, 'qa'))).toBe(`v${NEW}`);
    expect(snapshotTree(old.prefix)).toEqual(oldBefore);
    expect(git('status', '--porcelain')).toBe('');
  }, 300_000);

  const FIX_THEN_QA =
    'fix, then QA: only the envs whose versions are truly gone still fail, naming the versions available';
  test(
    FIX_THEN_QA,
    async () => {
      const run = (c: Context) => runCommand('fix', c);
      const { ctx, out } = context({ root });
      expect(await run(ctx), out.errors.join('\n')).toBe(0);
      const changed = git('diff', '--name-only').split('\n').sort();
      expect(changed).toEqual([
        'env-specs/both01.yml',
        'env-specs/both02.yml',
        'env-specs/pipnoarch01.yml',
        'env-specs/pipnoarch02.yml',
        'env-specs/pipnoarch03.yml',
      ]);
      // never guessed
      expect(readFileSync(join(repo, 'env-specs', 'gone02.yml'), 'utf8')).toMatch(/ipums_tools=0\.9\.0/);
      commit('conda-gitops fix');

      const { code, report, result } = await qa();
      expect(code).toBe(1);
      expect(result.built).toBe(5); // the five fixed envs; the others are reused or their recorded failure repeated
      const failed = report.envs.filter((e) => e.status === 'failed');
      expect(failed.map((e) => e.env)).toEqual(['gone01', 'gone02', 'gone03']);
      for (const e of failed) {
        expect(e.class).toBe('missing-version');
        expect(e.available).toEqual(TOOLS_NOW);
        expect(e.hint).toContain('available: 0.9.1, 1.0.0, 1.1.0');
      }
      expect(report.envs.filter((e) => e.status === 'reused')).toHaveLength(12);
      expect(
        report.envs
          .filter((e) => e.status === 'tested')
          .map((e) => e.env)
          .sort(),
      ).toEqual(['both01', 'both02', 'pipnoarch01', 'pipnoarch02', 'pipnoarch03']);
    },
    300_000,
  );

  test('the same QA run twice builds nothing the second time', async () => {
    const first = await qa();
    const second = await qa();
    expect(second.result.built).toBe(0);
    expect(second.report.envs.map((e) => [e.env, e.status])).toEqual(first.report.envs.map((e) => [e.env, e.status]));
    expect(second.report.counts).toEqual({ total: 20, tested: 0, reused: 17, failed: 3 });
  }, 120_000);

  test('fix --accept-nearest writes the nearest versions; QA passes for all 20 envs', async () => {
    const run = (c: Context) => runCommand('fix', c);
    const { ctx, out } = context({ root, 'accept-nearest': true });
    expect(await run(ctx), out.errors.join('\n')).toBe(0);
    expect(readFileSync(join(repo, 'env-specs', 'gone02.yml'), 'utf8')).toMatch(/ipums_tools=0\.9\.1/);
    commit('accept nearest versions');
    const { code, report, result } = await qa();
    expect(code).toBe(0);
    expect(result.built, report.envs.map((e) => `${e.env} ${e.status}`).join(', ')).toBe(3);
    expect(report.counts).toEqual({ total: 20, tested: 3, reused: 17, failed: 0 });
    expect(existsSync(join(root, `v${NEW}`, 'builds', 'gone02'))).toBe(true);
  }, 300_000);

  test('deploy: every env goes live, and runs', async () => {
    const { ctx, out } = context({ root });
    expect(await runCommand('deploy', ctx), out.errors.join('\n')).toBe(0);
    for (const name of envs.keys()) expect(existsSync(join(root, 'envs', name, 'conda-meta')), name).toBe(true);
    const python = join(root, 'envs', 'ok01', 'bin', 'python');
    expect(execFileSync(python, ['-c', 'import numpy; print(numpy.__version__)'], { encoding: 'utf8' }).trim()).toBe(
      '1.26.4',
    );
    expect(git('status', '--porcelain')).toBe('');
  }, 300_000);
});
