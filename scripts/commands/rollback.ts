/**
 * rollback: swap back to the previous generation (or `--to N`), or make a new generation with one env taken
 * from the previous one (`--env NAME`). Needs no repository: an emergency must not depend on git.
 * Builds that were rolled back are marked bad, so the next deploy from main does not put them back.
 */
import { join, resolve } from 'node:path';
import type { Context } from '../cli/command.js';
import { boolOption, stringOption } from '../cli/command.js';
import { EXIT, FailedError, UsageError } from '../core/errors.js';
import { waitSeconds, withLock } from '../state/lock.js';
import { cleanTemporaries, markBuilds, listGenerations, liveGenerationNumber, readGenerationLinks, readLive, readManifest, replaceSymlink, rollbackTargetOf, swapEnvs, writeGeneration } from '../state/generation.js';
import { diffLinks, formatRef, isEmptyDiff, nextGenerationNumber, summarizeDiff } from '../core/generation.js';
import type { GenerationRef, LinkDiff, LinkMap } from '../core/generation.js';
import { actor, appendHistory, reconcileHistory } from '../state/history.js';
import { layout } from '../core/layout.js';
import { listInstallations } from '../state/gc.js';

/** --root / $CONDA_GITOPS_ROOT first; the repository's [conda] root only when neither is given. */
export async function rootWithoutRepo(ctx: Context): Promise<string> {
  // repo.ts pulls in the spec checker (rattler, ~150 ms to load): only when the root must come from inventory.ini
  const flag = ctx.options.root;
  if (typeof flag === 'string' && flag) return resolve(flag);
  if (ctx.env.CONDA_GITOPS_ROOT) return resolve(ctx.env.CONDA_GITOPS_ROOT);
  const { loadRepo, resolveRoot } = await import('../repo/repo.js');
  return resolveRoot(ctx, (await loadRepo(ctx.repo)).inventory);
}

export interface RollbackOutcome {
  from: GenerationRef;
  to: GenerationRef;
  diff: LinkDiff;
  markedBad: number;
  cleared: number;
  seconds: number;
}

/** The whole rollback, under a lock the caller holds. */
export function applyRollback(root: string, opts: { to?: number; env?: string; env_: NodeJS.ProcessEnv; command: string }): RollbackOutcome {
  const t0 = performance.now();
  const live = readLive(root);
  if (!live.ref) throw new FailedError(`nothing is deployed under ${root}: no generation to roll back from`);
  const liveDir = join(root, live.ref.installation);
  const generations = listGenerations(liveDir);
  const { target, backwards: targetIsOlder } = rollbackTargetOf(root, live.ref, opts.to);
  const targetDir = join(root, target.installation);
  const targetLinks = readGenerationLinks(targetDir, target.generation);
  const at = new Date().toISOString();

  let to: GenerationRef;
  let newLinks: LinkMap;
  let backwards: boolean;
  if (opts.env !== undefined) {
    const name = opts.env;
    if (target.installation !== live.ref.installation) {
      throw new UsageError(`--env works within one installation; the previous generation is in ${target.installation} (roll back everything instead)`);
    }
    if (!(name in live.links) && !(name in targetLinks)) throw new UsageError(`env '${name}' is in neither ${formatRef(live.ref)} nor ${formatRef(target)}`);
    if (live.links[name] === targetLinks[name]) throw new FailedError(`env '${name}' has the same build (${live.links[name]}) in ${formatRef(target)}: nothing to roll back`);
    newLinks = { ...live.links };
    if (name in targetLinks) newLinks[name] = targetLinks[name];
    else delete newLinks[name];
    const n = nextGenerationNumber(generations);
    const manifest = readManifest(liveDir, live.ref.generation);
    writeGeneration(liveDir, {
      format: 1, n, createdAt: at, ...(manifest?.commit ? { commit: manifest.commit } : {}),
      reason: `rollback --env ${name} (from generation ${target.generation})`, parent: live.ref, envs: newLinks,
    });
    swapEnvs(liveDir, n);
    to = { installation: live.ref.installation, generation: n };
    backwards = true;
  } else {
    newLinks = targetLinks;
    if (liveGenerationNumber(targetDir) !== target.generation) swapEnvs(targetDir, target.generation);
    if (target.installation !== live.ref.installation) replaceSymlink(layout(root).current, target.installation, 'current');
    to = target;
    backwards = targetIsOlder;
  }
  const diff = diffLinks(live.links, newLinks);
  // what left the live set was rolled back; what came (back) in was chosen by a person: not bad any more
  const left = [...diff.changed.map((c) => ({ name: c.name, build: c.from })), ...diff.removed];
  const came = [...diff.changed.map((c) => ({ name: c.name, build: c.to })), ...diff.added];
  // swap first (users get the old builds at once), then the marks, then history: a run killed before its
  // history line is finished by the next writer's reconcileHistory, marks included
  const markedBad = backwards
    ? markBuilds(root, live.ref.installation, left, { at, reason: `rolled back from ${formatRef(live.ref)} to ${formatRef(to)}` })
    : 0;
  const cleared = markBuilds(root, to.installation, came, undefined);
  appendHistory(root, {
    format: 1, at, command: opts.command, ...actor(opts.env_), from: live.ref, to, ...diff,
  });
  return { from: live.ref, to, diff, markedBad, cleared, seconds: (performance.now() - t0) / 1000 };
}

export async function run(ctx: Context): Promise<number> {
  const root = await rootWithoutRepo(ctx);
  const toText = stringOption(ctx, 'to');
  const env = stringOption(ctx, 'env');
  if (toText !== undefined && env !== undefined) throw new UsageError('--to and --env cannot be combined');
  const to = toText === undefined ? undefined : Number(toText);
  if (to !== undefined && (!Number.isInteger(to) || to < 1)) throw new UsageError(`--to expects a generation number, got '${toText}'`);
  const command = ['rollback', ...(to !== undefined ? [`--to ${to}`] : []), ...(env !== undefined ? [`--env ${env}`] : [])].join(' ');

  if (boolOption(ctx, 'dry-run')) {
    const live = readLive(root);
    if (!live.ref) throw new FailedError(`nothing is deployed under ${root}`);
    const { target } = rollbackTargetOf(root, live.ref, to);
    const targetLinks = readGenerationLinks(join(root, target.installation), target.generation);
    const links = env === undefined ? targetLinks : (() => {
      const m = { ...live.links };
      if (env in targetLinks) m[env] = targetLinks[env]; else delete m[env];
      return m;
    })();
    const diff = diffLinks(live.links, links);
    ctx.out.info(`would ${command}: ${formatRef(live.ref)} -> ${env === undefined ? formatRef(target) : 'a new generation'} (${summarizeDiff(diff)})`);
    ctx.out.result({ ok: true, dryRun: true, from: live.ref, target, diff });
    return EXIT.OK;
  }

  return withLock(root, { waitSeconds: waitSeconds(stringOption(ctx, 'wait')), command: `conda-gitops ${command}` }, async () => {
    cleanTemporaries(root, listInstallations(root).map((n) => join(root, n)));
    reconcileHistory(root, ctx.env);
    const r = applyRollback(root, { ...(to !== undefined ? { to } : {}), ...(env !== undefined ? { env } : {}), env_: ctx.env, command });
    ctx.out.info(`${command}: ${formatRef(r.from)} -> ${formatRef(r.to)} in ${(r.seconds * 1000).toFixed(0)} ms (${summarizeDiff(r.diff)})`);
    for (const c of r.diff.changed) ctx.out.info(`  ~ ${c.name} ${c.from} -> ${c.to}`);
    for (const a of r.diff.added) ctx.out.info(`  + ${a.name} ${a.build}`);
    for (const d of r.diff.removed) ctx.out.info(`  - ${d.name} ${d.build}`);
    if (r.markedBad) ctx.out.info(`${r.markedBad} rolled-back build(s) marked bad: deploy will not put them back while main asks for them (revert or fix in git, or deploy --force)`);
    if (isEmptyDiff(r.diff)) ctx.out.info('note: both generations link the same builds');
    ctx.out.result({ ok: true, ...r });
    return EXIT.OK;
  });
}
