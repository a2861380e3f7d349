/**
 * The product against a fake conda that behaves like the real version families
 * (-c nodefaults is a channel name; env list is every registered prefix; rc files of the runner user; texts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Conda } from '../../scripts/engine/conda.js';
import { classify as classifyFailure } from '../../scripts/core/classify.js';
import { memoryOutput } from '../../scripts/cli/output.js';
import type { Context } from '../../scripts/app/context.js';
import { installFakeConda, runConda, runCondaAsync, writeChannel, type FakeConda } from '../fake-conda/index.js';
import { runCommand } from '../fixtures/command.js';

let tmp: string;
let channel: string;
const fakes: Record<string, FakeConda> = {};

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'fid12a-'));
  channel = writeChannel(join(tmp, 'channel'), [
    { name: 'python', version: '3.11.4', module: false },
    { name: 'numpy', version: '1.25.0', depends: ['python'] },
    { name: 'numpy', version: '1.26.4', depends: ['python'] },
    { name: 'zlib', version: '1.2.13', module: false },
  ]);
  for (const v of ['4.3.22', '4.8.5', '23.11.0'])
    fakes[v] = installFakeConda(join(tmp, `c${v}`, 'root'), v, { channels: [channel] });
}, 120_000);
afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const envFile = (name: string, deps: string[], channels = [channel]): string => {
  const file = join(tmp, `${name}.yml`);
  writeFileSync(
    file,
    `name: ${name}\nchannels:\n${channels.map((c) => `  - ${c}\n`).join('')}dependencies:\n` +
      deps.map((d) => `  - ${d}\n`).join(''),
  );
  return file;
};

describe('nodefaults never reaches a command line', () => {
  it('the fake, like conda, takes -c nodefaults as a channel name (an env file strips it)', async () => {
    const fake = fakes['23.11.0']!;
    const r = await runCondaAsync(fake, [
      'search',
      '--json',
      '--override-channels',
      '-c',
      channel,
      '-c',
      'nodefaults',
      'numpy',
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('https://conda.anaconda.org/nodefaults');
    const ok = await runCondaAsync(fake, [
      'env',
      'create',
      '-f',
      envFile('nd', ['zlib'], [channel, 'nodefaults']),
      '-p',
      join(tmp, 'nd'),
    ]);
    expect(ok.code, ok.stderr).toBe(0);
  });

  it('search and install with a spec whose channels include nodefaults work (no -c nodefaults)', async () => {
    const fake = fakes['23.11.0']!;
    const conda = Conda.forInstallation(fake.prefix, 'conda');
    const found = await conda.search('numpy', [channel, 'nodefaults']);
    expect(found.argv).not.toContain('nodefaults');
    expect(found.value, found.stdout + found.stderr).toEqual(['1.25.0', '1.26.4']);
    const prefix = join(tmp, 'nd-install');
    expect((await conda.create(prefix, ['python=3.11'], [channel, 'nodefaults'])).code).toBe(0);
    const inst = await conda.install(prefix, ['numpy=1.26'], [channel, 'nodefaults']);
    expect(inst.code, inst.stderr).toBe(0);
  }, 60_000);
});

describe('env list is every registered prefix; export takes only the installation’s own', () => {
  it('the fake registers create -p prefixes in ~/.conda/environments.txt and lists them sorted with the root', () => {
    const fake = fakes['23.11.0']!;
    const outside = join(tmp, 'elsewhere', 'build-1');
    expect(runConda(fake, ['create', '-y', '-q', '-p', outside, 'zlib']).code).toBe(0);
    const registry = join(fake.prefix, '.fake-conda', 'home', '.conda', 'environments.txt');
    expect(readFileSync(registry, 'utf8')).toContain(`${outside}\n`);
    const envs = JSON.parse(runConda(fake, ['env', 'list', '--json']).stdout).envs as string[];
    expect(envs).toContain(outside);
    expect(envs).toContain(fake.prefix);
    expect(envs).toEqual([...envs].sort());
  });

  it('export of an env ignores another installation’s env of the same name in the registry', async () => {
    const fake = fakes['4.8.5']!;
    const own = join(fake.prefix, 'envs', 'web');
    expect(runConda(fake, ['env', 'create', '-f', envFile('web', ['python=3.11', 'zlib']), '-p', own]).code).toBe(0);
    // another user's env named web, registered later in the same environments.txt (sorts after the root)
    const foreign = join(tmp, 'zz-other', 'envs', 'web');
    expect(runConda(fake, ['create', '-y', '-q', '-p', foreign, 'python=3.11', 'numpy=1.25']).code).toBe(0);
    const repo = join(tmp, 'repo6');
    mkdirSync(repo, { recursive: true });
    const out = memoryOutput();
    const ctx = { options: { root: fake.prefix }, positionals: [], out, repo, env: { ...process.env } } as Context;
    expect(await runCommand('adopt', ctx), out.lines.join('\n')).toBe(0);
    writeFileSync(join(repo, 'env-specs', 'web.yml'), 'stale\n');
    const out2 = memoryOutput();
    const ctx2 = {
      options: { root: fake.prefix, env: ['web'], exact: true },
      positionals: [],
      out: out2,
      repo,
      env: { ...process.env },
    } as Context;
    expect(await runCommand('export', ctx2), out2.lines.join('\n')).toBe(0);
    const spec = readFileSync(join(repo, 'env-specs', 'web.yml'), 'utf8');
    expect(spec).toContain('zlib');
    expect(spec).not.toContain('numpy');
  }, 90_000);
});

describe('builds read only the installation’s rc', () => {
  it('the fake reads ~/.condarc and lists from later files first', async () => {
    const home = join(tmp, 'home9');
    mkdirSync(home, { recursive: true });
    const fake = installFakeConda(join(tmp, 'c9', 'root'), '4.8.5', { channels: [channel], home: '$HOME' });
    writeFileSync(join(home, '.condarc'), 'channels:\n  - https://example.invalid/userchan\n');
    const info = await runCondaAsync(fake, ['info', '--json'], { env: { ...process.env, HOME: home } });
    const chans = JSON.parse(info.stdout).channels as string[];
    expect(chans[0]).toBe('https://example.invalid/userchan/linux-64');
    expect(chans).toContain(`${channel}/linux-64`);
  }, 60_000);

  it('conda >= 24.9 reads ~/.condarc beside CONDARC too (no conda reads CONDA_RESTRICT_RC_SEARCH_PATH)', async () => {
    const home = join(tmp, 'home9b');
    mkdirSync(home, { recursive: true });
    const fake = installFakeConda(join(tmp, 'c9b', 'root'), '24.11.3', { channels: [channel], home: '$HOME' });
    writeFileSync(join(home, '.condarc'), 'channels:\n  - https://example.invalid/userchan\n');
    const conda = Conda.forInstallation(fake.prefix, 'conda', { env: { HOME: home } });
    const env = await conda.call({ op: 'info' }, { env: { HOME: home, CONDA_PREFIX: '/elsewhere' } });
    const data = JSON.parse(env.stdout) as { channels: string[]; config_files: string[] };
    // so only a home of the build's own keeps it out (test/e2e/hermetic.test.ts, test/real-conda/hermetic.test.ts)
    expect(data.config_files).toEqual([join(fake.prefix, '.condarc'), join(home, '.condarc')]);
  }, 60_000);
});

describe('conda error texts differ by version, and the classifier knows each', () => {
  const cases: Array<[string, RegExp]> = [
    ['4.3.22', /^NoPackagesFoundError: Package missing in current linux-64 channels: \n {2}- nosuch$/m],
    ['4.8.5', /^ResolvePackageNotFound: \n {2}- nosuch$/m],
    ['23.11.0', /^PackagesNotFoundError: The following packages are not available from current channels:/m],
  ];
  for (const [v, re] of cases)
    it(`env create of a missing package on ${v}`, async () => {
      const r = await runCondaAsync(fakes[v]!, [
        'env',
        'create',
        '-f',
        envFile(`miss-${v}`, ['python', 'nosuch']),
        '-p',
        join(tmp, `miss-${v}`),
      ]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(re);
      expect(classifyFailure(r.stdout + r.stderr)).toMatchObject({ class: 'missing-package', package: 'nosuch' });
    });

  it('libmamba: a missing version is PackagesNotFoundError, classified missing-version', async () => {
    const r = await runCondaAsync(fakes['23.11.0']!, [
      'env',
      'create',
      '-f',
      envFile('missv', ['numpy=1.11.3']),
      '-p',
      join(tmp, 'missv'),
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^PackagesNotFoundError: .*\n\n {2}- numpy=1\.11\.3$/m);
    expect(classifyFailure(r.stdout + r.stderr)).toMatchObject({ class: 'missing-version', package: 'numpy' });
  });

  it('env create --yes: an argparse error before 23.9, accepted from 23.9', async () => {
    const r = await runCondaAsync(fakes['4.8.5']!, ['env', 'create', '--yes', '-f', envFile('y', ['zlib'])]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unrecognized arguments: --yes/);
  });

  it('pip failure texts of 4.3 - 4.6.6 are classified as pip failures', () => {
    for (const text of ['\nCondaValueError: pip returned an error.\n', '\nCondaValueError: pip returned an error\n'])
      expect(classifyFailure(text)).toMatchObject({ class: 'pip-failure' });
  });
});
