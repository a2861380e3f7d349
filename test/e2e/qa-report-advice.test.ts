/**
 * The QA report's advice, as an env owner reads it after a failed pull request: every "To fix" line is
 * something they can do (never a command that answers "no rule applies", never "on the runner"), every missing
 * package conda named is listed, a kernel without ipykernel has a class and a line, a test failure's location
 * is said once, and `classify` on the run's own log finds the failure (as JSON, as its help says).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execute } from '../../scripts/cli/dispatch.js';
import { memoryOutput } from '../../scripts/cli/output.js';
import { makeQaWorld, worldSpec, writeRepo, type QaWorld } from '../fixtures/qa-world.js';

let w: QaWorld;
let repo: string;
let run: string;
let qa: { code: number; stdout: string; stderr: string };

async function cli(...argv: string[]) {
  const out = memoryOutput();
  const code = await execute([...argv, '--root', w.root, '--repo', repo], { out, cwd: repo, env: process.env });
  return { code, stdout: out.lines.join('\n'), stderr: out.errors.join('\n') };
}

beforeAll(async () => {
  w = makeQaWorld();
  repo = writeRepo(
    join(w.base, 'repo'),
    {
      envs: { kern: 'REPLICATE', tools: 'REPLICATE', web: 'REPLICATE' },
      kernels: { kern: 'K' },
      channels: [w.channel],
    },
    {
      kern: worldSpec(w, 'kern', ['python']),
      tools: worldSpec(w, 'tools', ['python', 'scipy', 'numpy=9.9']),
      web: worldSpec(w, 'web', ['python', 'numpy=1.25.0']),
    },
    { 'env-specs/web.test.py': 'import sys\nassert False, "boom"\n' },
  );
  qa = await cli('qa');
  const runs = join(w.root, '.gitops', 'runs');
  run = join(runs, readdirSync(runs)[0]!);
}, 120_000);
afterAll(() => w?.cleanup());

/** the summary's "To fix" line of an env */
const toFix = (env: string) =>
  readFileSync(join(run, 'summary.md'), 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`- \`${env}\`:`)) ?? '';

describe('QA report advice an env owner can follow', () => {
  it('a missing package: no `fix` advice (fix has no rule for it), every package conda named is listed', () => {
    expect(qa.code).toBe(1);
    const line = toFix('tools');
    expect(line).not.toContain('conda-gitops fix');
    expect(line).toContain('env-specs/tools.yml` line 6');
    expect(line).toContain('scipy');
    expect(line).toContain('numpy=9.9');
  });

  it('fix does not say a channel "no longer has" a version it never had', async () => {
    const r = await cli('fix', '--env', 'tools', '--dry-run');
    expect(r.stdout).toContain("'numpy=9.9'");
    expect(r.stdout).not.toContain('no longer has');
  });

  it('test failures: advice the env owner can follow, the location said once', () => {
    for (const env of ['kern', 'web']) expect(toFix(env)).not.toMatch(/on the runner/);
    expect(toFix('web').split('web.test.py:2').length - 1).toBe(1);
    const row = qa.stdout.split('\n').find((l) => l.startsWith('| web |'))!;
    expect(row.split('web.test.py:2').length - 1).toBe(1);
  });

  it('a kernel env without ipykernel has a class and a line', () => {
    const report = JSON.parse(readFileSync(join(run, 'report.json'), 'utf8')) as {
      envs: Array<{ env: string; class?: string; line?: number }>;
    };
    const kern = report.envs.find((e) => e.env === 'kern')!;
    expect(kern.class).not.toBe('unknown');
    expect(kern.line).toBeGreaterThan(0);
  });

  it("classify on QA's own log finds the PackagesNotFoundError and prints JSON", async () => {
    const r = await cli('classify', join(run, 'logs', 'tools.log'));
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ class: 'missing-package', package: 'scipy' });
    const ok = await cli('classify', join(run, 'logs', 'web.log').replace('web.log', 'kern.log'));
    expect(() => JSON.parse(ok.stdout)).not.toThrow();
  });
});
