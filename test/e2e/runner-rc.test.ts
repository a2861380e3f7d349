/**
 * Issue 12 item 9 (the rest): conda < 24.9 reads the runner user's rc files (~/.condarc, ~/.config/conda/…,
 * ~/.conda/condarc, $XDG_CONFIG_HOME/conda/…, /etc/conda/…) even with CONDARC set, so they leak into builds;
 * from 24.9 CONDA_RESTRICT_RC_SEARCH_PATH (which the product sets) makes builds hermetic. `status` and
 * `validate --runner` name each such file and what to do. (The fake reads them too: conda-fidelity-rc-texts.test.ts.)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Context } from '../../scripts/app/context.js';
import { memoryOutput } from '../../scripts/cli/output.js';
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

describe('rc files of the runner user that leak into builds', () => {
  it('validate --runner names each file on conda < 24.9, and what to do; exit stays 0', async () => {
    const { home, xdg, env } = world('23.11.0');
    const r = await run('validate', { runner: true, json: true }, env);
    expect(r.code).toBe(0);
    for (const f of [join(home, '.condarc'), join(home, '.conda', 'condarc'), join(xdg, 'conda', 'condarc')])
      expect(r.warned).toContain(`warning: ${f} is read by every build on conda 23.11.0`);
    expect(r.warned).toMatch(/conda < 24\.9 reads the runner user's rc files even with CONDARC set/);
    expect(r.warned).toMatch(/move what builds need into .*v23\.11\.0\/\.condarc and remove or rename it/);
    expect(r.warned).not.toContain(join(fx!.root, 'v23.11.0', '.condarc') + ' is read');
    expect(r.result.runner.rcFiles).toEqual([
      join(xdg, 'conda', 'condarc'),
      join(home, '.conda', 'condarc'),
      join(home, '.condarc'),
    ]);
    // without --runner validate checks the repository only
    const plain = await run('validate', { json: true }, env);
    expect(plain.warned).not.toContain('.condarc');
  });

  it('from conda 24.9 builds are hermetic: no warning', async () => {
    const { env } = world('24.11.3');
    const r = await run('validate', { runner: true, json: true }, env);
    expect(r.code).toBe(0);
    expect(r.warned).not.toMatch(/is read by every build/);
    expect(r.result.runner.rcFiles).toEqual([]);
  });

  it('status warns too, and lists the files in --json', async () => {
    const { home, env } = world('4.8.5');
    const r = await run('status', { json: true }, env);
    expect(r.warned).toContain(`warning: ${join(home, '.condarc')} is read by every build on conda 4.8.5`);
    expect(r.result.rcFiles).toContain(join(home, '.condarc'));
  });
});
