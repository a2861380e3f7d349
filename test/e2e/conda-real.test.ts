/**
 * Opt-in: the adapter against a real conda. Set CONDA_GITOPS_REAL_INSTALLER to a Miniconda or
 * Miniforge `.sh` installer; optionally CONDA_GITOPS_REAL_CHANNEL to a reachable channel (URL or
 * file://). Without a channel the env is created offline from the packages the installer ships.
 * Slow (minutes): not part of the default run.
 */
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
        const created = await conda.createFromFile(file, prefix, opts);
        expect(created.code, created.stdout + created.stderr).toBe(0);
        expect(existsSync(join(prefix, 'bin', 'python'))).toBe(true);
        // a build prefix outside ROOT/envs is registered and listed (conda >= 4.4): adopt/export must filter
        const version = (await conda.version(opts)).value?.conda ?? '0';
        if (!version.startsWith('4.3.')) expect((await conda.envList(opts)).value).toContain(prefix);
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
        expect(r.stdout).toBe("it's strict");
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
