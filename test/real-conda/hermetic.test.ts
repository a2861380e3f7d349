/**
 * Hermetic builds on REAL conda: a build must not see the runner user's rc files on any version. No conda
 * release reads CONDA_RESTRICT_RC_SEARCH_PATH (a conda-standalone patch): `conda/base/constants.py` SEARCH_PATH
 * always holds `~/.condarc`, `~/.config/conda/…`, `~/.conda/…`. So the product gives every build a private,
 * writable home (docs/security.md, "Hermetic builds"). This plants a runner `~/.condarc` and
 * `~/.config/conda/condarc` naming a channel that does not exist and builds an env with the product (`build`,
 * the sandbox it picks here) against real conda: the build must succeed and its log must not name that channel.
 *
 * REAL_CONDA_VERSIONS narrows or widens the versions (default 24.11.3 and 4.8.5: one that the old code claimed
 * hermetic, one it knew was not).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildWithProcessEnv } from '../fixtures/command.js';
import { writeRepo } from '../fixtures/qa-world.js';
import { specText } from '../fixtures/repo.js';
import type { ChannelRecord } from '../fake-conda/index.js';
import { installRealConda, missingPrerequisites, realChannelFixture, realCondaDir, removeUnlessKept } from './lane.js';

const archives = realCondaDir();
const missing = archives ? missingPrerequisites() : [];
const list = (v: string | undefined) => v?.split(/[\s,]+/).filter(Boolean);
const VERSIONS = list(process.env.REAL_CONDA_VERSIONS) ?? ['4.8.5', '24.11.3'];
const LONG = 15 * 60_000;

const RECORDS: ChannelRecord[] = [
  { name: 'python', version: '3.9.18', module: false },
  { name: 'pip', version: '23.2.1', depends: ['python'], noarch: 'python' },
  { name: 'numpy', version: '1.26.4', depends: ['python'] },
];

let base: string;
let realUrl: string;

if (!archives || missing.length) {
  describe('hermetic builds on real conda', () => {
    const reason = !archives ? 'no conda source archives' : `missing ${missing.join(', ')}`;
    if (archives && process.env.CI === 'true') it('has its prerequisites (CI=true)', () => expect.fail(reason));
    else it.skip(`skipped: ${reason}`, () => {});
  });
} else {
  beforeAll(() => {
    base = mkdtempSync(join(tmpdir(), 'cg-hermetic-'));
    realUrl = realChannelFixture(base, 'chan', RECORDS).real;
  }, LONG);
  afterAll(() => removeUnlessKept(base));

  for (const version of VERSIONS) {
    describe.sequential(`conda ${version}`, () => {
      // none: a runner without bubblewrap; auto: bwrap here (the runner's home is hidden, the build's is its own)
      it.each(['none', 'auto'])(
        'sandbox %s: a runner ~/.condarc with a bogus channel does not reach a real conda build',
        async (sandbox) => {
          const dir = join(base, version, sandbox);
          const root = join(dir, 'root');
          const repo = join(dir, 'repo');
          const home = join(dir, 'runner-home');
          process.env.REAL_CONDA_CHANNELS = realUrl;
          installRealConda(join(root, `v${version}`), version, join(base, 'installers'));
          const bogus = `file://${join(dir, 'no-such-channel')}`;
          mkdirSync(join(home, '.config', 'conda'), { recursive: true });
          writeFileSync(join(home, '.condarc'), `channels:\n  - ${bogus}\n`);
          writeFileSync(join(home, '.config', 'conda', 'condarc'), `channels:\n  - ${bogus}-xdg\n`);
          writeRepo(
            repo,
            { envs: { small: 'REPLICATE' }, version, channels: [realUrl] },
            { small: specText('small', { channels: [realUrl], deps: ['python=3.9', 'numpy=1.26'] }) },
          );
          // the runner's environment (the CLI's own process.env: conda's children inherit from it): its home is
          // where ~/.condarc is
          const { code, text } = await buildWithProcessEnv(root, repo, { HOME: home, CONDA_GITOPS_SANDBOX: sandbox });
          const builds = join(root, `v${version}`, 'builds');
          const log = readdirSync(builds, { recursive: true, encoding: 'utf8' })
            .filter((f) => f.endsWith('.log'))
            .map((f) => readFileSync(join(builds, f), 'utf8'))
            .join('\n');
          expect(code, `${text}\n${log}`).toBe(0);
          expect(log + text).not.toContain('no-such-channel');
        },
        LONG,
      );
    });
  }
}
