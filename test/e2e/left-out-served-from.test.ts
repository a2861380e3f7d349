/**
 * Where an env left out of a conda upgrade (`[conda] allow-failures`) is served, as deploy, its history line,
 * status and the kernelspecs say it: the installation that really still serves it, also when `current` was rolled
 * back past it (two `rollback --installation`) and `deploy --force` goes forward from an older one.
 */
import { existsSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { memoryOutput } from '../../scripts/cli/output.js';
import type { OptionValues } from '../../scripts/core/options.js';
import { desiredState } from '../../scripts/core/desired.js';
import { loadRepo } from '../../scripts/repo/repo.js';
import { readHistory } from '../../scripts/state/history.js';
import { installerTemplate } from '../fake-conda/fixtures.js';
import { runCommand } from '../fixtures/command.js';
import {
  addBuild,
  addTestedBuilds,
  commitAll,
  makeInstallation,
  writeRepo,
  type FakeInstallation,
} from '../fixtures/installation.js';

const V1 = '23.1.0';
const V2 = '23.11.0';
const V3 = '24.1.2';

let fi: FakeInstallation | undefined;
afterEach(() => fi?.cleanup());

async function cli(repo: string, name: string, options: OptionValues = {}, positionals: string[] = []) {
  const out = memoryOutput();
  const ctx = { options: { root: fi!.root, ...options }, positionals, out, repo, env: process.env };
  const code = await runCommand(name, ctx);
  return { code, stdout: out.lines.join('\n'), stderr: out.errors.join('\n') };
}

/** main on `version` with `envs` (geo a kernel when listed), `failing` envs allowed to fail; deployed. */
async function deployAt(repo: string, version: string, envs: Record<string, number>, failing: string[] = []) {
  await writeRepo(repo, { version, envs, kernels: 'geo' in envs ? { geo: 'Geo' } : {} });
  const inv = join(repo, 'inventory.ini');
  const installer = installerTemplate(join(fi!.root, 'installers'), [V1, V2, V3]);
  const extra = [`installer = ${installer}`, ...(failing.length ? [`allow-failures = ${failing.join(', ')}`] : [])];
  writeFileSync(inv, readFileSync(inv, 'utf8').replace('[conda]\n', `[conda]\n${extra.join('\n')}\n`));
  const d = desiredState(await loadRepo(repo));
  if (version !== V1) expect((await cli(repo, 'install-conda', { version })).code).toBe(0);
  addTestedBuilds(fi!.root, { ...d, envs: d.envs.filter((e) => !failing.includes(e.name)) });
  for (const n of failing)
    addBuild(fi!.root, version, n, d.envs.find((e) => e.name === n)!.buildId, { status: 'failed' });
  commitAll(repo, `conda ${version}`);
  const r = await cli(repo, 'deploy');
  expect(r.code, r.stderr + r.stdout).toBe(0);
  return r;
}

describe('an env left out of an upgrade: where it is served', () => {
  it('after two rollback --installation and deploy --force: history and status name where it is served', async () => {
    fi = makeInstallation({ version: V1 });
    const root = fi.root;
    const repo = join(root, 'repo');
    await deployAt(repo, V1, { hlink: 1 }); // geo does not exist yet in v23.1.0
    await deployAt(repo, V2, { hlink: 1, geo: 1 }); // geo added in v23.11.0
    const served = join(root, `v${V2}`, 'envs', 'geo');
    const up = await deployAt(repo, V3, { hlink: 1, geo: 1 }, ['geo']); // geo fails in v24.1.2
    expect(up.stdout).toContain(`still served from v${V2} at ${served}`);

    // back two installations: v24.1.2 -> v23.11.0 -> v23.1.0 (v23.11.0 keeps its live generation, geo in it)
    expect((await cli(repo, 'rollback', { installation: true })).code).toBe(0);
    expect((await cli(repo, 'rollback', { installation: true })).code).toBe(0);
    expect(readlinkSync(join(root, 'current'))).toBe(`v${V1}`);
    expect(existsSync(join(served, 'bin', 'python'))).toBe(true);
    const back = await cli(repo, 'status');
    expect(back.stdout).toMatch(/geo\s+missing: .*still served from v23\.11\.0 at /);
    expect(back.stdout).not.toContain('not live anywhere');

    const forced = await cli(repo, 'deploy', { force: true });
    expect(forced.code, forced.stderr + forced.stdout).toBe(0);
    expect(readlinkSync(join(root, 'current'))).toBe(`v${V3}`);
    expect(forced.stdout).toContain(`left out: geo (failed: missing-package), still served from v${V2} at ${served}`);
    expect(forced.stdout).not.toContain('not live anywhere');
    const h = readHistory(root).entries.at(-1)!;
    expect(h.command).toBe('deploy --force');
    expect(h.note).toContain(`still served from v${V2} at ${served}`);
    expect(h.note).not.toContain('not live anywhere');
    // its kernel keeps running the build that serves it
    const kernel = JSON.parse(readFileSync(join(root, 'kernels', 'geo', 'kernel.json'), 'utf8')) as { argv: string[] };
    expect(kernel.argv.slice(1, 4)).toEqual([served, 'geo', join(served, 'bin', 'python')]);
    // status says the same, and asks for nothing that deploy just did
    const st = await cli(repo, 'status');
    expect(st.stdout).toMatch(/geo\s+missing: .*still served from v23\.11\.0 at /);
    expect(st.stdout).not.toMatch(/kernel geo/);
    expect(st.stdout).not.toContain('To repair: conda-gitops kernels');

    // a later deploy into v24.1.2 (another env changes: a new generation) still finds it there
    const next = await deployAt(repo, V3, { hlink: 2, geo: 1 }, ['geo']);
    expect(next.stdout).toContain(`still served from v${V2} at ${served}`);
    expect(readHistory(root).entries.at(-1)!.note).toContain(`still served from v${V2}`);
    const again = await cli(repo, 'status');
    expect(again.stdout).toMatch(/geo\s+missing: .*still served from v23\.11\.0 at /);
    expect(again.stdout).not.toMatch(/kernel geo/);
  });
});
