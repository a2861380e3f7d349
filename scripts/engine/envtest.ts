/**
 * Testing a build (docs/qa.md): the build's own python runs, every package the spec asks
 * for is installed at a matching version (per the recorded `conda list`), kernel envs import ipykernel,
 * and the env's optional test script passes. Only a build that passes all of it becomes `tested`.
 *
 * `checkPackages` is pure; the rest runs the build's programs directly (never through `current` or `qa`).
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { kernelRuntimeProblem } from '../core/kernel.js';
import { shippedKernelSpecs } from '../state/kernel.js';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { Classification, EnvSpec, PackageRow } from '../core/types.js';
import { matchesVersion } from '../core/matchspec.js';
import { normalizePipName } from '../core/pip.js';
import { refusedTestMessage } from '../core/sandbox.js';
import { clipLine } from '../core/untrusted-output.js';
import { childEnv, envNameList } from '../core/childenv.js';
import { makeTempDir, removeTempDir } from './tempdir.js';
import { accountPipEntries } from '../core/sitepackages.js';
import { expandRequirements, readInstalledDists } from './sitepackages.js';
import { execute, type CallOptions, type CallResult } from './conda.js';

/** Default time limit of an env's own test script. */
const DEFAULT_TEST_TIMEOUT_SECONDS = 600;
/** Time limit of our own probes (python runs, imports): generous for a cold NFS cache. */
const PROBE_TIMEOUT_SECONDS = 120;

/** What one program run returned: the adapter's call result. */
export type ProcessResult = CallResult;

/**
 * Run a program (argument array, no shell) with exactly `env`, in its own process group; on timeout the whole
 * group is killed, so a test that forks does not outlive its limit. With `log`, the run streams to it.
 */
export function runProcess(
  argv: string[],
  opts: Omit<CallOptions, 'env' | 'inheritEnv'> & { env?: NodeJS.ProcessEnv } = {},
): Promise<ProcessResult> {
  return execute(argv, { ...opts, env: opts.env ?? process.env, inheritEnv: false });
}

export interface TestCheck {
  name: string;
  ok: boolean;
  detail?: string;
}

/** A spec'd package that is missing or at a version its spec does not allow. */
export interface PackageMismatch {
  package: string;
  /** the spec text as written in the env file */
  spec: string;
  line: number;
  installed?: string;
  reason: string;
}

function globMatches(glob: string, text: string): boolean {
  const re = new RegExp(
    '^' +
      glob
        .split('*')
        .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*') +
      '$',
  );
  return re.test(text);
}

/** PEP 440 equality for the common cases: `1.0 == 1.0.0`, case-insensitive, a leading `v` ignored. */
export function pipVersionEquals(wanted: string, installed: string): boolean {
  const norm = (v: string) => v.trim().toLowerCase().replace(/^v/, '');
  const a = norm(wanted);
  const b = norm(installed);
  if (a === b) return true;
  const release = /^(\d+(?:\.\d+)*)(.*)$/;
  const ma = release.exec(a);
  const mb = release.exec(b);
  if (!ma || !mb || ma[2] !== mb[2]) return false;
  const pa = ma[1]!.split('.').map(Number);
  const pb = mb[1]!.split('.').map(Number);
  const len = Math.max(pa.length, pb.length);
  for (let i = 0; i < len; i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return false;
  return true;
}

/**
 * Compare the spec with the recorded packages. Conda deps: present (not as a pypi record) and version/build
 * matching. Pinned pip entries: present at that version. `pipFallback` gives versions read from the env's
 * site-packages for pip names `conda list` does not show (conda before 4.6 did not list pip packages).
 */
export async function checkPackages(
  spec: EnvSpec,
  packages: PackageRow[],
  pipFallback: Map<string, string> = new Map(),
): Promise<PackageMismatch[]> {
  const mismatches: PackageMismatch[] = [];
  const conda = new Map<string, PackageRow>();
  const pypi = new Map<string, PackageRow[]>();
  for (const p of packages) {
    if (p.channel === 'pypi') {
      const k = normalizePipName(p.name);
      pypi.set(k, [...(pypi.get(k) ?? []), p]);
    } else conda.set(p.name.toLowerCase(), p);
  }
  const condaByPipName = new Map<string, PackageRow[]>();
  for (const p of conda.values())
    condaByPipName.set(normalizePipName(p.name), [...(condaByPipName.get(normalizePipName(p.name)) ?? []), p]);
  for (const dep of spec.dependencies) {
    const { name, version, build } = dep.spec;
    const installed = conda.get(name.toLowerCase());
    const base = { package: name, spec: dep.text, line: dep.line };
    if (!installed) {
      mismatches.push({ ...base, reason: 'not installed' });
      continue;
    }
    let versionOk: boolean;
    try {
      versionOk = await matchesVersion(version, installed.version);
    } catch (e) {
      mismatches.push({
        ...base,
        installed: installed.version,
        reason: `cannot check version spec: ${(e as Error).message}`,
      });
      continue;
    }
    if (!versionOk) {
      mismatches.push({
        ...base,
        installed: installed.version,
        reason: `installed ${installed.version} does not match ${version}`,
      });
    } else if (build && installed.build !== undefined && !globMatches(build, installed.build)) {
      mismatches.push({
        ...base,
        installed: `${installed.version} ${installed.build}`,
        reason: `installed build ${installed.build} does not match ${build}`,
      });
    }
  }
  for (const entry of spec.pip) {
    if (entry.kind !== 'pinned' || !entry.name || !entry.version) continue;
    const k = normalizePipName(entry.name);
    // A package both in conda and pip shows up twice; pip's copy is what `import` finds, but either satisfying the
    // pin is fine.
    const candidates = [...(pypi.get(k) ?? []), ...(condaByPipName.get(k) ?? [])];
    const versions = candidates.map((c) => c.version);
    if (versions.length === 0 && pipFallback.has(k)) versions.push(pipFallback.get(k)!);
    const base = { package: entry.name, spec: entry.text, line: entry.line };
    if (versions.length === 0) mismatches.push({ ...base, reason: 'not installed (pip)' });
    else if (!versions.some((v) => pipVersionEquals(entry.version!, v))) {
      mismatches.push({
        ...base,
        installed: versions.join(', '),
        reason: `installed ${versions.join(', ')} does not match ==${entry.version}`,
      });
    }
  }
  return mismatches;
}

export interface EnvTestInput {
  env: string;
  /** the build prefix (resolved path) */
  prefix: string;
  spec: EnvSpec;
  /** packages recorded by the build (`conda list --json`) */
  packages: PackageRow[];
  /** the env is listed in [kernels]: it must import ipykernel */
  kernel: boolean;
  /** kernelspecs the env ships that [kernels] publishes (`ENV:SPEC`): each must run a runtime in the env */
  kernelSpecs?: readonly string[];
  /** directory holding NAME.test.sh / NAME.test.py (the repository's env-specs/) */
  specDir: string;
  log?: string;
  timeoutSeconds?: number;
  /** the sandbox the checks run in (docs/security.md); without it everything runs as before, unsandboxed */
  isolation?: TestIsolation;
  /** the inventory's `[conda] pass-env`: variables of ours the tests get too (never secret-looking ones) */
  passEnv?: readonly string[];
}

/**
 * Isolation of a test phase. With `bwrap` every check (the build's python, the imports, the env's test scripts)
 * runs in a sandbox without network that can write only its own temporary directory: the build, the rest of
 * ROOT and the repository are read-only. Without it the env's test scripts (code the pull request brings) are
 * refused unless `allowUnsandboxed` (the inventory's `unsandboxed-tests = allow`).
 */
export interface TestIsolation {
  bwrap?: string;
  /** why there is no sandbox (for the refusal message) */
  reason?: string;
  allowUnsandboxed?: boolean;
  /** directories the sandbox shows read-only although they are in a hidden place (the installation root) */
  expose?: string[];
}

export interface EnvTestResult {
  ok: boolean;
  seconds: number;
  checks: TestCheck[];
  failure?: Classification;
  /** spec line of the package at fault, when a package check failed; the failing line of a test script */
  line?: number;
  /** the file `line` is in when it is not the spec: the failing test script, repository-relative */
  file?: string;
}

/**
 * The environment a per-env test runs in: the build's bin first on PATH and nothing inherited from the
 * runner (no PYTHONPATH, no user site-packages, no CI secrets), so the test sees the env as a user would.
 */
export function minimalEnv(prefix: string, env: string, home: string): NodeJS.ProcessEnv {
  return {
    PATH: `${join(prefix, 'bin')}:/usr/local/bin:/usr/bin:/bin`,
    HOME: home,
    TMPDIR: home,
    LANG: 'C.UTF-8',
    LC_ALL: 'C.UTF-8',
    CONDA_PREFIX: prefix,
    CONDA_DEFAULT_ENV: env,
    PYTHONNOUSERSITE: '1',
    PYTHONDONTWRITEBYTECODE: '1',
  };
}

/** The variables `pass-env` names, from our environment (secret-looking ones never: see core/childenv.ts). */
function passed(names: readonly string[]): Record<string, string> {
  const picked: Record<string, string | undefined> = {};
  for (const n of names) picked[n] = process.env[n];
  return childEnv({}, { set: picked });
}

/**
 * Activation, as `conda activate` does it: the variables conda stored for the env (`conda-meta/state`
 * `env_vars`, conda >= 4.9 `variables:`), then its `etc/conda/activate.d/*.sh` scripts sourced. Returns the
 * variables and a wrapper of an argv that sources the scripts first (the prefix is an argument of the shell
 * script, never part of its text), or the argv unchanged when there are none.
 */
export function activation(prefix: string): { vars: Record<string, string>; wrap: (argv: string[]) => string[] } {
  const vars: Record<string, string> = {};
  try {
    const state = JSON.parse(readFileSync(join(prefix, 'conda-meta', 'state'), 'utf8')) as { env_vars?: unknown };
    if (state.env_vars && typeof state.env_vars === 'object')
      for (const [k, v] of Object.entries(state.env_vars as Record<string, unknown>))
        if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(k) && typeof v === 'string') vars[k] = v;
  } catch {
    /* no state file: nothing stored */
  }
  let scripts: string[] = [];
  try {
    scripts = readdirSync(join(prefix, 'etc', 'conda', 'activate.d')).filter((f) => f.endsWith('.sh'));
  } catch {
    /* no activate.d */
  }
  if (!scripts.length) return { vars, wrap: (argv) => argv };
  const shell = existsSync('/bin/bash') ? '/bin/bash' : '/bin/sh';
  const source = 'for f in "$0"/etc/conda/activate.d/*.sh; do if [ -f "$f" ]; then . "$f"; fi; done; exec "$@"';
  return { vars, wrap: (argv) => [shell, '-c', source, prefix, ...argv] };
}

/** The env's own test scripts, in the order they run. */
function testScripts(specDir: string, env: string): string[] {
  return ['sh', 'py'].map((ext) => join(specDir, `${env}.test.${ext}`)).filter((f) => existsSync(f));
}

function excerptOf(r: ProcessResult, max = 15, clean: (line: string) => string = (l) => l): string[] {
  const lines = `${r.stdout}\n${r.stderr}`
    .split(/\r?\n/)
    .map((l) => clipLine(clean(l.trimEnd())))
    .filter(Boolean);
  return lines.slice(-max);
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Rewrites a test's output for the report: the temporary checkout the script ran from becomes its
 * repository-relative path, the temporary HOME becomes `$HOME`.
 */
export function withoutTempPaths(dirs: Array<[from: string, to: string]>): (line: string) => string {
  const rules = dirs
    .filter(([from]) => from.length > 1)
    .map(([from, to]) => [new RegExp(escapeRe(from), 'g'), to] as const);
  return (line) => rules.reduce((l, [re, to]) => l.replace(re, to), line);
}

/**
 * The line of a failing test script its output names, when it can be known: the innermost frame of a Python
 * traceback in the script, or the `script: N:` / `script: line N:` prefix of a shell's error. Else line 1.
 */
export function failingLine(output: string, scriptName: string): number {
  const name = escapeRe(scriptName);
  const py = [...output.matchAll(new RegExp(`File "[^"]*${name}", line (\\d+)`, 'g'))];
  if (py.length) return Number(py[py.length - 1]![1]);
  const sh = [...output.matchAll(new RegExp(`${name}:(?: line)? (\\d+):`, 'g'))];
  if (sh.length) return Number(sh[sh.length - 1]![1]);
  return 1;
}

/** Run every check of a build. Stops at the first failing group: later checks would only repeat the cause. */
export async function testBuild(input: EnvTestInput): Promise<EnvTestResult> {
  const started = performance.now();
  const run = testRun(input);
  const failed =
    (await pythonRuns(run)) ??
    (await packagesMatch(run)) ??
    (await kernelImports(run)) ??
    shippedKernelsRun(run) ??
    (await envTests(run));
  removeTempDir(run.home);
  return {
    ok: !failed,
    seconds: (performance.now() - started) / 1000,
    checks: run.checks,
    ...(failed ? { failure: failed.failure } : {}),
    ...(failed?.line ? { line: failed.line } : {}),
    ...(failed?.file ? { file: failed.file } : {}),
  };
}

/** A failed check: the failure, and the line (and file, for an env's own test) to fix. */
interface CheckFailed {
  failure: Classification;
  line?: number | undefined;
  file?: string;
}

const failedWith = (failure: Classification, line?: number, file?: string): CheckFailed => ({
  failure,
  ...(line ? { line } : {}),
  ...(file ? { file } : {}),
});

/** What the checks of one test share: the env's python, a private home, and a probe that runs in the sandbox. */
type TestRun = ReturnType<typeof testRun>;

function testRun(input: EnvTestInput) {
  const checks: TestCheck[] = [];
  const python = join(input.prefix, 'bin', 'python');
  const home = makeTempDir(`cg-test-${input.env}-`);
  const pass = [...(input.passEnv ?? []), ...envNameList(process.env.CONDA_GITOPS_PASS_ENV)];
  // the tests see the env as an activated user does: its stored variables and its activate.d scripts
  const activated = activation(input.prefix);
  const env = { ...passed(pass), ...activated.vars, ...minimalEnv(input.prefix, input.env, home) };
  const probe = async (title: string, argv: string[], timeoutSeconds = PROBE_TIMEOUT_SECONDS) => {
    // the test's name above its block, so a reader finds their place
    const log = input.log ? { log: input.log, logTitle: `test ${title}` } : {};
    const bwrap = input.isolation?.bwrap;
    const expose = input.isolation?.expose ?? [input.prefix];
    const sandbox = bwrap ? { sandbox: { bwrap, writable: [home], expose, network: false, cwd: home } } : {};
    return runProcess(activated.wrap(argv), { env, cwd: home, timeoutSeconds, contain: true, ...log, ...sandbox });
  };
  return { input, checks, python, home, probe };
}

/** 1. the build's python runs (every env the spec gives python, pip packages or a kernel needs one) */
async function pythonRuns(run: TestRun): Promise<CheckFailed | undefined> {
  const needsPython =
    run.input.kernel ||
    run.input.spec.pip.length > 0 ||
    run.input.spec.dependencies.some((d) => d.spec.name === 'python');
  if (needsPython || existsSync(run.python)) {
    const r = await run.probe('python', [run.python, '-c', 'import sys; print(sys.version.split()[0])']);
    const ok = r.code === 0;
    run.checks.push({ name: 'python runs', ok, detail: ok ? r.stdout.trim() : `exit ${r.code}` });
    if (!ok) {
      return failedWith({
        class: r.timedOut ? 'timeout' : 'unknown',
        excerpt: [`${run.python} does not run (exit ${r.code})`, ...excerptOf(r)],
      });
    }
  } else {
    run.checks.push({ name: 'python runs', ok: true, detail: 'skipped: the spec has no python, pip or kernel' });
  }

  return undefined;
}

/** 2. every spec'd package at a matching version */
async function packagesMatch(run: TestRun): Promise<CheckFailed | undefined> {
  // pip packages are read from the env's site-packages, never asked from its python: Python < 3.8 has no
  // importlib.metadata and conda < 4.6 lists no pip packages
  const dists = readInstalledDists(run.input.prefix);
  const fallback = new Map<string, string>();
  for (const d of dists)
    if (d.version && !fallback.has(normalizePipName(d.name))) fallback.set(normalizePipName(d.name), d.version);
  const mismatches = await checkPackages(run.input.spec, run.input.packages, fallback);
  // every other pip entry (names, ranges, -r files, paths, git and URL entries) must be accounted for too
  const others = expandRequirements(
    run.input.spec.pip.filter((p) => p.kind !== 'pinned'),
    run.input.specDir,
  );
  const resolvePath = (p: string) => (isAbsolute(p) || p.startsWith('~') ? p : resolve(run.input.specDir, p));
  for (const short of accountPipEntries(others.entries, dists, { resolvePath })) {
    const from = others.origin.get(short.entry);
    mismatches.push({
      package: short.entry.name ?? short.entry.text,
      spec: from ? `${short.entry.text} (from ${from})` : short.entry.text,
      line: short.entry.line,
      ...(short.installed ? { installed: short.installed } : {}),
      reason: short.reason,
    });
  }
  for (const e of others.unreadable)
    mismatches.push({ package: e.text, spec: e.text, line: e.line, reason: 'cannot read the requirements file' });
  mismatches.sort((a, b) => a.line - b.line);
  run.checks.push({
    name: 'packages match the spec',
    ok: mismatches.length === 0,
    detail: mismatches.map((m) => `${m.spec}: ${m.reason}`).join('; ') || undefined,
  });
  if (mismatches.length) {
    const first = mismatches[0]!;
    return failedWith(
      {
        class: 'unknown',
        package: first.package,
        spec: first.spec,
        excerpt: mismatches.slice(0, 15).map((m) => `${run.input.spec.file}:${m.line}: ${m.spec}: ${m.reason}`),
      },
      first.line,
    );
  }

  return undefined;
}

/** 3. kernels must start: ipykernel importable with the env's own python */
async function kernelImports(run: TestRun): Promise<CheckFailed | undefined> {
  if (run.input.kernel) {
    const r = await run.probe('ipykernel', [run.python, '-c', 'import ipykernel']);
    run.checks.push({ name: 'imports ipykernel', ok: r.code === 0 });
    if (r.code !== 0) {
      const dep = run.input.spec.dependencies.find((d) => d.spec.name === 'ipykernel');
      // the line to fix: ipykernel's own, or the last dependency (where it is to be added)
      const line = dep?.line ?? run.input.spec.dependencies[run.input.spec.dependencies.length - 1]?.line;
      return failedWith(
        {
          class: r.timedOut ? 'timeout' : 'test-failure',
          package: 'ipykernel',
          excerpt: ['kernel env cannot import ipykernel (add ipykernel to its dependencies)', ...excerptOf(r)],
        },
        line,
      );
    }
  }

  return undefined;
}

/** 3b. a published shipped kernelspec (`ENV:SPEC`): the env ships it and its argv starts the env's own runtime */
function shippedKernelsRun(run: TestRun): CheckFailed | undefined {
  if (run.input.kernelSpecs?.length) {
    const shipped = shippedKernelSpecs(run.input.prefix);
    for (const name of run.input.kernelSpecs) {
      const p = kernelRuntimeProblem(name, shipped[name], (rel) => {
        try {
          return statSync(join(run.input.prefix, rel)).isFile();
        } catch {
          return false;
        }
      });
      run.checks.push({ name: `kernel ${name} runtime in the env`, ok: !p, ...(p ? { detail: p.fix } : {}) });
      if (p) return failedWith({ class: 'missing-package', package: p.package, excerpt: [`${p.problem}: ${p.fix}`] });
    }
  }

  return undefined;
}

/**
 * 4. the env's own tests, with its bin first on PATH, a minimal environment and a time limit; code the pull
 * request brings runs only in the sandbox, unless the inventory accepts the risk
 */
async function envTests(run: TestRun): Promise<CheckFailed | undefined> {
  const scripts = testScripts(run.input.specDir, run.input.env);
  const iso = run.input.isolation;
  if (scripts.length && iso && !iso.bwrap && !iso.allowUnsandboxed) {
    const names = scripts.map((s) => s.slice(run.input.specDir.length + 1));
    run.checks.push({ name: names.join(', '), ok: false, detail: REFUSED });
    return failedWith({
      class: 'unknown',
      excerpt: [refusedTestMessage(names.join(' and '), iso.reason ?? 'bubblewrap is not available')],
    });
  }
  for (const source of scripts) {
    // a private copy in the test's own temp dir: the script learns nothing of the checkout from its path
    const script = join(run.home, 'tests', source.slice(run.input.specDir.length + 1));
    mkdirSync(join(run.home, 'tests'), { recursive: true });
    copyFileSync(source, script);
    const argv = script.endsWith('.py') ? [run.python, script] : ['/bin/sh', script];
    const limit = run.input.timeoutSeconds ?? DEFAULT_TEST_TIMEOUT_SECONDS;
    const r = await run.probe(script.endsWith('.py') ? 'test.py' : 'test.sh', argv, limit);
    const name = source.slice(run.input.specDir.length + 1);
    run.checks.push({
      name,
      ok: r.code === 0 && !r.timedOut,
      detail: r.timedOut ? `timed out after ${limit}s` : `exit ${r.code}`,
    });
    // the report names the script as the repository has it, never the temporary checkout it ran from
    const file = join(dirname(run.input.spec.file), name);
    const clean = withoutTempPaths([
      // the private copy the script ran as (a file under $HOME/tests), then the checkout it came from
      [dirname(script), dirname(run.input.spec.file)],
      [run.input.specDir, dirname(run.input.spec.file)],
      [run.home, '$HOME'],
    ]);
    if (r.timedOut) {
      return failedWith(
        { class: 'timeout', excerpt: [`${file} timed out after ${limit}s`, ...excerptOf(r, 15, clean)] },
        1,
        file,
      );
    }
    if (r.code !== 0) {
      const line = failingLine(`${r.stdout}\n${r.stderr}`, name);
      return failedWith(
        { class: 'test-failure', excerpt: [`${file} failed (exit ${r.code})`, ...excerptOf(r, 15, clean)] },
        line,
        file,
      );
    }
  }
  return undefined;
}

/** The detail of a test check refused for want of a sandbox. */
const REFUSED = 'not run: no sandbox';

/** The hint shown for a failed test phase (the classifier's hints are about conda and pip output). */
export function testHint(result: EnvTestResult): string {
  const failed = result.checks.find((c) => !c.ok);
  if (!failed) return '';
  if (failed.detail === REFUSED)
    return (
      `${failed.name} not run: this runner has no sandbox; install bubblewrap (bwrap) on the runner, ` +
      'or set unsandboxed-tests = allow in [conda] of inventory.ini to accept the risk'
    );
  if (result.failure?.excerpt?.some((l) => /Read-only file system/.test(l)))
    return (
      `${failed.name} tried to write outside its sandbox (Read-only file system): a test may write only its ` +
      'temporary directory ($HOME, $TMPDIR); the build, the rest of the installation and the repository are read-only'
    );
  if (failed.name === 'packages match the spec')
    return `installed packages do not match the spec (${failed.detail}); pin what the env needs or fix the spec`;
  if (failed.name === 'imports ipykernel')
    return 'kernel env cannot import ipykernel: add ipykernel to its dependencies';
  if (/^kernel .* runtime in the env$/.test(failed.name) && result.failure)
    return result.failure.excerpt[0] ?? failed.name;
  if (failed.name === 'python runs') return "the build's bin/python does not run: see the log";
  if (result.file && result.failure) {
    const at = `${result.file}${result.line ? `:${result.line}` : ''}`;
    // the excerpt's last line is what the test said last: the assertion, the error, the message
    const said = result.failure.excerpt.length > 1 ? result.failure.excerpt[result.failure.excerpt.length - 1] : '';
    if (result.failure.class === 'timeout')
      return `the env's own test timed out at ${at} (${failed.detail}): make it faster or raise --timeout`;
    const fix = 'run it against the build, fix the env or the test';
    return `the env's own test failed at ${at}: ${said || failed.detail} (${fix})`;
  }
  return `${failed.name} failed (${failed.detail}): see the log`;
}
