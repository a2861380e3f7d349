/**
 * Generations on disk (docs/deploy.md): `vX/generations/N/` is an immutable directory of per-env links
 * `NAME -> ../../builds/NAME/<build-id>` plus a manifest; `vX/envs` is a symlink to the live one.
 * Cutover = rename(2) of a fresh temporary symlink over `vX/envs`: one atomic step whatever the
 * number of envs, and a reader resolving `ROOT/envs/NAME` sees the old or the new generation, never nothing.
 *
 * This is the disk half; link arithmetic, diffs and rollback targets are pure, in core/generation.ts.
 */
import {
  closeSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  rmdirSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { CorruptStateError, RefusedError } from '../core/errors.js';
import { buildPaths, installationLayout, installationName, layout } from '../core/layout.js';
import { readChecked, schemaProblem } from './checked.js';
import { faultPoint } from './fsutil.js';
import { readRecordFile } from './record.js';
import { updateMarks } from './marks.js';
import { KERNEL_SCRATCH } from '../core/kernel.js';
import {
  ADOPTED,
  ADOPTED_BUILD,
  parseLinkTarget,
  MANIFEST_FILE,
  TEMP_MARK,
  linkTarget,
  rollbackTarget,
} from '../core/generation.js';
import type { LinkMap, GenerationManifest, GenerationRef } from '../core/generation.js';
import { markInstallation } from './marker.js';

/** Where a symlink-or-directory path stands. Used for `vX/envs`, `ROOT/envs`, `ROOT/current`. */
export type PathState =
  | { kind: 'absent' }
  | { kind: 'link'; target: string }
  | { kind: 'empty-dir' }
  | { kind: 'dir'; entries: string[] }
  | { kind: 'file' };

function pathState(path: string): PathState {
  let st;
  try {
    st = lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'absent' };
    throw e;
  }
  if (st.isSymbolicLink()) return { kind: 'link', target: readlinkSync(path) };
  if (st.isDirectory()) {
    const entries = readdirSync(path).filter((e) => !e.startsWith('.'));
    return entries.length ? { kind: 'dir', entries } : { kind: 'empty-dir' };
  }
  return { kind: 'file' };
}

/** The live generation number of an installation (`vX/envs -> generations/N`), if it has one. */
export function liveGenerationNumber(instDir: string): number | undefined {
  const st = pathState(join(instDir, 'envs'));
  if (st.kind !== 'link') return undefined;
  const m = /^generations\/(\d+)$/.exec(st.target);
  return m ? Number(m[1]) : undefined;
}

/** Generation numbers present in an installation (complete ones only: temp dirs are skipped). */
export function listGenerations(instDir: string): number[] {
  try {
    return readdirSync(join(instDir, 'generations'))
      .filter((e) => /^\d+$/.test(e))
      .map(Number)
      .sort((a, b) => a - b);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

/** The link map of a generation as it is on disk (the links are the truth; the manifest is a description). */
export function readGenerationLinks(instDir: string, n: number): LinkMap {
  const dir = join(instDir, 'generations', String(n));
  const links: LinkMap = {};
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isSymbolicLink()) continue;
    const id = parseLinkTarget(entry.name, readlinkSync(join(dir, entry.name)));
    if (id) links[entry.name] = id;
  }
  return links;
}

export function readManifest(instDir: string, n: number): GenerationManifest | undefined {
  return readChecked<GenerationManifest>(join(instDir, 'generations', String(n), MANIFEST_FILE), 'generation');
}

function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Fault injection for the crash-safety test: `CONDA_GITOPS_CRASH_AT=<step>` kills the process with SIGKILL
 * when it reaches that step, the same as a power cut or `kill -9` there.
 */
export function crashPoint(step: string): void {
  if (process.env.CONDA_GITOPS_CRASH_AT === step) process.kill(process.pid, 'SIGKILL');
}

/**
 * Write generation N completely (links, manifest, fsync) under a temporary name, then rename it into place:
 * `generations/N` only ever exists whole, so a rollback never lands on a half-written generation.
 */
export function writeGeneration(instDir: string, manifest: GenerationManifest): string {
  const gens = join(instDir, 'generations');
  markInstallation(instDir);
  mkdirSync(gens, { recursive: true });
  const tmp = join(gens, `${TEMP_MARK}${manifest.n}-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  try {
    mkdirSync(tmp);
    const names = Object.keys(manifest.envs).sort();
    names.forEach((name, i) => {
      symlinkSync(linkTarget(name, manifest.envs[name]), join(tmp, name));
      if (i === names.length >> 1) crashPoint('generation-half');
    });
    const manifestPath = join(tmp, MANIFEST_FILE);
    const text = JSON.stringify(manifest, null, 2) + '\n';
    const fd = openSync(manifestPath, 'w');
    try {
      faultPoint('generation-write', manifestPath, () => writeSync(fd, text.slice(0, text.length >> 1)));
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    fsyncPath(tmp); // the directory entries (the links) are durable before the generation gets its name
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true }); // a full disk leaves no half-written generation behind
    throw e;
  }
  crashPoint('generation-written');
  const dir = join(gens, String(manifest.n));
  renameSync(tmp, dir);
  fsyncPath(gens);
  return dir;
}

/**
 * Point `linkPath` at `target` atomically: make a temporary symlink beside it, then rename(2) it over the old
 * link. Why not unlink + symlink: between the two calls the path does not exist and concurrent readers fail
 * (measured in test/bench/swap.bench.ts).
 */
export function replaceSymlink(
  linkPath: string,
  target: string,
  step = 'swap',
  opts: { durable?: boolean } = {},
): void {
  const dir = dirname(linkPath);
  const tmp = join(dir, `.${basename(linkPath)}${TEMP_MARK}${process.pid}`);
  try {
    unlinkSync(tmp);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  symlinkSync(target, tmp);
  crashPoint(`${step}-tmp-link`);
  renameSync(tmp, linkPath);
  // the cutover survives a power cut too (kill -9 needs no fsync: the kernel has the rename already)
  if (opts.durable !== false) fsyncPath(dir);
}

/** Make generation N live in its installation. */
export function swapEnvs(instDir: string, n: number, opts: { durable?: boolean } = {}): void {
  const envs = join(instDir, 'envs');
  // A fresh installer leaves an empty real `envs/`; rename(2) cannot replace a directory with a link.
  if (pathState(envs).kind === 'empty-dir') rmdirSync(envs);
  replaceSymlink(envs, `generations/${n}`, 'swap', opts);
}

function refuseUnmanaged(path: string, entries: string[], listed?: ReadonlySet<string>): never {
  const shown = entries.slice(0, 5).join(', ') + (entries.length > 5 ? `, ... (${entries.length})` : '');
  if (listed && entries.some((e) => listed.has(e))) {
    // the repository lists them already (adopted): the way forward is an upgrade, not another adopt
    const installation = basename(dirname(path));
    throw new RefusedError(
      `${installation} is the adopted installation: ${path} is a real directory of the envs it runs (${shown}), ` +
        'and deploy never writes into it.\nNothing was changed. The way forward is a new installation: a pull ' +
        'request that sets [conda] version in inventory.ini to the conda to move to; its QA installs it and ' +
        'replicates every REPLICATE env into it, and merging deploys it (docs/admin.md, "Upgrading conda").',
    );
  }
  throw new RefusedError(
    `${path} is a real directory holding environments not managed by conda-gitops (${shown}).\n` +
      'Nothing was changed. Bring them under management first: `conda-gitops adopt` writes inventory.ini and\n' +
      'env-specs/ for them; then deploy into a new installation (a [conda] version PR, see docs/deploy.md).',
  );
}

/**
 * Check, before anything is written, that deploy may manage these paths: `ROOT/envs` must be absent, empty or
 * our link; `ROOT/current` absent or a link; `vX/envs` absent, empty or a link into generations/. `listed`: the
 * envs the repository lists (a real `vX/envs` holding some of them is the adopted installation itself).
 */
export function checkManageable(root: string, condaVersion: string, listed?: ReadonlySet<string>): void {
  const lay = layout(root);
  const inst = installationLayout(root, condaVersion);
  const rootEnvs = pathState(lay.envs);
  if (rootEnvs.kind === 'dir') refuseUnmanaged(lay.envs, rootEnvs.entries);
  if (rootEnvs.kind === 'file' || (rootEnvs.kind === 'link' && rootEnvs.target !== 'current/envs')) {
    throw new RefusedError(
      `${lay.envs} is not the link conda-gitops manages (current/envs)` +
        (rootEnvs.kind === 'link' ? `: it points to ${rootEnvs.target}` : '') +
        '.\n' +
        'Nothing was changed. See `conda-gitops adopt` and docs/deploy.md (upgrading an existing installation).',
    );
  }
  const current = pathState(lay.current);
  if (current.kind === 'dir' || current.kind === 'empty-dir' || current.kind === 'file') {
    throw new RefusedError(`${lay.current} must be a symlink to an installation (v<version>); nothing was changed`);
  }
  const envs = pathState(inst.envs);
  if (envs.kind === 'dir') refuseUnmanaged(inst.envs, envs.entries, listed);
  if (envs.kind === 'file' || (envs.kind === 'link' && !/^generations\/\d+$/.test(envs.target))) {
    throw new RefusedError(`${inst.envs} is not a link into generations/; nothing was changed (see docs/deploy.md)`);
  }
}

/** Create `ROOT/current -> vX` and `ROOT/envs -> current/envs` when absent (relative links). */
export function ensureRootLinks(root: string, condaVersion: string): void {
  const lay = layout(root);
  if (pathState(lay.current).kind === 'absent') replaceSymlink(lay.current, installationName(condaVersion), 'current');
  const envs = pathState(lay.envs);
  if (envs.kind === 'empty-dir') rmdirSync(lay.envs);
  if (envs.kind === 'absent' || envs.kind === 'empty-dir') replaceSymlink(lay.envs, 'current/envs', 'root-envs');
}

/** The installation `ROOT/current` (or `ROOT/qa`) points at: `v23.11.0`, or undefined. */
export function linkedInstallation(linkPath: string): string | undefined {
  const st = pathState(linkPath);
  return st.kind === 'link' ? st.target.replace(/\/+$/, '') : undefined;
}

/**
 * Remove what a killed run left behind: temporary links beside `ROOT/current`, `ROOT/envs`, `vX/envs`, and
 * half-written generation directories. Call only while holding the lock (no live writer can own them).
 */
export function cleanTemporaries(root: string, instDirs: string[]): string[] {
  const removed: string[] = [];
  const sweep = (dir: string, pattern: RegExp) => {
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      return;
    }
    for (const e of entries) {
      if (!pattern.test(e)) continue;
      rmSync(join(dir, e), { recursive: true, force: true });
      removed.push(join(dir, e));
    }
  };
  const links = /^\.(current|envs|qa)\.tmp-\d+$/;
  sweep(root, links);
  // temp files of atomic writes (fsutil, lock holder) in the dirs only lock holders write
  const atomicTemp = /^\.?[\w.-]+\.\d+\.tmp$/;
  sweep(layout(root).gitops, atomicTemp);
  let kernels: string[] = [];
  try {
    kernels = readdirSync(layout(root).kernels);
  } catch {
    /* none yet */
  }
  sweep(layout(root).kernels, KERNEL_SCRATCH);
  for (const k of kernels) if (!k.startsWith('.')) sweep(join(layout(root).kernels, k), atomicTemp);
  for (const d of instDirs) {
    sweep(d, links);
    sweep(join(d, 'generations'), /^\.tmp-\d+-\d+$/);
  }
  return removed;
}

/**
 * Live links of the installation `ROOT/current` points at (empty when it has no live generation). The live
 * generation's manifest is checked on the way: every command that reads what is live (status, deploy and its dry
 * run, rollback, gc, kernels) names a corrupt one the same way (CorruptStateError, exit 1).
 */
export function readLive(root: string): { ref?: GenerationRef; links: LinkMap } {
  const installation = linkedInstallation(layout(root).current);
  if (!installation) return { links: {} };
  const dir = join(root, installation);
  const n = liveGenerationNumber(dir);
  if (n === undefined) return { links: {} };
  readManifest(dir, n);
  return { ref: { installation, generation: n }, links: readGenerationLinks(dir, n) };
}

/** Does generation `ref` exist under ROOT? */
function generationExists(root: string, ref: GenerationRef): boolean {
  return listGenerations(join(root, ref.installation)).includes(ref.generation);
}

/** The rollback target of the live generation under ROOT (used by rollback and by gc's "previous"). */
export function rollbackTargetOf(
  root: string,
  live: GenerationRef,
  to?: number,
): { target: GenerationRef; backwards: boolean } {
  const dir = join(root, live.installation);
  return rollbackTarget(
    live,
    listGenerations(dir),
    readManifest(dir, live.generation)?.parent,
    (r) => generationExists(root, r),
    to,
  );
}

/**
 * The installation `ROOT/current` points at when it is not managed by conda-gitops (adopted: its `envs/` is a
 * real directory, it has no live generation), else undefined.
 */
export function adoptedCurrent(root: string): string | undefined {
  const installation = linkedInstallation(layout(root).current);
  if (!installation) return undefined;
  return pathState(join(root, installation, 'envs')).kind === 'dir' ? installation : undefined;
}

/**
 * The envs an installation serves to users: its live generation's links, or for an adopted installation
 * (generation ADOPTED) the env directories of its real `envs/` (each mapped to ADOPTED_BUILD). Undefined when it
 * serves nothing (no live generation, no envs directory).
 */
export function servedLinks(root: string, ref: GenerationRef): LinkMap | undefined {
  const dir = join(root, ref.installation);
  if (ref.generation === ADOPTED) {
    const st = pathState(join(dir, 'envs'));
    if (st.kind !== 'dir') return undefined;
    return Object.fromEntries(
      st.entries.filter((e) => isDir(join(dir, 'envs', e))).map((e) => [e, ADOPTED_BUILD] as const),
    );
  }
  const n = liveGenerationNumber(dir);
  return n === undefined ? undefined : readGenerationLinks(dir, n);
}

/**
 * The installation `ref`'s installation came from: follow the generation manifests' `parent` back within the
 * installation until one names another installation (the generation a conda upgrade was deployed from), or
 * until the first one, made by the cutover out of an adopted installation (`adoptedFrom`: then the answer is
 * that installation, generation ADOPTED).
 */
export function previousInstallation(root: string, ref: GenerationRef): GenerationRef | undefined {
  const dir = join(root, ref.installation);
  const seen = new Set<number>();
  let n: number | undefined = ref.generation;
  while (n !== undefined && !seen.has(n)) {
    seen.add(n);
    // a corrupt manifest on the way throws (named): which installation serves the envs left out is unknown then
    const manifest = readManifest(dir, n);
    const parent = manifest?.parent;
    if (!parent) {
      const adopted = manifest?.adoptedFrom;
      return adopted && adopted !== ref.installation ? { installation: adopted, generation: ADOPTED } : undefined;
    }
    if (parent.installation !== ref.installation) return parent;
    n = parent.generation;
  }
  return undefined;
}

/**
 * Where envs that are not live in `current` are still served (envs left out of a conda upgrade): the installation
 * the live one came from (previousInstallation), or, when nothing deployed is live, the adopted installation
 * `current` points at.
 */
export function servingInstallation(root: string, live: GenerationRef | undefined): GenerationRef | undefined {
  if (live) return previousInstallation(root, live);
  const adopted = adoptedCurrent(root);
  return adopted ? { installation: adopted, generation: ADOPTED } : undefined;
}

/** An installation and the envs it serves to users (its live generation's links, or an adopted one's envs). */
export interface ServingInstallation {
  installation: string;
  links: LinkMap;
}

/**
 * Every installation that still serves envs at `ROOT/vX/envs/NAME`, nearest first: each of `starts` (the
 * installation `current` points at, the one being deployed), then the installations they were deployed from (the
 * `parent` in another installation, or `adoptedFrom`, of each of their generations, newest first), and theirs in
 * turn. `exclude` (the installation an env is missing from) is followed but not listed. An env left out of a conda
 * upgrade is served by the first one that has it: also after `current` was rolled back past it.
 */
export function servingInstallations(root: string, starts: string[], exclude?: string): ServingInstallation[] {
  const found: ServingInstallation[] = [];
  const queue = [...starts];
  const seen = new Set<string>();
  while (queue.length) {
    const installation = queue.shift()!;
    if (seen.has(installation)) continue;
    seen.add(installation);
    const dir = join(root, installation);
    const n = liveGenerationNumber(dir);
    const links = servedLinks(root, { installation, generation: n ?? ADOPTED });
    if (installation !== exclude && links) found.push({ installation, links });
    for (const g of listGenerations(dir).sort((a, b) => b - a)) {
      // a corrupt manifest throws, named with its remedy: which installation serves an env is unknown then
      const manifest = readManifest(dir, g);
      const from = manifest?.parent?.installation ?? manifest?.adoptedFrom;
      if (from && from !== installation && !seen.has(from)) queue.push(from);
    }
  }
  return found;
}

export const versionOf = (installation: string) => installation.replace(/^v/, '');

/**
 * Set (`bad`) or clear (undefined) the rollback mark of builds: one fsynced append to the installation's
 * marks.jsonl (state/marks.ts), never a rewrite of a record or of the journal in place, so a crash or a full disk
 * mid-rollback leaves every mark as it was. Returns how many marks changed.
 */
export function markBuilds(
  root: string,
  installation: string,
  builds: Array<{ name: string; build: string }>,
  bad: { at: string; reason: string } | undefined,
): number {
  return updateMarks(root, versionOf(installation), [{ builds, bad }])[0]!;
}

/**
 * Why the builds `links` points at are not complete (empty when they all are): the record exists, reads, says
 * built or tested, and the prefix is a directory with conda-meta/. `instDir` is the installation (vX).
 */
export function buildProblems(instDir: string, links: LinkMap): string[] {
  const problems: string[] = [];
  const version = versionOf(basename(instDir));
  const root = dirname(instDir);
  for (const [name, id] of Object.entries(links).sort(([a], [b]) => a.localeCompare(b))) {
    const paths = buildPaths(root, version, name, id);
    let rec;
    try {
      rec = readRecordFile(paths.record);
    } catch (e) {
      if (!(e instanceof CorruptStateError)) throw e;
      problems.push(`${name} -> ${id}: its record is corrupt (${paths.record})${toGoOn(e)}`);
      continue;
    }
    if (!rec) problems.push(`${name} -> ${id}: no build record (${paths.record})`);
    else if (rec.status !== 'built' && rec.status !== 'tested') {
      problems.push(`${name} -> ${id}: the build is ${rec.status}, not complete`);
    } else if (!isDir(join(paths.prefix, 'conda-meta'))) {
      problems.push(`${name} -> ${id}: the prefix ${paths.prefix} is missing or has no conda-meta/`);
    }
  }
  return problems;
}

/** The remedy of a corrupt file, for a line of a list of problems. */
const toGoOn = (e: CorruptStateError) => (e.remedy ? `; to go on: ${e.remedy}` : '');

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return false;
    throw e;
  }
}

/**
 * Why generation N cannot be made live (empty when it can): every link is a link to a build of its env, the
 * manifest reads and lists the same envs, every linked build is complete.
 */
export function generationProblems(instDir: string, n: number): string[] {
  const dir = join(instDir, 'generations', String(n));
  const problems: string[] = [];
  let manifest: GenerationManifest | undefined;
  try {
    manifest = readManifest(instDir, n);
  } catch (e) {
    if (!(e instanceof CorruptStateError)) throw e;
    problems.push(`its manifest is corrupt (${join(dir, MANIFEST_FILE)})${toGoOn(e)}`);
  }
  const links: LinkMap = {};
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === MANIFEST_FILE || entry.name.startsWith('.')) continue;
    const target = entry.isSymbolicLink() ? readlinkSync(join(dir, entry.name)) : undefined;
    const id = target === undefined ? undefined : parseLinkTarget(entry.name, target);
    if (id) links[entry.name] = id;
    else problems.push(`${entry.name}: not a link to a build of ${entry.name}${target ? ` (-> ${target})` : ''}`);
  }
  if (manifest) {
    for (const [name, id] of Object.entries(manifest.envs)) {
      if (!(name in links)) problems.push(`${name}: the manifest lists ${id} but the link is missing`);
      else if (links[name] !== id) problems.push(`${name}: the link says ${links[name]}, the manifest ${id}`);
    }
    for (const name of Object.keys(links)) {
      if (!(name in manifest.envs)) problems.push(`${name}: a link the manifest does not list`);
    }
  }
  return [...problems, ...buildProblems(instDir, links)];
}

/**
 * Refuse (exit 1, nothing changed) to make generation N live when it is not whole. `written`: the manifest this
 * process has just written and fsynced as generation N with its links (deploy): they are not read back; the
 * manifest is checked against its schema and the builds it links are checked (each record is parsed once per
 * process, state/record.ts; each prefix is one stat).
 */
export function verifyGeneration(instDir: string, n: number, written?: GenerationManifest): void {
  const dir = join(instDir, 'generations', String(n));
  let problems: string[];
  if (written) {
    const why = schemaProblem(written, 'generation');
    problems = [
      ...(why ? [`its manifest is corrupt (${join(dir, MANIFEST_FILE)}: ${why})`] : []),
      ...buildProblems(instDir, written.envs),
    ];
  } else problems = generationProblems(instDir, n);
  refuseProblems(`${dir} cannot be made live`, problems);
}

export function refuseProblems(what: string, problems: string[]): void {
  if (!problems.length) return;
  const shown = problems.slice(0, 20).map((p) => `  ${p}`);
  if (problems.length > 20) shown.push(`  ... (${problems.length} problems)`);
  throw new RefusedError(
    `${what}:\n${shown.join('\n')}\nNothing was changed. Pick another generation (rollback --to N), or deploy ` +
      'from git (deploy --build-missing rebuilds missing builds).',
  );
}
