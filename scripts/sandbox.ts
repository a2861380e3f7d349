#!/usr/bin/env node
/**
 * `npm run sandbox`: the whole loop on a throw-away installation with the fake conda, under .sandbox/.
 *
 *   1. an old, hand-run installation (conda 4.3.22) whose envs show every failure cause of the seed account;
 *   2. adopt it into a scratch git repository; the admin names the installer and the internal channels;
 *   2b. an attack: a pull request's build plants an activate.d symlink into a live env; the tool refuses to write
 *      through it (one blocked attack per class: symlink here, the test script in 7, installer and cache in 7b);
 *   3. a pull request that upgrades conda to 23.11.0: QA installs it itself (install-conda, with the fake
 *      installer `[conda] installer` names), builds every env into the new installation and prints the failure
 *      table; `fix` applies the remediation rules; QA again: one env still fails;
 *   4. merge with `allow-failures` naming it: deploy goes live with the rest (the cutover), the one left out stays
 *      served from the old installation; `rollback --installation`; a plain deploy refuses to undo it; the fix of
 *      the last env (a repository change) goes live;
 *   5. a second change deployed, rollback, roll forward, a hand change in a live env repaired (deploy --repair),
 *      one env rolled back to its previous build (rollback --env), history;
 *   6. a failing test in a PR leaves main alone; a kernel added in a PR;
 *   7. an attack: a pull request whose env test script writes into another env's live build; QA blocks it;
 *   7b. a pull request that rewrites how QA runs (installer, unsandboxed tests, pass-env): its QA ignores it;
 *   8. gc (dry run): what it would remove, which installations it keeps and why.
 *
 * Every step runs the real CLI (dist/scripts/cli/main.js) as a user would. Nothing outside .sandbox/ is written.
 */
import { $, cd, fs, path } from 'zx';
import { readdirSync, writeFileSync } from 'node:fs';
import {
  hostPython,
  installerTemplate,
  installFakeConda,
  makeGitPackage,
  makePlantingPackage,
  runConda,
  writeChannel,
  writeWheel,
  type ChannelRecord,
} from '../test/fake-conda/index.js';

const ROOT_DIR = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const CLI = path.join(ROOT_DIR, 'dist', 'scripts', 'cli', 'main.js');
const SANDBOX = path.join(ROOT_DIR, '.sandbox');
const OLD = '4.3.22';

/**
 * `npm run sandbox -- --frontend micromamba|mamba` (or SANDBOX_FRONTEND=...): the upgrade goes to micromamba 2.0.5
 * (a single binary, no conda) or to conda 23.11.0 with mamba 2.0.5 beside it (Miniforge-like) instead of conda.
 */
function frontendArg(): 'conda' | 'mamba' | 'micromamba' {
  const i = process.argv.indexOf('--frontend');
  const given =
    (i >= 0 ? process.argv[i + 1] : process.argv.find((a) => a.startsWith('--frontend='))?.slice(11)) ??
    process.env.SANDBOX_FRONTEND ??
    'conda';
  if (given !== 'conda' && given !== 'mamba' && given !== 'micromamba')
    throw new Error(`--frontend ${given}: expected conda, mamba or micromamba`);
  return given;
}
const FRONTEND = frontendArg();
/** The inventory's version: micromamba's own for micromamba, conda's otherwise. */
const NEW = FRONTEND === 'micromamba' ? '2.0.5' : '23.11.0';
const MAMBA = '2.0.5';

const paths = {
  root: path.join(SANDBOX, 'root'),
  repo: path.join(SANDBOX, 'repo'),
  channels: path.join(SANDBOX, 'channels'),
  wheels: path.join(SANDBOX, 'wheelhouse'),
  sources: path.join(SANDBOX, 'sources'),
  installers: path.join(SANDBOX, 'installers'),
};

const PUBLIC: ChannelRecord[] = [
  { name: 'python', version: '3.11.4', module: false },
  { name: 'pip', version: '23.2.1', noarch: 'python', depends: ['python'] },
  { name: 'numpy', version: '1.25.0', depends: ['python'] },
  { name: 'numpy', version: '1.26.4', depends: ['python'] },
  { name: 'pandas', version: '2.1.4', depends: ['python', 'numpy'] },
  { name: 'ipykernel', version: '6.29.0', noarch: 'python', depends: ['python'] },
  { name: 'requests', version: '2.31.0', noarch: 'python', depends: ['python'] },
  { name: 'six', version: '1.16.0', noarch: 'python', depends: ['python'] },
  { name: 'tabulate', version: '0.9.0', noarch: 'python', depends: ['python'] },
];
/** The internal channel: ipums_tools 0.8.0 is there when the old envs are made, gone by the upgrade. */
const internal = (toolVersions: string[]): ChannelRecord[] => [
  { name: 'ipums_utils', version: '1.2', legacyNoarchPython: true, depends: ['python'] },
  ...toolVersions.map((version) => ({ name: 'ipums_tools', version, depends: ['python'] })),
];

function banner(text: string): void {
  const line = '─'.repeat(Math.max(60, text.length + 4));
  process.stdout.write(`\n${line}\n  ${text}\n${line}\n`);
}

/** Run the CLI like a user at a terminal: output streams through; the exit code is returned, not thrown. */
async function cli(args: string[], opts: { expect?: number[] } = {}): Promise<number> {
  process.stdout.write(`\n$ conda-gitops ${args.join(' ')}\n`);
  const r = await $({ stdio: 'inherit', nothrow: true, cwd: paths.repo })`node ${CLI} ${args}`;
  const code = r.exitCode ?? 1;
  const expected = opts.expect ?? [0];
  if (!expected.includes(code))
    throw new Error(`conda-gitops ${args.join(' ')} exited ${code} (expected ${expected.join(' or ')})`);
  process.stdout.write(`(exit ${code})\n`);
  return code;
}

/** The same with --json: the human text streams through (stderr), the machine output (stdout) is returned. */
async function cliJson(args: string[], opts: { expect?: number[] } = {}): Promise<string> {
  process.stdout.write(`\n$ conda-gitops ${args.join(' ')}\n`);
  const r = await $({ stdio: ['inherit', 'pipe', 'inherit'], nothrow: true, cwd: paths.repo })`node ${CLI} ${[
    ...args,
    '--json',
  ]}`;
  const code = r.exitCode ?? 1;
  const expected = opts.expect ?? [0];
  if (!expected.includes(code))
    throw new Error(`conda-gitops ${args.join(' ')} exited ${code} (expected ${expected.join(' or ')})`);
  process.stdout.write(`(exit ${code})\n`);
  return r.stdout;
}

async function git(...args: string[]): Promise<string> {
  const r = await $({
    cwd: paths.repo,
    quiet: true,
  })`git -c user.name=sandbox -c user.email=sandbox@example.invalid -c commit.gpgsign=false ${args}`;
  return r.stdout.trim();
}

function createOldEnv(conda: string, name: string, deps: string[], pip: string[] = []): void {
  const file = path.join(SANDBOX, 'old-specs', `${name}.yml`);
  fs.mkdirpSync(path.dirname(file));
  const lines = ['name: ' + name, 'dependencies:', ...deps.map((d) => `  - ${d}`)];
  if (pip.length) lines.push('  - pip:', ...pip.map((p) => `      - ${p}`));
  writeFileSync(file, lines.join('\n') + '\n');
  const r = runConda(conda, ['env', 'create', '-f', file, '-n', name]);
  if (r.code !== 0) throw new Error(`creating old env ${name} failed:\n${r.stdout}${r.stderr}`);
  process.stdout.write(`  old env ${name}: ${deps.join(', ')}${pip.length ? ` | pip: ${pip.join(', ')}` : ''}\n`);
}

async function buildOldInstallation(): Promise<void> {
  banner(`1. An old hand-run installation: conda ${OLD} with envs showing every failure cause`);
  writeChannel(path.join(paths.channels, 'conda-forge'), PUBLIC);
  writeChannel(path.join(paths.channels, 'mpc'), internal(['0.8.0', '0.9.1', '1.0.0']));
  for (const [n, v] of [
    ['tabulate', '0.9.0'],
    ['six', '1.16.0'],
    ['requests', '2.31.0'],
  ] as const)
    writeWheel(paths.wheels, n, v);
  const linker = makeGitPackage(path.join(paths.sources, 'linktools'), 'linktools', '0.3.0');
  const condarc = {
    channels: ['conda-forge', 'mpc'],
    customChannels: { 'conda-forge': `file://${paths.channels}`, mpc: `file://${paths.channels}` },
    installersDir: paths.installers,
  };
  const old = installFakeConda(path.join(paths.root, `v${OLD}`), OLD, condarc);
  createOldEnv(old.conda, 'analytics', ['python', 'numpy=1.26.4', 'pandas', 'ipykernel', 'pip'], ['tabulate==0.9.0']);
  createOldEnv(old.conda, 'census', ['python', 'ipums_tools=0.8.0', 'numpy=1.25.0']);
  createOldEnv(old.conda, 'hlink', ['python', 'pip', 'numpy'], [linker.url + '#egg=linktools']);
  createOldEnv(old.conda, 'ipums', ['python', 'ipums_utils=1.2', 'requests']);
  createOldEnv(old.conda, 'scraper', ['python', 'requests', 'pip'], ['requests==2.31.0', 'six==1.16.0']);
  createOldEnv(old.conda, 'reports', ['python', 'pandas', 'pip'], ['tabulate==0.9.0']);
  // the Jupyter kernel users have: a kernelspec in the installation's share/jupyter/kernels running analytics
  const spec = path.join(old.prefix, 'share', 'jupyter', 'kernels', 'analytics');
  fs.mkdirpSync(spec);
  const python = path.join(old.prefix, 'envs', 'analytics', 'bin', 'python');
  fs.writeFileSync(
    path.join(spec, 'kernel.json'),
    JSON.stringify({
      argv: [python, '-m', 'ipykernel_launcher', '-f', '{connection_file}'],
      display_name: 'Analytics (Python 3)',
      language: 'python',
    }),
  );
  // the unmanaged layout of the account: current -> v4.3.22, envs are real directories inside it
  fs.symlinkSync(`v${OLD}`, path.join(paths.root, 'current'));
  // later, the internal channel drops ipums_tools 0.8.0 (the seed account's "versions gone")
  writeChannel(path.join(paths.channels, 'mpc'), internal(['0.9.1', '1.0.0', '1.1.0']));
  process.stdout.write(`  internal channel 'mpc' no longer has ipums_tools 0.8.0 (has 0.9.1, 1.0.0, 1.1.0)\n`);
}

/** Set (or with undefined remove) the [conda] key `key` of the repository's inventory.ini (appended when absent). */
function setCondaKey(key: string, value: string | undefined): void {
  const file = path.join(paths.repo, 'inventory.ini');
  let text = fs.readFileSync(file, 'utf8');
  const line = new RegExp(`^${key} = .*\\n`, 'm');
  if (value === undefined) text = text.replace(line, '');
  else if (line.test(text)) text = text.replace(line, `${key} = ${value}\n`);
  else text = text.replace(/^(\[conda\]\n(?:[^[\n].*\n)*)/m, `$1${key} = ${value}\n`);
  fs.writeFileSync(file, text);
}

/** A new env in the pull request: env-specs/NAME.yml (`spec`, its lines) and `NAME = REPLICATE` in [environments]. */
function addEnv(name: string, spec: string[]): void {
  fs.writeFileSync(path.join(paths.repo, 'env-specs', `${name}.yml`), spec.join('\n') + '\n');
  const inv = path.join(paths.repo, 'inventory.ini');
  fs.writeFileSync(
    inv,
    fs.readFileSync(inv, 'utf8').replace(/^\[environments\]$/m, `[environments]\n${name} = REPLICATE`),
  );
}

/** The [conda] section of the inventory, as a reviewer sees it. */
function showConda(): void {
  const text = fs.readFileSync(path.join(paths.repo, 'inventory.ini'), 'utf8');
  const section = /^\[conda\]\n(?:(?!\[).*\n)*/m.exec(text)?.[0] ?? '';
  process.stdout.write(`\n  inventory.ini:\n${section.trimEnd().replace(/^/gm, '    ')}\n`);
}

async function adopt(): Promise<void> {
  banner('2. Adopt it into a git repository (inventory.ini + env-specs/)');
  fs.mkdirpSync(paths.repo);
  await git('init', '-q', '-b', 'main');
  await cli(['adopt', '--root', path.join(paths.root, `v${OLD}`), '--replicate', 'all']);
  // the Jupyter kernel users had is found at adoption (its kernelspec runs envs/analytics): [kernels] has it
  const inventory = fs.readFileSync(path.join(paths.repo, 'inventory.ini'), 'utf8');
  const kernels = /^\[kernels\]\n(?:(?!\[).*\n)*/m.exec(inventory)?.[0] ?? '';
  process.stdout.write(
    `\n  inventory.ini, the kernels found at adoption:\n${kernels.trimEnd().replace(/^/gm, '    ')}\n`,
  );
  if (!/^analytics += Analytics \(Python 3\)$/m.test(inventory)) throw new Error('adopt did not find the kernel');
  // ... and what a new installation needs: the installer (here the fake one, a Miniconda-like shell script) and
  // the internal channels the old .condarc had, which install-conda writes into the new installation's .condarc
  const template = installerTemplate(paths.installers, [NEW]);
  setCondaKey('installer', template);
  setCondaKey('custom-channels', `conda-forge=file://${paths.channels}, mpc=file://${paths.channels}`);
  // the fake installer's own settings (which frontend it lays down, the host python it links) reach it this way
  setCondaKey('pass-env', 'FAKE_CONDA_FRONTEND, FAKE_MAMBA_VERSION, FAKE_CONDA_PYTHON, FAKE_CONDA_PYTHON_VERSION');
  showConda();
  await git('add', '-A');
  await git('commit', '-qm', 'adopt the existing installation');
}

/**
 * 2b. The symlink attack (conda < 4.9 keeps `variables:` in activation scripts the tool writes into the built
 * prefix): a PR's pip build backend plants `$PREFIX/etc/conda/activate.d` -> a live env's site-packages; the
 * tool, outside the sandbox, refuses to write through it and the build fails saying so.
 */
async function symlinkAttack(): Promise<void> {
  banner("2b. An attack: a PR's build plants an activate.d symlink into a live env (hlink); the tool refuses it");
  await git('checkout', '-q', '-b', 'symlink-attack');
  const liveLib = path.join(paths.root, `v${OLD}`, 'envs', 'hlink', 'lib');
  // a local pip package whose in-tree build backend runs as part of the PR's build
  const dest = path.join(paths.repo, 'env-specs', 'varpkg');
  const plant = makePlantingPackage(path.join(paths.sources, 'varpkg'), dest, liveLib);
  process.stdout.write(`\n  env-specs/varpkg/_fixture_backend.py (prepended):\n${plant.replace(/^/gm, '    ')}\n`);
  const spec = ['name: vars', 'channels:', '  - conda-forge', 'dependencies:', '  - python', '  - pip'];
  addEnv('vars', [...spec, '  - pip:', '    - ./varpkg', 'variables:', '  GDAL_DATA: /srv/gdal']);
  await git('add', '-A');
  await git('commit', '-qm', 'vars: a new env with variables');
  const live = () => snapshot(path.join(paths.root, `v${OLD}`, 'envs', 'hlink'));
  const before = live();
  const { runId } = JSON.parse(await cliJson(['qa', '--base', 'main', '--head', 'HEAD'], { expect: [1] })) as {
    runId: string;
  };
  const report = JSON.parse(
    fs.readFileSync(path.join(paths.root, '.gitops', 'runs', runId, 'report.json'), 'utf8'),
  ) as { envs: Array<{ env: string; status: string; class?: string; hint?: string; excerpt?: string[] }> };
  const vars = report.envs.find((e) => e.env === 'vars');
  const unchanged = live() === before;
  process.stdout.write(
    [
      '',
      `  vars: ${vars?.status} (${vars?.class}): ${vars?.hint ?? ''}`,
      ...(vars?.excerpt ?? []).map((l) => `    | ${l}`),
      `  live hlink: ${unchanged ? 'unchanged (no conda-gitops-variables.sh written into it)' : 'CHANGED'}`,
      '',
    ].join('\n'),
  );
  const said = [vars?.hint ?? '', ...(vars?.excerpt ?? [])].join('\n');
  if (vars?.status !== 'failed' || !unchanged || !/symlink/.test(said)) throw new Error('the symlink was followed');
  if (vars.class !== 'unsafe-prefix') throw new Error(`vars failed as ${vars.class}, not unsafe-prefix`);
  await git('checkout', '-q', '-f', 'main');
}

async function upgradePullRequest(): Promise<void> {
  banner(`3. Pull request: upgrade conda ${OLD} -> ${FRONTEND} ${NEW}; QA installs it and replicates every env`);
  await git('checkout', '-q', '-b', 'upgrade-conda');
  setCondaKey('version', NEW);
  setCondaKey('frontend', FRONTEND);
  await git('commit', '-qam', `upgrade to ${FRONTEND} ${NEW}`);
  process.stdout.write(`\n  root/v${NEW} does not exist yet: QA runs install-conda with [conda] installer\n`);
  await cli(['qa', '--base', 'main', '--head', 'HEAD', '--jobs', '2'], { expect: [1] });
  const rc = path.join(paths.root, `v${NEW}`, '.condarc');
  process.stdout.write(
    `\n  ${rc} (from inventory.ini):\n${fs.readFileSync(rc, 'utf8').trimEnd().replace(/^/gm, '    ')}\n`,
  );
  process.stdout.write(
    `  root/qa -> ${fs.readlinkSync(path.join(paths.root, 'qa'))}, root/current -> ` +
      `${fs.readlinkSync(path.join(paths.root, 'current'))}\n`,
  );

  banner('3b. fix: the remediation rules rewrite the specs (a reviewer sees the diff)');
  await cli(['fix', '--root', paths.root], { expect: [0, 1] });
  await git('commit', '-qam', 'fix: remediation rules');
  await cli(['qa', '--base', 'main', '--head', 'HEAD', '--jobs', '2'], { expect: [1] });
}

async function deployAndRollback(): Promise<void> {
  banner('4. Go live with what passed: allow-failures = census, merge, deploy = one atomic cutover');
  // census needs a version the channel dropped: its fix takes longer, the other envs go live without it
  setCondaKey('allow-failures', 'census');
  await git('commit', '-qam', 'allow-failures: census (repaired in a follow-up PR)');
  await git('checkout', '-q', 'main');
  await git('merge', '-q', '--ff-only', 'upgrade-conda');
  await cli(['deploy', '--dry-run']);
  await cli(['deploy']);
  await cli(['status'], { expect: [0, 1] });
  const served = path.join(paths.root, `v${OLD}`, 'envs', 'census');
  process.stdout.write(
    `\n  root/envs/analytics -> ${fs.realpathSync(path.join(paths.root, 'envs', 'analytics'))}` +
      `\n  census (left out) is still served from the old installation: ${served}` +
      ` (${fs.existsSync(path.join(served, 'bin', 'python')) ? 'bin/python is there' : 'MISSING'})\n`,
  );
  if (!fs.existsSync(path.join(served, 'bin', 'python'))) throw new Error(`${served} is not served`);

  banner(`4a. rollback --installation: current back to v${OLD}; a plain deploy refuses to undo it`);
  // v${NEW} was deployed from the adopted v${OLD} (its own envs directory): current goes back to it
  await cli(['rollback', '--installation']);
  const current = fs.readlinkSync(path.join(paths.root, 'current'));
  process.stdout.write(`\n  root/current -> ${current}\n`);
  if (current !== `v${OLD}`) throw new Error(`rollback --installation left current -> ${current}`);
  await cli(['status'], { expect: [1] });
  await cli(['deploy'], { expect: [1] });

  banner('4b. The repository changes: census fixed (accept the nearest version), allow-failures dropped');
  await git('checkout', '-q', '-b', 'census-fix');
  await cli(['fix', '--root', paths.root, '--accept-nearest'], { expect: [0, 1] });
  setCondaKey('allow-failures', undefined);
  await git('commit', '-qam', 'census: accept nearest available versions; no allow-failures');
  await cli(['qa', '--base', 'main', '--head', 'HEAD', '--jobs', '2']);
  banner('4c. The same QA again builds nothing: builds are content-addressed');
  await cli(['qa', '--base', 'main', '--head', 'HEAD', '--jobs', '2']);
  await git('checkout', '-q', 'main');
  await git('merge', '-q', '--ff-only', 'census-fix');
  // a new commit with new links: the deploy switches forward again (the rolled-back links are not the desired)
  await cli(['deploy']);
  await cli(['status']);
  process.stdout.write(`\n  root/current -> ${fs.readlinkSync(path.join(paths.root, 'current'))}\n`);

  banner('5. A second change (add requests to analytics): QA, merge, deploy');
  await git('checkout', '-q', '-b', 'analytics-requests');
  const spec = path.join(paths.repo, 'env-specs', 'analytics.yml');
  fs.writeFileSync(
    spec,
    fs
      .readFileSync(spec, 'utf8')
      .replace(/^(\s*)- pandas.*$/m, (line: string, indent: string) => `${line}\n${indent}- requests`),
  );
  await git('commit', '-qam', 'analytics: add requests');
  await cli(['qa', '--base', 'main', '--head', 'HEAD']);
  await git('checkout', '-q', 'main');
  await git('merge', '-q', '--ff-only', 'analytics-requests');
  await cli(['deploy']);

  banner('5b. Rollback (instant), status shows the revert-or-fix hint, roll forward, history');
  await cli(['rollback']);
  await cli(['status'], { expect: [0, 1] });
  await cli(['deploy', '--force']);

  banner('5c. A hand change in a live env: status names the repair, deploy --repair rebuilds it from git');
  const liveAnalytics = path.join(paths.root, 'envs', 'analytics');
  const inst = path.join(paths.root, `v${NEW}`);
  const conda = path.join(inst, 'bin', FRONTEND);
  // micromamba and mamba 2 are told their root (-r), as an admin of a shared installation would
  const root = FRONTEND === 'conda' ? [] : ['-r', inst];
  process.stdout.write(`\n  $ ${FRONTEND} install -y -p ${liveAnalytics} six   (by hand, on the live env)\n`);
  const hand = runConda(conda, ['install', '-y', ...root, '-p', liveAnalytics, 'six']);
  if (hand.code !== 0) throw new Error(`${FRONTEND} install into ${liveAnalytics} failed:\n${hand.stderr}`);
  await cli(['status'], { expect: [1] });
  await cli(['deploy', '--repair', 'analytics']);
  await cli(['status']);

  banner('5d. rollback --env: analytics alone back to its previous distinct build (before requests)');
  await cli(['rollback', '--env', 'analytics', '--dry-run']);
  await cli(['rollback', '--env', 'analytics']);
  // main still asks for the repaired build: held back (rolled back) until git changes, or --force; the dry run
  // exits 1 as the deploy would
  await cli(['deploy', '--dry-run'], { expect: [1] });
  await cli(['deploy', '--force']);
  await cli(['status']);
  await cli(['history']);
}

async function verdicts(): Promise<void> {
  banner('6. A PR with a failing test fails QA, and main is not disturbed (verdicts are keyed by the tests)');
  await git('checkout', '-q', '-b', 'census-test');
  fs.writeFileSync(path.join(paths.repo, 'env-specs', 'census.test.py'), 'raise SystemExit("census: check failed")\n');
  await git('add', '-A');
  await git('commit', '-qm', 'census: a test that fails');
  await cli(['qa', '--base', 'main', '--head', 'HEAD'], { expect: [1] });
  await git('checkout', '-q', 'main');
  await cli(['deploy', '--dry-run']);
  await cli(['status']);

  banner('6b. A kernel added in a PR: plan says test, QA runs its ipykernel check');
  await git('checkout', '-q', '-b', 'reports-kernel');
  const file = path.join(paths.repo, 'inventory.ini');
  fs.writeFileSync(
    file,
    fs.readFileSync(file, 'utf8').replace(/^\[kernels\]$/m, '[kernels]\nreports = Reports (Python 3)'),
  );
  await git('commit', '-qam', 'reports as a Jupyter kernel');
  await cli(['plan', '--base', 'main', '--head', 'HEAD']);
  await cli(['qa', '--base', 'main', '--head', 'HEAD'], { expect: [1] });
  await git('checkout', '-q', 'main');
}

/** Every file under `dir`, with its content: what a change to the live env would show. */
function snapshot(dir: string): string {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push(`${p}\n${fs.readFileSync(p, 'utf8')}`);
    }
  };
  walk(dir);
  return out.join('\n');
}

async function blockedAttack(): Promise<void> {
  banner("7. An attack: a PR's test script writes into another team's live env (hlink); QA blocks it");
  const live = fs.realpathSync(path.join(paths.root, 'envs', 'hlink'));
  const before = snapshot(live);
  await git('checkout', '-q', '-b', 'census-attack');
  const script = [
    '#!/bin/sh',
    '# a "test" that appends to a module of the live hlink env, reached from its own build',
    'for f in "$CONDA_PREFIX"/../../../../envs/hlink/lib/python*/site-packages/numpy/__init__.py; do',
    `  printf '\\nprint("PR code ran")\\n' >> "$f"`,
    'done',
    '',
  ].join('\n');
  fs.writeFileSync(path.join(paths.repo, 'env-specs', 'census.test.sh'), script);
  process.stdout.write(`\n  env-specs/census.test.sh:\n${script.replace(/^/gm, '    ')}\n`);
  await git('add', '-A');
  await git('commit', '-qm', 'census: a test');
  // the report of this run, by the run id QA printed (--json: the report on stdout), never the newest directory
  const { runId } = JSON.parse(await cliJson(['qa', '--base', 'main', '--head', 'HEAD'], { expect: [1] })) as {
    runId: string;
  };
  const report = JSON.parse(
    fs.readFileSync(path.join(paths.root, '.gitops', 'runs', runId, 'report.json'), 'utf8'),
  ) as {
    isolation?: { note: string };
    envs: Array<{ env: string; status: string; hint?: string; excerpt?: string[] }>;
  };
  const census = report.envs.find((e) => e.env === 'census');
  process.stdout.write(
    [
      '',
      `  isolation: ${report.isolation?.note ?? '(not reported)'}`,
      `  census: ${census?.status}: ${census?.hint ?? ''}`,
      ...(census?.excerpt ?? []).map((l) => `    | ${l}`),
      `  live hlink (${live}): ${snapshot(live) === before ? 'unchanged' : 'CHANGED'}`,
      '',
    ].join('\n'),
  );
  if (census?.status !== 'failed' || snapshot(live) !== before) throw new Error('the attack was not blocked');
  await git('checkout', '-q', 'main');
}

/**
 * 7b. The trust rule: a pull request that rewrites how QA runs (its own installer, unsandboxed tests, a runner
 * variable in pass-env) changes nothing in its own QA, and what its builds download never reaches the shared
 * package cache.
 */
async function trustAttacks(): Promise<void> {
  banner('7b. A PR rewrites how QA runs (its own installer, unsandboxed tests, pass-env): its QA ignores it');
  await git('checkout', '-q', '-b', 'take-over');
  const pwned = path.join(SANDBOX, 'pwned');
  const evil = path.join(paths.repo, 'evil-installer.sh');
  fs.writeFileSync(evil, `#!/bin/sh\n# would run on the runner, outside any sandbox\necho pwned > '${pwned}'\n`);
  setCondaKey('installer', './evil-installer.sh');
  setCondaKey('unsandboxed-tests', 'allow');
  setCondaKey(
    'pass-env',
    'FAKE_CONDA_FRONTEND, FAKE_MAMBA_VERSION, FAKE_CONDA_PYTHON, FAKE_CONDA_PYTHON_VERSION, SLACK_WEBHOOK_URL',
  );
  showConda();
  // and a new env with a package the shared cache does not hold yet, so the PR's build downloads something
  const shared = path.join(paths.root, `v${NEW}`, 'pkgs');
  const before: string[] = readdirSync(shared).sort();
  const candidates = PUBLIC.filter((r) => r.name !== 'python').map((r) => `${r.name}-${r.version}-`);
  const fresh = candidates.find((c) => !before.some((e) => e.startsWith(c)))?.replace(/-([^-]+)-$/, '=$1');
  if (fresh)
    addEnv('cachetest', [
      'name: cachetest',
      'channels:',
      '  - conda-forge',
      'dependencies:',
      '  - python',
      `  - ${fresh}`,
    ]);
  await git('add', '-A');
  await git('commit', '-qm', 'take over QA');
  await cli(['qa', '--base', 'main', '--head', 'HEAD'], { expect: [0, 1] });
  const after: string[] = readdirSync(shared).sort();
  process.stdout.write(
    [
      '',
      `  the PR's installer: ${fs.existsSync(pwned) ? 'RAN' : "never ran (QA runs the base branch's installer)"}`,
      `  shared package cache ${shared}: ` +
        (after.join('\n') === before.join('\n')
          ? `unchanged (${fresh ?? 'nothing new'} went to the build's private cache)`
          : 'CHANGED'),
      '',
    ].join('\n'),
  );
  if (fs.existsSync(pwned) || after.join('\n') !== before.join('\n'))
    throw new Error('the trust rule did not hold: see above');
  await git('checkout', '-q', '-f', 'main');
}

async function housekeeping(): Promise<void> {
  banner('8. gc (a dry run unless --yes): what it would remove, which installations it keeps and why');
  await cli(['gc']);
}

async function main(): Promise<void> {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run npm ci (its prepare step compiles the CLI)`);
  fs.rmSync(SANDBOX, { recursive: true, force: true });
  fs.mkdirpSync(SANDBOX);
  // temporary files (checkouts of commits, derived env files, test homes) stay under .sandbox/ too: nothing outside
  // it is written, and nothing outside it (another program cleaning the shared /tmp) can pull them away mid-run
  const tmp = path.join(SANDBOX, 'tmp');
  fs.mkdirpSync(tmp);
  // pip never reaches for the network: every wheel comes from the sandbox's wheelhouse
  Object.assign(process.env, {
    TMPDIR: tmp,
    PIP_NO_INDEX: '1',
    PIP_FIND_LINKS: paths.wheels,
    PIP_DISABLE_PIP_VERSION_CHECK: '1',
    CONDA_GITOPS_ROOT: paths.root,
    // read by the fake installer (inventory pass-env): the frontend it lays down, the host python it links
    FAKE_CONDA_FRONTEND: FRONTEND,
    FAKE_MAMBA_VERSION: MAMBA,
    FAKE_CONDA_PYTHON: hostPython().python,
    FAKE_CONDA_PYTHON_VERSION: hostPython().version,
    // builds and tests run sandboxed without the user's home (docs/security.md): this checkout, node and the
    // python the fake envs link to may live there (nvm, pyenv), so they are shown read-only, as an admin would
    CONDA_GITOPS_SANDBOX_EXPOSE: [
      ROOT_DIR,
      path.dirname(path.dirname(fs.realpathSync(process.execPath))),
      path.dirname(path.dirname(hostPython().python)),
    ].join(':'),
  });
  cd(SANDBOX);
  const started = Date.now();
  await buildOldInstallation();
  await adopt();
  await symlinkAttack();
  await upgradePullRequest();
  await deployAndRollback();
  await verdicts();
  await blockedAttack();
  await trustAttacks();
  await housekeeping();
  banner(`Done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  process.stdout.write(
    [
      `  installation: ${paths.root}`,
      `  repository:   ${paths.repo}   (git log shows the PRs)`,
      `  QA reports:   ${path.join(paths.root, '.gitops', 'runs')}/<run-id>/{summary.md,report.json,junit.xml,logs/}`,
      `  history:      ${path.join(paths.root, '.gitops', 'history.jsonl')}`,
      '',
    ].join('\n'),
  );
}

try {
  await main();
} catch (e) {
  process.stderr.write(`\nsandbox failed: ${(e as Error).message}\n`);
  process.exitCode = 1;
}
