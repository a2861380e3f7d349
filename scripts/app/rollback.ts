/**
 * The rollback use case: swap back to the previous generation (or generation N), or make a new generation
 * with one env taken from its previous distinct build or from generation N (docs/deploy.md). The dry run and
 * the real run share planRollback (every check); rolling back to what is live is a no-op (exit 0).
 * Needs no repository: an emergency must not depend on git. Builds that were rolled back are marked bad, so
 * the next deploy from main does not put them back.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Output } from './output.js';
import { rootWithoutRepo, type RootLookup } from './root.js';
import { FailedError, RefusedError, UsageError } from '../core/errors.js';
import { withLock } from '../state/lock.js';
import { recoverUnderLock } from './under-lock.js';
import {
  adoptedCurrent,
  markBuilds,
  listGenerations,
  liveGenerationNumber,
  linkedInstallation,
  previousInstallation,
  readGenerationLinks,
  readLive,
  readManifest,
  replaceSymlink,
  rollbackTargetOf,
  servedLinks,
  swapEnvs,
  buildProblems,
  refuseProblems,
  verifyGeneration,
  writeGeneration,
  versionOf,
} from '../state/generation.js';
import {
  ADOPTED,
  diffLinks,
  envRollbackSource,
  formatRef,
  isEmptyDiff,
  nextGenerationNumber,
  summarizeDiff,
} from '../core/generation.js';
import { readBuildRecord } from '../state/record.js';
import { updateMarks } from '../state/marks.js';
import { diffLines, type GenerationRef, type LinkDiff, type LinkMap } from '../core/generation.js';
import { actor, appendHistory } from '../state/history.js';
import { layout } from '../core/layout.js';
import { clearInstallationMark, installationMarkOf, markInstallationBad } from '../state/installation-marks.js';
import { listInstallations } from '../state/gc.js';
import { didYouMean } from '../core/suggest.js';

export interface RollbackOptions extends RootLookup {
  out: Output;
  /** --to N: make generation N of the live installation live (default: the generation the live one came from) */
  to?: number;
  /** --env NAME: a new generation where only this env is taken from the target generation */
  envName?: string;
  /**
   * --installation [vX|X]: switch `current` back to installation vX's live generation ('' = the installation
   * `current` came from); the installation left is marked bad so a plain deploy does not switch to it again
   */
  installation?: string;
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
  /** a rollback that switched `current` to another installation: the installation left, now marked bad */
  installationMarked?: string;
  seconds: number;
  /** set when there was nothing to do (exit 0): why */
  noop?: string;
}

export type RollbackResult =
  | { ok: true; dryRun: true; noop?: string; from: GenerationRef; target: GenerationRef; diff: LinkDiff }
  | ({ ok: true } & AppliedRollback);

/** The links of the live generation with env `name` taken from `target` (or dropped when `target` lacks it). */
function withEnvFrom(live: LinkMap, target: LinkMap, name: string): LinkMap {
  const links = { ...live };
  if (name in target) links[name] = target[name];
  else delete links[name];
  return links;
}

/** What a rollback will do, decided before anything is written: the dry run prints it, the real run applies it. */
export interface RollbackPlan {
  from: GenerationRef;
  /** noop: nothing to do (exit 0); swap: make generation `target` live; new: a new generation with `links` */
  kind: 'noop' | 'swap' | 'new';
  /** swap: the generation made live; new: the generation the env's build comes from; noop: the live one */
  target: GenerationRef;
  links: LinkMap;
  diff: LinkDiff;
  /** going back: builds that leave the live set are marked bad */
  backwards: boolean;
  /** new: the manifest's reason; noop: why there is nothing to do */
  reason: string;
}

/**
 * Every check of a rollback, reading the disk only: the dry run and the real run (under the lock) both call it,
 * so they refuse the same things with the same messages and exit codes.
 */
export function planRollback(
  root: string,
  opts: { to?: number; envName?: string; installation?: string },
): RollbackPlan {
  const live = readLive(root);
  // an installation named must exist, whatever is live (exit 2)
  const named = opts.installation ? installationArg(opts.installation) : undefined;
  if (named && !existsSync(join(root, named))) {
    throw new UsageError(`--installation ${opts.installation}: there is no installation ${join(root, named)}`);
  }
  if (!live.ref) return planFromAdopted(root, named);
  const at: LiveAt = { root, from: live.ref, links: live.links };
  if (opts.installation !== undefined) return planInstallationRollback(at, opts.installation);
  if (opts.envName === undefined) return planGenerationRollback(at, opts.to);
  const source = opts.to !== undefined ? envSourceAt(at, opts.envName, opts.to) : envSourceEarlier(at, opts.envName);
  return 'noop' in source ? noopPlan(at.from, at.links, source.noop) : planEnvRollback(at, opts.envName, source);
}

/** What is live when a rollback is planned: the generation users see and its links. */
interface LiveAt {
  root: string;
  from: GenerationRef;
  links: LinkMap;
}

/** Where `rollback --env` takes an env's build from: generation `generation`, or none there (the env is dropped). */
interface EnvSource {
  generation: number;
  build: string | undefined;
}

/** Nothing to do (exit 0): what is live stays live. */
function noopPlan(from: GenerationRef, links: LinkMap, reason: string): RollbackPlan {
  return { from, kind: 'noop', target: from, links, diff: diffLinks(links, links), backwards: false, reason };
}

/** Nothing deployed is live: `current` is the adopted installation, a no-op when it is the one named, else refused. */
function planFromAdopted(root: string, named: string | undefined): RollbackPlan {
  const adopted = adoptedCurrent(root);
  if (!adopted) throw new FailedError(`nothing is deployed under ${root}: no generation to roll back from`);
  if (named !== adopted) throw new FailedError(wayForwardFromAdopted(root, adopted, named));
  const from = { installation: adopted, generation: ADOPTED };
  return noopPlan(from, servedLinks(root, from) ?? {}, `${adopted} is already current: nothing to do`);
}

/** A plain rollback (or --to N): swap back to the generation the live one came from (or N), checked whole. */
function planGenerationRollback(at: LiveAt, to: number | undefined): RollbackPlan {
  const { root, from } = at;
  // the first generation of the cutover out of an adopted installation: going back means going back there
  const adoptedFrom = to === undefined ? firstFromAdopted(root, from) : undefined;
  if (adoptedFrom) return planInstallationRollback(at, adoptedFrom);
  const { target, backwards } = rollbackTargetOf(root, from, to);
  if (target.installation === from.installation && target.generation === from.generation) {
    return noopPlan(from, at.links, `generation ${target.generation} is already live: nothing to do`);
  }
  const links = readGenerationLinks(join(root, target.installation), target.generation);
  checkTarget(join(root, target.installation), target.generation, links, undefined); // whole, or refused
  return { from, kind: 'swap', target, links, diff: diffLinks(at.links, links), backwards, reason: '' };
}

/** rollback --to N --env NAME: the env's build in generation N (a no-op when it is the live one). */
function envSourceAt(at: LiveAt, name: string, to: number): EnvSource | { noop: string } {
  const { root, from } = at;
  const { target } = rollbackTargetOf(root, from, to); // checks that generation N exists
  const links = readGenerationLinks(join(root, from.installation), target.generation);
  if (!(name in at.links) && !(name in links)) {
    throw new UsageError(`env '${name}' is in neither ${formatRef(from)} nor ${formatRef(target)}`);
  }
  const source = { generation: target.generation, build: links[name] };
  if (source.build !== at.links[name]) return source;
  const same = target.generation === from.generation ? 'is live' : `has the same build (${source.build})`;
  return { noop: `env '${name}' ${same} in ${formatRef(target)}: nothing to do` };
}

/**
 * rollback --env NAME: the env's previous distinct build in an earlier generation of the live installation,
 * skipping builds rolled back or changed by hand and repaired already.
 */
function envSourceEarlier(at: LiveAt, name: string): EnvSource {
  const { root, from } = at;
  const liveDir = join(root, from.installation);
  const all = listGenerations(liveDir).map((n) => ({ n, links: readGenerationLinks(liveDir, n) }));
  if (!all.some((g) => name in g.links)) {
    const names = [...new Set(all.flatMap((g) => Object.keys(g.links)))].sort();
    throw new UsageError(
      `env '${name}' is in no generation of ${from.installation}${didYouMean(name, names)} ` +
        `(envs: ${names.join(', ') || 'none'})`,
    );
  }
  const version = from.installation.replace(/^v/, '');
  const found = envRollbackSource(name, { generation: from.generation, links: at.links }, all, (build) => {
    const rec = readBuildRecord(root, version, name, build);
    return rec?.bad !== undefined || rec?.tainted !== undefined; // rolled back, or changed by hand and repaired
  });
  if (!found) {
    const since = at.links[name] ? `build ${at.links[name]}` : 'no build';
    throw new FailedError(
      `env '${name}' has ${since} in ${formatRef(from)} and no other build (not rolled back or repaired ` +
        `already) in an earlier generation of ${from.installation}: nothing to roll back to` +
        ` (rollback --to N --env ${name} picks one)`,
    );
  }
  return found;
}

/** A new generation: the live links with env `name` taken from `source` (checked whole first). */
function planEnvRollback(at: LiveAt, name: string, source: EnvSource): RollbackPlan {
  const { from } = at;
  const liveDir = join(at.root, from.installation);
  if (source.build !== undefined) checkTarget(liveDir, source.generation, { [name]: source.build }, name);
  const links = withEnvFrom(at.links, source.build === undefined ? {} : { [name]: source.build }, name);
  return {
    from,
    kind: 'new',
    target: { installation: from.installation, generation: source.generation },
    links,
    diff: diffLinks(at.links, links),
    backwards: source.generation < from.generation,
    reason: `rollback --env ${name} (build from generation ${source.generation})`,
  };
}

/**
 * Why a rollback has nowhere to go while `current` is the adopted installation (it has no generations), and what
 * goes forward instead: switching to an installation deployed before is a deploy (`--force` while it is marked
 * rolled back); the first one is a pull request that sets `[conda] version`.
 */
function wayForwardFromAdopted(root: string, adopted: string, named: string | undefined): string {
  const head =
    `ROOT/current is the adopted installation ${adopted} (its own envs directory, no generations): ` +
    'there is no earlier generation to roll back to.';
  const deployed = (named ? [named] : listInstallations(root)).filter(
    (i) => i !== adopted && liveGenerationNumber(join(root, i)) !== undefined,
  );
  const ways = deployed.map((i) => {
    const mark = installationMarkOf(root, i);
    return mark
      ? `${i} was rolled back at ${mark.at}: \`conda-gitops deploy --force\` switches ROOT/current to it again ` +
          '(or a commit in git that changes its builds, then `conda-gitops deploy`)'
      : `\`conda-gitops deploy\` of the repository that names ${i} in [conda] version switches ROOT/current to it`;
  });
  if (named && !deployed.length) ways.push(`${named} has no live generation: nothing was ever deployed there`);
  ways.push(
    'a new installation: a pull request that sets [conda] version in inventory.ini to the conda to move to ' +
      '(its QA replicates every REPLICATE env into it; merging deploys it)',
  );
  return `${head}\nThe way forward:\n${ways.map((w) => `  - ${w}`).join('\n')}`;
}

/** The adopted installation the live generation was made from, when it has no parent in its own installation. */
function firstFromAdopted(root: string, from: GenerationRef): string | undefined {
  const manifest = readManifest(join(root, from.installation), from.generation);
  return manifest && !manifest.parent ? manifest.adoptedFrom : undefined;
}

/** `vX` or `X` -> `vX`; anything else is bad input. */
function installationArg(arg: string): string {
  const name = arg.startsWith('v') ? arg : `v${arg}`;
  if (!/^v\d[\w.+-]*$/.test(name) || name.includes('..')) {
    throw new UsageError(`--installation ${arg}: not an installation name (v23.11.0 or 23.11.0)`);
  }
  return name;
}

/**
 * rollback --installation [vX]: make installation vX's live generation (vX/envs, left as it was when `current`
 * switched away from it) what users see again. Default: the installation `current` came from (the generation a
 * conda upgrade was deployed from, through the manifests' `parent`), or the adopted installation the first
 * cutover left (`adoptedFrom`): then `current` goes back to its own envs directory, checked first (it holds its
 * envs, its bin/conda exists).
 */
function planInstallationRollback(at: LiveAt, arg: string): RollbackPlan {
  const { root, from, links: liveLinks } = at;
  let installation: string;
  if (arg === '') {
    const prev = previousInstallation(root, from);
    if (!prev) {
      throw new FailedError(
        `${formatRef(from)} was not deployed from another installation: no installation to roll back to ` +
          '(name one: rollback --installation vX)',
      );
    }
    installation = prev.installation;
  } else installation = installationArg(arg);
  const dir = join(root, installation);
  if (!existsSync(dir)) {
    throw new UsageError(`--installation ${arg}: there is no installation ${dir}`);
  }
  if (installation === from.installation) {
    return noopPlan(from, liveLinks, `${installation} is already current: nothing to do`);
  }
  const n = liveGenerationNumber(dir);
  if (n === undefined) {
    const adopted = { installation, generation: ADOPTED };
    const links = servedLinks(root, adopted);
    if (!links) {
      throw new FailedError(`${dir} has no live generation (${installation}/envs): nothing to roll back to there`);
    }
    checkAdopted(dir, links);
    return {
      from,
      kind: 'swap',
      target: adopted,
      links,
      diff: diffLinks(liveLinks, links),
      backwards: true,
      reason: '',
    };
  }
  const target = { installation, generation: n };
  const links = readGenerationLinks(dir, n);
  checkTarget(dir, n, links, undefined);
  return { from, kind: 'swap', target, links, diff: diffLinks(liveLinks, links), backwards: true, reason: '' };
}

/** Refuse (nothing changed) to switch `current` to an adopted installation that is not whole. */
function checkAdopted(dir: string, links: LinkMap): void {
  const problems: string[] = [];
  if (!existsSync(join(dir, 'bin', 'conda'))) problems.push(`${join(dir, 'bin', 'conda')} is missing`);
  if (!Object.keys(links).length) problems.push(`${join(dir, 'envs')} holds no environment`);
  if (problems.length) {
    throw new RefusedError(
      `${dir} (adopted) cannot be made current again:\n${problems.map((p) => `  ${p}`).join('\n')}\n` +
        'Nothing was changed.',
    );
  }
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
  opts: { to?: number; envName?: string; installation?: string; env: NodeJS.ProcessEnv; command: string },
): AppliedRollback {
  const t0 = performance.now();
  const plan = planRollback(root, opts);
  const { from, diff } = plan;
  const at = new Date().toISOString();
  if (plan.kind === 'noop') {
    return { from, to: from, diff, markedBad: 0, cleared: 0, seconds: 0, noop: plan.reason };
  }
  // swap first (users get the old builds at once), then the marks, then history: a run killed before its
  // history line is finished by the next writer's reconcileHistory, marks included
  const to = plan.kind === 'new' ? writeEnvGeneration(root, plan, at) : swapToTarget(root, plan);
  const marks = markRolledBack(root, plan, to, at);
  appendHistory(root, {
    format: 1,
    at,
    command: opts.command,
    ...actor(opts.env),
    from,
    to,
    ...diff,
    ...(marks.installationMarked
      ? { note: `installation cutover back to ${to.installation}; ${marks.installationMarked} marked rolled back` }
      : {}),
  });
  return { from, to, diff, ...marks, seconds: (performance.now() - t0) / 1000 };
}

/** rollback --env: a new generation of the live installation with the plan's links, swapped in. */
function writeEnvGeneration(root: string, plan: RollbackPlan, at: string): GenerationRef {
  const { from } = plan;
  const liveDir = join(root, from.installation);
  const n = nextGenerationNumber(listGenerations(liveDir));
  const manifest = readManifest(liveDir, from.generation);
  writeGeneration(liveDir, {
    format: 1,
    n,
    createdAt: at,
    ...(manifest?.commit ? { commit: manifest.commit } : {}),
    reason: plan.reason,
    parent: from,
    envs: plan.links,
  });
  swapEnvs(liveDir, n);
  return { installation: from.installation, generation: n };
}

/** Make the target generation live in its installation, and point `current` at that installation. */
function swapToTarget(root: string, plan: RollbackPlan): GenerationRef {
  const targetDir = join(root, plan.target.installation);
  const adopted = plan.target.generation === ADOPTED; // its own envs directory: nothing to swap there
  if (!adopted && liveGenerationNumber(targetDir) !== plan.target.generation) {
    swapEnvs(targetDir, plan.target.generation);
  }
  if (plan.target.installation !== plan.from.installation) {
    replaceSymlink(layout(root).current, plan.target.installation, 'current');
  }
  return plan.target;
}

/**
 * What left the live set was rolled back (marked bad when going back); what came (back) in was chosen by a person:
 * not bad any more. Across installations, the installation left is marked bad as a whole instead.
 */
function markRolledBack(
  root: string,
  plan: RollbackPlan,
  to: GenerationRef,
  at: string,
): Pick<AppliedRollback, 'markedBad' | 'cleared' | 'installationMarked'> {
  const { from, diff } = plan;
  const left = [...diff.changed.map((c) => ({ name: c.name, build: c.from })), ...diff.removed];
  const came = [...diff.changed.map((c) => ({ name: c.name, build: c.to })), ...diff.added];
  const reason = `rolled back from ${formatRef(from)} to ${formatRef(to)}`;
  if (from.installation !== to.installation) {
    // an installation rollback (plain rollback across a conda upgrade, or --installation): the installation left
    // is marked bad as a whole, not its builds, so a plain deploy does not switch to it again while the
    // repository asks for the same builds; the installation come back to is current again (its mark lifted)
    const liveDir = join(root, from.installation);
    const manifest = readManifest(liveDir, from.generation);
    markInstallationBad(root, {
      installation: from.installation,
      at,
      reason,
      generation: from.generation,
      links: readGenerationLinks(liveDir, from.generation),
      ...(manifest?.commit ? { commit: manifest.commit } : {}),
    });
    clearInstallationMark(root, to.installation);
    const cleared = to.generation === ADOPTED ? 0 : markBuilds(root, to.installation, came, undefined);
    return { markedBad: 0, cleared, installationMarked: from.installation };
  }
  // one append for both: the builds taken out and the ones brought back
  const bad = plan.backwards ? [{ builds: left, bad: { at, reason } }] : [];
  const counts = updateMarks(root, versionOf(from.installation), [...bad, { builds: came, bad: undefined }]);
  return { markedBad: bad.length ? counts[0]! : 0, cleared: counts.at(-1)! };
}

/** The whole rollback command: a dry run, or lock -> clean up -> reconcile history -> apply -> report. */
export async function rollback(opts: RollbackOptions): Promise<RollbackResult> {
  const { out, to, envName, installation } = opts;
  if (installation !== undefined && (to !== undefined || envName !== undefined)) {
    throw new UsageError('--installation switches the whole installation: it does not combine with --to or --env');
  }
  const root = await rootWithoutRepo(opts);
  const command = [
    'rollback',
    ...(to !== undefined ? [`--to ${to}`] : []),
    ...(envName !== undefined ? [`--env ${envName}`] : []),
    ...(installation !== undefined ? [`--installation${installation ? ` ${installation}` : ''}`] : []),
  ].join(' ');
  const target = {
    ...(to !== undefined ? { to } : {}),
    ...(envName !== undefined ? { envName } : {}),
    ...(installation !== undefined ? { installation } : {}),
  };

  if (opts.dryRun) {
    const plan = planRollback(root, target); // every check of the real run
    if (plan.kind === 'noop') {
      out.info(`${command}: ${plan.reason}`);
      return { ok: true, dryRun: true, noop: plan.reason, from: plan.from, target: plan.target, diff: plan.diff };
    }
    const toText = plan.kind === 'swap' ? formatRef(plan.target) : 'a new generation';
    out.info(`would ${command}: ${formatRef(plan.from)} -> ${toText} (${summarizeDiff(plan.diff)})`);
    if (plan.target.installation !== plan.from.installation) {
      out.info(`  switch ROOT/current -> ${plan.target.installation}; mark ${plan.from.installation} rolled back`);
    }
    for (const line of diffLines(plan.diff)) out.info(line);
    return { ok: true, dryRun: true, from: plan.from, target: plan.target, diff: plan.diff };
  }

  return withLock(root, { waitSeconds: opts.waitSeconds, command: `conda-gitops ${command}` }, async () => {
    recoverUnderLock(root, opts.env, out, { reportRecovered: false });
    const r = applyRollback(root, { ...target, env: opts.env, command });
    if (r.noop) {
      out.info(`${command}: ${r.noop}`);
      return { ok: true, ...r };
    }
    const ms = (r.seconds * 1000).toFixed(0);
    out.info(`${command}: ${formatRef(r.from)} -> ${formatRef(r.to)} in ${ms} ms (${summarizeDiff(r.diff)})`);
    for (const line of diffLines(r.diff)) out.info(line);
    if (r.installationMarked) {
      out.info(
        `ROOT/current -> ${r.to.installation}; ${r.installationMarked} marked rolled back: a plain deploy will not ` +
          `switch to it again until the repository changes its builds (or deploy --force)` +
          (linkedInstallation(layout(root).qa) === r.installationMarked
            ? ` (ROOT/qa still points at ${r.installationMarked} for inspection)`
            : ''),
      );
    }
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
