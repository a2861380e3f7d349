import { describe, expect, test } from 'vitest';
import {
  installerFileName,
  installerSource,
  outputTail,
  parseCustomChannels,
  renderCondarc,
  sameDigest,
  versionMatches,
} from '../../scripts/core/install-conda.js';
import { parseInventory } from '../../scripts/core/inventory.js';
import { load } from 'js-yaml';
import {
  buildReport,
  renderSummary,
  reportSchemaErrors,
  upgradeHeadline,
  upgradeLines,
} from '../../scripts/core/report.js';
import { describeChanges } from '../../scripts/core/changes.js';
import type { EnvRunResult, QaRunResult } from '../../scripts/core/types.js';

describe('install-conda (pure parts)', () => {
  test('the installer template names a path or a URL', () => {
    expect(installerSource('/pkg/Miniconda3-{version}-Linux-x86_64.sh', '24.1.2')).toEqual({
      kind: 'path',
      path: '/pkg/Miniconda3-24.1.2-Linux-x86_64.sh',
    });
    expect(installerSource('https://repo.example.org/Miniconda3-{version}.sh', '24.1.2')).toEqual({
      kind: 'url',
      url: 'https://repo.example.org/Miniconda3-24.1.2.sh',
      scheme: 'https',
    });
    expect(installerSource('FILE:///srv/i/{version}/inst.sh', '4.3.22')).toMatchObject({ kind: 'url', scheme: 'file' });
    expect(installerFileName('https://x/y/Miniconda3-24.1.2.sh?token=1', '24.1.2')).toBe('Miniconda3-24.1.2.sh');
    expect(installerFileName('https://x/', '24.1.2')).toBe('x');
    expect(installerFileName('file:///../..', '1.0')).toBe('conda-installer-1.0.sh');
  });

  test('the .condarc is rendered from the inventory and parses back as YAML', () => {
    const { inventory, problems } = parseInventory(
      [
        '[conda]',
        'version = 24.1.2',
        'channels = mpc, conda-forge',
        'custom-channels = mpc=https://conda.internal/, lab=file:///srv/chan',
        'channel-alias = https://conda.example.org',
        'default-channels = https://repo.example.org/main',
        'pkgs-dirs = /srv/pkgs',
        'envs-dirs = /srv/envs, /srv/envs2',
        'solver = libmamba',
        'installer-sha256 = ' + 'AB'.repeat(32),
        '[environments]',
        'a = REPLICATE',
      ].join('\n'),
    );
    expect(problems).toEqual([]);
    expect(inventory!.conda.installerSha256).toBe('ab'.repeat(32));
    const rc = load(renderCondarc(inventory!.conda));
    expect(rc).toEqual({
      channels: ['mpc', 'conda-forge'],
      custom_channels: { mpc: 'https://conda.internal/', lab: 'file:///srv/chan' },
      channel_alias: 'https://conda.example.org',
      default_channels: ['https://repo.example.org/main'],
      pkgs_dirs: ['/srv/pkgs'],
      envs_dirs: ['/srv/envs', '/srv/envs2'],
      solver: 'libmamba',
    });
    // only the channels when nothing else is set (an old conda rejects keys it does not know)
    expect(
      load(
        renderCondarc({
          ...inventory!.conda,
          customChannels: undefined,
          channelAlias: undefined,
          defaultChannels: undefined,
          pkgsDirs: undefined,
          envsDirs: undefined,
          solver: undefined,
        }),
      ),
    ).toEqual({
      channels: ['mpc', 'conda-forge'],
    });
  });

  test('bad new [conda] keys are errors naming the line', () => {
    const { problems } = parseInventory(
      [
        '[conda]',
        'version = 24.1.2',
        'channels = mpc',
        'custom-channels = mpc',
        'solver = fast',
        'installer-sha256 = 1234',
        'pkgs-dirs = relative/dir',
        '[environments]',
        'a = REPLICATE',
      ].join('\n'),
    );
    expect(problems.map((p) => p.line).sort()).toEqual([4, 5, 6, 7]);
    expect(problems.find((p) => p.line === 5)!.message).toMatch(/classic, libmamba/);
  });

  test('solver is refused for a conda that does not know it (< 22.11: ignored in silence), naming the line', () => {
    const inv = (version: string, frontend = 'conda') =>
      parseInventory(
        [
          '[conda]',
          `version = ${version}`,
          `frontend = ${frontend}`,
          'channels = mpc',
          'solver = libmamba',
          '[environments]',
          'a = REPLICATE',
        ].join('\n'),
        'inventory.ini',
      ).problems;
    for (const v of ['4.3.22', '4.12.0', '22.9.0']) {
      const problems = inv(v);
      expect(
        problems.map((p) => [p.file, p.line, p.severity]),
        v,
      ).toEqual([['inventory.ini', 5, 'error']]);
      expect(problems[0]!.message).toMatch(/from conda 22\.11/);
    }
    expect(inv('22.11.1')).toEqual([]);
    expect(inv('25.11.1')).toEqual([]);
  });

  test('solver = classic below 22.11 is what that conda does: accepted (before an upgrade PR), not written', () => {
    const text = (version: string) =>
      ['[conda]', `version = ${version}`, 'channels = mpc', 'solver = classic', '[environments]', 'a = REPLICATE'].join(
        '\n',
      );
    const old = parseInventory(text('4.3.22'), 'inventory.ini');
    expect(old.problems).toEqual([]);
    expect(renderCondarc(old.inventory!.conda)).not.toMatch(/solver/);
    const recent = parseInventory(text('24.11.3'), 'inventory.ini');
    expect(renderCondarc(recent.inventory!.conda)).toMatch(/^solver: classic$/m);
  });

  test('custom channels, versions, digests, output tails', () => {
    expect(parseCustomChannels(['a=https://x/', 'b', 'c=ftp://y'])).toEqual({
      channels: { a: 'https://x/' },
      bad: ['b', 'c=ftp://y'],
    });
    expect(versionMatches('24.1.2', '24.1.2')).toBe(true);
    expect(versionMatches('24.1', '24.1.0')).toBe(true);
    expect(versionMatches('24.1.3', '24.1.2')).toBe(false);
    expect(versionMatches(undefined, '24.1.2')).toBe(false);
    expect(sameDigest('AB', 'ab')).toBe(true);
    expect(outputTail('a\n\nb\nc\n', 2)).toEqual(['b', 'c']);
  });
});

describe('the upgrade in the QA report and the plan', () => {
  const env = (name: string, status: EnvRunResult['status']): EnvRunResult => ({
    env: name,
    status,
    seconds: 1,
    phases: [],
    ...(status === 'failed'
      ? { phase: 'create' as const, failure: { class: 'missing-version' as const, excerpt: [] } }
      : {}),
  });
  const run = (upgrade: QaRunResult['upgrade'], envs: EnvRunResult[]): QaRunResult => ({
    runId: 'r1',
    startedAt: '2024-01-01T00:00:00Z',
    finishedAt: '2024-01-01T00:01:00Z',
    root: '/srv/conda',
    condaVersion: '24.1.2',
    frontend: 'conda',
    runDir: '/srv/conda/.gitops/runs/r1',
    envs,
    ...(upgrade ? { upgrade } : {}),
  });

  test('headline "N envs: ok, failed", export envs named, schema-valid', () => {
    const r = buildReport(
      run({ from: '23.11.0', to: '24.1.2', installation: 'installed', notReplicated: ['old'] }, [
        env('a', 'tested'),
        env('b', 'reused'),
        env('c', 'failed'),
      ]),
    );
    expect(reportSchemaErrors(r)).toEqual([]);
    expect(upgradeHeadline(r)).toBe('conda upgrade 23.11.0 -> 24.1.2: 3 envs: 2 ok, 1 failed');
    expect(upgradeLines(r)).toContain('Not replicated (export): old');
    expect(renderSummary(r)).toMatch(/### conda upgrade 23\.11\.0 -> 24\.1\.2: 3 envs: 2 ok, 1 failed/);
    expect(upgradeHeadline(buildReport(run(undefined, [])))).toBeUndefined();
  });

  test('a failed install: the summary has the installer output', () => {
    const r = buildReport(
      run(
        {
          to: '24.1.2',
          installation: 'failed',
          message: 'the installer failed (exit 1)',
          output: ['ERROR: no space ```'],
          notReplicated: [],
        },
        [],
      ),
    );
    expect(reportSchemaErrors(r)).toEqual([]);
    const md = renderSummary(r);
    expect(md).toMatch(/could not be installed: the installer failed \(exit 1\)/);
    expect(md).toContain("ERROR: no space '''");
  });

  test('the plan says why each env is rebuilt', () => {
    const changes = {
      condaVersion: { base: '23.11.0', head: '24.1.2', changed: true },
      envs: [{ name: 'a', reasons: ['conda-version' as const, 'spec' as const] }],
      dropped: [],
      exportOnly: [],
      kernels: { added: [], removed: [], changed: [] },
    };
    expect(describeChanges(changes)).toContain('build a (conda upgrade 23.11.0 -> 24.1.2, spec)');
    expect(describeChanges({ ...changes, condaVersion: { base: '24.1.2', head: '23.11.0', changed: true } })).toContain(
      'build a (conda downgrade 24.1.2 -> 23.11.0, spec)',
    );
  });
});
