/**
 * The product on REAL conda: the migration of the source account played with the compiled CLI
 * (dist/scripts/cli/main.js) on real conda installed from its source (installer.sh):
 *   an old installation made by real conda 4.3.22 (envs from `conda env create` of env files with pip sections,
 *   wheels from a local wheelhouse, a legacy noarch package, `conda create` envs) -> `adopt` -> an upgrade pull
 *   request to conda 4.8.5 (and one to 24.11.3): `qa` inside bwrap with `--jobs 2` -> a failure real conda produced,
 *   classified in the report -> `fix --accept-nearest` -> `qa` green -> merge -> `deploy` -> `rollback` ->
 *   `deploy --force` -> `rollback --installation` -> `deploy --force` -> `status --verify` in sync.
 *
 * Same skip/fail rules as probes.test.ts: without the archives it skips with one line; with them but without the
 * Debian packages it skips with one line, and fails under CI=true. REAL_CONDA_PRODUCT=4.8.5 picks the targets
 * (default 4.8.5,24.11.3); REAL_CONDA_KEEP=1 keeps the temporary directory.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Report } from '../../scripts/core/report.js';
import { detectSandbox } from '../../scripts/engine/sandbox.js';
import { writeWheel, type ChannelRecord } from '../fake-conda/index.js';
import { runCli } from '../fixtures/repo.js';
import { hostPythonInfo } from './channel.js';
import { INSTALLER, installRealConda, laneGate, realChannelFixture, realCondaDir, removeUnlessKept } from './lane.js';

const lane = laneGate();
// qa runs inside bwrap (.ci/run installs it; under CI=true a missing bwrap fails the run instead of skipping)
const sandbox = await detectSandbox({ PATH: process.env.PATH });
const gate =
  lane.skip || sandbox.kind === 'bwrap'
    ? lane
    : { skip: true, fail: process.env.CI === 'true', reason: `no bubblewrap sandbox: ${sandbox.reason}` };
const OLD = '4.3.22';
const LONG = 15 * 60_000;
/** a conda checkout to upgrade to (README.md): the product passes it to the installer by `pass-env` */
const CHECKOUT = process.env.CONDA_GITOPS_REAL_CONDA_SRC;
const list = (v: string | undefined) => v?.split(/[\s,]+/).filter(Boolean);
/** the upgrade targets: REAL_CONDA_PRODUCT; with a checkout, the version(s) REAL_CONDA_VERSIONS names for it */
const TARGETS = list(process.env.REAL_CONDA_PRODUCT) ??
  (CHECKOUT ? list(process.env.REAL_CONDA_VERSIONS)?.filter((v) => v !== OLD) : undefined) ?? ['4.8.5', '24.11.3'];

/** python 3.9: conda <= 4.8 reads python's version as `version[:3]` (README.md here) */
const PUB: ChannelRecord[] = [
  { name: 'python', version: '3.9.18', module: false },
  { name: 'pip', version: '23.2.1', depends: ['python'], noarch: 'python' },
  { name: 'numpy', version: '1.26.4', depends: ['python'] },
  { name: 'requests', version: '2.31.0', depends: ['python'], noarch: 'python' },
];
/** real conda's error for the dropped version, as the report's excerpt shows it (`env create`, 4.8.5 and 24.11.3) */
const REAL_ERROR = /^ResolvePackageNotFound:\n\s+- ipums_tools=0\.8\.0/;
/** pip's own error under real conda's env create (the class the report shows) */
const PIP_ERROR = /^Pip subprocess error:\n[^]*No matching distribution found for requests==2\.31\.0/;
const TOOLS_THEN = ['0.8.0', '1.0.0'];
const TOOLS_NOW = ['1.0.0', '1.1.0'];
/** the internal channel: a legacy noarch_python package, and a tool whose old version is dropped later */
const mpc = (tools: string[]): ChannelRecord[] => [
  { name: 'ipums_utils', version: '1.2', legacyNoarchPython: true, depends: ['python'] },
  ...tools.map((version) => ({ name: 'ipums_tools', version, depends: ['python'] })),
];

if (gate.skip) {
  describe('real conda: the product', () => {
    if (gate.fail) it('has its prerequisites (CI=true)', () => expect.fail(gate.reason));
    else {
      // the lane's own skip line (probes.test.ts) says why already, unless the reason is ours (no bwrap)
      if (!lane.skip) console.info(`real-conda product scenario skipped: ${gate.reason}`);
      it.skip(`skipped: ${gate.reason}`, () => {});
    }
  });
} else {
  /**
   * The old installation and its adoption, made once: the next target restores them at the same paths (real
   * conda's files and the git history name them), so each upgrade starts from the same adopted installation.
   */
  let snapshot:
    | {
        base: string;
        tar: string;
        adopt: { code: number | null; text: string };
        urls: { pub: string; mpc: string };
        env: Record<string, string>;
      }
    | undefined;
  afterAll(() => {
    if (snapshot) rmSync(snapshot.tar, { force: true });
  });

  describe.sequential.each(TARGETS)(`real conda: adopt a conda ${OLD} installation, upgrade to %s`, (NEW) => {
    let base: string;
    let root: string;
    let repo: string;
    let chans: string;
    let urls: { pub: string; mpc: string };
    let adoptCommit: string;
    let t0 = 0;
    const env: Record<string, string> = {};
    const git = (...args: string[]) => execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8' }).trim();
    const commit = (msg: string) => {
      git('add', '-A');
      git('-c', 'user.name=t', '-c', 'user.email=t@example.invalid', 'commit', '-qm', msg);
      return git('rev-parse', 'HEAD');
    };
    const cli = (...args: string[]) =>
      runCli([...args, '--root', root], { cwd: repo, env: { ...env, GITHUB_ACTOR: 'octo' } });
    const show = (r: { code: number | null; stdout: string; stderr: string }) =>
      `exit ${r.code}\n${r.stdout}\n${r.stderr}`;
    const oldConda = () => join(root, `v${OLD}`, 'bin', 'conda');
    const runOld = (args: string[]) =>
      execFileSync(oldConda(), args, { encoding: 'utf8', env: { ...env, HOME: join(base, 'home') }, stdio: 'pipe' });
    async function qa() {
      const r = await cli('qa', '--base', adoptCommit, '--head', 'HEAD', '--jobs', '2', '--json');
      const result = JSON.parse(r.stdout) as Report & { built: number; root: string };
      if (!result.runId) throw new Error(`qa wrote no run: ${show(r)}`);
      const report = JSON.parse(
        readFileSync(join(root, '.gitops', 'runs', result.runId, 'report.json'), 'utf8'),
      ) as Report;
      const table = report.envs
        .map((e) => `${e.env} ${e.status} ${e.phase ?? ''} ${e.class ?? ''} ${e.hint ?? ''}`)
        .join('\n');
      return { ...r, report, built: result.built, table: `${table}\n${r.stderr}` };
    }

    beforeAll(() => {
      t0 = Date.now();
      if (snapshot) {
        base = snapshot.base;
        rmSync(base, { recursive: true, force: true });
        mkdirSync(base);
        execFileSync('tar', ['-xf', snapshot.tar, '-C', base]);
        Object.assign(env, snapshot.env);
        urls = snapshot.urls;
        root = join(base, 'root');
        repo = join(base, 'repo');
        return;
      }
      base = mkdtempSync(join(tmpdir(), 'cg-realproduct-'));
      chans = join(base, 'channels');
      const host = hostPythonInfo();
      urls = {
        pub: realChannelFixture(base, 'pub', PUB, host).real,
        mpc: realChannelFixture(base, 'mpc', mpc(TOOLS_THEN), host).real,
      };
      // the old pip index had requests too; the new one only what is still meant to come from pip
      const wheels = join(base, 'wheels-old');
      writeWheel(wheels, 'tidyup', '0.4.2');
      writeWheel(wheels, 'requests', '2.31.0');
      const newWheels = join(base, 'wheels-new');
      writeWheel(newWheels, 'tidyup', '0.4.2');
      mkdirSync(join(base, 'home'));
      Object.assign(env, {
        PATH: '/usr/bin:/bin',
        HOME: join(base, 'home'),
        LANG: 'C.UTF-8',
        PIP_NO_INDEX: '1',
        PIP_FIND_LINKS: wheels,
        PIP_CONFIG_FILE: '/dev/null',
        PIP_DISABLE_PIP_VERSION_CHECK: '1',
        CONDA_GITOPS_SANDBOX: 'bwrap',
      });

      // the old installation, made by real conda 4.3.22 as someone did by hand years ago: ROOT/v4.3.22, current
      root = join(base, 'root');
      process.env.REAL_CONDA_CHANNELS = `${urls.mpc},${urls.pub}`;
      // a conda checkout (CONDA_GITOPS_REAL_CONDA_SRC) is the target's source, never the old installation's
      installRealConda(join(root, `v${OLD}`), OLD, join(base, 'installers'), {
        ...process.env,
        CONDA_GITOPS_REAL_CONDA_SRC: '',
      });
      if (CHECKOUT) env.REAL_CONDA_SRC = CHECKOUT;
      const specs = join(base, 'old-specs');
      mkdirSync(specs);
      const envFile = (name: string, deps: string[], pip: string[]) => {
        const f = join(specs, `${name}.yml`);
        writeFileSync(
          f,
          [
            `name: ${name}`,
            'channels:',
            `  - ${urls.mpc}`,
            `  - ${urls.pub}`,
            '  - nodefaults',
            'dependencies:',
            ...deps.map((d) => `  - ${d}`),
            '  - pip:',
            ...pip.map((p) => `      - ${p}`),
            '',
          ].join('\n'),
        );
        return f;
      };
      const envs = join(root, `v${OLD}`, 'envs');
      // env create with a pip section (a wheel from the wheelhouse); its tool's version is dropped from mpc later
      runOld(['env', 'create', '-f', envFile('tools', ['python=3.9', 'pip', 'ipums_tools=0.8.0'], ['tidyup==0.4.2'])]);
      // conda create: a legacy noarch package, and a plain numpy env
      // a noarch conda package installed with pip (the new pip index does not have it)
      runOld(['env', 'create', '-f', envFile('pipreq', ['python=3.9', 'pip'], ['requests==2.31.0'])]);
      runOld(['create', '-y', '-p', join(envs, 'legacy'), 'python=3.9', 'ipums_utils=1.2']);
      runOld(['create', '-y', '-p', join(envs, 'plain'), 'python=3.9', 'numpy=1.26']);
      symlinkSync(`v${OLD}`, join(root, 'current'));

      // since then the internal channel dropped the old tool versions
      rmSync(join(chans, 'real', 'mpc'), { recursive: true });
      realChannelFixture(base, 'mpc', mpc(TOOLS_NOW), host);
      env.PIP_FIND_LINKS = newWheels;

      repo = join(base, 'repo');
      mkdirSync(repo);
      git('init', '-q', '-b', 'main');
    }, LONG);

    afterAll(() => {
      console.info(`real-conda product scenario ${OLD}->${NEW}: ${Math.round((Date.now() - t0) / 1000)} s`);
      removeUnlessKept(base);
    });

    it('the old installation works: envs from env create + pip, conda create, a legacy noarch package', () => {
      const py = (n: string, code: string) =>
        execFileSync(join(root, `v${OLD}`, 'envs', n, 'bin', 'python'), ['-c', code], { encoding: 'utf8' }).trim();
      expect(py('tools', 'import tidyup, ipums_tools; print(tidyup.__version__, ipums_tools.__version__)')).toBe(
        '0.4.2 0.8.0',
      );
      expect(py('legacy', 'import ipums_utils; print(ipums_utils.__version__)')).toBe('1.2');
      expect(py('plain', 'import numpy; print(numpy.__version__)')).toBe('1.26.4');
      expect(py('pipreq', 'import requests; print(requests.__version__)')).toBe('2.31.0');
    });

    it('adopt: every env REPLICATE, builds stripped, pip section, legacy noarch listed', async () => {
      const r = snapshot
        ? snapshot.adopt
        : await runCli(['adopt', '--root', join(root, `v${OLD}`), '--replicate', 'all'], { cwd: repo, env }).then(
            (x) => ({ code: x.code, text: show(x) }),
          );
      expect(r.code, r.text).toBe(0);
      const inventory = readFileSync(join(repo, 'inventory.ini'), 'utf8');
      expect(inventory).toMatch(/^version = 4\.3\.22$/m);
      expect(inventory).toMatch(/\[legacy-noarch\]\nipums_utils\n/);
      const tools = readFileSync(join(repo, 'env-specs', 'tools.yml'), 'utf8');
      expect(tools).toMatch(/- ipums_tools=0\.8\.0\n/);
      expect(tools).toMatch(/- pip:\n\s+- tidyup==0\.4\.2/);
      expect(r.text).toMatch(/named it 'tools' \(conda 4\.3\.22 exports an env given by path without its name\)/);
      expect(tools).toMatch(/^name: tools$/m);
      // the administrator then names the installer of new versions (installer.sh reads the version from its name,
      // as a Miniconda installer's name says it) and the classic solver (conda-libmamba-solver is not installed
      // here): on main, before the upgrade, since QA takes how builds run from the base branch (docs/security.md)
      symlinkSync(INSTALLER, join(base, 'installers', `Miniconda3-${NEW}-Linux-x86_64.sh`));
      const installer = join(base, 'installers', 'Miniconda3-{version}-Linux-x86_64.sh');
      if (snapshot) adoptCommit = git('rev-parse', 'HEAD');
      else {
        writeFileSync(
          join(repo, 'inventory.ini'),
          inventory
            .replace(/^; root = .*$/m, `root = ${root}`)
            .replace(
              '[conda]\n',
              `[conda]\ninstaller = ${installer}\nsolver = classic\n${CHECKOUT ? 'pass-env = REAL_CONDA_SRC\n' : ''}`,
            ),
        );
        adoptCommit = commit('adopt the old installation');
        if (TARGETS.length > 1) {
          const tar = `${base}.tar`;
          rmSync(join(base, 'installers', `Miniconda3-${NEW}-Linux-x86_64.sh`));
          execFileSync('tar', ['-cf', tar, '-C', base, '.']);
          symlinkSync(INSTALLER, join(base, 'installers', `Miniconda3-${NEW}-Linux-x86_64.sh`));
          snapshot = { base, tar, adopt: r, urls, env: { ...env } };
        }
      }
      // the upgrade pull request, on a branch
      git('checkout', '-q', '-b', 'upgrade');
      writeFileSync(
        join(repo, 'inventory.ini'),
        readFileSync(join(repo, 'inventory.ini'), 'utf8').replace(/^version = 4\.3\.22$/m, `version = ${NEW}`),
      );
      commit(`upgrade to conda ${NEW}`);
    });

    it(`qa on real conda ${NEW} (bwrap, --jobs 2): a dropped version, a pip entry: both classified`, async () => {
      const { code, report, table } = await qa();
      expect(code, table).toBe(1);
      const by = new Map(report.envs.map((e) => [e.env, e]));
      expect(by.get('plain')?.status, table).toBe('tested');
      expect(by.get('legacy')?.status, table).toBe('tested');
      expect(by.get('tools'), table).toMatchObject({
        status: 'failed',
        phase: 'create',
        class: 'missing-version',
        package: 'ipums_tools',
        available: TOOLS_NOW,
        file: 'env-specs/tools.yml',
      });
      // what real conda said, as the report shows it
      expect((by.get('tools')?.excerpt ?? []).join('\n'), table).toMatch(REAL_ERROR);
      expect(by.get('tools')?.hint).toMatch(/available: 1\.0\.0, 1\.1\.0; nearest 1\.0\.0/);
      // pip, run by real conda's env create, finds no requests in the new index: a noarch conda package under pip
      expect(by.get('pipreq'), table).toMatchObject({ status: 'failed', phase: 'create', class: 'pip-failure' });
      expect(by.get('pipreq')?.hint).toMatch(/move it to the conda section/);
      expect((by.get('pipreq')?.excerpt ?? []).join('\n'), table).toMatch(PIP_ERROR);
      // the legacy noarch package is installed after create, on its own (its pre-link script runs)
      expect(by.get('legacy')?.phases.map((p) => p.name)).toEqual(['create', 'legacy-noarch', 'record', 'test']);
      const summary = readFileSync(join(root, '.gitops', 'runs', report.runId, 'summary.md'), 'utf8');
      expect(summary).toContain(`conda upgrade ${OLD} -> ${NEW}: 4 envs: 2 ok, 2 failed`);
      expect(readlinkSync(join(root, 'qa'))).toBe(`v${NEW}`);
      expect(readlinkSync(join(root, 'current'))).toBe(`v${OLD}`);
    });

    it('fix --accept-nearest, qa green', async () => {
      const f = await cli('fix', '--accept-nearest');
      expect(f.code, show(f)).toBe(0);
      expect(readFileSync(join(repo, 'env-specs', 'tools.yml'), 'utf8')).toMatch(/ipums_tools=1\.0\.0/);
      const pipreq = readFileSync(join(repo, 'env-specs', 'pipreq.yml'), 'utf8');
      expect(pipreq).toMatch(/^- requests=2\.31\.0$/m);
      expect(pipreq).not.toMatch(/requests==/);
      commit('conda-gitops fix --accept-nearest');
      const { code, report, table } = await qa();
      expect(code, table).toBe(0);
      expect(report.counts, table).toMatchObject({ total: 4, failed: 0 });
    });

    it('merge, deploy, rollback, rollback --installation, status --verify', async () => {
      git('checkout', '-q', 'main');
      git('-c', 'user.name=t', '-c', 'user.email=t@example.invalid', 'merge', '-q', '--no-ff', 'upgrade');
      const d = await cli('deploy');
      expect(d.code, show(d)).toBe(0);
      expect(readlinkSync(join(root, 'current'))).toBe(`v${NEW}`);
      const py = execFileSync(join(root, 'envs', 'tools', 'bin', 'python'), ['-c', 'import tidyup; print(1)'], {
        encoding: 'utf8',
      });
      expect(py.trim()).toBe('1');
      const legacy = join(root, 'envs', 'legacy', 'bin', 'python');
      expect(
        execFileSync(legacy, ['-c', 'import ipums_utils; print(ipums_utils.__version__)'], { encoding: 'utf8' }),
      ).toBe('1.2\n');
      let st = await cli('status', '--verify');
      expect(st.code, show(st)).toBe(0);

      const rb = await cli('rollback');
      expect(rb.code, show(rb)).toBe(0);
      expect(readlinkSync(join(root, 'current'))).toBe(`v${OLD}`);
      const fwd = await cli('deploy', '--force');
      expect(fwd.code, show(fwd)).toBe(0);
      expect(readlinkSync(join(root, 'current'))).toBe(`v${NEW}`);

      const rbi = await cli('rollback', '--installation');
      expect(rbi.code, show(rbi)).toBe(0);
      expect(readlinkSync(join(root, 'current'))).toBe(`v${OLD}`);
      st = await cli('status', '--verify');
      expect(st.code, show(st)).toBe(1);
      expect(st.stdout).toContain(`live: the adopted installation v${OLD}`);
      const again = await cli('deploy', '--force');
      expect(again.code, show(again)).toBe(0);
      st = await cli('status', '--verify');
      expect(st.code, show(st)).toBe(0);
    });
  });

  describe('install-conda through the product: a conda checkout reaches the installer', () => {
    let base: string;
    afterAll(() => removeUnlessKept(base));

    it('by `[conda] pass-env = REAL_CONDA_SRC` (the product never passes CONDA_GITOPS_* to a child)', async () => {
      base = mkdtempSync(join(tmpdir(), 'cg-realinstall-'));
      const V = '4.12.0';
      // a "checkout": conda's source tree unpacked
      execFileSync('tar', ['-xzf', join(realCondaDir()!, `conda-${V}.tar.gz`), '-C', base]);
      const checkout = join(base, `conda-${V}`);
      mkdirSync(join(base, 'installers'));
      symlinkSync(INSTALLER, join(base, 'installers', `Miniconda3-${V}-Linux-x86_64.sh`));
      const repo = join(base, 'repo');
      const root = join(base, 'root');
      mkdirSync(join(repo, 'env-specs'), { recursive: true });
      mkdirSync(root);
      writeFileSync(
        join(repo, 'inventory.ini'),
        [
          '[conda]',
          `root = ${root}`,
          `version = ${V}`,
          'frontend = conda',
          'channels = conda-forge',
          `installer = ${join(base, 'installers', 'Miniconda3-{version}-Linux-x86_64.sh')}`,
          'pass-env = REAL_CONDA_SRC',
          '',
          '[environments]',
          'a = export',
          '',
        ].join('\n'),
      );
      writeFileSync(
        join(repo, 'env-specs', 'a.yml'),
        'name: a\nchannels:\n  - conda-forge\ndependencies:\n  - python\n',
      );
      const r = await runCli(['install-conda', '--version', V, '--root', root], {
        cwd: repo,
        env: { PATH: '/usr/bin:/bin', HOME: base, REAL_CONDA_SRC: checkout, CONDA_GITOPS_REAL_CONDA_SRC: '' },
      });
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
      const installed = JSON.parse(readFileSync(join(root, `v${V}`, '.real-conda.json'), 'utf8')) as { source: string };
      expect(installed.source).toBe(checkout);
    });
  });
}
