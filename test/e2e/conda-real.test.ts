/**
 * Opt-in: the adapter against a real conda. Set CONDA_GITOPS_REAL_INSTALLER to a Miniconda or
 * Miniforge `.sh` installer (or test/real-conda/installer.sh through a Miniconda3-V-Linux-x86_64.sh symlink: real
 * conda from ../shared/real-conda); optionally CONDA_GITOPS_REAL_CHANNEL to a reachable channel (URL or
 * file://, e.g. one `node dist/test/real-conda/make-channel.js` made), which then replaces the installation's
 * configured channels. Without a channel the env is created offline from the packages the installer ships.
 * Slow (minutes): not part of the default run.
 */
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { exportOne, pipSectionOf, setPipSection } from '../../scripts/engine/adopt.js';
import { legacyNoarchInstalled } from '../../scripts/engine/legacy-noarch.js';
import { compareCondaVersions } from '../../scripts/core/conda-version.js';
import { writeWheel } from '../fake-conda/index.js';
import { Conda, installConda, type CallOptions } from '../../scripts/engine/conda.js';
import { classify } from '../../scripts/core/classify.js';
import { buildSteps } from '../../scripts/engine/build.js';
import { activation, runProcess } from '../../scripts/engine/envtest.js';
import { parseSpec } from '../../scripts/core/spec.js';
import { variablesNeedScripts } from '../../scripts/core/activation.js';
import { writeVariableScripts } from '../../scripts/state/activation.js';

const installer = process.env.CONDA_GITOPS_REAL_INSTALLER;
const channel = process.env.CONDA_GITOPS_REAL_CHANNEL;
const LONG = 20 * 60_000;

/**
 * A local channel with one legacy noarch_python-style package: no `noarch` key, in linux-64, a pre-link script
 * `bin/.NAME-pre-link.sh` that needs the env's python (as the real ones run their bundled link.py with it).
 */
function legacyChannel(dir: string, name: string): string {
  const pkg = join(dir, 'pkg');
  const pre = `bin/.${name}-pre-link.sh`;
  const marker = `share/${name}/marker.txt`;
  const files: Record<string, string> = {
    [pre]: '#!/bin/bash\n"$PREFIX/bin/python" -c "import sys" || exit 1\n',
    [marker]: 'legacy\n',
  };
  const index = { name, version: '1.0', build: 'py_0', build_number: 0, depends: [], subdir: 'linux-64' };
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(join(pkg, rel, '..'), { recursive: true });
    writeFileSync(join(pkg, rel), text);
  }
  chmodSync(join(pkg, pre), 0o755);
  const sha = (t: string | Buffer) => createHash('sha256').update(t).digest('hex');
  mkdirSync(join(pkg, 'info'), { recursive: true });
  writeFileSync(join(pkg, 'info', 'index.json'), JSON.stringify(index));
  writeFileSync(join(pkg, 'info', 'files'), Object.keys(files).join('\n') + '\n');
  const paths = Object.entries(files).map(([p, t]) => ({
    _path: p,
    path_type: 'hardlink',
    sha256: sha(t),
    size_in_bytes: Buffer.byteLength(t),
  }));
  writeFileSync(join(pkg, 'info', 'paths.json'), JSON.stringify({ paths, paths_version: 1 }));
  const fn = `${name}-1.0-py_0.tar.bz2`;
  mkdirSync(join(dir, 'linux-64'), { recursive: true });
  mkdirSync(join(dir, 'noarch'), { recursive: true });
  execFileSync('tar', ['-cjf', join(dir, 'linux-64', fn), '-C', pkg, 'info', 'bin', 'share']);
  const tarball = readFileSync(join(dir, 'linux-64', fn));
  const record = {
    ...index,
    md5: createHash('md5').update(tarball).digest('hex'),
    sha256: sha(tarball),
    size: statSync(join(dir, 'linux-64', fn)).size,
  };
  const repodata = (subdir: string, packages: object) =>
    JSON.stringify({ info: { subdir }, packages, 'packages.conda': {}, repodata_version: 1 });
  writeFileSync(join(dir, 'linux-64', 'repodata.json'), repodata('linux-64', { [fn]: record }));
  writeFileSync(join(dir, 'noarch', 'repodata.json'), repodata('noarch', {}));
  return pathToFileURL(dir).href;
}

if (!installer) {
  describe('real conda (opt-in)', () => {
    const reason = 'CONDA_GITOPS_REAL_INSTALLER is not set (path of a Miniconda/Miniforge .sh installer)';
    console.info(`conda-real.test.ts skipped: ${reason}`);
    it.skip(`skipped: ${reason}`, () => {});
  });
} else {
  describe('real conda', () => {
    let root: string;
    let conda: Conda;
    // without a channel: offline, from the installer's package cache (no network at test time)
    const opts: CallOptions = { timeoutSeconds: 900, env: channel ? {} : { CONDA_OFFLINE: 'true' } };
    const channels = channel ? [channel] : [];

    beforeAll(async () => {
      root = mkdtempSync(join(tmpdir(), 'cg-real-'));
      const inst = join(root, 'installation');
      const r = await installConda(installer, inst, { timeoutSeconds: 900, log: join(root, 'install.log') });
      expect(r.code, r.stderr).toBe(0);
      if (channel) {
        // the channel replaces the installer's configured ones (offline, `defaults` cannot be fetched), as
        // install-conda writes [conda] channels; the rest of the installer's .condarc (e.g. `solver:`) stays
        const rc = join(inst, '.condarc');
        const rest = existsSync(rc) ? readFileSync(rc, 'utf8').replace(/^channels:\n(?:[ \t]+-.*\n)*/m, '') : '';
        writeFileSync(rc, `channels:\n  - ${channel}\n${rest}`);
      }
      conda = Conda.forInstallation(inst, 'conda', { log: join(root, 'calls.log') });
    }, LONG);
    afterAll(() => {
      if (root) rmSync(root, { recursive: true, force: true });
    });

    it(
      'reports its version and installation',
      async () => {
        const v = await conda.version(opts);
        expect(v.value?.conda).toMatch(/^\d+\.\d+\.\d+/);
        const info = await conda.info(opts);
        expect(info.value?.rootPrefix).toBe(join(root, 'installation'));
        // env list is sorted and not limited to this installation (~/.conda/environments.txt): it contains the root
        const envs = (await conda.envList(opts)).value ?? [];
        expect(envs).toContain(join(root, 'installation'));
        expect(envs).toEqual([...envs].sort());
      },
      LONG,
    );

    it(
      'creates, lists, exports and removes a small env',
      async () => {
        const file = join(root, 'small.yml');
        writeFileSync(file, `name: small\n${channel ? `channels:\n  - ${channel}\n` : ''}dependencies:\n  - python\n`);
        const prefix = join(root, 'builds', 'small');
        // conda 4.4–23.x register in ~/.conda/environments.txt only where ~/.conda exists; 24.1 creates it
        const hadDotConda = existsSync(join(homedir(), '.conda'));
        const created = await conda.createFromFile(file, prefix, opts);
        expect(created.code, created.stdout + created.stderr).toBe(0);
        expect(existsSync(join(prefix, 'bin', 'python'))).toBe(true);
        // a build prefix outside ROOT/envs is registered and listed (conda >= 4.4): adopt/export must filter
        const version = (await conda.version(opts)).value?.conda ?? '0';
        const registers =
          compareCondaVersions(version, '4.4') >= 0 && (hadDotConda || compareCondaVersions(version, '24.1') >= 0);
        if (registers) expect((await conda.envList(opts)).value).toContain(prefix);
        const list = await conda.list(prefix, opts);
        expect(list.value?.map((p) => p.name)).toContain('python');
        const exported = await conda.exportEnv(prefix, { noBuilds: true }, opts);
        expect(exported.value).toMatch(/^\s*- python=\d+\.\d+/m);
        const run = await conda.run(prefix, ['python', '-c', 'import sys; print(sys.prefix)'], opts);
        expect(run.stdout.trim()).toBe(prefix);
        expect((await conda.remove(prefix, opts)).code).toBe(0);
        expect(existsSync(join(prefix, 'conda-meta'))).toBe(false);
      },
      LONG,
    );

    it(
      'an env with variables: builds on this conda and its activation sets them (scripts before conda 4.9)',
      async () => {
        const version = (await conda.version(opts)).value?.conda ?? '0';
        const text =
          `name: vars\n${channel ? `channels:\n  - ${channel}\n` : ''}dependencies:\n  - python\n` +
          'variables:\n  HLINK_MODE: "it\'s strict"\n';
        const spec = parseSpec(text, 'env-specs/vars.yml', 'vars').spec!;
        const steps = buildSteps(spec, [], root, { variablesInFile: !variablesNeedScripts(version, 'conda') });
        const file = join(root, 'vars.yml');
        writeFileSync(file, steps.createSpec);
        const prefix = join(root, 'builds', 'vars');
        const created = await conda.createFromFile(file, prefix, opts);
        expect(created.code, created.stdout + created.stderr).toBe(0);
        if (Object.keys(steps.scriptVariables).length) writeVariableScripts(prefix, steps.scriptVariables);
        const act = activation(prefix);
        const r = await runProcess(act.wrap(['/bin/sh', '-c', 'printf %s "$HLINK_MODE"']), {
          env: { PATH: '/usr/bin:/bin', ...act.vars },
        });
        expect(r.stdout).toBe("it's strict\n"); // the adapter ends captured output with a newline
      },
      LONG,
    );

    it(
      'adopt of a 4.3-style export without a pip section: the pip packages come from site-packages',
      async () => {
        const file = join(root, 'pipenv.yml');
        const deps = '  - python\n  - pip\n';
        writeFileSync(file, `name: pipenv\n${channel ? `channels:\n  - ${channel}\n` : ''}dependencies:\n${deps}`);
        const prefix = join(root, 'installation', 'envs', 'pipenv');
        const created = await conda.createFromFile(file, prefix, opts);
        expect(created.code, created.stdout + created.stderr).toBe(0);
        const wheel = writeWheel(join(root, 'wheels'), 'tidyup', '0.4.2');
        const pip = await runProcess([join(prefix, 'bin', 'python'), '-m', 'pip', 'install', '--no-index', wheel], {
          env: { PATH: '/usr/bin:/bin', PIP_CONFIG_FILE: '/dev/null' },
        });
        expect(pip.code, pip.stdout + pip.stderr).toBe(0);
        const version = (await conda.version(opts)).value?.conda ?? '0';
        // whatever this conda's export says (4.3 with pip >= 18: no pip section), the adopted spec has it
        const adopted = await exportOne(conda, version, 'pipenv', prefix);
        expect(adopted.error).toBeUndefined();
        expect(adopted.text).toMatch(/^\s+- tidyup==0\.4\.2$/m);
        // a 4.3-style export (the pip section gone) gets it back from site-packages
        const exported = (await conda.exportEnv(prefix, { noBuilds: true }, opts)).value!;
        const lost = exported.replace(/^(\s*)- pip:\n(?:\1\s+- .*\n)*/m, '');
        expect(lost).not.toContain('tidyup');
        expect(setPipSection(lost, pipSectionOf(prefix)).text).toMatch(/^\s+- tidyup==0\.4\.2$/m);
      },
      LONG,
    );

    it(
      'a legacy-noarch-style package (pre-link script, no noarch key): create fails from 4.7, install after works',
      async () => {
        const local = legacyChannel(join(root, 'legacy-channel'), 'legacypkg');
        const version = (await conda.version(opts)).value?.conda ?? '0';
        const file = join(root, 'legacy.yml');
        const chans = [local, ...(channel ? [channel] : [])];
        const chanLines = chans.map((c) => `  - ${c}\n`).join('');
        writeFileSync(file, `name: legacy\nchannels:\n${chanLines}dependencies:\n  - python\n  - legacypkg\n`);
        const both = await conda.createFromFile(file, join(root, 'builds', 'legacy-both'), opts);
        if (compareCondaVersions(version, '4.7') >= 0) {
          expect(both.code).not.toBe(0);
          expect(classify(`${both.stdout}\n${both.stderr}`)).toMatchObject({ legacyNoarch: true });
        } else expect(both.code, both.stdout + both.stderr).toBe(0);
        // what the build does with [legacy-noarch]: create without it, then install it into the env
        const prefix = join(root, 'installation', 'envs', 'legacy');
        writeFileSync(file, readFileSync(file, 'utf8').replace('  - legacypkg\n', ''));
        const created = await conda.createFromFile(file, prefix, opts);
        expect(created.code, created.stdout + created.stderr).toBe(0);
        const installed = await conda.install(prefix, ['legacypkg'], [local], opts);
        expect(installed.code, installed.stdout + installed.stderr).toBe(0);
        // adopt finds it from the installation (conda-meta files or the package cache), not from repodata
        expect([...legacyNoarchInstalled([prefix], [join(root, 'installation', 'pkgs')])]).toEqual(['legacypkg']);
      },
      LONG,
    );

    it(
      'a missing package fails as a value the classifier names',
      async () => {
        const prefix = join(root, 'builds', 'broken');
        const r = await conda.create(prefix, ['conda-gitops-no-such-package'], channels, opts);
        expect(r.code).not.toBe(0);
        expect(classify(`${r.stdout}\n${r.stderr}`)).toMatchObject({
          class: 'missing-package',
          package: 'conda-gitops-no-such-package',
        });
      },
      LONG,
    );
  });
}
