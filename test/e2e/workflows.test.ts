import { describe, expect, test } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const lint = (dir?: string) =>
  spawnSync('node', ['scripts/lint-workflows.mjs', ...(dir ? [dir] : [])], { encoding: 'utf8' });

describe('workflow lint', () => {
  test('the shipped workflows pass', () => {
    const r = lint();
    expect(r.stderr.replace(/WARNING: Glob.*\n/g, '')).toBe('');
    expect(r.status).toBe(0);
  });

  test('pull_request_target, GitHub-hosted runners and fork PRs are flagged', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cg-wf-'));
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'bad.yml'),
      [
        'name: bad',
        'on:',
        '  pull_request_target: {}',
        '  pull_request: {}',
        'jobs:',
        '  qa:',
        '    runs-on: ubuntu-latest',
        '    steps:',
        '      - run: echo hi',
      ].join('\n'),
    );
    const r = lint(dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('pull_request_target');
    expect(r.stderr).toContain('self-hosted');
    expect(r.stderr).toContain('forks');
    expect(r.stderr).toContain('concurrency');
  });

  test('a workflow GitHub would reject is flagged by the schema check', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cg-wf-'));
    writeFileSync(
      join(dir, 'broken.yml'),
      'name: x\non: push\nconcurrency: x\njobs:\n  a:\n    runs-on: self-hosted\n    stepz: []\n',
    );
    const r = lint(dir);
    expect(r.status).toBe(1);
  });
});
