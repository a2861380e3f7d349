/**
 * Libmamba (micromamba, mamba 2) never runs pre-link scripts, so a legacy `noarch_python` package
 * links with exit 0 and none of its module files (fake-conda README, "libmamba" table). The build runs the
 * package's pre-link script itself, as conda does (`bash <extracted>/bin/.NAME-pre-link.sh` with PREFIX and
 * SOURCE_DIR): the module imports after the build on every frontend.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildEnv } from '../../scripts/engine/build.js';
import { installationTools } from '../../scripts/app/pipeline.js';
import { loadRepo } from '../../scripts/repo/repo.js';
import { desiredState } from '../../scripts/core/desired.js';
import { buildPaths } from '../../scripts/core/layout.js';
import { installFakeConda, writeChannel } from '../fake-conda/index.js';
import { worldSpec, writeRepo } from '../fixtures/qa-world.js';

let base: string;
let channel: string;
beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), 'cg-legacy-libmamba-'));
  channel = writeChannel(join(base, 'channel'), [
    { name: 'python', version: '3.11.4', module: false },
    { name: 'ipums_utils', version: '1.2', legacyNoarchPython: true, depends: ['python'] },
  ]);
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

const FRONTENDS = [
  { label: 'micromamba 2.0.5', frontend: 'micromamba', mambaVersion: '2.0.5' },
  { label: 'mamba 2.0.5', frontend: 'mamba', mambaVersion: '2.0.5' },
  { label: 'mamba 1.5.8', frontend: 'mamba', mambaVersion: '1.5.8' },
  { label: 'conda', frontend: 'conda', mambaVersion: undefined },
] as const;

describe('a legacy noarch package is importable after the build on every frontend', () => {
  test.each(FRONTENDS)(
    '$label',
    async ({ label, frontend, mambaVersion }) => {
      const root = join(base, label.replace(/\W+/g, '-'));
      const version = '24.1.2';
      installFakeConda(join(root, `v${version}`), version, {
        channels: [channel],
        frontend,
        ...(mambaVersion ? { mambaVersion } : {}),
      });
      const repoDir = writeRepo(
        join(root, 'repo'),
        { version, frontend, envs: { legacy: 'REPLICATE' }, channels: [channel], legacyNoarch: ['ipums_utils'] },
        { legacy: worldSpec({ channel }, 'legacy', ['python=3.11', 'ipums_utils=1.2']) },
      );
      const desired = desiredState(await loadRepo(repoDir));
      const env = desired.envs.find((e) => e.name === 'legacy')!;
      const out = await buildEnv({
        root,
        condaVersion: version,
        frontend,
        env,
        specDir: join(repoDir, 'env-specs'),
        tools: installationTools(root, desired),
      });
      expect(out.status, JSON.stringify(out.failure)).toBe('built');
      const { prefix } = buildPaths(root, version, 'legacy', env.buildId);
      const printed = execFileSync(
        join(prefix, 'bin', 'python'),
        ['-c', 'import ipums_utils; print(ipums_utils.__version__)'],
        {
          encoding: 'utf8',
        },
      );
      expect(printed.trim()).toBe('1.2');
    },
    120_000,
  );
});
