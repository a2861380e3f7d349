/**
 * `status`: the live generation against the repository (main). Pure comparison (the stamps it needs are read by
 * state/history.ts). Drift = anything a deploy would change, a build main asks for that failed or was rolled
 * back, or a live build somebody changed by hand (`conda install` into it: its conda-meta/history moved).
 */
import type { HistoryStamp, StampedBuildRecord } from './types.js';
import type { DesiredInput, InstallationMark, RecordLookup } from './deploy.js';
import { join } from 'node:path';
import type { BuildState, EnvAction, EnvPlan } from './envplan.js';
import type { GenerationRef, LinkMap } from './generation.js';
import { ADOPTED } from './generation.js';
import type { HistoryEntry } from './history.js';
import { attachShipped, planKernels, renderKernelSpec, kernelSpec } from './kernel.js';
import type { ShippedKernelSpec } from './kernel.js';
import { inputsBuildId } from './buildid.js';
import type { IntegrityDrift } from './integrity.js';

/** `changed-by-hand`: the live build is the one main asks for, but someone changed it after it was built */
export type EnvState = 'ok' | 'missing' | 'extra' | 'different' | 'changed-by-hand';

export interface EnvStatus {
  name: string;
  state: EnvState;
  live?: string;
  desired?: string;
  /** state of the build main asks for: `absent` when never built */
  desiredStatus?: BuildState;
  /** the env plan's action for it (core/envplan.ts) */
  action?: EnvAction;
  failure?: string;
  /** the build main asks for was rolled back */
  bad?: { at: string; reason: string };
  /** the live build's conda-meta/history changed after its build record */
  handChanged?: { recorded?: HistoryStamp; now?: HistoryStamp; since?: string };
  /** the command that repairs a hand change (an env of the repository) */
  repair?: string;
  /** files of the live build changed, added or removed since it was tested (status checks; core/integrity.ts) */
  integrity?: IntegrityDrift;
  /** not live: the adopted installation `current` points at runs it from its own envs directory */
  servedByAdopted?: string;
  /** not live, listed in `[conda] allow-failures`: where it is still served from (the previous installation) */
  leftOut?: { servedFrom?: { installation: string; build: string; path: string } };
  message: string;
}

export interface StatusReport {
  installation: string;
  live?: GenerationRef;
  /** nothing deployed is live: `current` points at this adopted installation (its own envs directory) */
  adopted?: string;
  lastCutover?: Pick<HistoryEntry, 'at' | 'command' | 'user' | 'commit' | 'from' | 'to'>;
  /** the installation the repository asks for was rolled back: deploy will not switch to it as it is */
  installationMark?: Pick<InstallationMark, 'installation' | 'at' | 'reason' | 'generation'>;
  envs: EnvStatus[];
  kernels: { missing: string[]; outdated: string[]; extra: string[] };
  drift: boolean;
  counts: Record<EnvState, number> & {
    handChanged: number;
    failed: number;
    bad: number;
    untested: number;
    leftOut: number;
    tampered?: number;
  };
}

export interface StatusInput {
  root: string;
  desired: DesiredInput;
  installation: string;
  live: { ref?: GenerationRef; links: LinkMap };
  /** records of live builds (for hand changes) */
  lookup: RecordLookup;
  /** the env plan of the desired state against the live links: what status says about each desired env */
  envPlan: EnvPlan;
  /** the conda-meta/history stamp of a live build now (undefined: no history file) */
  stampOf: (env: string, buildId: string) => HistoryStamp | undefined;
  /** managed kernelspec dir name -> kernel.json text */
  kernelFiles: Map<string, string>;
  lastCutover?: HistoryEntry;
  /** the mark on the repository's installation, when `current` is elsewhere */
  installationMark?: InstallationMark;
  /**
   * the installations that still serve envs, nearest first (state/generation.ts servingInstallations): an
   * allow-failures env not live is served by the first one that has it
   */
  serving?: Array<{ installation: string; links: LinkMap }>;
  /** `current` points at an adopted installation (a real envs directory, no generations) */
  adopted?: string;
  /** the kernelspecs the env at this prefix ships (state/kernel.ts shippedKernelSpecs; default: none) */
  shippedOf?: (prefix: string) => Record<string, ShippedKernelSpec>;
  /** does this python exist (following links)? A kernel is only written when it does (default: yes) */
  pythonExists?: (path: string) => boolean;
}

/** Slack for records without a stamp: the record is written right after the last conda command. */
const FINISH_SLACK_MS = 2000;

/** Was a live build changed after its record? Compares the stamp the builder saw, else the finish time. */
export function handChange(
  rec: StampedBuildRecord | undefined,
  now: HistoryStamp | undefined,
): EnvStatus['handChanged'] | undefined {
  if (!rec) return undefined;
  if (rec.historyStamp) {
    if (!now || now.size !== rec.historyStamp.size || now.mtimeMs !== rec.historyStamp.mtimeMs) {
      return { recorded: rec.historyStamp, ...(now ? { now, since: new Date(now.mtimeMs).toISOString() } : {}) };
    }
    return undefined;
  }
  const finished = rec.finishedAt ? Date.parse(rec.finishedAt) : NaN;
  if (now && Number.isFinite(finished) && now.mtimeMs > finished + FINISH_SLACK_MS) {
    return { now, since: new Date(now.mtimeMs).toISOString() };
  }
  return undefined;
}

export function computeStatus(input: StatusInput): StatusReport {
  const { live } = input;
  const wanted = new Set(input.envPlan.envs.map((d) => d.name));
  const envs: EnvStatus[] = input.envPlan.envs.map((d) => desiredEnvStatus(input, d));
  for (const name of Object.keys(live.links).sort()) {
    if (wanted.has(name)) continue;
    envs.push({
      name,
      state: 'extra',
      live: live.links[name],
      message: `extra: live ${live.links[name]}, not a REPLICATE env in the repository (the next deploy unlinks it)`,
    });
  }
  markHandChanges(input, envs, wanted);
  envs.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const kernels = kernelDrift(input, envs);
  const counts = statusCounts(envs);
  const drift =
    counts.missing + counts.extra + counts.different + counts.handChanged + counts.untested > 0 ||
    kernels.missing.length + kernels.outdated.length + kernels.extra.length > 0;
  const last = input.lastCutover;
  return {
    installation: input.installation,
    ...(live.ref ? { live: live.ref } : {}),
    ...(!live.ref && input.adopted ? { adopted: input.adopted } : {}),
    ...(last
      ? {
          lastCutover: {
            at: last.at,
            command: last.command,
            user: last.user,
            ...(last.commit ? { commit: last.commit } : {}),
            ...(last.from ? { from: last.from } : {}),
            to: last.to,
          },
        }
      : {}),
    ...(input.installationMark && live.ref?.installation !== input.installation
      ? {
          installationMark: {
            installation: input.installationMark.installation,
            at: input.installationMark.at,
            reason: input.installationMark.reason,
            generation: input.installationMark.generation,
          },
        }
      : {}),
    envs,
    kernels,
    drift,
    counts,
  };
}

type PlannedEnv = StatusInput['envPlan']['envs'][number];

/** The status of one env the repository wants: in sync, missing or different, and what serves it meanwhile. */
function desiredEnvStatus(input: StatusInput, d: PlannedEnv): EnvStatus {
  const { desired, live } = input;
  const liveId = live.links[d.name];
  const s: EnvStatus = {
    name: d.name,
    // a repair build `<id>.rN` (deploy --repair) has the desired build's inputs: in sync
    state:
      liveId === undefined
        ? 'missing'
        : liveId === d.buildId || inputsBuildId(liveId) === d.buildId
          ? 'ok'
          : 'different',
    ...(liveId ? { live: liveId } : {}),
    desired: d.buildId,
    desiredStatus: d.build,
    action: d.action,
    ...(d.failure ? { failure: d.failure } : {}),
    ...(d.bad ? { bad: d.bad } : {}),
    message: '',
  };
  const words =
    d.action === 'link'
      ? `tested build ${d.buildId} not deployed yet`
      : d.action === 'hold'
        ? `build ${d.buildId} was ${d.reason}`
        : `build ${d.buildId}: ${d.reason}`;
  s.message =
    s.state === 'ok'
      ? `ok (${liveId})` + (d.action === 'keep' ? '' : `; ${d.reason}`)
      : s.state === 'missing'
        ? `missing: ${words}`
        : `different: live ${liveId}; ${words}`;
  const by = input.serving?.find((v) => v.installation !== live.ref?.installation && d.name in v.links);
  const allowed = desired.allowFailures?.includes(d.name) === true;
  const onAdopted = input.adopted !== undefined && input.installation === input.adopted;
  if (s.state === 'missing' && input.adopted && by?.installation === input.adopted && (!allowed || onAdopted)) {
    // the hand-run installation still runs it: deploy goes on into a new installation, never into this one
    const at = join(input.root, input.adopted, 'envs', d.name);
    s.servedByAdopted = input.adopted;
    s.message =
      input.installation === input.adopted
        ? `missing: served by the adopted installation ${input.adopted} at ${at}; deploy builds it only into ` +
          'a new installation (a pull request that sets [conda] version)'
        : `${s.message}; served by the adopted installation ${input.adopted} at ${at} meanwhile`;
  }
  if (s.state === 'missing' && allowed && !s.servedByAdopted) {
    const servedFrom = by
      ? {
          installation: by.installation,
          build: by.links[d.name]!,
          path: join(input.root, by.installation, 'envs', d.name),
        }
      : undefined;
    s.leftOut = servedFrom ? { servedFrom } : {};
    s.message +=
      '; left out (allow-failures)' +
      (servedFrom ? `, still served from ${servedFrom.installation} at ${servedFrom.path}` : ', not live anywhere');
  }
  return s;
}

/** Envs changed by hand since their build record: not `ok`, with the repair to run. */
function markHandChanges(input: StatusInput, envs: EnvStatus[], wanted: Set<string>): void {
  for (const s of envs) {
    if (!s.live) continue;
    const changed = handChange(input.lookup(s.name, s.live), input.stampOf(s.name, s.live));
    if (changed) {
      s.handChanged = changed;
      const what = `changed by hand: conda-meta/history ${changed.now ? `modified ${changed.since}` : 'missing'}`;
      // the same state in --json as in the human line: not `ok`
      if (s.state === 'ok') {
        s.state = 'changed-by-hand';
        s.message = `changed by hand (${s.live})`;
      }
      if (wanted.has(s.name)) {
        // put the change into git (then deploy), or rebuild what git says into a fresh prefix
        s.repair = `conda-gitops deploy --repair ${s.name}`;
        s.message +=
          `; ${what} after the build record: run \`${s.repair}\` to rebuild it from git` +
          ' (keep the change: redo it in git)';
      } else s.message += `; ${what} after the build record (the next deploy unlinks it)`;
    }
  }
}

/** Kernelspecs missing, outdated or extra against what the live envs need. */
function kernelDrift(input: StatusInput, envs: EnvStatus[]): StatusReport['kernels'] {
  const { desired, live } = input;
  const { entries } = planKernels(desired.kernels);
  const kernels = { missing: [] as string[], outdated: [] as string[], extra: [] as string[] };
  const wantedKernels = new Set<string>();
  const servedFrom = new Map(
    envs.flatMap((e) => (e.leftOut?.servedFrom ? [[e.name, e.leftOut.servedFrom] as const] : [])),
  );
  for (const k of entries) {
    const old = servedFrom.get(k.env);
    // its env is not live: the kernel cannot be there yet (reported with the env), unless an older installation
    // still serves it (allow-failures): then its kernel runs from there. With the adopted installation live again
    // (rollback --installation), ROOT/envs/NAME is its own env: the kernel stays as it is
    const first = input.serving?.[0];
    const adopted = input.adopted && first?.installation === input.adopted ? first.links : {};
    if (!(k.env in live.links) && !old && !(k.env in adopted)) continue;
    // as `kernels` writes it: through ROOT/envs, else (ROOT/envs not made yet) the adopted env's own prefix, and
    // never a kernel whose python (or env) does not exist
    const exists = input.pythonExists ?? (() => true);
    const through = join(input.root, 'envs', k.env);
    const prefix =
      k.env in live.links
        ? undefined
        : old
          ? old.path
          : exists(join(through, 'bin', 'python'))
            ? undefined
            : join(input.root, input.adopted!, 'envs', k.env);
    const runFrom = prefix ?? through;
    if (!exists(k.spec ? runFrom : join(runFrom, 'bin', 'python'))) continue;
    const planned = prefix ? { ...k, prefix } : k;
    const attached = k.spec ? attachShipped(planned, input.shippedOf?.(runFrom) ?? {}) : { entry: planned };
    wantedKernels.add(k.kernel);
    const text = input.kernelFiles.get(k.kernel);
    if (text === undefined) kernels.missing.push(k.kernel);
    else if (!('entry' in attached) || text !== renderKernelSpec(kernelSpec(input.root, attached.entry)))
      kernels.outdated.push(k.kernel);
  }
  for (const k of input.kernelFiles.keys()) if (!wantedKernels.has(k)) kernels.extra.push(k);
  return kernels;
}

function statusCounts(envs: EnvStatus[]): StatusReport['counts'] {
  const count = (st: EnvState) => envs.filter((e) => e.state === st).length;
  return {
    ok: count('ok'),
    missing: count('missing'),
    extra: count('extra'),
    different: count('different'),
    'changed-by-hand': count('changed-by-hand'),
    handChanged: envs.filter((e) => e.handChanged).length,
    failed: envs.filter((e) => e.action === 'refuse' || (e.action === 'test' && e.failure)).length,
    bad: envs.filter((e) => e.bad).length,
    untested: envs.filter((e) => e.state === 'ok' && e.action !== 'keep').length,
    leftOut: envs.filter((e) => e.leftOut).length,
  };
}

/**
 * The commands that bring the installation back in line with the repository, one per kind of drift, in the
 * order to run them: repairs of hand-changed envs, fixes in git for failed builds, a deploy for what is
 * missing, different or extra, `kernels` for kernelspecs. Empty in sync.
 */
export function repairCommands(r: StatusReport): string[] {
  const cmds: string[] = [];
  for (const e of r.envs) if (e.repair) cmds.push(e.repair);
  for (const e of r.envs)
    if (!e.bad && e.desiredStatus === 'failed' && (e.state === 'different' || e.state === 'missing'))
      cmds.push(`conda-gitops fix --env ${e.name} (the build main asks for failed), then deploy`);
  // a test that fails is fixed in git; running it again shows why (and a flaky one passes)
  for (const e of r.envs)
    if (!e.bad && e.action === 'test' && e.failure)
      cmds.push(
        `conda-gitops test --env ${e.name} (its tests failed: this runs them again and shows why; fix the spec ` +
          `or env-specs/${e.name}.test.* in git, then deploy)`,
      );
  const drifted = (e: EnvStatus) =>
    !e.bad &&
    (e.state === 'extra' ||
      ((e.state === 'missing' || e.state === 'different') && e.desiredStatus !== 'failed') ||
      (e.state === 'ok' && e.action === 'test' && !e.failure));
  // envs without a build, or built and not tested with the repository's tests: a plain deploy refuses them
  const unbuilt = (e: EnvStatus) =>
    !e.leftOut && ((e.action === 'build' && e.desiredStatus !== 'failed') || (e.action === 'test' && !e.failure));
  const deploy = r.envs.some(drifted);
  const buildMissing = r.envs.some((e) => drifted(e) && unbuilt(e));
  // a rolled-back installation holds a plain deploy back (it refuses): going forward is a decision, not a repair
  const held = r.installationMark;
  // builds a rollback marked bad that main still asks for: a plain deploy keeps them out
  const rolledBack = r.envs.filter((e) => e.bad && e.state !== 'ok').map((e) => e.name);
  if (r.adopted && r.adopted === r.installation && (deploy || r.kernels.extra.length))
    // deploy never writes into the adopted installation: the way forward is a new one
    cmds.push(
      `a pull request that sets [conda] version in inventory.ini to the conda to move to (QA replicates every ` +
        `REPLICATE env into the new installation; merging deploys it and ROOT/current leaves ${r.adopted})`,
    );
  else if (held && (deploy || r.kernels.extra.length || rolledBack.length))
    cmds.push(
      `conda-gitops deploy --force (once what made ${held.installation} roll back is fixed; ` +
        'or a commit in git that changes its builds, then deploy)',
    );
  else if (buildMissing) cmds.push('conda-gitops deploy --build-missing (builds and tests what has no passing build)');
  else if (rolledBack.length)
    cmds.push(
      `conda-gitops deploy --force (links the rolled-back build main asks for again: ${rolledBack.join(', ')}; ` +
        'or revert or fix it in git, then deploy)',
    );
  else if (deploy || r.kernels.extra.length) cmds.push('conda-gitops deploy');
  if (r.kernels.missing.length || r.kernels.outdated.length) cmds.push('conda-gitops kernels');
  return [...new Set(cmds)];
}

export function renderStatus(r: StatusReport): string[] {
  const lines: string[] = [];
  const live = r.live
    ? `${r.live.installation}/generations/${r.live.generation}`
    : r.adopted
      ? `the adopted installation ${r.adopted} (ROOT/current -> ${r.adopted}; its envs directory is not managed ` +
        'by conda-gitops)'
      : 'nothing deployed';
  lines.push(`live: ${live}; repository wants ${r.installation}`);
  if (r.lastCutover) {
    const c = r.lastCutover;
    lines.push(
      `last cutover: ${c.at} ${c.command} by ${c.user}${c.commit ? ` at ${c.commit.slice(0, 10)}` : ''} ` +
        `-> ${c.to.generation === ADOPTED ? `${c.to.installation} (adopted)` : `generation ${c.to.generation}`}`,
    );
  }
  if (r.installationMark) {
    const m = r.installationMark;
    lines.push(
      `installation ${m.installation}: rolled back at ${m.at} (${m.reason}); deploy will not switch ROOT/current ` +
        `to it while the repository asks for the builds of ${m.installation}/generations/${m.generation} ` +
        '(fix them in git, or deploy --force)',
    );
  }
  const width = Math.max(4, ...r.envs.map((e) => e.name.length));
  for (const e of r.envs) {
    // an env in sync is not listed; one live with the right build but whose tests fail (or did not run) is
    if (e.state === 'ok' && !e.integrity && (e.action === undefined || e.action === 'keep')) continue;
    lines.push(`  ${e.name.padEnd(width)}  ${e.message}`);
  }
  for (const k of r.kernels.missing) lines.push(`  kernel ${k}: missing (conda-gitops kernels writes it)`);
  for (const k of r.kernels.outdated)
    lines.push(`  kernel ${k}: differs from the repository (conda-gitops kernels rewrites it)`);
  for (const k of r.kernels.extra) lines.push(`  kernel ${k}: not in [kernels] (the next deploy removes it)`);
  const c = r.counts;
  lines.push(
    `${r.drift ? 'DRIFT' : 'in sync'}: ${c.ok} ok, ${c.different} different, ${c.missing} missing, ` +
      `${c.extra} extra, ${c.handChanged} changed by hand` +
      (c.failed ? `, ${c.failed} failed build(s)` : '') +
      (c.untested ? `, ${c.untested} live but not tested as the repository asks` : '') +
      (c.bad ? `, ${c.bad} rolled back` : '') +
      (c.leftOut ? `, ${c.leftOut} left out (allow-failures)` : '') +
      (c.tampered ? `, ${c.tampered} with files changed since tested` : ''),
  );
  if (r.drift) for (const cmd of repairCommands(r)) lines.push(`To repair: ${cmd}`);
  return lines;
}
