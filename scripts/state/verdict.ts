/**
 * Verdict files: `vX/builds/NAME/<build-id>.verdicts/<verdict-key>.json`, one per key, each written whole
 * (temp + fsync + rename) and never rewritten in place; the build record beside them is never touched by a test.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { buildPaths, installationLayout } from '../core/layout.js';
import { listGenerations, readGenerationLinks } from './generation.js';
import type { BuildRecord } from '../core/types.js';
import { legacyVerdict, type Verdict, type VerdictFacts } from '../core/verdict.js';
import { buildFacts, type EnvInput } from '../core/envplan.js';
import { writeFileAtomic } from './fsutil.js';
import { readChecked, schemaProblem } from './checked.js';
import { redact } from '../core/redact.js';
import { layout } from '../core/layout.js';
import { kernelName } from '../core/kernel.js';
import { readBuildRecord } from './record.js';

export function verdictPath(root: string, condaVersion: string, env: string, buildId: string, key: string): string {
  return join(buildPaths(root, condaVersion, env, buildId).verdicts, `${key}.json`);
}

export function readVerdict(
  root: string,
  condaVersion: string,
  env: string,
  buildId: string,
  key: string,
): Verdict | undefined {
  return readChecked<Verdict>(verdictPath(root, condaVersion, env, buildId, key), 'verdict');
}

export function writeVerdict(root: string, condaVersion: string, verdict: Verdict): void {
  // a failure's excerpt is program output: it passes the redactor like every text we write
  const why = schemaProblem(verdict, 'verdict');
  if (why) throw new Error(`refusing to write an invalid verdict for ${verdict.env} ${verdict.buildId}: ${why}`);
  const path = verdictPath(root, condaVersion, verdict.env, verdict.buildId, verdict.key);
  writeFileAtomic(path, redact(JSON.stringify(verdict, null, 2) + '\n'));
}

/** The verdict for `key`: its file, else an old record's `tested` status (core/verdict.ts legacyVerdict). */
export function verdictFacts(
  root: string,
  condaVersion: string,
  rec: BuildRecord | undefined,
  env: string,
  buildId: string,
  key: string,
  coveredBy: string[] = [],
  legacy: { live?: boolean; kernel?: boolean } = {},
): VerdictFacts | undefined {
  if (!rec) return undefined;
  const v = readVerdict(root, condaVersion, env, buildId, key);
  if (v) return { ok: v.ok, ...(v.failure ? { failure: v.failure.class } : {}) };
  for (const other of coveredBy) if (readVerdict(root, condaVersion, env, buildId, other)?.ok) return { ok: true };
  if (rec.status !== 'tested') return undefined;
  // a kernel already served: its managed kernelspec is on disk (ROOT/kernels/NAME/kernel.json)
  const servedAsKernel = !!legacy.kernel && existsSync(join(layout(root).kernels, kernelName(env), 'kernel.json'));
  return legacyVerdict(rec, key, { ...legacy, servedAsKernel });
}

/** Everything the env plan needs about one env, read from disk. */
export function envInputFromDisk(
  root: string,
  condaVersion: string,
  env: { name: string; buildId: string; kernel: boolean; verdictKey: string; coveredBy?: string[] },
  live: string | undefined,
  readRecord: (env: string, id: string) => BuildRecord | undefined = (n, id) =>
    readBuildRecord(root, condaVersion, n, id),
): EnvInput {
  const rec = readRecord(env.name, env.buildId);
  const key = `${env.name}/${env.buildId}`;
  const prefix = buildPaths(root, condaVersion, env.name, env.buildId).prefix;
  // an old `tested` record of a build main deployed (it is in a generation) keeps its verdict: legacyVerdict
  const deployed = rec?.status === 'tested' && (live === env.buildId || deployedBuilds(root, condaVersion).has(key));
  const verdict = verdictFacts(root, condaVersion, rec, env.name, env.buildId, env.verdictKey, env.coveredBy, {
    live: deployed,
    kernel: env.kernel,
  });
  return {
    name: env.name,
    buildId: env.buildId,
    kernel: env.kernel,
    ...(live ? { live } : {}),
    build: buildFacts(rec, rec ? existsSync(prefix) : false),
    ...(verdict ? { verdict } : {}),
  };
}

const deployedCache = new Map<string, Set<string>>();

/**
 * `NAME/<build-id>` of every build some generation of the installation links: builds main deployed. Read once
 * per installation and process (a command plans once); only asked for when an old `tested` record is met.
 */
function deployedBuilds(root: string, condaVersion: string): Set<string> {
  const dir = installationLayout(root, condaVersion).dir;
  const cached = deployedCache.get(dir);
  if (cached) return cached;
  const builds = new Set<string>();
  for (const n of listGenerations(dir))
    for (const [env, id] of Object.entries(readGenerationLinks(dir, n))) builds.add(`${env}/${id}`);
  deployedCache.set(dir, builds);
  return builds;
}
