import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  checkPackages,
  pipVersionEquals,
  testBuild,
  testHint,
  minimalEnv,
  runProcess,
} from '../../scripts/engine/envtest.js';
import { parseSpec } from '../../scripts/core/spec.js';
import type { EnvSpec, PackageRow } from '../../scripts/core/types.js';

/** every temp dir of this file lives under one parent, removed when the file is done */
const TMP = mkdtempSync(join(tmpdir(), 'cg-envtest-'));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

function spec(text: string, name = 'demo'): EnvSpec {
  const parsed = parseSpec(text, `env-specs/${name}.yml`, name);
  if (!parsed.spec) throw new Error(parsed.problems.map((p) => p.message).join('\n'));
  return parsed.spec;
}

const pkgs = (...xs: Array<[string, string, string?, string?]>): PackageRow[] =>
  xs.map(([name, version, build, channel]) => ({
    name,
    version,
    build: build ?? 'h0_0',
    channel: channel ?? 'conda-forge',
  }));

describe('checkPackages (pure)', () => {
  const s = spec(
    [
      'name: demo',
      'dependencies:',
      '  - python=3.11',
      '  - numpy>=1.20,<2',
      '  - pandas==2.1.4',
      '  - blas=*=openblas*',
      '  - pip',
      '  - pip:',
      '    - requests==2.31',
      '    - Foo_Bar==1.0.0',
      '    - unpinned',
      '',
    ].join('\n'),
  );

  test('everything present at matching versions: no mismatch', async () => {
    const list = pkgs(
      ['python', '3.11.5'],
      ['numpy', '1.26.4'],
      ['pandas', '2.1.4'],
      ['blas', '1.0', 'openblas_2'],
      ['pip', '23.3'],
      ['requests', '2.31.0', 'pypi_0', 'pypi'],
      ['foo-bar', '1.0', 'pypi_0', 'pypi'],
    );
    expect(await checkPackages(s, list)).toEqual([]);
  });

  test('wrong versions, wrong build and missing packages are reported with their spec line', async () => {
    const list = pkgs(
      ['python', '3.12.1'],
      ['numpy', '2.0.0'],
      ['blas', '1.0', 'mkl'],
      ['pip', '23.3'],
      ['requests', '2.30.0', 'pypi_0', 'pypi'],
    );
    const m = await checkPackages(s, list);
    expect(m.map((x) => [x.package, x.line])).toEqual([
      ['python', 3],
      ['numpy', 4],
      ['pandas', 5],
      ['blas', 6],
      ['requests', 9],
      ['Foo_Bar', 10],
    ]);
    expect(m[0].reason).toBe('installed 3.12.1 does not match 3.11.*');
    expect(m[2].reason).toBe('not installed');
    expect(m[3].reason).toMatch(/build mkl does not match openblas\*/);
    expect(m[4].reason).toMatch(/2\.30\.0 does not match ==2\.31/);
    expect(m[5].reason).toBe('not installed (pip)');
  });

  test('a pip pin is satisfied by a conda record of the same package (both in conda and pip)', async () => {
    const both = spec('dependencies:\n  - requests=2.31\n  - pip:\n    - requests==2.31.0\n');
    expect(await checkPackages(both, pkgs(['requests', '2.31.0']))).toEqual([]);
  });

  test('pip packages conda list does not show (old conda) use the versions read from python', async () => {
    const pipOnly = spec('dependencies:\n  - pip:\n    - six==1.16.0\n');
    expect(await checkPackages(pipOnly, [], new Map([['six', '1.16.0']]))).toEqual([]);
    expect((await checkPackages(pipOnly, [], new Map([['six', '1.15.0']])))[0].reason).toMatch(/1\.15\.0/);
  });

  test('PEP 440 equality in the common shapes', () => {
    expect(pipVersionEquals('1.0', '1.0.0')).toBe(true);
    expect(pipVersionEquals('2.31', '2.31.0')).toBe(true);
    expect(pipVersionEquals('1.0rc1', '1.0.0rc1')).toBe(true);
    expect(pipVersionEquals('1.0', '1.0.1')).toBe(false);
    expect(pipVersionEquals('1.0rc1', '1.0')).toBe(false);
  });
});

describe('testBuild against a real python prefix', () => {
  let prefix: string;
  let site: string;
  const specDir = mkdtempSync(join(TMP, 'cg-envtest-specs-'));

  beforeAll(() => {
    prefix = join(mkdtempSync(join(TMP, 'cg-envtest-')), 'builds', 'demo', 'abc');
    mkdirSync(join(prefix, '..'), { recursive: true });
    execFileSync('python3', ['-m', 'venv', '--without-pip', prefix]);
    const lib = readdirSync(join(prefix, 'lib')).find((d) => d.startsWith('python'))!;
    site = join(prefix, 'lib', lib, 'site-packages');
    mkdirSync(join(site, 'foo'));
    writeFileSync(join(site, 'foo', '__init__.py'), '__version__ = "1.2.0"\n');
    // a pip-installed distribution that conda list (old conda) would not show
    mkdirSync(join(site, 'six-1.16.0.dist-info'));
    writeFileSync(
      join(site, 'six-1.16.0.dist-info', 'METADATA'),
      'Metadata-Version: 2.1\nName: six\nVersion: 1.16.0\n',
    );
  });

  const demo = () => spec('dependencies:\n  - python=3\n  - foo=1.2\n  - pip:\n    - six==1.16.0\n');
  const listed = () => pkgs(['python', '3.11.2'], ['foo', '1.2.0']);

  test('python runs, packages match, pip version read from the env: tested', async () => {
    const log = join(specDir, 'demo.log');
    const r = await testBuild({ env: 'demo', prefix, spec: demo(), packages: listed(), kernel: false, specDir, log });
    expect(r.ok).toBe(true);
    expect(r.checks.map((c) => [c.name, c.ok])).toEqual([
      ['python runs', true],
      ['packages match the spec', true],
    ]);
    expect(readFileSync(log, 'utf8')).toContain('test python');
  });

  test('a kernel env without ipykernel fails with a hint; with it, passes', async () => {
    const r = await testBuild({ env: 'demo', prefix, spec: demo(), packages: listed(), kernel: true, specDir });
    expect(r.ok).toBe(false);
    expect(r.failure).toMatchObject({ class: 'test-failure', package: 'ipykernel' });
    expect(testHint(r)).toMatch(/add ipykernel/);
    mkdirSync(join(site, 'ipykernel'), { recursive: true });
    writeFileSync(join(site, 'ipykernel', '__init__.py'), '');
    const ok = await testBuild({ env: 'demo', prefix, spec: demo(), packages: listed(), kernel: true, specDir });
    expect(ok.ok).toBe(true);
    expect(ok.checks.map((c) => c.name)).toContain('imports ipykernel');
  });

  test('a published shipped kernelspec needs its runtime in the env: class, To fix; there, it passes', async () => {
    const kernels = join(prefix, 'share', 'jupyter', 'kernels');
    const input = { env: 'demo', prefix, spec: demo(), packages: listed(), kernel: false, specDir };
    // named in [kernels] (demo:ir) but not shipped at all
    const none = await testBuild({ ...input, kernelSpecs: ['ir'] });
    expect(none.ok).toBe(false);
    expect(none.failure).toMatchObject({ class: 'missing-package', package: 'ir' });
    expect(testHint(none)).toMatch(/ships no kernelspec 'ir'.*share\/jupyter\/kernels\/ir\/kernel\.json/);
    // shipped, but its argv[0] (R) is not in the env
    mkdirSync(join(kernels, 'ir'), { recursive: true });
    writeFileSync(
      join(kernels, 'ir', 'kernel.json'),
      JSON.stringify({
        argv: ['R', '--slave', '-e', 'IRkernel::main()', '--args', '{connection_file}'],
        language: 'R',
      }),
    );
    const noR = await testBuild({ ...input, kernelSpecs: ['ir'] });
    expect(noR.ok).toBe(false);
    expect(noR.failure).toMatchObject({ class: 'missing-package', package: 'R' });
    expect(testHint(noR)).toMatch(/kernel 'ir' runs 'R', which is not in the env.*add the package that provides 'R'/);
    // an absolute argv[0] outside the env does not count either: the kernel would not run the env's runtime
    writeFileSync(join(kernels, 'ir', 'kernel.json'), JSON.stringify({ argv: ['/usr/bin/env', 'R'], language: 'R' }));
    expect((await testBuild({ ...input, kernelSpecs: ['ir'] })).ok).toBe(false);
    writeFileSync(
      join(kernels, 'ir', 'kernel.json'),
      JSON.stringify({
        argv: ['R', '--slave', '-e', 'IRkernel::main()', '--args', '{connection_file}'],
        language: 'R',
      }),
    );
    writeFileSync(join(prefix, 'bin', 'R'), '#!/bin/sh\n');
    chmodSync(join(prefix, 'bin', 'R'), 0o755);
    const ok = await testBuild({ ...input, kernelSpecs: ['ir'] });
    expect(ok.ok, JSON.stringify(ok.failure)).toBe(true);
    expect(ok.checks.map((c) => [c.name, c.ok])).toContainEqual(['kernel ir runtime in the env', true]);
    rmSync(join(kernels), { recursive: true });
    rmSync(join(prefix, 'bin', 'R'));
  });

  test('a package at the wrong version fails the test phase at the spec line', async () => {
    const r = await testBuild({
      env: 'demo',
      prefix,
      spec: demo(),
      packages: pkgs(['python', '3.11.2'], ['foo', '1.3.0']),
      kernel: false,
      specDir,
    });
    expect(r.ok).toBe(false);
    expect(r.line).toBe(3);
    expect(r.failure?.excerpt[0]).toBe('env-specs/demo.yml:3: foo=1.2: installed 1.3.0 does not match 1.2.*');
  });

  const RUNS_ISOLATED =
    "the env's test script runs with the build's bin first on PATH and without the runner's environment";
  test(RUNS_ISOLATED, async () => {
    const dir = mkdtempSync(join(TMP, 'cg-envtest-specs-'));
    writeFileSync(
      join(dir, 'demo.test.sh'),
      [
        'set -e',
        `test "$(command -v python)" = "${prefix}/bin/python"`,
        'test -z "$CG_SECRET"',
        'python -c "import foo; assert foo.__version__ == \'1.2.0\'"',
        'echo shell-ok',
      ].join('\n'),
    );
    writeFileSync(
      join(dir, 'demo.test.py'),
      'import sys, os\nassert sys.prefix == os.environ["CONDA_PREFIX"], sys.prefix\nprint("py-ok")\n',
    );
    process.env.CG_SECRET = 'token';
    try {
      const log = join(dir, 'log');
      const r = await testBuild({
        env: 'demo',
        prefix,
        spec: demo(),
        packages: listed(),
        kernel: false,
        specDir: dir,
        log,
      });
      expect(r.checks.map((c) => [c.name, c.ok])).toEqual([
        ['python runs', true],
        ['packages match the spec', true],
        ['demo.test.sh', true],
        ['demo.test.py', true],
      ]);
      expect(r.ok).toBe(true);
      expect(readFileSync(log, 'utf8')).toMatch(/shell-ok[\s\S]*py-ok/);
    } finally {
      delete process.env.CG_SECRET;
    }
  });

  test('a failing test script fails the build with its output as excerpt', async () => {
    const dir = mkdtempSync(join(TMP, 'cg-envtest-specs-'));
    writeFileSync(join(dir, 'demo.test.py'), 'import foo\nprint("checking foo")\nraise SystemExit("foo is too old")\n');
    const r = await testBuild({ env: 'demo', prefix, spec: demo(), packages: listed(), kernel: false, specDir: dir });
    expect(r.ok).toBe(false);
    expect(r.failure?.class).toBe('test-failure');
    expect(r.failure?.excerpt).toEqual(['env-specs/demo.test.py failed (exit 1)', 'checking foo', 'foo is too old']);
    expect(testHint(r)).toMatch(/env-specs\/demo\.test\.py:1: foo is too old/);
  });

  test('a failing test.py is a test-failure at the line of the failing assertion, with no temporary path', async () => {
    const dir = mkdtempSync(join(TMP, 'cg-envtest-specs-'));
    writeFileSync(join(dir, 'demo.test.py'), 'import foo\nx = 1\nassert foo.__version__ == "9", foo.__version__\n');
    const r = await testBuild({ env: 'demo', prefix, spec: demo(), packages: listed(), kernel: false, specDir: dir });
    expect(r.ok).toBe(false);
    expect(r.failure?.class).toBe('test-failure');
    expect(r.file).toBe('env-specs/demo.test.py');
    expect(r.line).toBe(3);
    expect(r.failure?.excerpt.join('\n')).toContain('env-specs/demo.test.py", line 3');
    expect(r.failure?.excerpt.join('\n')).not.toContain(TMP);
    expect(testHint(r)).toBe(
      "the env's own test failed at env-specs/demo.test.py:3: AssertionError: 1.2.0 (run it against the build, " +
        'fix the env or the test)',
    );
  });

  test('a failing test.sh is a test-failure at the line the shell names, else at line 1', async () => {
    const dir = mkdtempSync(join(TMP, 'cg-envtest-specs-'));
    writeFileSync(join(dir, 'demo.test.sh'), 'set -e\necho checking\nno_such_command_xyz --version\n');
    const r = await testBuild({ env: 'demo', prefix, spec: demo(), packages: listed(), kernel: false, specDir: dir });
    expect(r.failure?.class).toBe('test-failure');
    expect([r.file, r.line]).toEqual(['env-specs/demo.test.sh', 3]);
    expect(r.failure?.excerpt.join('\n')).not.toContain(TMP);
    expect(testHint(r)).toMatch(/^the env's own test failed at env-specs\/demo\.test\.sh:3: .*no_such_command_xyz/);

    writeFileSync(join(dir, 'demo.test.sh'), 'echo "wrong answer from $HOME"\nexit 3\n');
    const quiet = await testBuild({
      env: 'demo',
      prefix,
      spec: demo(),
      packages: listed(),
      kernel: false,
      specDir: dir,
    });
    expect([quiet.failure?.class, quiet.file, quiet.line]).toEqual(['test-failure', 'env-specs/demo.test.sh', 1]);
    expect(quiet.failure?.excerpt.join('\n')).not.toMatch(/\/tmp\//);
    expect(testHint(quiet)).toMatch(
      /^the env's own test failed at env-specs\/demo\.test\.sh:1: wrong answer from \$HOME/,
    );
  });

  test('a test script that hangs is killed at its time limit (with its children) and classified timeout', async () => {
    const dir = mkdtempSync(join(TMP, 'cg-envtest-specs-'));
    writeFileSync(join(dir, 'demo.test.sh'), 'sleep 30 &\nsleep 30\n');
    const t0 = Date.now();
    const r = await testBuild({
      env: 'demo',
      prefix,
      spec: demo(),
      packages: listed(),
      kernel: false,
      specDir: dir,
      timeoutSeconds: 1,
    });
    expect(Date.now() - t0).toBeLessThan(8000);
    expect(r.ok).toBe(false);
    expect(r.failure?.class).toBe('timeout');
  });

  test('a prefix whose python is broken fails the first check', async () => {
    const broken = mkdtempSync(join(TMP, 'cg-envtest-broken-'));
    mkdirSync(join(broken, 'bin'));
    writeFileSync(
      join(broken, 'bin', 'python'),
      '#!/bin/sh\necho "libpython3.11.so: cannot open shared object file" >&2\nexit 127\n',
      { mode: 0o755 },
    );
    const r = await testBuild({
      env: 'demo',
      prefix: broken,
      spec: demo(),
      packages: listed(),
      kernel: false,
      specDir,
    });
    expect(r.ok).toBe(false);
    expect(r.checks).toHaveLength(1);
    expect(r.failure?.excerpt.join('\n')).toContain('cannot open shared object file');
  });

  test('minimalEnv passes nothing from the runner', async () => {
    const env = minimalEnv('/x/p', 'demo', '/tmp/h');
    expect(Object.keys(env).sort()).toEqual([
      'CONDA_DEFAULT_ENV',
      'CONDA_PREFIX',
      'HOME',
      'LANG',
      'LC_ALL',
      'PATH',
      'PYTHONDONTWRITEBYTECODE',
      'PYTHONNOUSERSITE',
      'TMPDIR',
    ]);
    expect(env.PATH!.split(':')[0]).toBe('/x/p/bin');
    const r = await runProcess(['/no/such/program']);
    expect(r.code).toBe(127);
  });
});
