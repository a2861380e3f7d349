/**
 * On REAL conda: parallel builds share the installation's package cache, and conda does not lock
 * it (ExtractPackageAction deletes a package's directory and unpacks it again in place; only repodata and partial
 * downloads are locked: conda/conda#8870, #13037). The product holds a lock per package cache around each conda
 * call of a build (core/pkgcache.ts). This soak runs `build --jobs 2` of two envs with the same packages ROUNDS
 * times (default 20), emptying the cache's extracted packages and the builds before each round so both builds
 * extract the same packages at once, and prints how many rounds had a cache error (must be 0).
 *
 * REAL_CONDA_VERSIONS picks the version (default 24.11.3); CACHE_SOAK_ROUNDS the rounds: 2 in the everyday lane (the
 * locked path on real conda, within the CI budget), `CACHE_SOAK_ROUNDS=20 npm run test:real-conda` for the soak.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Context } from '../../scripts/app/context.js';
import { memoryOutput } from '../../scripts/cli/output.js';
import { runCommand } from '../fixtures/command.js';
import { inventoryText, specText } from '../fixtures/repo.js';
import type { ChannelRecord } from '../fake-conda/index.js';
import { installRealConda, missingPrerequisites, realChannelFixture, realCondaDir, removeUnlessKept } from './lane.js';

const archives = realCondaDir();
const missing = archives ? missingPrerequisites() : [];
const VERSION = (process.env.REAL_CONDA_VERSIONS ?? '24.11.3').split(/[\s,]+/).filter(Boolean)[0]!;
const ROUNDS = Number(process.env.CACHE_SOAK_ROUNDS ?? 2);
const LONG = 60 * 60_000;

const RECORDS: ChannelRecord[] = [
  { name: 'python', version: '3.9.18', module: false },
  { name: 'pip', version: '23.2.1', depends: ['python'], noarch: 'python' },
  { name: 'numpy', version: '1.26.4', depends: ['python'] },
  { name: 'requests', version: '2.31.0', depends: ['python'], noarch: 'python' },
];

/** What a cache race looks like in a conda log (a package half-extracted or removed under a linking build). */
const CACHE_ERROR = new RegExp(
  [
    'CondaVerificationError',
    'SafetyError',
    'InvalidArchiveError',
    'CorruptedEnvironmentError',
    'ClobberError',
    'LinkError',
    'No such file or directory',
    'FileNotFoundError',
    'NoWritablePkgsDirError',
    'BadZipFile',
    'EOFError',
  ].join('|'),
);

let base: string;
let realUrl: string;

if (!archives || missing.length) {
  describe('package cache soak on real conda', () => {
    it.skip(`skipped: ${!archives ? 'no conda source archives' : `missing ${missing.join(', ')}`}`, () => {});
  });
} else {
  beforeAll(() => {
    base = mkdtempSync(join(tmpdir(), 'cg-cache-soak-'));
    realUrl = realChannelFixture(base, 'chan', RECORDS).real;
  }, LONG);
  afterAll(() => removeUnlessKept(base));

  describe(`conda ${VERSION}`, () => {
    it(
      `build --jobs 2 with one shared cache, ${ROUNDS} rounds: 0 cache errors`,
      async () => {
        const root = join(base, 'root');
        const repo = join(base, 'repo');
        const inst = join(root, `v${VERSION}`);
        process.env.REAL_CONDA_CHANNELS = realUrl;
        installRealConda(inst, VERSION, join(base, 'installers'));
        mkdirSync(join(repo, 'env-specs'), { recursive: true });
        writeFileSync(
          join(repo, 'inventory.ini'),
          inventoryText({ envs: { one: 'REPLICATE', two: 'REPLICATE' }, version: VERSION, channels: [realUrl] }),
        );
        const deps = ['python=3.9', 'numpy=1.26', 'requests=2.31'];
        writeFileSync(join(repo, 'env-specs', 'one.yml'), specText('one', { channels: [realUrl], deps }));
        writeFileSync(join(repo, 'env-specs', 'two.yml'), specText('two', { channels: [realUrl], deps }));
        const pkgs = join(inst, 'pkgs');
        let cacheErrors = 0;
        let failedRounds = 0;
        const t0 = Date.now();
        for (let round = 0; round < ROUNDS; round++) {
          // both builds extract every package again, at the same time (the tarballs stay: no download)
          for (const e of readdirSync(pkgs, { withFileTypes: true }))
            if (e.isDirectory() && !e.name.startsWith('.') && e.name !== 'cache')
              rmSync(join(pkgs, e.name), { recursive: true, force: true });
          rmSync(join(inst, 'builds'), { recursive: true, force: true });
          const out = memoryOutput(true);
          const code = await runCommand('build', {
            options: { root, jobs: '2', json: true },
            positionals: [],
            out,
            repo,
            env: process.env,
          } as Context);
          if (code === 0) continue;
          failedRounds++;
          const builds = join(inst, 'builds');
          const logs = readdirSync(builds, { recursive: true, encoding: 'utf8' })
            .filter((f) => f.endsWith('.log'))
            .map((f) => readFileSync(join(builds, f), 'utf8'))
            .join('\n');
          if (CACHE_ERROR.test(logs)) cacheErrors++;
          console.info(`round ${round + 1}: exit ${code}\n${out.errors.join('\n')}\n${logs.slice(-3000)}`);
        }
        const seconds = (Date.now() - t0) / 1000;
        console.info(
          `cache soak: conda ${VERSION}, build --jobs 2, ${ROUNDS} rounds, ${failedRounds} failed rounds, ` +
            `${cacheErrors} cache errors, ${seconds.toFixed(0)} s`,
        );
        expect({ failedRounds, cacheErrors }).toEqual({ failedRounds: 0, cacheErrors: 0 });
      },
      LONG,
    );
  });
}
