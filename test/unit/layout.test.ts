import { describe, expect, it } from 'vitest';
import { buildPaths, GITOPS_DIR, installationLayout, installationName, layout } from '../../scripts/core/layout.js';

describe('layout of ROOT', () => {
  it('puts the live links at the top and the tool state under .gitops/', () => {
    expect(layout('/pkg/conda')).toEqual({
      root: '/pkg/conda',
      current: '/pkg/conda/current',
      qa: '/pkg/conda/qa',
      envs: '/pkg/conda/envs',
      kernels: '/pkg/conda/kernels',
      gitops: `/pkg/conda/${GITOPS_DIR}`,
      lock: '/pkg/conda/.gitops/lock',
      history: '/pkg/conda/.gitops/history.jsonl',
      installationMarks: '/pkg/conda/.gitops/installation-marks.jsonl',
      runs: '/pkg/conda/.gitops/runs',
    });
  });

  it('gives the same paths for a root written with a trailing slash or dot segments', () => {
    const { root: _, ...paths } = layout('/pkg/conda');
    const { root: __, ...other } = layout('/pkg/./conda/');
    expect(other).toEqual(paths);
  });
});

describe('an installation vX', () => {
  it('is named after its conda version, holding conda, envs, generations and builds', () => {
    expect(installationName('23.11.0')).toBe('v23.11.0');
    expect(installationLayout('/pkg/conda', '4.3.22')).toEqual({
      dir: '/pkg/conda/v4.3.22',
      condaExe: '/pkg/conda/v4.3.22/bin/conda',
      envs: '/pkg/conda/v4.3.22/envs',
      generations: '/pkg/conda/v4.3.22/generations',
      builds: '/pkg/conda/v4.3.22/builds',
      marks: '/pkg/conda/v4.3.22/marks.jsonl',
    });
  });

  it("keeps a build's record and log beside its prefix, never inside it", () => {
    const p = buildPaths('/pkg/conda', '23.11.0', 'hlink', '0123abcd4567');
    expect(p).toEqual({
      prefix: '/pkg/conda/v23.11.0/builds/hlink/0123abcd4567',
      record: '/pkg/conda/v23.11.0/builds/hlink/0123abcd4567.json',
      mark: '/pkg/conda/v23.11.0/builds/hlink/0123abcd4567.bad.json',
      log: '/pkg/conda/v23.11.0/builds/hlink/0123abcd4567.log',
      verdicts: '/pkg/conda/v23.11.0/builds/hlink/0123abcd4567.verdicts',
    });
    expect(p.record.startsWith(`${p.prefix}/`)).toBe(false);
  });

  it('separates the same env and build id under two conda versions', () => {
    expect(buildPaths('/r', '23.11.0', 'a', 'x').prefix).not.toBe(buildPaths('/r', '24.1.2', 'a', 'x').prefix);
  });
});
