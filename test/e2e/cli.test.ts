import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Ajv } from 'ajv';
import { COMMANDS } from '../../scripts/cli/registry.js';
import { exitCodesHelp } from '../../scripts/cli/exit.js';
import { SCHEMA_NAMES } from '../../scripts/core/schemas.js';
import { writeBuildRecord } from '../../scripts/state/record.js';
import {
  builtCli,
  inventoryText,
  makeRepo,
  runCli,
  snapshotTree,
  specText,
  type RepoFixture,
} from '../fixtures/repo.js';

beforeAll(() => {
  return builtCli(); // compiles dist/ first when a source is newer
});

describe.concurrent('help and usage errors', () => {
  test.each(COMMANDS.map((c) => c.name))(
    '%s --help exits 0 and shows its usage; an unknown flag exits 2',
    async (name) => {
      const c = COMMANDS.find((x) => x.name === name)!;
      const r = await runCli([name, '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`Usage: ${c.usage}`);
      expect(r.stdout).toContain(c.summary);
      expect(r.stdout).toContain('--json');
      for (const opt of Object.keys(c.options)) expect(r.stdout).toContain(`--${opt}`);
      const bad = await runCli([name, '--no-such-flag']);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain("Unknown option '--no-such-flag'");
      expect(bad.stderr).toContain(`see conda-gitops ${name} --help`);
    },
  );

  test('-h and `help NAME` show the same help as --help', async () => {
    const [long, short, viaHelp] = await Promise.all([
      runCli(['plan', '--help']),
      runCli(['plan', '-h']),
      runCli(['help', 'plan']),
    ]);
    expect(short).toEqual(long);
    expect(viaHelp).toEqual(long);
  });

  const HELP_TITLE =
    'conda-gitops --help lists every command; no command at all is a usage error showing the same help';
  test(HELP_TITLE, async () => {
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: conda-gitops <command> \[options\]$/m);
    for (const c of COMMANDS)
      expect(help.stdout).toMatch(
        new RegExp(`^  ${c.name} +${c.summary.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'),
      );
    // the exit-code section is rendered from the one table that maps outcomes to exit codes (cli/exit.ts)
    expect(help.stdout).toContain(exitCodesHelp());
    for (const code of ['0', '1', '2', '3', '4', '130/143', '70'])
      expect(help.stdout).toMatch(new RegExp(`^  ${code} `, 'm'));
    const none = await runCli([]);
    expect(none.code).toBe(2);
    expect(none.stdout).toBe(help.stdout);
  });

  test('--version', async () => {
    const r = await runCli(['--version']);
    expect(r.code).toBe(0);
    // the version is package.json's, not a copy in the code
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(r.stdout).toBe(`conda-gitops ${pkg.version}\n`);
  });

  test('an unknown command exits 2 and says so, also under --json', async () => {
    const r = await runCli(['deploi']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("conda-gitops: unknown command 'deploi': did you mean 'deploy'? (see conda-gitops --help)\n");
    expect(r.stdout).toBe('');
    const j = await runCli(['deploi', '--json']);
    expect(j.code).toBe(2);
    expect(JSON.parse(j.stdout)).toEqual({
      ok: false,
      error: 'UsageError',
      message: "unknown command 'deploi': did you mean 'deploy'? (see conda-gitops --help)",
      exitCode: 2,
    });
  });

  test('surplus arguments and a flag missing its value are usage errors', async () => {
    const extra = await runCli(['validate', 'extra']);
    expect(extra.code).toBe(2);
    expect(extra.stderr).toContain("'validate' takes no arguments, got 'extra'");
    const noValue = await runCli(['plan', '--root']);
    expect(noValue.code).toBe(2);
    expect(noValue.stderr).toMatch(/--root/);
  });
});

describe('schema', () => {
  test('prints every schema as JSON, each a valid JSON Schema equal to the shipped file', async () => {
    const r = await runCli(['schema']);
    expect(r.code).toBe(0);
    const all = JSON.parse(r.stdout) as Record<string, object>;
    expect(Object.keys(all)).toEqual([...SCHEMA_NAMES]);
    const ajv = new Ajv({ strict: false });
    for (const name of SCHEMA_NAMES) {
      expect(ajv.validateSchema(all[name]!), name).toBe(true);
      expect(all[name]).toEqual(
        JSON.parse(readFileSync(new URL(`../../schemas/${name}.schema.json`, import.meta.url), 'utf8')),
      );
    }
  });

  test('one schema by name; an unknown name is a usage error', async () => {
    const one = await runCli(['schema', 'inventory']);
    expect(one.code).toBe(0);
    expect(JSON.parse(one.stdout)).toMatchObject({ title: 'inventory.ini', type: 'object' });
    const bad = await runCli(['schema', 'nope']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(
      "unknown schema 'nope' (known: inventory, report, build-record, build-mark, generation, history, marks, " +
        'installation-marks, verdict, build-manifest, installing, lock-holder, kernelspec)',
    );
  });
});

describe('classify', () => {
  // the labelled corpus of real conda/pip failure logs that test/unit/classify.test.ts also reads
  const CORPUS = '/work/shared/conda-errors';

  test('`classify -` reads the log on stdin; a missing file is a usage error naming it', async () => {
    const log = readFileSync(join(CORPUS, 'pip-failure__dice-embeddings-19.txt'));
    const r = await runCli(['classify', '-'], { input: log });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ file: null, class: 'pip-failure', spec: 'torch==1.10.1+cu113' });
    const missing = await runCli(['classify', '/nonexistent/nope.log']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('/nonexistent/nope.log');
  });
});

describe('validate and plan on a repository', () => {
  let r: RepoFixture;
  beforeAll(() => {
    r = makeRepo({
      inventory: inventoryText({
        envs: { analytics: 'REPLICATE', hlink: 'REPLICATE', geo: 'REPLICATE', census_1990: 'export' },
        channels: ['conda-forge', 'mpc'],
        kernels: { analytics: 'Analytics' },
        legacyNoarch: ['ipums_utils'],
      }),
      specs: {
        analytics: specText('analytics', {
          deps: ['python=3.11', 'ipykernel', 'pandas=2.1', 'pip'],
          pip: ['tabulate==0.9.0'],
        }),
        hlink: specText('hlink', {
          channels: ['conda-forge', 'mpc'],
          deps: ['python=3.10', 'mpc::hlink=3.5', 'ipums_utils'],
        }),
        geo: specText('geo', { deps: ['python=3.11', 'geopandas>=0.14,<1'] }),
        census_1990: specText('census_1990', { deps: ['python=2.7'] }),
      },
    });
  });
  afterAll(() => r.cleanup());

  test("the repository's own inventory and specs are valid", async () => {
    const res = await runCli(['validate']);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^ok: \d+ environments \(\d+ REPLICATE\), 0 warnings\n$/);
  });

  test('validate: human line, and --json that parses with every env and its build id', async () => {
    const human = await runCli(['validate', '--repo', r.dir]);
    expect(human.code).toBe(0);
    expect(human.stdout).toBe('ok: 4 environments (3 REPLICATE), 0 warnings\n');
    const res = await runCli(['validate', '--repo', r.dir, '--json']);
    expect(res.code).toBe(0);
    const out = JSON.parse(res.stdout) as {
      ok: boolean;
      problems: unknown[];
      environments: Array<{ name: string; mode: string; buildId?: string }>;
    };
    expect(out.ok).toBe(true);
    expect(out.problems).toEqual([]);
    expect(out.environments.map((e) => [e.name, e.mode])).toEqual([
      ['analytics', 'REPLICATE'],
      ['hlink', 'REPLICATE'],
      ['geo', 'REPLICATE'],
      ['census_1990', 'export'],
    ]);
    for (const e of out.environments) {
      if (e.mode === 'REPLICATE') expect(e.buildId).toMatch(/^[0-9a-f]{12}$/);
      else expect(e.buildId).toBeUndefined();
    }
  });

  test('validate runs in the current directory by default', async () => {
    const res = await runCli(['validate', '--json'], { cwd: r.dir });
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout).environments).toHaveLength(4);
  });

  const PLAN_EMPTY_ROOT =
    'plan against an empty root: every REPLICATE env is to build, as a CI matrix; the root stays empty';
  test(PLAN_EMPTY_ROOT, async () => {
    const before = snapshotTree(r.root);
    const res = await runCli(['plan', '--repo', r.dir, '--root', r.root, '--json']);
    expect(res.code).toBe(0);
    const plan = JSON.parse(res.stdout) as {
      root: string;
      envs: Array<{ name: string; action: string; buildId: string }>;
      unlink: string[];
      counts: Record<string, number>;
      matrix: { include: Array<{ env: string; buildId: string }> };
    };
    expect(plan.root).toBe(r.root);
    expect(plan.envs.map((e) => [e.name, e.action])).toEqual([
      ['analytics', 'build'],
      ['geo', 'build'],
      ['hlink', 'build'],
    ]);
    expect(plan.counts).toEqual({ keep: 0, link: 0, hold: 0, build: 3, test: 0, refuse: 0, unlink: 0 });
    expect(plan.matrix.include).toEqual(plan.envs.map((e) => ({ env: e.name, buildId: e.buildId })));
    // the ids are the ones validate computes
    const v = JSON.parse((await runCli(['validate', '--repo', r.dir, '--json'])).stdout) as {
      environments: Array<{ name: string; buildId?: string }>;
    };
    for (const e of plan.envs) expect(e.buildId).toBe(v.environments.find((x) => x.name === e.name)!.buildId);
    // human text went to stderr: stdout is only the JSON
    expect(res.stderr).toContain('+ build analytics');
    expect(snapshotTree(r.root)).toEqual(before);
  });

  const PLAN_HUMAN =
    'plan in human form; the root may also come from $CONDA_GITOPS_ROOT; a missing root: exit 2, not created';
  test(PLAN_HUMAN, async () => {
    const human = await runCli(['plan', '--repo', r.dir, '--root', r.root]);
    expect(human.code).toBe(0);
    expect(human.stdout.trim().split('\n')).toEqual([
      expect.stringMatching(/^\+ build analytics [0-9a-f]{12} {2}\(not built yet\)$/),
      expect.stringMatching(/^\+ build geo [0-9a-f]{12} {2}\(not built yet\)$/),
      expect.stringMatching(/^\+ build hlink [0-9a-f]{12} {2}\(not built yet\)$/),
      'plan: 3 to build, 0 to test, 0 to link, 0 unchanged, 0 to unlink (conda 23.11.0)',
    ]);
    const missing = join(r.base, 'no-such-root');
    const viaEnv = await runCli(['plan', '--repo', r.dir, '--json'], { env: { CONDA_GITOPS_ROOT: missing } });
    expect(viaEnv.code).toBe(2);
    expect(JSON.parse(viaEnv.stdout).message).toBe(
      `installation root ${missing} does not exist (check CONDA_GITOPS_ROOT); nothing was created`,
    );
    expect((await runCli(['plan', '--repo', r.dir, '--json'], { env: { CONDA_GITOPS_ROOT: r.root } })).code).toBe(0);
    expect(snapshotTree(r.base).some((l) => l.startsWith('no-such-root'))).toBe(false);
  });

  test('plan reads build records: an old tested build is to link, a failed one to build again', async () => {
    const r2 = makeRepo({
      inventory: inventoryText({ envs: { a: 'REPLICATE', b: 'REPLICATE' } }),
      specs: { a: specText('a'), b: specText('b', { deps: ['python=3.10'] }) },
    });
    try {
      const first = JSON.parse((await runCli(['plan', '--repo', r2.dir, '--root', r2.root, '--json'])).stdout) as {
        envs: Array<{ name: string; buildId: string }>;
      };
      const rec = (env: string, status: 'tested' | 'failed') => ({
        format: 1 as const,
        env,
        buildId: first.envs.find((e) => e.name === env)!.buildId,
        specHash: 'x',
        status,
        condaVersion: '23.11.0',
        frontend: 'conda' as const,
        prefix: '/x',
        phases: [],
        startedAt: '2024-01-01T00:00:00Z',
        log: '/x.log',
      });
      writeBuildRecord(r2.root, rec('a', 'tested'));
      mkdirSync(join(r2.root, 'v23.11.0', 'builds', 'a', rec('a', 'tested').buildId), { recursive: true });
      writeBuildRecord(r2.root, rec('b', 'failed'));
      const res = await runCli(['plan', '--repo', r2.dir, '--root', r2.root, '--json']);
      expect(res.code).toBe(0);
      const plan = JSON.parse(res.stdout) as {
        envs: Array<{ name: string; action: string; build?: string }>;
        matrix: { include: Array<{ env: string }> };
      };
      expect(plan.envs.map((e) => [e.name, e.action, e.build])).toEqual([
        ['a', 'link', 'built'],
        ['b', 'build', 'failed'],
      ]);
      expect(plan.matrix.include.map((m) => m.env)).toEqual(['b']);
    } finally {
      r2.cleanup();
    }
  });

  test('plan without any root is a usage error', async () => {
    const res = await runCli(['plan', '--repo', r.dir, '--json']);
    expect(res.code).toBe(2);
    expect(JSON.parse(res.stdout)).toMatchObject({ ok: false, error: 'UsageError', exitCode: 2 });
    expect(res.stderr).toContain(
      'no installation root: pass --root DIR, set CONDA_GITOPS_ROOT, or set [conda] root in inventory.ini',
    );
  });

  test('plan --json on bad input: exit 2 and a JSON error naming file:line', async () => {
    const bad = makeRepo({
      inventory: inventoryText({ envs: { a: 'REPLICATE' } }),
      specs: { a: 'name: a\ndependencies: python\n' },
    });
    try {
      const res = await runCli(['plan', '--repo', bad.dir, '--root', bad.root, '--json']);
      expect(res.code).toBe(2);
      expect(JSON.parse(res.stdout)).toEqual({
        ok: false,
        error: 'InputError',
        message: "env-specs/a.yml:2: error: 'dependencies' must be a list",
        exitCode: 2,
      });
    } finally {
      bad.cleanup();
    }
  });
});
