/**
 * The rollback use case: swap back to the previous generation (or generation N), or make a new generation
 * with one env taken from the previous one (docs/deploy.md). Needs no repository: an emergency must not
 * depend on git. Builds that were rolled back are marked bad, so the next deploy from main does not put
 * them back.
 */
import { join } from 'node:path';
import type { Output } from './output.js';
import { rootWithoutRepo, type RootLookup } from './root.js';
import { FailedError, UsageError } from '../core/errors.js';
import { withLock } from '../state/lock.js';
import {
  cleanTemporaries,
  markBuilds,
  listGenerations,
  liveGenerationNumber,
  readGenerationLinks,
  readLive,
  readManifest,
  replaceSymlink,
  rollbackTargetOf,
  swapEnvs,
  buildProblems,
  refuseProblems,
  verifyGeneration,
  writeGeneration,
} from '../state/generation.js';
import { diffLinks, formatRef, isEmptyDiff, nextGenerationNumber, summarizeDiff } from '../core/generation.js';
import type { GenerationRef, LinkDiff, LinkMap } from '../core/generation.js';
import { actor, appendHistory, reconcileHistory } from '../state/history.js';
import { layout } from '../core/layout.js';
import { listInstallations } from '../state/gc.js';

export interface RollbackOptions extends RootLookup {
  out: Output;
  /** --to N: make generation N of the live installation live (default: the generation the live one came from) */
  to?: number;
  /** --env NAME: a new generation where only this env is taken from the target generation */
  envName?: string;
  /** print what would change, change nothing */
  dryRun: boolean;
  /** how long to wait for the lock; 0: BusyError at once */
  waitSeconds: number;
}

export interface AppliedRollback {
  from: GenerationRef;
  to: GenerationRef;
  diff: LinkDiff;
  markedBad: number;
  cleared: number;
  seconds: number;
}

export type RollbackResult =
  | { ok: true; dryRun: true; from: GenerationRef; target: GenerationRef; diff: LinkDiff }
  | ({ ok: true } & AppliedRollback);

/** The links of the live generation with env `name` taken from `target` (or dropped when `target` lacks it). */
function withEnvFrom(live: LinkMap, target: LinkMap, name: string): LinkMap {
  const links = { ...live };
  if (name in target) links[name] = target[name];
  else delete links[name];
  return links;
}

/** Refuse (nothing changed) a target that is not whole: the generation, or with --env the one build taken. */
function checkTarget(dir: string, n: number, links: LinkMap, envName: string | undefined): void {
  if (envName === undefined) verifyGeneration(dir, n);
  else if (envName in links) {
    refuseProblems(`${envName} cannot be rolled back`, buildProblems(dir, { [envName]: links[envName]! }));
  }
}

/** The whole rollback, under a lock the caller holds. `env` is the process environment (for the history actor). */
export function applyRollback(
  root: string,
  opts: { to?: number; envName?: string; env: NodeJS.ProcessEnv; command: string },
): AppliedRollback {
  const t0 = performance.now();
  const live = readLive(root);
  if (!live.ref) throw new FailedError(`nothing is deployed under ${root}: no generation to roll back from`);
  const liveDir = join(root, live.ref.installation);
  const generations = listGenerations(liveDir);
  const { target, backwards: targetIsOlder } = rollbackTargetOf(root, live.ref, opts.to);
  const targetDir = join(root, target.installation);
  const targetLinks = readGenerationLinks(targetDir, target.generation);
  checkTarget(targetDir, target.generation, targetLinks, opts.envName);
  const at = new Date().toISOString();

  let to: GenerationRef;
  let newLinks: LinkMap;
  let backwards: boolean;
  if (opts.envName !== undefined) {
    const name = opts.envName;
    if (target.installation !== live.ref.installation) {
      throw new UsageError(
        `--env works within one installation; the previous generation is in ${target.installation}` +
          ' (roll back everything instead)',
      );
    }
    if (!(name in live.links) && !(name in targetLinks)) {
      throw new UsageError(`env '${name}' is in neither ${formatRef(live.ref)} nor ${formatRef(target)}`);
    }
    if (live.links[name] === targetLinks[name]) {
      const same = `env '${name}' has the same build (${live.links[name]}) in ${formatRef(target)}`;
      throw new FailedError(`${same}: nothing to roll back`);
    }
    newLinks = withEnvFrom(live.links, targetLinks, name);
    const n = nextGenerationNumber(generations);
    const manifest = readManifest(liveDir, live.ref.generation);
    writeGeneration(liveDir, {
      format: 1,
      n,
      createdAt: at,
      ...(manifest?.commit ? { commit: manifest.commit } : {}),
      reason: `rollback --env ${name} (from generation ${target.generation})`,
      parent: live.ref,
      envs: newLinks,
    });
    swapEnvs(liveDir, n);
    to = { installation: live.ref.installation, generation: n };
    backwards = true;
  } else {
    newLinks = targetLinks;
    if (liveGenerationNumber(targetDir) !== target.generation) swapEnvs(targetDir, target.generation);
    if (target.installation !== live.ref.installation) {
      replaceSymlink(layout(root).current, target.installation, 'current');
    }
    to = target;
    backwards = targetIsOlder;
  }
  const diff = diffLinks(live.links, newLinks);
  // what left the live set was rolled back; what came (back) in was chosen by a person: not bad any more
  const left = [...diff.changed.map((c) => ({ name: c.name, build: c.from })), ...diff.removed];
  const came = [...diff.changed.map((c) => ({ name: c.name, build: c.to })), ...diff.added];
  // swap first (users get the old builds at once), then the marks, then history: a run killed before its
  // history line is finished by the next writer's reconcileHistory, marks included
  const reason = `rolled back from ${formatRef(live.ref)} to ${formatRef(to)}`;
  const markedBad = backwards ? markBuilds(root, live.ref.installation, left, { at, reason }) : 0;
  const cleared = markBuilds(root, to.installation, came, undefined);
  appendHistory(root, {
    format: 1,
    at,
    command: opts.command,
    ...actor(opts.env),
    from: live.ref,
    to,
    ...diff,
  });
  return { from: live.ref, to, diff, markedBad, cleared, seconds: (performance.now() - t0) / 1000 };
}

/** The whole rollback command: a dry run, or lock -> clean up -> reconcile history -> apply -> report. */
export async function rollback(opts: RollbackOptions): Promise<RollbackResult> {
  const { out, to, envName } = opts;
  const root = await rootWithoutRepo(opts);
  const command = [
    'rollback',
    ...(to !== undefined ? [`--to ${to}`] : []),
    ...(envName !== undefined ? [`--env ${envName}`] : []),
  ].join(' ');

  if (opts.dryRun) {
    const live = readLive(root);
    if (!live.ref) throw new FailedError(`nothing is deployed under ${root}`);
    const { target } = rollbackTargetOf(root, live.ref, to);
    const targetLinks = readGenerationLinks(join(root, target.installation), target.generation);
    checkTarget(join(root, target.installation), target.generation, targetLinks, envName);
    const links = envName === undefined ? targetLinks : withEnvFrom(live.links, targetLinks, envName);
    const diff = diffLinks(live.links, links);
    const toText = envName === undefined ? formatRef(target) : 'a new generation';
    out.info(`would ${command}: ${formatRef(live.ref)} -> ${toText} (${summarizeDiff(diff)})`);
    return { ok: true, dryRun: true, from: live.ref, target, diff };
  }

  return withLock(root, { waitSeconds: opts.waitSeconds, command: `conda-gitops ${command}` }, async () => {
    cleanTemporaries(
      root,
      listInstallations(root).map((n) => join(root, n)),
    );
    reconcileHistory(root, opts.env);
    const r = applyRollback(root, {
      ...(to !== undefined ? { to } : {}),
      ...(envName !== undefined ? { envName } : {}),
      env: opts.env,
      command,
    });
    const ms = (r.seconds * 1000).toFixed(0);
    out.info(`${command}: ${formatRef(r.from)} -> ${formatRef(r.to)} in ${ms} ms (${summarizeDiff(r.diff)})`);
    for (const c of r.diff.changed) out.info(`  ~ ${c.name} ${c.from} -> ${c.to}`);
    for (const a of r.diff.added) out.info(`  + ${a.name} ${a.build}`);
    for (const d of r.diff.removed) out.info(`  - ${d.name} ${d.build}`);
    if (r.markedBad) {
      out.info(
        `${r.markedBad} rolled-back build(s) marked bad: deploy will not put them back while main asks` +
          ' for them (revert or fix in git, or deploy --force)',
      );
    }
    if (isEmptyDiff(r.diff)) out.info('note: both generations link the same builds');
    return { ok: true, ...r };
  });
}
