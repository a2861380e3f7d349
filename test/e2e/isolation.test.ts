/**
 * Isolation of what a pull request brings (docs/security.md, "Isolation of builds and tests"), replayed against
 * a QA run with the fake conda:
 * - a PR's env test script writes into another team's live env through
 *   $CONDA_PREFIX/../../../..; QA must fail that env with a clear message and the live env must not change;
 * - a PR's build (a local pip package's build backend) alters a package in the shared package cache; a later
 *   build must not link the altered file;
 * - without a sandbox (CONDA_GITOPS_SANDBOX=none), QA says so in its report and refuses to run the env's test
 *   scripts unless the inventory sets `unsandboxed-tests = allow`.
 * The first two need bubblewrap; where it is missing they are skipped with the reason printed.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memoryOutput } from '../../scripts/cli/output.js';
import { detectSandbox } from '../../scripts/engine/sandbox.js';
import { makeGitPackage } from '../fake-conda/index.js';
import { makeQaWorld, worldSpec, writeRepo, type QaWorld } from '../fixtures/qa-world.js';
import { runCommand } from '../fixtures/command.js';

const sandbox = await detectSandbox({ PATH: process.env.PATH, CONDA_GITOPS_SANDBOX: process.env.CONDA_GITOPS_SANDBOX });
// in CI (CI=true) bubblewrap is required (.ci/run installs it): its tests fail there instead of skipping
const inCI = process.env.CI === 'true';
const noBwrap = sandbox.kind !== 'bwrap' && !inCI;
if (noBwrap) console.log(`isolation tests that need bubblewrap are skipped: ${sandbox.reason}`);

test('in CI the sandbox is there: bubblewrap works, so no isolation test is skipped', () => {
  if (!inCI) return;
  expect(sandbox.kind === 'bwrap' ? 'bwrap' : `no sandbox: ${sandbox.reason}`).toBe('bwrap');
});

interface ReportEnv {
  env: string;
  status: string;
  phase?: string;
  hint?: string;
  excerpt?: string[];
}
interface QaJson {
  ok: boolean;
  runId: string;
  isolation?: { sandbox: string; note: string };
  envs: ReportEnv[];
}

let world: QaWorld;
const env = (extra: Record<string, string> = {}) => ({ ...process.env, ...extra });

async function qa(repo: string, extra: Record<string, string> = {}) {
  const out = memoryOutput(true);
  const code = await runCommand('qa', {
    options: { root: world.root, json: true },
    positionals: [],
    out,
    repo,
    env: env(extra),
  });
  const report = out.results[0] as QaJson;
  return { code, report, by: Object.fromEntries(report.envs.map((e) => [e.env, e])), out };
}

/** Paths matching `pattern`, a path whose `*` match within one segment (Node 20 has no fs.globSync). */
function globSync(pattern: string): string[] {
  let found = ['/'];
  for (const part of pattern.split('/').filter(Boolean)) {
    if (!part.includes('*')) {
      found = found.map((d) => join(d, part)).filter((p) => existsSync(p));
      continue;
    }
    const re = new RegExp(
      `^${part
        .split('*')
        .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*')}$`,
    );
    found = found.flatMap((d) => {
      try {
        return readdirSync(d)
          .filter((e) => re.test(e))
          .map((e) => join(d, e));
      } catch {
        return [];
      }
    });
  }
  return found;
}

/** The files of `module` inside an env (or a cache entry), by glob over the python version. */
function moduleInit(prefix: string, module: string): string {
  const found = globSync(join(prefix, 'lib', 'python*', 'site-packages', module, '__init__.py'));
  if (found.length !== 1) throw new Error(`expected one ${module}/__init__.py under ${prefix}, found ${found.length}`);
  return found[0]!;
}

beforeAll(async () => {
  world = makeQaWorld();
}, 120_000);
afterAll(() => world?.cleanup());

describe.skipIf(noBwrap)('builds and tests of a QA run are sandboxed (bubblewrap)', () => {
  let liveNumpy: string;
  let liveBefore: string;

  beforeAll(async () => {
    // main: hlink is live (deploy builds it, trusted, and fills the shared package cache)
    const main = writeRepo(
      join(world.base, 'main'),
      { envs: { hlink: 'REPLICATE' }, channels: [world.channel] },
      { hlink: worldSpec(world, 'hlink', ['python', 'numpy=1.26.4']) },
    );
    const out = memoryOutput(true);
    const code = await runCommand('deploy', {
      options: { root: world.root, 'build-missing': true, json: true },
      positionals: [],
      out,
      repo: main,
      env: env(),
    });
    expect(code, out.errors.join('\n')).toBe(0);
    liveNumpy = moduleInit(join(world.root, 'envs', 'hlink'), 'numpy');
    liveBefore = readFileSync(liveNumpy, 'utf8');
  }, 180_000);

  const WRITE_INTO_LIVE =
    "a PR's test script writing into another team's live env through $CONDA_PREFIX/../../../.. " +
    'fails QA with a clear message and the live env is unchanged';
  test(
    WRITE_INTO_LIVE,
    async () => {
      const attack = [
        '#!/bin/sh',
        '# looks like a test; appends to a module of the live hlink env',
        'for f in "$CONDA_PREFIX"/../../../../envs/hlink/lib/python*/site-packages/numpy/__init__.py; do',
        `  printf '\\nprint("PR code ran")\\n' >> "$f"`,
        'done',
        '',
      ].join('\n');
      const pr = writeRepo(
        join(world.base, 'pr-finding-1'),
        { envs: { hlink: 'REPLICATE', census: 'REPLICATE' }, channels: [world.channel] },
        {
          hlink: worldSpec(world, 'hlink', ['python', 'numpy=1.26.4']),
          census: worldSpec(world, 'census', ['python', 'zlib']),
        },
        { 'env-specs/census.test.sh': attack },
      );
      const { code, report, by } = await qa(pr);
      expect(code).toBe(1);
      expect(by.census).toMatchObject({ status: 'failed', phase: 'test' });
      expect(by.census!.hint).toMatch(/census\.test\.sh tried to write outside its sandbox \(Read-only file system\)/);
      expect(by.census!.excerpt!.join('\n')).toMatch(/Read-only file system/);
      expect(report.isolation).toMatchObject({ sandbox: 'bwrap' });
      // the live env is exactly as deployed, and its python does not run the PR's code
      expect(readFileSync(liveNumpy, 'utf8')).toBe(liveBefore);
      const summary = readFileSync(join(world.root, '.gitops', 'runs', report.runId, 'summary.md'), 'utf8');
      expect(summary).toMatch(/Isolation: builds and tests ran in a bubblewrap sandbox/);
    },
    180_000,
  );

  const CACHE =
    "a PR's build altering a package in the shared cache (a pip build backend) does not reach a later build";
  test(
    CACHE,
    async () => {
      const pr = join(world.base, 'pr-cache');
      mkdirSync(join(pr, 'env-specs'), { recursive: true });
      const pkg = makeGitPackage(join(pr, 'env-specs', 'evilpkg'), 'evilpkg', '1.0');
      // the backend runs when pip builds the package, as a build of the PR
      const tamper = [
        'import glob',
        `_cache = ${JSON.stringify(world.root)} + '/v*/pkgs/numpy-1.26.4-*'`,
        "for _f in glob.glob(_cache + '/lib/python*/site-packages/numpy/__init__.py'):",
        '    try:',
        '        with open(_f, "a") as _h:',
        '            _h.write("\\nprint(\\"TAMPERED\\")\\n")',
        '    except OSError as _e:',
        '        print("tamper failed:", _e)',
        '',
      ].join('\n');
      const backend = join(pkg.dir, '_fixture_backend.py');
      writeFileSync(backend, tamper + readFileSync(backend, 'utf8'));
      const cached = globSync(
        join(
          world.root,
          'v23.11.0',
          'pkgs',
          'numpy-1.26.4-*',
          'lib',
          'python*',
          'site-packages',
          'numpy',
          '__init__.py',
        ),
      );
      expect(cached).toHaveLength(1);
      const cachedBefore = readFileSync(cached[0]!, 'utf8');
      writeRepo(
        pr,
        { envs: { evil: 'REPLICATE' }, channels: [world.channel] },
        { evil: worldSpec(world, 'evil', ['python', 'pip'], ['./evilpkg']) },
      );
      const first = await qa(pr);
      expect(first.by.evil?.phase).not.toBe('spec');
      expect(readFileSync(cached[0]!, 'utf8')).toBe(cachedBefore);

      // a later build links numpy from the cache: it gets the package as published
      const later = writeRepo(
        join(world.base, 'pr-later'),
        { envs: { later: 'REPLICATE' }, channels: [world.channel] },
        { later: worldSpec(world, 'later', ['python', 'numpy=1.26.4']) },
      );
      const second = await qa(later);
      expect(second.code).toBe(0);
      const builds = join(world.root, 'v23.11.0', 'builds', 'later');
      const id = readdirSync(builds).find((e) => /^[0-9a-f]+$/.test(e))!;
      expect(readFileSync(moduleInit(join(builds, id), 'numpy'), 'utf8')).not.toMatch(/TAMPERED/);
    },
    240_000,
  );
});

describe('without a sandbox, the env test scripts of a PR are refused unless the inventory allows them', () => {
  const script = (marker: string) => `#!/bin/sh\ntouch '${marker}'\n`;

  const REFUSED =
    'CONDA_GITOPS_SANDBOX=none: the report says there is no sandbox and census.test.sh is not run (exit 1)';
  test(
    REFUSED,
    async () => {
      const marker = join(world.base, 'refused-marker');
      const pr = writeRepo(
        join(world.base, 'pr-nosandbox'),
        { envs: { census: 'REPLICATE' }, channels: [world.channel] },
        { census: worldSpec(world, 'census', ['python', 'zlib']) },
        { 'env-specs/census.test.sh': script(marker) },
      );
      const { code, report, by, out } = await qa(pr, { CONDA_GITOPS_SANDBOX: 'none' });
      expect(code).toBe(1);
      expect(by.census).toMatchObject({ status: 'failed', phase: 'test' });
      expect(by.census!.hint).toMatch(/census\.test\.sh not run: this runner has no sandbox; install bubblewrap/);
      expect(by.census!.excerpt!.join('\n')).toMatch(/unsandboxed-tests = allow/);
      expect(existsSync(marker)).toBe(false);
      expect(report.isolation).toMatchObject({ sandbox: 'none' });
      expect(report.isolation!.note).toMatch(/WITHOUT a sandbox \(CONDA_GITOPS_SANDBOX=none\)/);
      expect(out.errors.join('\n')).toMatch(/WITHOUT a sandbox/);
      const summary = readFileSync(join(world.root, '.gitops', 'runs', report.runId, 'summary.md'), 'utf8');
      expect(summary).toMatch(/\*\*Warning:\*\* Isolation: builds and tests ran WITHOUT a sandbox/);
    },
    180_000,
  );

  const ALLOWED = 'with `unsandboxed-tests = allow` in [conda] the test script runs and the report says so';
  test(
    ALLOWED,
    async () => {
      const marker = join(world.base, 'allowed-marker');
      const dir = join(world.base, 'pr-allowed');
      writeRepo(
        dir,
        { envs: { census: 'REPLICATE' }, channels: [world.channel] },
        { census: worldSpec(world, 'census', ['python', 'zlib']) },
        { 'env-specs/census.test.sh': script(marker) },
      );
      const inv = join(dir, 'inventory.ini');
      writeFileSync(inv, readFileSync(inv, 'utf8').replace('[conda]\n', '[conda]\nunsandboxed-tests = allow\n'));
      const { code, report } = await qa(dir, { CONDA_GITOPS_SANDBOX: 'none' });
      expect(code).toBe(0);
      expect(existsSync(marker)).toBe(true);
      expect(report.isolation!.note).toMatch(/ran unsandboxed because inventory.ini sets unsandboxed-tests = allow/);
    },
    180_000,
  );

  test('CONDA_GITOPS_SANDBOX with an unknown value is a usage error (exit 2)', async () => {
    const dir = writeRepo(
      join(world.base, 'pr-badvar'),
      { envs: { census: 'REPLICATE' }, channels: [world.channel] },
      { census: worldSpec(world, 'census', ['python', 'zlib']) },
    );
    const out = memoryOutput();
    const code = await runCommand('qa', {
      options: { root: world.root },
      positionals: [],
      out,
      repo: dir,
      env: env({ CONDA_GITOPS_SANDBOX: 'chroot' }),
    });
    expect(code).toBe(2);
    expect(out.errors.join('\n')).toMatch(/CONDA_GITOPS_SANDBOX=chroot: expected auto, bwrap or none/);
  }, 120_000);
});

describe.skipIf(noBwrap)('what a PR test can reach inside the sandbox: capabilities, host sockets, the runner', () => {
  let liveNumpy: string;
  let liveBefore: string;
  const saved: Record<string, string | undefined> = {};
  let runnerDir: string;
  let runnerHome: string;
  let socketDir: string;
  let server: import('node:net').Server;

  beforeAll(async () => {
    const main = writeRepo(
      join(world.base, 'main-reach'),
      { envs: { hlink: 'REPLICATE' }, channels: [world.channel] },
      { hlink: worldSpec(world, 'hlink', ['python', 'numpy=1.26.4']) },
    );
    const out = memoryOutput(true);
    const code = await runCommand('deploy', {
      options: { root: world.root, 'build-missing': true, json: true },
      positionals: [],
      out,
      repo: main,
      env: env(),
    });
    expect(code, out.errors.join('\n')).toBe(0);
    liveNumpy = moduleInit(join(world.root, 'envs', 'hlink'), 'numpy');
    liveBefore = readFileSync(liveNumpy, 'utf8');
    // an Actions runner: its own credentials beside _work, the job's workspace inside it, the user's home
    runnerDir = join(world.base, 'actions-runner');
    mkdirSync(join(runnerDir, '_work', 'repo', 'repo'), { recursive: true });
    writeFileSync(join(runnerDir, '.credentials'), '{"scheme":"OAuth","data":{"clientId":"RUNNER-CREDENTIAL"}}');
    writeFileSync(join(runnerDir, '.runner'), '{"agentName":"RUNNER-CREDENTIAL"}');
    runnerHome = join(world.base, 'runner-home');
    mkdirSync(join(runnerHome, '.ssh'), { recursive: true });
    writeFileSync(join(runnerHome, '.ssh', 'id_ed25519'), 'HOME-SECRET');
    for (const k of ['RUNNER_WORKSPACE', 'GITHUB_WORKSPACE', 'HOME']) saved[k] = process.env[k];
    process.env.RUNNER_WORKSPACE = join(runnerDir, '_work', 'repo');
    process.env.GITHUB_WORKSPACE = join(runnerDir, '_work', 'repo', 'repo');
    process.env.HOME = runnerHome;
    // a service of the host listening on a Unix socket (an ssh agent, a docker socket)
    const net = await import('node:net');
    socketDir = mkdtempSync(join(tmpdir(), 'cg-host-sock-'));
    server = net.createServer((c) => c.end('HOST-SOCKET-ANSWERED\n'));
    await new Promise<void>((ok) => server.listen(join(socketDir, 'agent.sock'), ok));
  }, 180_000);
  afterAll(() => {
    for (const [k, v] of Object.entries(saved))
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    server?.close();
    if (socketDir) rmSync(socketDir, { recursive: true, force: true });
  });

  const REACH =
    'a PR test that remounts / read-write, reads the runner credentials and home, and talks ' +
    'to a host Unix socket reaches none of them; the live env is unchanged';
  test(
    REACH,
    async () => {
      const attack = [
        '#!/bin/sh',
        `echo "caps: $(grep CapEff /proc/self/status)"`,
        'mount -o remount,bind,rw / 2>/dev/null && echo "REMOUNTED"',
        'for f in "$CONDA_PREFIX"/../../../../envs/hlink/lib/python*/site-packages/numpy/__init__.py; do',
        `  printf '\\nprint("PR code ran")\\n' >> "$f" 2>/dev/null && echo "WROTE-LIVE"`,
        'done',
        `cat ${join(runnerDir, '.credentials')} ${join(runnerDir, '.runner')} 2>/dev/null`,
        `cat ${join(runnerHome, '.ssh', 'id_ed25519')} 2>/dev/null`,
        "python -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); " +
          `print(s.recv(99).decode())' ${join(socketDir, 'agent.sock')} 2>/dev/null`,
        'echo done',
        '',
      ].join('\n');
      const pr = writeRepo(
        join(world.base, 'pr-reach'),
        { envs: { hlink: 'REPLICATE', reach: 'REPLICATE' }, channels: [world.channel] },
        {
          hlink: worldSpec(world, 'hlink', ['python', 'numpy=1.26.4']),
          reach: worldSpec(world, 'reach', ['python', 'zlib']),
        },
        { 'env-specs/reach.test.sh': attack },
      );
      const { report, by } = await qa(pr);
      const log = readFileSync(join(world.root, '.gitops', 'runs', report.runId, 'logs', 'reach.log'), 'utf8');
      expect(by.reach?.status, JSON.stringify(by.reach)).toBe('tested');
      expect(log).toMatch(/done/);
      expect(log).toMatch(/CapEff:\s+0+\b/);
      for (const reached of ['REMOUNTED', 'WROTE-LIVE', 'RUNNER-CREDENTIAL', 'HOME-SECRET', 'HOST-SOCKET-ANSWERED'])
        expect(log).not.toContain(reached);
      expect(readFileSync(liveNumpy, 'utf8')).toBe(liveBefore);
      if (process.getuid?.() === 0) {
        expect(report.isolation!.note).toMatch(/the runner runs as root/);
        const summary = readFileSync(join(world.root, '.gitops', 'runs', report.runId, 'summary.md'), 'utf8');
        expect(summary).toMatch(/\*\*Warning:\*\* Isolation: .*the runner runs as root/);
      }
    },
    240_000,
  );
});

describe.skipIf(noBwrap)("a PR's build (pip's build backend) sees a private /tmp: no host socket, no host file", () => {
  let hostTmp: string;
  let server: import('node:net').Server;
  let connections = 0;

  beforeAll(async () => {
    // under /tmp itself (not TMPDIR): an ssh agent's or X server's socket, a file another user left there
    hostTmp = mkdtempSync('/tmp/cg-host-tmp-');
    writeFileSync(join(hostTmp, 'secret.txt'), 'TMP-SECRET');
    const net = await import('node:net');
    server = net.createServer((c) => {
      connections++;
      c.end('HOST-SOCKET-ANSWERED\n');
    });
    await new Promise<void>((ok) => server.listen(join(hostTmp, 'agent.sock'), ok));
  });
  afterAll(() => {
    server?.close();
    if (hostTmp) rmSync(hostTmp, { recursive: true, force: true });
  });

  const BUILD_TMP =
    "a PR's pip build backend cannot connect to a Unix socket or read a file under the host's /tmp, while the " +
    'build itself still installs from a file:// channel and a wheel directory under /tmp';
  test(
    BUILD_TMP,
    async () => {
      expect(world.channel).toMatch(/^file:\/\/\/tmp\//); // the channel the build needs is under /tmp too
      expect(world.wheels).toMatch(/^\/tmp\//); // and pip's wheel directory (PIP_FIND_LINKS)
      const pr = join(world.base, 'pr-build-tmp');
      mkdirSync(join(pr, 'env-specs'), { recursive: true });
      const pkg = makeGitPackage(join(pr, 'env-specs', 'tmppkg'), 'tmppkg', '1.0');
      // the backend runs when pip builds the package: what it reaches fails the build, loudly
      const attack = [
        'import socket as _s',
        '_reached = []',
        'try:',
        `    _reached.append(open(${JSON.stringify(join(hostTmp, 'secret.txt'))}).read())`,
        'except OSError:',
        '    pass',
        'try:',
        '    _c = _s.socket(_s.AF_UNIX)',
        `    _c.connect(${JSON.stringify(join(hostTmp, 'agent.sock'))})`,
        '    _reached.append(_c.recv(99).decode())',
        'except OSError:',
        '    pass',
        'if _reached:',
        '    raise SystemExit("REACHED " + " ".join(_reached))',
        '',
      ].join('\n');
      const backend = join(pkg.dir, '_fixture_backend.py');
      writeFileSync(backend, attack + readFileSync(backend, 'utf8'));
      writeRepo(
        pr,
        { envs: { tmpenv: 'REPLICATE' }, channels: [world.channel] },
        { tmpenv: worldSpec(world, 'tmpenv', ['python', 'pip', 'zlib'], ['./tmppkg', 'tabulate']) },
      );
      const { report, by } = await qa(pr);
      const log = readFileSync(join(world.root, '.gitops', 'runs', report.runId, 'logs', 'tmpenv.log'), 'utf8');
      expect(log).not.toMatch(/TMP-SECRET|HOST-SOCKET-ANSWERED/);
      expect(connections).toBe(0);
      expect(by.tmpenv?.status, JSON.stringify(by.tmpenv)).toBe('tested');
    },
    240_000,
  );
});
