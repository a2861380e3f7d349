/**
 * Messages an env owner acts on, through the CLI as typed: did-you-mean for commands, flags and env names,
 * env names listed where a rollback has none, the inventory line at fault, a --repo hint outside a repository.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { execute } from '../../scripts/cli/dispatch.js';
import { memoryOutput } from '../../scripts/cli/output.js';
import {
  addTestedBuilds,
  makeInstallation,
  tempDir,
  writeRepo,
  type FakeInstallation,
} from '../fixtures/installation.js';
import { rmSync } from 'node:fs';

let fi: FakeInstallation | undefined;
const extra: string[] = [];
afterEach(() => {
  fi?.cleanup();
  fi = undefined;
  extra.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true }));
});

async function cli(cwd: string, ...argv: string[]) {
  const out = memoryOutput();
  const code = await execute(argv, { out, cwd, env: { ...process.env, GITHUB_ACTIONS: '' } });
  return { code, stderr: out.errors.join('\n'), stdout: out.lines.join('\n') };
}

/** A repository with envs `tools` and `web`, deployed into a fake installation. */
async function deployed(): Promise<string> {
  fi = makeInstallation();
  const repo = join(fi.root, 'repo');
  mkdirSync(repo);
  addTestedBuilds(fi.root, await writeRepo(repo, { envs: { tools: 1, web: 1 } }));
  expect((await cli(repo, 'deploy', '--root', fi.root)).code).toBe(0);
  return repo;
}

describe('did you mean, on the command line', () => {
  it('a mistyped command or flag names the one meant (exit 2)', async () => {
    const dir = tempDir('cg-dym-');
    extra.push(dir);
    const cmd = await cli(dir, 'statsu');
    expect(cmd.code).toBe(2);
    expect(cmd.stderr).toContain("unknown command 'statsu': did you mean 'status'?");
    const flag = await cli(dir, 'deploy', '--dryrun');
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain("Unknown option '--dryrun': did you mean '--dry-run'?");
  });

  it('a mistyped env name for --repair, --env and rollback --env names the env meant', async () => {
    const repo = await deployed();
    const repair = await cli(repo, 'deploy', '--root', fi!.root, '--repair', 'tool');
    expect(repair.code).toBe(2);
    expect(repair.stderr).toContain("did you mean 'tools'?");
    const build = await cli(repo, 'build', '--root', fi!.root, '--env', 'wbe');
    expect(build.code).toBe(2);
    expect(build.stderr).toContain("--env wbe: not a REPLICATE environment in inventory.ini: did you mean 'web'?");
    const rollback = await cli(repo, 'rollback', '--root', fi!.root, '--env', 'nosuch');
    expect(rollback.code).toBe(2);
    expect(rollback.stderr).toMatch(/env 'nosuch' is in no generation of v[\d.]+ \(envs: tools, web\)/);
    const typo = await cli(repo, 'rollback', '--root', fi!.root, '--env', 'tool');
    expect(typo.stderr).toContain("did you mean 'tools'?");
  });

  it('install-conda --version with no installer of that name points at the installer line', async () => {
    fi = makeInstallation();
    const repo = join(fi.root, 'repo');
    mkdirSync(join(repo, 'env-specs'), { recursive: true });
    writeFileSync(
      join(repo, 'inventory.ini'),
      '[conda]\nversion = 23.11.0\nchannels = conda-forge\n' +
        `installer = ${fi.root}/Miniconda3-{version}-Linux-x86_64.sh\n\n[environments]\n`,
    );
    const r = await cli(repo, 'install-conda', '--root', fi.root, '--version', '24.1');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/inventory\.ini:4: error: installer .*Miniconda3-24\.1-Linux-x86_64\.sh .*does not exist/);
    expect(r.stderr).toContain('the full version');
  });

  it('outside a repository: the error says to run in one or pass --repo', async () => {
    fi = makeInstallation();
    const r = await cli(fi.root, 'status', '--root', fi.root);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      `inventory.ini not found in ${fi.root}: run conda-gitops in the repository, or pass --repo DIR`,
    );
  });
});
