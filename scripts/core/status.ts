/**
 * `status`: the live generation against the repository (main). Pure comparison (the stamps it needs are read by
 * state/history.ts). Drift = anything a deploy would change, a build main asks for that failed or was rolled
 * back, or a live build somebody changed by hand (`conda install` into it: its conda-meta/history moved).
 */
import type { HistoryStamp, StampedBuildRecord } from './types.js';
import type { DesiredInput, RecordLookup } from './deploy.js';
import type { GenerationRef, LinkMap } from './generation.js';
import type { HistoryEntry } from './history.js';
import { planKernels, renderKernelSpec, kernelSpec } from './kernel.js';

export type EnvState = 'ok' | 'missing' | 'extra' | 'different';

export interface EnvStatus {
  name: string;
  state: EnvState;
  live?: string;
  desired?: string;
  /** status of the build main asks for: `absent` when never built */
  desiredStatus?: StampedBuildRecord['status'] | 'absent';
  failure?: string;
  /** the build main asks for was rolled back */
  bad?: { at: string; reason: string };
  /** the live build's conda-meta/history changed after its build record */
  handChanged?: { recorded?: HistoryStamp; now?: HistoryStamp; since?: string };
  message: string;
}

export interface StatusReport {
  installation: string;
  live?: GenerationRef;
  lastCutover?: Pick<HistoryEntry, 'at' | 'command' | 'user' | 'commit' | 'from' | 'to'>;
  envs: EnvStatus[];
  kernels: { missing: string[]; outdated: string[]; extra: string[] };
  drift: boolean;
  counts: Record<EnvState, number> & { handChanged: number; failed: number; bad: number };
}

export interface StatusInput {
  root: string;
  desired: DesiredInput;
  installation: string;
  live: { ref?: GenerationRef; links: LinkMap };
  lookup: RecordLookup;
  /** the conda-meta/history stamp of a live build now (undefined: no history file) */
  stampOf: (env: string, buildId: string) => HistoryStamp | undefined;
  /** managed kernelspec dir name -> kernel.json text */
  kernelFiles: Map<string, string>;
  lastCutover?: HistoryEntry;
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

function desiredWords(s: EnvStatus): string {
  if (s.bad) return `build ${s.desired} was rolled back at ${s.bad.at} (${s.bad.reason}): revert or fix in git`;
  switch (s.desiredStatus) {
    case 'absent':
      return `build ${s.desired} not built yet (QA has not run, or deploy --build-missing)`;
    case 'failed':
      return `build ${s.desired} FAILED${s.failure ? ` (${s.failure})` : ''}: see its log, fix the spec in git`;
    case 'building':
      return `build ${s.desired} in progress (or crashed)`;
    case 'built':
      return `build ${s.desired} built but not tested`;
    case 'aborted':
      return `build ${s.desired} was interrupted (run cancelled): the next QA builds it again`;
    default:
      return `tested build ${s.desired} not deployed yet`;
  }
}

export function computeStatus(input: StatusInput): StatusReport {
  const { desired, live, lookup } = input;
  const envs: EnvStatus[] = [];
  const wanted = new Set<string>();
  for (const d of desired.envs) {
    wanted.add(d.name);
    const rec = lookup(d.name, d.buildId);
    const liveId = live.links[d.name];
    const s: EnvStatus = {
      name: d.name,
      state: liveId === undefined ? 'missing' : liveId === d.buildId ? 'ok' : 'different',
      ...(liveId ? { live: liveId } : {}),
      desired: d.buildId,
      desiredStatus: rec ? rec.status : 'absent',
      ...(rec?.failure ? { failure: rec.failure.class } : {}),
      ...(rec?.bad && liveId !== d.buildId ? { bad: rec.bad } : {}),
      message: '',
    };
    s.message =
      s.state === 'ok'
        ? `ok (${d.buildId})`
        : s.state === 'missing'
          ? `missing: ${desiredWords(s)}`
          : `different: live ${liveId}; ${desiredWords(s)}`;
    envs.push(s);
  }
  for (const name of Object.keys(live.links).sort()) {
    if (wanted.has(name)) continue;
    envs.push({
      name,
      state: 'extra',
      live: live.links[name],
      message: `extra: live ${live.links[name]}, not a REPLICATE env in the repository (the next deploy unlinks it)`,
    });
  }
  for (const s of envs) {
    if (!s.live) continue;
    const changed = handChange(lookup(s.name, s.live), input.stampOf(s.name, s.live));
    if (changed) {
      s.handChanged = changed;
      s.message +=
        `; changed by hand: conda-meta/history ${changed.now ? `modified ${changed.since}` : 'missing'} ` +
        'after the build record (redo the change in git)';
    }
  }
  envs.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  const { entries } = planKernels(desired.kernels);
  const kernels = { missing: [] as string[], outdated: [] as string[], extra: [] as string[] };
  const wantedKernels = new Set<string>();
  for (const k of entries) {
    if (!(k.env in live.links)) continue; // its env is not live: the kernel cannot be there yet (reported with the env)
    wantedKernels.add(k.kernel);
    const text = input.kernelFiles.get(k.kernel);
    if (text === undefined) kernels.missing.push(k.kernel);
    else if (text !== renderKernelSpec(kernelSpec(input.root, k.env, k.displayName))) kernels.outdated.push(k.kernel);
  }
  for (const k of input.kernelFiles.keys()) if (!wantedKernels.has(k)) kernels.extra.push(k);

  const count = (st: EnvState) => envs.filter((e) => e.state === st).length;
  const counts = {
    ok: count('ok'),
    missing: count('missing'),
    extra: count('extra'),
    different: count('different'),
    handChanged: envs.filter((e) => e.handChanged).length,
    failed: envs.filter((e) => e.state !== 'ok' && e.desiredStatus === 'failed').length,
    bad: envs.filter((e) => e.bad).length,
  };
  const drift =
    counts.missing + counts.extra + counts.different + counts.handChanged > 0 ||
    kernels.missing.length + kernels.outdated.length + kernels.extra.length > 0;
  const last = input.lastCutover;
  return {
    installation: input.installation,
    ...(live.ref ? { live: live.ref } : {}),
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
    envs,
    kernels,
    drift,
    counts,
  };
}

export function renderStatus(r: StatusReport): string[] {
  const lines: string[] = [];
  lines.push(
    `live: ${r.live ? `${r.live.installation}/generations/${r.live.generation}` : 'nothing deployed'}; ` +
      `repository wants ${r.installation}`,
  );
  if (r.lastCutover) {
    const c = r.lastCutover;
    lines.push(
      `last cutover: ${c.at} ${c.command} by ${c.user}${c.commit ? ` at ${c.commit.slice(0, 10)}` : ''} ` +
        `-> generation ${c.to.generation}`,
    );
  }
  const width = Math.max(4, ...r.envs.map((e) => e.name.length));
  for (const e of r.envs) {
    if (e.state === 'ok' && !e.handChanged) continue;
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
      (c.bad ? `, ${c.bad} rolled back` : ''),
  );
  return lines;
}
