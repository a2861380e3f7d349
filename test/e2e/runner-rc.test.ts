/**
 * Every conda reads the runner user's rc files (~/.condarc, ~/.config/conda/…,
 * ~/.conda/condarc, $XDG_CONFIG_HOME/conda/…) and the system ones (/etc/conda/…, /var/lib/conda/…) even with
 * CONDARC set; no release reads CONDA_RESTRICT_RC_SEARCH_PATH. Builds get a private home (core/hermetic.ts), so
 * the user's files never reach them (real conda: test/real-conda/hermetic.test.ts); the system files do outside
 * the sandbox. `status` and `validate --runner` name exactly those, on every version.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Context } from '../../scripts/app/context.js';
import { memoryOutput } from '../../scripts/cli/output.js';
import { warnRunnerRcFiles } from '../../scripts/app/runner-rc.js';
import { runCommand } from '../fixtures/command.js';
import { inventoryText, makeRepo, specText, type RepoFixture } from '../fixtures/repo.js';

let fx: RepoFixture | undefined;
afterEach(() => fx?.cleanup());

function world(version: string) {
  fx = makeRepo({
    inventory: inventoryText({ envs: { hlink: 'REPLICATE' }, version }),
    specs: { hlink: specText('hlink', { deps: ['python=3.11'] }) },
  });
  const home = join(fx.base, 'home');
  const xdg = join(fx.base, 'xdg');
  mkdirSync(join(home, '.conda'), { recursive: true });
  mkdirSync(join(xdg, 'conda'), { recursive: true });
  writeFileSync(join(home, '.condarc'), 'channels:\n  - https://example.invalid/userchan\n');
  writeFileSync(join(home, '.conda', 'condarc'), 'channels: []\n');
  writeFileSync(join(xdg, 'conda', 'condarc'), 'channel_alias: https://example.invalid\n');
  // the installation's own rc is what builds are meant to read: never warned about
  mkdirSync(join(fx.root, `v${version}`), { recursive: true });
  writeFileSync(join(fx.root, `v${version}`, '.condarc'), 'channels:\n  - conda-forge\n');
  const env = { PATH: process.env.PATH, HOME: home, XDG_CONFIG_HOME: xdg, CONDA_GITOPS_ROOT: fx.root };
  return { home, xdg, env };
}

async function run(name: string, options: Context['options'], env: Record<string, string | undefined>) {
  const out = memoryOutput(true);
  const code = await runCommand(name, { options, positionals: [], out, repo: fx!.dir, env } as Context);
  return { code, warned: out.errors.join('\n') + out.lines.join('\n'), result: out.results[0] as Record<string, any> };
}

describe('rc files that leak into builds', () => {
  for (const version of ['23.11.0', '24.11.3']) {
    it(`validate --runner, conda ${version}: the user's rc files never reach builds (own home); exit 0`, async () => {
      const { env } = world(version);
      const r = await run('validate', { runner: true, json: true }, env);
      expect(r.code).toBe(0);
      expect(r.warned).not.toMatch(/is read by every build/);
      expect(r.result.runner.rcFiles).toEqual([]);
      // without --runner validate checks the repository only
      const plain = await run('validate', { json: true }, env);
      expect(plain.warned).not.toContain('.condarc');
    });
  }

  it('/etc/conda and /var/lib/conda files are named on every version, 24.x included, with what to do', () => {
    const etc = mkdtempSync(join(tmpdir(), 'cg-etc-'));
    try {
      mkdirSync(join(etc, 'conda', 'condarc.d'), { recursive: true });
      writeFileSync(join(etc, 'conda', '.condarc'), 'channels:\n  - https://example.invalid/sitechan\n');
      writeFileSync(join(etc, 'conda', 'condarc.d', 'site.yml'), 'channel_alias: https://example.invalid\n');
      for (const version of ['4.8.5', '24.11.3', '25.11.1']) {
        const out = memoryOutput(true);
        const root = '/pkg/conda';
        const files = warnRunnerRcFiles(root, { conda: { version, frontend: 'conda' } } as never, out, etc);
        expect(files).toEqual([join(etc, 'conda', '.condarc'), join(etc, 'conda', 'condarc.d', 'site.yml')]);
        const text = out.errors.join('\n');
        expect(text).toContain(
          `warning: ${join(etc, 'conda', '.condarc')} is read by every build on conda ${version} that runs ` +
            'without the bubblewrap sandbox',
        );
        expect(text).toContain(`move what builds need into /pkg/conda/v${version}/.condarc and remove it`);
      }
      // micromamba reads $CONDARC only
      const out = memoryOutput(true);
      expect(
        warnRunnerRcFiles('/pkg/conda', { conda: { version: '2.0.5', frontend: 'micromamba' } } as never, out, etc),
      ).toEqual([]);
    } finally {
      rmSync(etc, { recursive: true, force: true });
    }
  });

  it('status lists no user rc file in --json', async () => {
    const { home, env } = world('4.8.5');
    const r = await run('status', { json: true }, env);
    expect(r.warned).not.toContain(join(home, '.condarc'));
    expect(r.result.rcFiles).toEqual([]);
  });
});
