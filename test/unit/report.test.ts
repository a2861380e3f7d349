import { describe, expect, it, afterEach } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  annotations,
  buildReport,
  faultLine,
  headline,
  renderJunit,
  renderSummary,
  reportSchemaErrors,
  stepOutputs,
  summaryTable,
} from '../../scripts/core/report.js';
import { writeReportFiles } from '../../scripts/state/report-files.js';
import { publishReport, workspacePath } from '../../scripts/engine/github.js';
import type { EnvRunResult, EnvSpec, QaRunResult } from '../../scripts/core/types.js';

const runDir = '/srv/conda/.gitops/runs/20240101T000000Z-abc';

function env(partial: Partial<EnvRunResult> & { env: string }): EnvRunResult {
  return { status: 'tested', seconds: 1.25, phases: [{ name: 'create', ok: true, seconds: 1 }], ...partial };
}

const missingVersion: EnvRunResult = env({
  env: 'hlink',
  buildId: '0123456789ab',
  status: 'failed',
  phase: 'create',
  failure: {
    class: 'missing-version',
    package: 'ipums_utils',
    spec: 'ipums_utils=1.2.0',
    available: ['1.3.0', '1.4.1'],
    excerpt: ['ResolvePackageNotFound:', '  - ipums_utils=1.2.0'],
  },
  hint:
    'version 1.2.0 of ipums_utils is not in the channel; available: 1.3.0, 1.4.1; ' +
    'nearest 1.3.0 | run fix --accept-nearest',
  file: 'env-specs/hlink.yml',
  line: 7,
  seconds: 14.2,
  phases: [{ name: 'create', ok: false, seconds: 14.2 }],
  log: `${runDir}/logs/hlink.log`,
});

const gitFailure: EnvRunResult = env({
  env: 'geo',
  status: 'failed',
  phase: 'pip-git',
  failure: {
    class: 'git-clone-failure',
    spec: 'git+https://example.invalid/x.git@v1#egg=x',
    excerpt: ['fatal: unable to access <x> & "y"\u001b[0m'],
  },
  hint: 'the git repository could not be cloned',
  file: 'env-specs/geo.yml',
  line: 12,
  seconds: 3,
  phases: [
    { name: 'create', ok: true, seconds: 2 },
    { name: 'pip-git', ok: false, seconds: 1 },
  ],
});

const passed = env({
  env: 'analysis',
  buildId: 'abcdefabcdef',
  seconds: 30,
  packages: [
    { name: 'numpy', version: '1.26.0' },
    { name: 'pandas', version: '2.1.0' },
    { name: 'scipy', version: '1.11.0' },
  ],
  livePackages: [
    { name: 'numpy', version: '1.24.0' },
    { name: 'pandas', version: '2.1.0' },
    { name: 'six', version: '1.16.0' },
  ],
});
const reused = env({ env: 'old', buildId: 'ffffffffffff', status: 'reused', seconds: 0, phases: [] });

function run(envs: EnvRunResult[]): QaRunResult {
  return {
    runId: '20240101T000000Z-abc',
    startedAt: '2024-01-01T00:00:00.000Z',
    finishedAt: '2024-01-01T00:01:30.000Z',
    root: '/srv/conda',
    condaVersion: '23.11.0',
    frontend: 'conda',
    runDir,
    base: 'main',
    head: 'pr-7',
    envs,
  };
}

describe('the headline says what merging removes, up front', () => {
  it('a pull request that drops a live env: "1 env to remove" before the counts', () => {
    const merge = { added: [], changed: [], dropped: ['web'], kernels: { added: [], removed: [], changed: [] } };
    const report = buildReport({ ...run([]), merge });
    expect(headline(report)).toBe('QA passed: 1 env to remove (web); 0 failed, 0 tested, 0 reused of 0 envs');
    expect(renderSummary(report).split('\n')[0]).toBe(`## ${headline(report)}`);
    expect(headline(buildReport(run([])))).toBe('QA passed: 0 failed, 0 tested, 0 reused of 0 envs');
  });
});

describe('report.json', () => {
  it('is valid against the shipped schema, with counts and verdict', () => {
    const r = buildReport(run([missingVersion, passed, reused, gitFailure]));
    expect(reportSchemaErrors(r)).toEqual([]);
    expect(r.counts).toEqual({ total: 4, tested: 1, reused: 1, failed: 2 });
    expect(r.ok).toBe(false);
    expect(r.seconds).toBe(90);
    expect(r.envs.map((e) => e.env)).toEqual(['analysis', 'geo', 'hlink', 'old']);
    const h = r.envs.find((e) => e.env === 'hlink')!;
    expect(h).toMatchObject({
      class: 'missing-version',
      package: 'ipums_utils',
      available: ['1.3.0', '1.4.1'],
      line: 7,
      log: 'logs/hlink.log',
    });
  });

  it('a build that planted a symlink where the tool writes is its own class, with the advice in To fix', () => {
    const planted = env({
      env: 'vars',
      status: 'failed',
      phase: 'create',
      failure: {
        class: 'unsafe-prefix',
        excerpt: ['/srv/conda/v4.3.22/builds/vars/0123456789ab/etc/conda/activate.d is a symlink in a built prefix'],
      },
      hint: 'etc/conda/activate.d is a symlink: remove the package or pip entry that creates it from the spec',
      file: 'env-specs/vars.yml',
    });
    const r = buildReport(run([planted]));
    expect(reportSchemaErrors(r)).toEqual([]);
    expect(r.envs[0]).toMatchObject({ env: 'vars', class: 'unsafe-prefix' });
    expect(renderSummary(r)).toContain(
      '- `vars`: edit `env-specs/vars.yml` (etc/conda/activate.d is a symlink: remove the package or pip entry ' +
        'that creates it from the spec), then push',
    );
  });

  it('an all-green run is ok', () => {
    const r = buildReport(run([passed, reused]));
    expect(r.ok).toBe(true);
    expect(reportSchemaErrors(r)).toEqual([]);
  });

  it('the schema rejects what a consumer could not read', () => {
    const r = buildReport(run([missingVersion])) as unknown as Record<string, unknown>;
    expect(reportSchemaErrors({ ...r, format: 2 })).not.toEqual([]);
    expect(reportSchemaErrors({ ...r, counts: { total: 1 } })).not.toEqual([]);
    const envs = (r.envs as Array<Record<string, unknown>>).map((e) => ({ ...e, class: 'weird' }));
    expect(reportSchemaErrors({ ...r, envs }).join('\n')).toMatch(/class/);
    const noPhase = (r.envs as Array<Record<string, unknown>>).map(({ phase: _p, ...e }) => e);
    expect(reportSchemaErrors({ ...r, envs: noPhase }).join('\n')).toMatch(/phase/);
  });

  it('carries the package diff of live vs candidate', () => {
    const r = buildReport(run([passed]));
    const d = r.envs[0]!.packageDiff!;
    expect(d.changed).toEqual([{ name: 'numpy', from: '1.24.0', to: '1.26.0' }]);
    expect(d.added.map((p) => p.name)).toEqual(['scipy']);
    expect(d.removed.map((p) => p.name)).toEqual(['six']);
  });
});

describe('summary.md', () => {
  it('has the table env | status | failing phase | class | hint | duration, failures first', () => {
    const r = buildReport(run([passed, missingVersion, reused]));
    const table = summaryTable(r);
    expect(table[0]).toBe('| env | status | failing phase | class | hint | duration |');
    expect(table[2]).toMatch(
      new RegExp(
        String.raw`^\| hlink \| ❌ failed \| create \| missing-version \| ` +
          String.raw`.*nearest 1\.3\.0 \\\| run fix.*\(env-specs\/hlink\.yml:7\) \| 14\.2s \|$`,
      ),
    );
    expect(table[3]).toMatch(/^\| analysis \| ✅ tested \|  \|  \|  \| 30\.0s \|$/);
    // every row has the same number of unescaped cell separators
    const cols = table.map((l) => l.replace(/\\\|/g, '').split('|').length);
    expect(new Set(cols).size).toBe(1);
  });

  // the env owner reads the top of the job summary: what to do comes first, one line per failed env
  it('a failing run leads with "To fix" per failed env, with the command to run', () => {
    const testFailure = env({
      env: 'web',
      status: 'failed',
      phase: 'test',
      failure: { class: 'test-failure', excerpt: ['AssertionError'] },
      hint: 'the env test failed',
    });
    const spec = env({
      env: 'bad',
      status: 'failed',
      phase: 'spec',
      hint: 'not a spec',
      file: 'env-specs/bad.yml',
      line: 3,
    });
    const md = renderSummary(buildReport(run([passed, missingVersion, gitFailure, testFailure, spec])));
    const lines = md.split('\n');
    expect(lines[0]).toMatch(/^## QA FAILED/);
    expect(lines.slice(2, 7)).toEqual([
      '**To fix:**',
      '- `bad`: edit `env-specs/bad.yml` line 3 (not a spec), then run `conda-gitops validate`',
      '- `geo`: edit `env-specs/geo.yml` line 12 (the git repository could not be cloned), then push',
      '- `hlink`: run `conda-gitops fix --env hlink --accept-nearest` ' +
        '(or edit `env-specs/hlink.yml` line 7), then push',
      '- `web`: the env test failed: fix the env or its test (the failure and its log are below), then push',
    ]);
    expect(renderSummary(buildReport(run([passed])))).not.toContain('To fix');
  });

  it('shows what merging changes, failure excerpts and where the reports are', () => {
    const md = renderSummary(buildReport(run([passed, missingVersion])));
    expect(md).toMatch(/^## QA FAILED: 1 failed, 1 tested, 0 reused of 2 envs/);
    expect(md).toContain('~ numpy 1.24.0 -> 1.26.0');
    expect(md).toContain('+ scipy 1.11.0');
    expect(md).toContain('- six 1.16.0');
    expect(md).toContain('Available versions: 1.3.0, 1.4.1');
    expect(md).toContain('  - ipums_utils=1.2.0');
    expect(md).toContain('/srv/conda/.gitops/runs/20240101T000000Z-abc/');
  });

  it('new and unchanged envs take one line each', () => {
    const fresh = env({ env: 'fresh', packages: [{ name: 'a', version: '1' }] });
    const same = env({
      env: 'same',
      packages: [{ name: 'a', version: '1' }],
      livePackages: [{ name: 'a', version: '1' }],
    });
    const md = renderSummary(buildReport(run([fresh, same, passed])));
    expect(md).toContain('New envs (not live yet): fresh (1 packages)');
    expect(md).toContain('No package changes: same');
    expect(md).toContain('**analysis**: +1 -1 ~1 (1 unchanged)');
  });

  it('says so when nothing changed', () => {
    expect(renderSummary(buildReport(run([])))).toContain('nothing to build');
  });
});

describe('junit.xml', () => {
  it('parses as XML with one testcase per env and failures for failed envs', () => {
    const xml = renderJunit(buildReport(run([passed, missingVersion, gitFailure, reused])));
    const py = `
import sys, xml.etree.ElementTree as ET, json
root = ET.fromstring(sys.stdin.read())
suite = root.find('testsuite')
cases = [{'name': c.get('name'), 'failure': (c.find('failure').get('type') if c.find('failure') is not None else None),
          'text': (c.find('failure').text if c.find('failure') is not None else None), 'line': c.get('line')}
         for c in suite.iter('testcase')]
print(json.dumps({'tests': root.get('tests'), 'failures': root.get('failures'), 'cases': cases}))`;
    const parsed = JSON.parse(execFileSync('python3', ['-c', py], { input: xml, encoding: 'utf8' }));
    expect(parsed.tests).toBe('4');
    expect(parsed.failures).toBe('2');
    const byName = Object.fromEntries(parsed.cases.map((c: { name: string }) => [c.name, c]));
    expect(byName.hlink.failure).toBe('missing-version');
    expect(byName.hlink.line).toBe('7');
    expect(byName.geo.failure).toBe('git-clone-failure');
    expect(byName.geo.text).toContain('fatal: unable to access <x> & "y"'); // escaped and control chars removed
    expect(byName.analysis.failure).toBeNull();
  });
});

describe('annotations and outputs', () => {
  it('one error per failed env at the spec line at fault', () => {
    const notes = annotations(buildReport(run([passed, missingVersion, gitFailure])));
    expect(notes).toHaveLength(2);
    expect(notes[1]).toMatchObject({ file: 'env-specs/hlink.yml', line: 7, title: 'hlink: missing-version in create' });
    expect(notes[1]!.message).toMatch(/^version 1\.2\.0 of ipums_utils is not in the channel/);
    expect(notes[1]!.message).toContain('ResolvePackageNotFound:');
    expect(notes[0]).toMatchObject({ file: 'env-specs/geo.yml', line: 12, title: 'geo: git-clone-failure in pip-git' });
  });

  it('step outputs give counts and the report path', () => {
    const o = stepOutputs(buildReport(run([passed, missingVersion])), runDir);
    expect(o).toMatchObject({ total: '2', failed: '1', tested: '1', ok: 'false', report: `${runDir}/report.json` });
  });

  it('annotation paths are relative to the workspace', () => {
    expect(workspacePath('env-specs/a.yml', '/w/repo/infra', { GITHUB_WORKSPACE: '/w/repo' })).toBe(
      'infra/env-specs/a.yml',
    );
    expect(workspacePath('env-specs/a.yml', '/w/repo', {})).toBe('env-specs/a.yml');
  });
});

describe('writing and publishing', () => {
  const dirs: string[] = [];
  const saved = { ...process.env };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
    process.env = { ...saved };
  });

  it('writes report.json, summary.md, junit.xml and logs/ into the run dir', () => {
    const dir = mkdtempSync(join(tmpdir(), 'report-'));
    dirs.push(dir);
    const paths = writeReportFiles(dir, buildReport({ ...run([missingVersion, passed]), runDir: dir }));
    expect(JSON.parse(readFileSync(paths.report, 'utf8')).counts.failed).toBe(1);
    expect(readFileSync(paths.summary, 'utf8')).toContain('| hlink | ❌ failed |');
    expect(readFileSync(paths.junit, 'utf8')).toContain('<testsuites');
    expect(existsSync(paths.logs)).toBe(true);
  });

  it('refuses to write a report that breaks its schema', () => {
    const dir = mkdtempSync(join(tmpdir(), 'report-'));
    dirs.push(dir);
    const bad = { ...buildReport(run([passed])), runId: '' };
    expect(() => writeReportFiles(dir, bad)).toThrow(/schema/);
    expect(existsSync(join(dir, 'report.json'))).toBe(false);
  });

  it('publishes nothing outside GitHub Actions', async () => {
    const r = await publishReport(buildReport(run([missingVersion])), runDir, '/repo', { GITHUB_ACTIONS: 'false' });
    expect(r).toEqual({ published: false, annotations: 0 });
  });

  it('inside Actions: annotations on stdout, outputs and job summary in the runner files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gha-'));
    dirs.push(dir);
    const outputFile = join(dir, 'output');
    const summaryFile = join(dir, 'summary');
    writeFileSync(outputFile, '');
    writeFileSync(summaryFile, '');
    Object.assign(process.env, {
      GITHUB_ACTIONS: 'true',
      GITHUB_OUTPUT: outputFile,
      GITHUB_STEP_SUMMARY: summaryFile,
      GITHUB_WORKSPACE: '/repo',
    });
    const written: string[] = [];
    const orig = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string) => {
      written.push(String(chunk));
      return true;
    }) as typeof process.stdout.write;
    let result;
    try {
      result = await publishReport(buildReport(run([missingVersion, passed])), runDir, '/repo', process.env);
    } finally {
      process.stdout.write = orig;
    }
    expect(result).toEqual({ published: true, annotations: 1 });
    const cmd = written
      .join('')
      .split('\n')
      .find((l) => l.startsWith('::error'))!;
    expect(cmd).toMatch(
      /^::error file=env-specs\/hlink\.yml,line=7,title=hlink%3A missing-version in create::version 1\.2\.0/,
    );
    expect(readFileSync(outputFile, 'utf8')).toMatch(/failed<<.*\n1\n/);
    expect(readFileSync(summaryFile, 'utf8')).toContain('| env | status | failing phase | class | hint | duration |');
  });
});

describe('faultLine', () => {
  const spec: EnvSpec = {
    file: 'env-specs/x.yml',
    name: 'x',
    channels: [],
    variables: {},
    pipLine: 6,
    dependencies: [
      { text: 'python=3.6', spec: { name: 'python', version: '3.6.*' }, line: 3 },
      { text: 'mpc::ipums_utils=1.2.0', spec: { channel: 'mpc', name: 'ipums_utils', version: '1.2.0.*' }, line: 4 },
      { text: 'pip', spec: { name: 'pip' }, line: 5 },
    ],
    pip: [
      { text: 'Foo_Bar==1.0', kind: 'pinned', name: 'Foo_Bar', version: '1.0', line: 7 },
      { text: 'git+https://h/x.git@v1#egg=xpkg', kind: 'git', name: 'xpkg', line: 8 },
    ],
  };
  it('points at the conda dependency, pip entry or pip section the failure names', () => {
    expect(faultLine(spec, { class: 'missing-version', spec: 'ipums_utils==1.2.0' })).toBe(4);
    expect(faultLine(spec, { class: 'missing-version', package: 'mpc::ipums_utils' })).toBe(4);
    expect(faultLine(spec, { class: 'pip-failure', package: 'foo-bar' })).toBe(7);
    expect(faultLine(spec, { class: 'git-clone-failure', spec: 'git+https://h/x.git@v1#egg=xpkg' })).toBe(8);
    expect(faultLine(spec, { class: 'pip-failure' })).toBe(6);
    expect(faultLine(spec, { class: 'channel-unreachable' })).toBeUndefined();
  });
});
