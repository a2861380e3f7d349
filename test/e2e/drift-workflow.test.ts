/**
 * The nightly drift workflow (.github/workflows/drift.yml): its `run:` steps, run with bash as the runner runs them
 * (GITHUB_STEP_SUMMARY, RUNNER_TEMP, the tool at ROOT/tools/bin), on an installation with an env changed by hand:
 * red, with the repair command in the job summary and an annotation; green and "in sync" before the change.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { load } from 'js-yaml';
import { deploy } from '../../scripts/app/deploy.js';
import { memoryOutput } from '../../scripts/cli/output.js';
import { addTestedBuilds, compiledCli, makeInstallation, writeRepo } from '../fixtures/installation.js';
import type { FakeInstallation } from '../fixtures/installation.js';

let fi: FakeInstallation | undefined;
afterEach(() => fi?.cleanup());

interface Step {
  name?: string;
  run?: string;
  if?: string;
}

const workflow = load(readFileSync('.github/workflows/drift.yml', 'utf8')) as {
  on: Record<string, unknown>;
  jobs: Record<string, { steps: Step[]; 'runs-on': string[] }>;
};

/** Every `run:` step of the drift job, in order, as bash -e runs them; returns exit codes and stdout. */
function runSteps(
  env: Record<string, string>,
  cwd: string,
): Array<{ name: string; code: number | null; stdout: string }> {
  const results = [];
  for (const step of workflow.jobs.drift!.steps.filter((s) => s.run)) {
    const r = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', step.run!], {
      cwd,
      env: { PATH: process.env.PATH!, HOME: process.env.HOME!, ...env },
      encoding: 'utf8',
    });
    results.push({ name: step.name ?? '', code: r.status, stdout: r.stdout + r.stderr });
  }
  return results;
}

describe('drift.yml', () => {
  test('nightly and on demand, on the shared runner, from main', () => {
    expect(Object.keys(workflow.on).sort()).toEqual(['schedule', 'workflow_dispatch']);
    expect(workflow.jobs.drift!['runs-on']).toEqual(['self-hosted', 'conda-gitops']);
    expect(workflow.jobs.drift!.steps.find((s) => s.name === 'gc (dry run)')?.if).toBe('always()');
  });

  test('a hand-changed env: red, the repair command in summary and annotation; gc still reports', async () => {
    fi = makeInstallation();
    const repo = join(fi.root, 'repo');
    mkdirSync(repo);
    const d = await writeRepo(repo, { envs: { geo: 1, hlink: 2 } });
    addTestedBuilds(fi.root, d);
    const common = { repoDir: repo, rootFlag: fi.root, env: process.env, out: memoryOutput() };
    await deploy({ ...common, force: false, dryRun: false, buildMissing: false, jobs: 1, waitSeconds: 0 });
    // the tool as deploy installs it: a launcher at ROOT/tools/bin/conda-gitops
    mkdirSync(join(fi.root, 'tools', 'bin'), { recursive: true });
    const launcher = join(fi.root, 'tools', 'bin', 'conda-gitops');
    writeFileSync(launcher, `#!/bin/sh\nexec "${process.execPath}" "${await compiledCli()}" "$@"\n`);
    chmodSync(launcher, 0o755);
    const temp = join(fi.root, 'runner-temp');
    mkdirSync(temp);
    const summary = join(temp, 'summary.md');
    const env = { CONDA_GITOPS_ROOT: fi.root, RUNNER_TEMP: temp, GITHUB_STEP_SUMMARY: summary, GITHUB_ACTIONS: 'true' };

    writeFileSync(summary, '');
    const green = runSteps(env, repo);
    expect(green.map((s) => s.code)).toEqual([0, 0]);
    expect(readFileSync(summary, 'utf8')).toContain('## Drift: in sync with main');

    const history = join(fi.inst.dir, 'builds', 'geo', d.envs.find((e) => e.name === 'geo')!.buildId, 'conda-meta');
    appendFileSync(
      join(history, 'history'),
      '==> 2024-06-01 12:00:00 <==\n# cmd: conda install numpy\n+numpy-1.26.4\n',
    );
    const later = new Date(Date.now() + 5000);
    utimesSync(join(history, 'history'), later, later);

    writeFileSync(summary, '');
    const red = runSteps(env, repo);
    expect(red.map((s) => s.code)).toEqual([1, 0]);
    const md = readFileSync(summary, 'utf8');
    expect(md).toContain('## Drift: the installation differs from main (exit 1)');
    expect(md).toContain('- To repair: `conda-gitops deploy --repair geo`');
    expect(md).toContain('## gc --dry-run: what gc --yes would remove');
    expect(red[0]!.stdout).toContain('::error title=drift::To repair: conda-gitops deploy --repair geo');
  });
});
