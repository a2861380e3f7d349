/**
 * Plan-time guards (pure): problems that would otherwise surface mid-install, minutes later, as an obscure
 * conda error. Each failure names the env, the spec line and what to do.
 */
import type { AllowListInfo, EnvSpec, Inventory } from './types.js';
import type { Problem } from './errors.js';
import { canonicalChannel } from './channel.js';
import { specSourceProblems, type AllowList } from './allowlist.js';
import { allowListLines, allowListRefused } from './report.js';

export { canonicalChannel };

/**
 * Longest build prefix we accept, in bytes. conda-build replaces a fixed 255-byte placeholder prefix
 * (`/opt/anaconda1anaconda2anaconda3` padded with `_placehold`) in binary files at install time; a
 * longer target prefix cannot be patched in and conda fails with `PaddingError: Placeholder of length
 * '255' too short`. Packages built with a shorter placeholder (old conda-build used 80 bytes) fail even
 * earlier, but 255 is the limit of every package built since conda-build 3.
 */
export const MAX_PREFIX_BYTES = 255;

export type GuardKind = 'prefix-length' | 'channel' | 'pip-source';

export interface GuardFailure {
  env: string;
  kind: GuardKind;
  /** env-specs/NAME.yml (or inventory.ini) and the line to point at */
  file: string;
  line: number;
  message: string;
}

export interface GuardInput {
  name: string;
  spec: EnvSpec;
  /** the build prefix, already resolved (no symlinks), e.g. /pkg/conda/v23.11.0/builds/hlink/0123abcd4567 */
  prefix: string;
  /** raw spec text, used only to point at the line of a channel when the spec does not carry channel lines */
  specText?: string;
}

function lineOf(text: string | undefined, needle: string, fallback: number): number {
  if (!text) return fallback;
  const lines = text.split(/\r?\n/);
  const i = lines.findIndex((l) => {
    const item = /^\s*-\s*["']?([^"'#\s]+)["']?/.exec(l);
    return item !== null && item[1] === needle;
  });
  return i >= 0 ? i + 1 : fallback;
}

/**
 * Every guard failure of the planned envs. `allow` is the allow-list the sources are checked against (in a QA
 * run: the base commit's); a bare list of channels checks channels only, and an empty one checks nothing.
 * `nodefaults` is a directive, not a channel, and always allowed.
 */
export function guardPlan(envs: GuardInput[], allow: AllowList | string[] | undefined): GuardFailure[] {
  const failures: GuardFailure[] = [];
  for (const env of envs) {
    const bytes = Buffer.byteLength(env.prefix, 'utf8');
    if (bytes > MAX_PREFIX_BYTES) {
      failures.push({
        env: env.name,
        kind: 'prefix-length',
        file: env.spec.file,
        line: 1,
        message:
          `build prefix is ${bytes} bytes, ` +
          `longer than conda's ${MAX_PREFIX_BYTES}-byte limit for relocatable prefixes ` +
          `(${env.prefix}); packages with binary prefixes would fail to install. ` +
          'Use a shorter [conda] root or env name.',
      });
    }
    if (!allow || (Array.isArray(allow) && allow.length === 0)) continue;
    const list = Array.isArray(allow) ? { channels: allow, pipGitHosts: [], pipIndexes: [] } : allow;
    const spec = env.spec.channelLines
      ? env.spec
      : { ...env.spec, channelLines: env.spec.channels.map((c) => lineOf(env.specText, c, 1)) };
    for (const p of specSourceProblems(spec, list)) {
      // a bare list of channels (no allow-list object) checks channels only
      if (Array.isArray(allow) && p.kind !== 'channel') continue;
      failures.push({ env: env.name, kind: p.kind, file: env.spec.file, line: p.line, message: p.message });
    }
  }
  return failures;
}

/** Guard failures as input problems (exit 2), each at its spec line and naming the env. */
export function guardProblems(failures: GuardFailure[]): Problem[] {
  return failures.map((f) => ({ file: f.file, line: f.line, message: `${f.env}: ${f.message}`, severity: 'error' }));
}

/**
 * What fails a pull request's plan (exit 2, each at its file:line): an allow-list the PR widens while it changes
 * other things too (at inventory.ini's [conda]), a plan-time guard, a changed env whose spec has errors.
 */
export function prPlanProblems(
  inventory: Pick<Inventory, 'file' | 'conda'>,
  allowList: AllowListInfo,
  guards: GuardFailure[],
  brokenChanged: ReadonlyMap<string, Problem[]>,
): Problem[] {
  const refused = allowListRefused(allowList) ? allowListLines(allowList) : [];
  return [
    ...refused.map((message) => ({
      file: inventory.file,
      line: inventory.conda.line,
      message,
      severity: 'error' as const,
    })),
    ...guardProblems(guards),
    ...[...brokenChanged.values()].flat(),
  ];
}
