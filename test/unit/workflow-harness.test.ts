/**
 * The workflow harness (test/fixtures/actions/) on small inline workflows: it must fail a test when a workflow
 * is wrong (a misspelt needs output, an action it cannot emulate, ::set-output), and honour what GitHub does
 * (if: with status functions, needs, outputs, env, matrix legs at once, checkout at the event's commit).
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeHub, gitIn, type Hub } from '../fixtures/actions/github.js';
import {
  expandMatrix,
  parseCommand,
  parseKeyValueFile,
  runWorkflow,
  type RunOptions,
} from '../fixtures/actions/runner.js';
import { condition, evaluate, interpolate } from '../fixtures/actions/expressions.js';

let base: string;
let hub: Hub;
let n = 0;

beforeAll(() => {
  base = realpathSync(mkdtempSync(join(tmpdir(), 'cg-harness-')));
  hub = makeHub(base);
  writeFileSync(join(hub.clone, 'README.md'), 'hello\n');
  hub.commitAndPush('first');
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

async function run(yaml: string, o: Partial<RunOptions> = {}) {
  const file = join(base, `wf-${++n}.yml`);
  writeFileSync(file, yaml);
  return runWorkflow({
    workflow: file,
    event: hub.pushEvent(hub.head()),
    repository: hub.repository,
    origin: hub.origin,
    home: join(base, 'home'),
    selfHosted: { labels: ['self-hosted', 'conda-gitops'] },
    ...o,
  });
}

describe('expressions (GitHub’s own evaluator)', () => {
  const ctx = {
    contexts: { github: { event_name: 'push', event: { a: [1, 2] } }, needs: { x: { outputs: { l: '["a","b"]' } } } },
  };
  test('types, functions and templates', () => {
    expect(evaluate("github.event_name == 'PUSH'", ctx)).toBe(true); // case-insensitive compare
    expect(evaluate('fromJSON(needs.x.outputs.l)', ctx)).toEqual(['a', 'b']);
    expect(interpolate('n=${{ github.event.a[1] }} m=${{ github.nope }}', ctx)).toBe('n=2 m=');
    expect(interpolate('${{ fromJSON(needs.x.outputs.l) }}', ctx)).toEqual(['a', 'b']);
    expect(() => evaluate('github.event_name(', ctx)).toThrow(/bad expression/);
  });
  test('if: without a status function means success() && …', () => {
    expect(condition("github.event_name == 'push'", { ...ctx, status: { success: false, failure: true } })).toBe(false);
    expect(condition('always()', { ...ctx, status: { success: false, failure: true } })).toBe(true);
    expect(condition('${{ failure() }}', { ...ctx, status: { success: false, failure: true } })).toBe(true);
    expect(condition(undefined, ctx)).toBe(true);
  });
});

describe('runner contract pieces', () => {
  test('GITHUB_OUTPUT files, with heredoc values', () => {
    expect(parseKeyValueFile('a=1\nb<<EOF\nx\ny=z\nEOF\nc=\n')).toEqual({ a: '1', b: 'x\ny=z', c: '' });
    expect(() => parseKeyValueFile('b<<EOF\nx\n')).toThrow(/unterminated/);
  });
  test('workflow commands: annotations with escaped properties, masks, ::set-output rejected', () => {
    expect(parseCommand('::error file=env-specs/a.yml,line=4,title=bad%2C spec::line1%0Aline2')).toEqual({
      kind: 'annotation',
      a: { level: 'error', file: 'env-specs/a.yml', line: 4, title: 'bad, spec', message: 'line1\nline2' },
    });
    expect(parseCommand('::add-mask::s3cret')).toEqual({ kind: 'mask', value: 's3cret' });
    expect(parseCommand('::set-output name=x::1')).toEqual({ kind: 'rejected', name: 'set-output' });
    expect(parseCommand('plain text')).toBeUndefined();
  });
  test('matrix: product, exclude, include', () => {
    expect(
      expandMatrix({
        os: ['a', 'b'],
        v: [1, 2],
        exclude: [{ os: 'b', v: 2 }],
        include: [
          { os: 'a', extra: 'x' },
          { os: 'c', v: 9 },
        ],
      }),
    ).toEqual([
      { os: 'a', v: 1, extra: 'x' },
      { os: 'a', v: 2, extra: 'x' },
      { os: 'b', v: 1 },
      { os: 'c', v: 9 },
    ]);
    expect(expandMatrix({ include: [{ slice: 1 }, { slice: 2 }] })).toEqual([{ slice: 1 }, { slice: 2 }]);
  });
});

describe('running inline workflows', () => {
  test('a misspelt needs output fails the test (GitHub would silently give an empty string)', async () => {
    const r = await run(`on: push
jobs:
  a:
    runs-on: ubuntu-latest
    outputs:
      envs: \${{ steps.d.outputs.envs }}
    steps:
      - id: d
        run: echo "envs=true" >> "$GITHUB_OUTPUT"
  b:
    needs: a
    runs-on: ubuntu-latest
    steps:
      - run: test "\${{ needs.a.outputs.env }}" = true
`);
    expect(r.problems).toEqual([expect.stringMatching(/needs\.a\.outputs\.env: job a has no output env/)]);
  });

  test('outputs, env layers, GITHUB_ENV/PATH, summary, annotations; a failed need skips dependants', async () => {
    const r = await run(`on: push
env:
  W: wf
jobs:
  a:
    runs-on: ubuntu-latest
    env:
      J: job
    outputs:
      x: \${{ steps.s.outputs.x }}
      multi: \${{ steps.s.outputs.m }}
    steps:
      - id: s
        env:
          S: step-\${{ github.event_name }}
        run: |
          echo "x=$W-$J-$S" >> "$GITHUB_OUTPUT"
          printf 'm<<EOF\\nl1\\nl2\\nEOF\\n' >> "$GITHUB_OUTPUT"
          echo "LATER=yes" >> "$GITHUB_ENV"
          mkdir -p "$RUNNER_TEMP/bin" && printf '#!/bin/sh\\necho tool-ran\\n' > "$RUNNER_TEMP/bin/mytool"
          chmod +x "$RUNNER_TEMP/bin/mytool" && echo "$RUNNER_TEMP/bin" >> "$GITHUB_PATH"
          echo "### hello" >> "$GITHUB_STEP_SUMMARY"
          echo "::warning file=a.txt,line=3::careful"
          test "$CI" = true && test "$GITHUB_ACTIONS" = true && test -f "$GITHUB_EVENT_PATH"
      - run: test "$LATER" = yes && mytool && test "$GITHUB_SHA" = "\${{ github.sha }}"
  b:
    needs: a
    runs-on: ubuntu-latest
    steps:
      - run: echo "got \${{ needs.a.outputs.x }}"; exit 3
  c:
    needs: b
    runs-on: ubuntu-latest
    steps:
      - run: echo never
  d:
    needs: [a, b]
    if: always()
    runs-on: ubuntu-latest
    steps:
      - run: test "\${{ needs.b.result }}" = failure && test "\${{ needs.a.outputs.multi }}" = "$(printf 'l1\\nl2')"
`);
    expect(r.problems).toEqual([]);
    expect(r.jobs.a!.status).toBe('success');
    expect(r.jobs.a!.outputs).toEqual({ x: 'wf-job-step-push', multi: 'l1\nl2' });
    expect(r.jobs.a!.summary).toContain('### hello');
    expect(r.annotations).toEqual([
      expect.objectContaining({ level: 'warning', file: 'a.txt', line: 3, message: 'careful' }),
    ]);
    expect(r.jobs.b!.status).toBe('failure');
    expect(r.jobs.b!.steps[0]!.log).toContain('got wf-job-step-push');
    expect(r.jobs.c!.status).toBe('skipped');
    expect(r.jobs.d!.status).toBe('success');
    expect(r.conclusion).toBe('failure');
  });

  test('bash -e stops at the first failing command; continue-on-error; step if: failure()', async () => {
    const r = await run(`on: push
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - run: |
          false
          echo "not reached"
        continue-on-error: true
      - id: bad
        run: exit 1
      - if: failure()
        run: echo "cleanup ran"
      - run: echo "skipped after failure"
`);
    expect(r.problems).toEqual([]);
    const [first, bad, cleanup, after] = r.jobs.a!.steps;
    expect(first!.outcome).toBe('failure');
    expect(first!.conclusion).toBe('success');
    expect(first!.log).not.toContain('not reached');
    expect(bad!.conclusion).toBe('failure');
    expect(cleanup!.log).toContain('cleanup ran');
    expect(after!.conclusion).toBe('skipped');
    expect(r.jobs.a!.status).toBe('failure');
  });

  test('an action the harness cannot emulate and ::set-output are problems, never skipped', async () => {
    const r = await run(`on: push
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/setup-python@v5
      - if: always()
        run: echo "::set-output name=x::1"
`);
    expect(r.problems).toEqual([
      expect.stringMatching(/uses: actions\/setup-python@v5 is not emulated/),
      expect.stringMatching(/::set-output:: is disabled/),
    ]);
  });

  test('a job for a runner label nobody has is a problem (it would queue forever)', async () => {
    const r = await run('on: push\njobs:\n  a:\n    runs-on: [self-hosted, gpu]\n    steps:\n      - run: echo hi\n');
    expect(r.problems).toEqual([expect.stringMatching(/no runner has the labels self-hosted, gpu/)]);
  });

  test('matrix legs from fromJSON(needs…) run at the same time, each on its own runner of the pool', async () => {
    const marks = join(base, 'marks');
    const r = await run(
      `on: push
jobs:
  plan:
    runs-on: ubuntu-latest
    outputs:
      slices: \${{ steps.p.outputs.slices }}
    steps:
      - id: p
        run: echo 'slices=[1,2]' >> "$GITHUB_OUTPUT"
  build:
    needs: plan
    runs-on: [self-hosted, conda-gitops]
    strategy:
      matrix:
        slice: \${{ fromJSON(needs.plan.outputs.slices) }}
    steps:
      - run: |
          mkdir -p ${marks}; touch ${marks}/\${{ matrix.slice }}
          for i in $(seq 1 300); do [ -e ${marks}/1 ] && [ -e ${marks}/2 ] && exit 0; sleep 0.1; done
          echo "the other leg never ran alongside"; exit 1
`,
      { selfHosted: { labels: ['self-hosted', 'conda-gitops'], pool: 2 } },
    );
    expect(r.problems).toEqual([]);
    expect(r.runs.filter((j) => j.id === 'build').map((j) => [j.name, j.status])).toEqual(
      expect.arrayContaining([
        ['build (1)', 'success'],
        ['build (2)', 'success'],
      ]),
    );
    const workspaces = new Set(r.runs.filter((j) => j.id === 'build').map((j) => j.workspace));
    expect(workspaces.size).toBe(2);
  });

  test('a job never gets the runner (workspace) of a job still running on the pool', async () => {
    const marks = join(base, 'marks-pool');
    const r = await run(
      `on: push
jobs:
  slow:
    runs-on: [self-hosted, conda-gitops]
    steps:
      - run: |
          for i in $(seq 1 300); do [ -e ${marks}/after ] && exit 0; sleep 0.1; done
          echo "the job after quick never ran alongside"; exit 1
  quick:
    runs-on: [self-hosted, conda-gitops]
    steps:
      - run: echo done
  after:
    needs: quick
    runs-on: [self-hosted, conda-gitops]
    steps:
      - run: mkdir -p ${marks}; touch ${marks}/after
`,
      { selfHosted: { labels: ['self-hosted', 'conda-gitops'], pool: 2 } },
    );
    expect(r.problems).toEqual([]);
    expect(r.conclusion).toBe('success');
    // slow holds its runner while after runs: after gets the runner quick gave back
    expect(r.jobs.after!.workspace).not.toBe(r.jobs.slow!.workspace);
    expect(r.jobs.after!.workspace).toBe(r.jobs.quick!.workspace);
  });

  test('checkout: a real clone at the event commit; persist-credentials false leaves no token', async () => {
    hub.branch('main');
    writeFileSync(join(hub.clone, 'second.txt'), '2\n');
    const before = hub.head();
    hub.commitAndPush('second');
    const yaml = (persist: boolean) => `on: push
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          persist-credentials: ${persist}
      - run: |
          test "$(git rev-parse HEAD)" = "$GITHUB_SHA"
          test "$(git rev-parse --abbrev-ref HEAD)" = main
          test -f second.txt
          test "$(git rev-list --count HEAD)" = 1
`;
    const kept = await run(yaml(true), { event: hub.pushEvent(before) });
    expect(kept.problems).toEqual([]);
    expect(kept.jobs.a!.status).toBe('success');
    expect(readFileSync(join(kept.jobs.a!.workspace!, '.git', 'config'), 'utf8')).toMatch(/extraheader/);
    const clean = await run(yaml(false), { event: hub.pushEvent(before) });
    expect(clean.jobs.a!.status).toBe('success');
    expect(readFileSync(join(clean.jobs.a!.workspace!, '.git', 'config'), 'utf8')).not.toMatch(
      /extraheader|AUTHORIZATION/,
    );
  });

  test('upload then download an artifact between jobs; a workflow for another event does not run', async () => {
    const r = await run(`on: push
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - run: mkdir out && echo report > out/r.txt
      - uses: actions/upload-artifact@v4
        with:
          name: rep
          path: out
  b:
    needs: a
    runs-on: ubuntu-latest
    steps:
      - uses: actions/download-artifact@v4
        with:
          name: rep
          path: got
      - run: grep -q report got/r.txt
`);
    expect(r.problems).toEqual([]);
    expect(r.conclusion).toBe('success');
    expect(existsSync(join(r.artifacts, 'rep', 'r.txt'))).toBe(true);
    const none = await run(
      'on: pull_request\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: exit 1\n',
    );
    expect(none.triggered).toBe(false);
  });

  test('a pull_request checkout is the test merge commit; the fork flag is in the payload', async () => {
    hub.branch('feature');
    writeFileSync(join(hub.clone, 'feature.txt'), 'f\n');
    hub.commitAndPush('feature');
    const pr = hub.openPullRequest('feature', { fork: true });
    const r = await run(
      `on:
  pull_request:
    branches: [main]
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0
          persist-credentials: false
      - env:
          BASE: \${{ github.event.pull_request.base.sha }}
          HEAD: \${{ github.event.pull_request.head.sha }}
          FORK: \${{ github.event.pull_request.head.repo.full_name != github.repository }}
        run: |
          test "$(git rev-parse HEAD)" = "${pr.merge}"
          git diff --name-only "$BASE...$HEAD" | grep -qx feature.txt
          test "$FORK" = true && test "$GITHUB_BASE_REF" = main && test "$GITHUB_HEAD_REF" = feature
`,
      { event: pr.event },
    );
    expect(r.problems).toEqual([]);
    expect(r.jobs.a!.status).toBe('success');
    expect(gitIn(hub.origin, 'rev-parse', `refs/pull/${pr.number}/head`)).toBe(pr.head);
  });
});
