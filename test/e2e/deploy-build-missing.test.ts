/**
 * `deploy --build-missing` through the compiled CLI: the installation's own (fake) conda builds and tests the
 * env without a tested build, then the deploy links it. e2e because it installs and runs the fake conda.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readLive } from '../../scripts/state/generation.js';
import { readBuildRecord } from '../../scripts/state/record.js';
import {
  addTestedBuilds,
  makeBuildingInstallation,
  writeRepo,
  VERSION,
  type FakeInstallation,
} from '../fixtures/installation.js';
import { runCli } from '../fixtures/repo.js';

describe('deploy --build-missing', () => {
  let fi: FakeInstallation | undefined;
  afterEach(() => fi?.cleanup());

  it("builds and tests the missing envs with the installation's conda, then deploys them", async () => {
    fi = makeBuildingInstallation();
    const repo = join(fi.root, 'repo');
    mkdirSync(repo);
    const desired = await writeRepo(repo, { envs: { a: 1, b: 2 } });
    addTestedBuilds(fi.root, { ...desired, envs: desired.envs.filter((e) => e.name === 'a') });

    const refused = await runCli(['deploy', '--root', fi.root], { cwd: repo });
    expect(refused.code, refused.stderr).toBe(1);
    expect(refused.stderr).toMatch(/conda-gitops: refusing to deploy: .*\n {2}b [0-9a-f]{12}: not built/);

    const built = await runCli(['deploy', '--root', fi.root, '--build-missing'], { cwd: repo });
    expect(built.code, built.stderr).toBe(0);
    expect(built.stderr).toMatch(/building 1 missing env/);
    const b = desired.envs.find((e) => e.name === 'b')!.buildId;
    expect(readBuildRecord(fi.root, VERSION, 'b', b)?.status).toBe('built'); // its verdict is a file beside it
    expect(readdirSync(join(fi.root, `v${VERSION}`, 'builds', 'b', `${b}.verdicts`))).toHaveLength(1);
    expect(readLive(fi.root).links).toEqual({ a: desired.envs.find((e) => e.name === 'a')!.buildId, b });
    const python = join(fi.root, 'envs', 'b', 'bin', 'python');
    expect(execFileSync(python, ['-c', 'print(6*7)'], { encoding: 'utf8' }).trim()).toBe('42');
  });
});
