/**
 * The `export` use case: re-export envs listed in inventory.ini from the installation into env-specs/NAME.yml,
 * with the same fix-ups as adopt (builds stripped where conda ignores --no-builds, prefix dropped, git sources
 * back). An existing spec keeps its own lines where the env still satisfies them (core/export-merge.ts) unless
 * `exact` is set.
 */
import { legacyNoarchInstalled } from '../engine/legacy-noarch.js';
import { legacyNoarchWarning } from '../core/legacy-noarch.js';
import { existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { InputError, UsageError, type Problem } from '../core/errors.js';
import { failedIf, type Outcome } from '../core/outcome.js';
import type { Conda } from '../engine/conda.js';
import { decodeInput } from '../core/input.js';
import { writeFileAtomic } from '../state/fsutil.js';
import { readRepoFile, resolveRoot } from '../repo/repo.js';
import { INVENTORY_FILE, specFile } from '../core/repo.js';
import { parseInventory } from '../core/inventory.js';
import { packageCaches } from '../core/pkgcache.js';
import { installationLayout } from '../core/layout.js';
import type { Inventory } from '../core/types.js';
import { isOwnEnv, unlistedLegacyNoarch, type SkippedEnv } from '../core/adopt.js';
import { exportOne, openConda, type ExportedEnv } from '../engine/adopt.js';
import { mergeExport, type ExportMergeResult } from '../core/export-merge.js';
import type { Output } from './output.js';
import { didYouMean } from '../core/suggest.js';

/** What adopt and export say about each env: the changes made to conda's export and what was not recovered. */
export function reportExports(out: Output, exported: ExportedEnv[], skipped: SkippedEnv[]): void {
  for (const x of exported) {
    const file = specFile(x.name);
    out.info(x.changes.length ? `${file}: ${x.changes.join('; ')}` : `${file}: exported as is`);
    for (const u of x.unrecovered) out.info(`${file}: pip '${u.name}' left as name==version: ${u.reason}`);
  }
  for (const s of skipped) out.warn(`${s.name}: not exported: ${s.reason}`);
  const unrecovered = exported.flatMap((x) => x.unrecovered.map((u) => `${x.name}:${u.name}`));
  if (unrecovered.length) out.info(`git sources not recovered (${unrecovered.length}): ${unrecovered.join(', ')}`);
}

/** What merging an export into the spec kept, rewrote, added and dropped (lines of the spec before the export). */
function reportMerge(out: Output, file: string, m: ExportMergeResult): void {
  for (const r of m.rewritten)
    out.info(`${file}:${r.line}: '${r.before}' no longer holds (${r.installed} installed): written '${r.after}'`);
  for (const d of m.dropped) out.info(`${file}:${d.line}: dropped '${d.text}': no longer in the env`);
  if (m.added.length)
    out.info(
      `${file}: added ${m.added.length} package${m.added.length === 1 ? '' : 's'} new in the env, exact: ` +
        m.added.join(', '),
    );
  if (m.kept.length)
    out.info(
      `${file}: kept ${m.kept.length} entr${m.kept.length === 1 ? 'y' : 'ies'} as written (the env satisfies them)`,
    );
}

/** The conda installation that holds the envs: ROOT/v<version> when managed, else ROOT itself. */
function findInstallation(root: string, version: string): string {
  for (const dir of [installationLayout(root, version).dir, root])
    if (existsSync(join(dir, 'bin', 'conda'))) return dir;
  throw new UsageError(
    `no conda installation at ${installationLayout(root, version).dir} or ${root} (bin/conda not found)`,
  );
}

export interface ExportOptions {
  repoDir: string;
  rootFlag?: string;
  /** --env: only these listed envs; empty = all */
  envs: string[];
  /** --exact: write the exported versions everywhere, replacing the spec's own lines */
  exact?: boolean;
  env: Record<string, string | undefined>;
  out: Output;
}

/** An export as it goes: the envs written, those skipped, and what merging kept of the specs. */
interface ExportRun {
  installation: string;
  condaVersion: string;
  exported: ExportedEnv[];
  skipped: SkippedEnv[];
  /** env name -> what merging the export into its existing spec did (not with --exact) */
  merges: Map<string, ExportMergeResult>;
}

/** Exit code 1 when some env could not be exported (the others are written). */
export async function exportEnvs(opts: ExportOptions): Promise<{ outcome: Outcome; result: Record<string, unknown> }> {
  const out = opts.out;
  const inventory = readInventory(opts.repoDir);
  const names = envsToExport(inventory, opts.envs);
  const installation = findInstallation(
    resolveRoot({ options: { root: opts.rootFlag }, env: opts.env }, inventory),
    inventory.conda.version,
  );
  const { conda, condaVersion } = await openConda(join(installation, 'bin', 'conda'));
  const prefixes = await ownEnvPrefixes(conda, installation);
  const run: ExportRun = { installation, condaVersion, exported: [], skipped: [], merges: new Map() };
  for (const [i, name] of names.entries()) {
    out.progress(`[${i + 1}/${names.length}] export ${name}`);
    const prefix = prefixes.get(name) ?? join(installation, 'envs', name);
    await exportToSpec(conda, run, { name, prefix, repoDir: opts.repoDir, exact: opts.exact });
  }

  reportExports(out, run.exported, run.skipped);
  const legacyMissing = warnUnlistedLegacyNoarch(out, run, inventory);
  for (const [name, m] of run.merges) reportMerge(out, specFile(name), m);
  out.info(
    `exported ${run.exported.length} of ${names.length} env${names.length === 1 ? '' : 's'} ` +
      `from ${installation} (conda ${condaVersion})`,
  );
  return { outcome: failedIf(run.skipped.length > 0), result: exportResult(run, legacyMissing) };
}

/** inventory.ini as it stands: missing is a usage error, one that does not decode or parse is bad input. */
function readInventory(repoDir: string): Inventory {
  const invPath = join(repoDir, INVENTORY_FILE);
  if (!existsSync(invPath))
    throw new UsageError(`${INVENTORY_FILE} not found in ${repoDir}: run 'adopt' first (or use --repo DIR)`);
  const decoded = decodeInput(readRepoFile(repoDir, INVENTORY_FILE)!, INVENTORY_FILE);
  if (decoded.problem) throw new InputError([decoded.problem]);
  const { inventory, problems } = parseInventory(decoded.text!, INVENTORY_FILE);
  if (!inventory) throw new InputError(problems);
  return inventory;
}

/** --env NAME...: envs inventory.ini lists (another is a usage error); none given: every listed env. */
function envsToExport(inventory: Inventory, wanted: string[]): string[] {
  const listed = inventory.environments.map((e) => e.name);
  for (const w of wanted)
    if (!listed.includes(w)) throw new UsageError(`'${w}' is not listed in ${INVENTORY_FILE}${didYouMean(w, listed)}`);
  return wanted.length ? wanted : listed;
}

/** env name -> prefix of the installation's own envs as conda lists them (none when conda cannot list them). */
async function ownEnvPrefixes(conda: Conda, installation: string): Promise<Map<string, string>> {
  const list = await conda.envList();
  return new Map((list.value ?? []).filter((p) => isOwnEnv(resolve(p), installation)).map((p) => [basename(p), p]));
}

/**
 * Export one env into its spec: merged into the spec it has unless `exact`, written atomically. An env that is
 * not there, that conda cannot export, or whose spec does not parse is skipped with the reason.
 */
async function exportToSpec(
  conda: Conda,
  run: ExportRun,
  env: { name: string; prefix: string; repoDir: string; exact?: boolean },
): Promise<void> {
  const { name, prefix } = env;
  if (!existsSync(join(prefix, 'conda-meta'))) {
    run.skipped.push({ name, reason: `no env at ${prefix}` });
    return;
  }
  const x = await exportOne(conda, run.condaVersion, name, prefix);
  if (x.error) {
    run.skipped.push({ name, reason: x.error });
    return;
  }
  const file = specFile(name);
  const path = join(env.repoDir, file);
  if (!env.exact && existsSync(path)) {
    const merged = await mergeIntoSpec(path, file, x);
    if ('problem' in merged) {
      const problem = merged.problem;
      run.skipped.push({
        name,
        reason: `${file}:${problem.line}: ${problem.message}: fix it, or pass --exact to overwrite it`,
      });
      return;
    }
    x.text = merged.text;
    run.merges.set(name, merged);
  }
  writeFileAtomic(path, x.text);
  run.exported.push(x);
}

/** The export merged into the spec at `path` (core/export-merge.ts), or the first problem of either. */
async function mergeIntoSpec(
  path: string,
  file: string,
  x: ExportedEnv,
): Promise<ExportMergeResult | { problem: Problem }> {
  const decoded = decodeInput(readFileSync(path), file);
  if (decoded.problem) return { problem: decoded.problem };
  const merged = await mergeExport(decoded.text!, x.text, file, x.name);
  return merged.problems[0] ? { problem: merged.problems[0] } : merged;
}

/** Warn of each legacy noarch package the envs have (a pre-link script of their own) that [legacy-noarch] misses. */
function warnUnlistedLegacyNoarch(
  out: Output,
  run: ExportRun,
  inventory: Inventory,
): Array<{ env: string; package: string }> {
  const missing: Array<{ env: string; package: string }> = [];
  const caches = packageCaches(run.installation, inventory.conda.pkgsDirs);
  for (const x of run.exported) {
    for (const n of unlistedLegacyNoarch(legacyNoarchInstalled([x.prefix], caches), inventory.legacyNoarch)) {
      missing.push({ env: x.name, package: n });
      out.warn(legacyNoarchWarning(specFile(x.name), n));
    }
  }
  return missing;
}

/** export's --json. */
function exportResult(run: ExportRun, legacyMissing: Array<{ env: string; package: string }>): Record<string, unknown> {
  return {
    ok: run.skipped.length === 0,
    installation: run.installation,
    condaVersion: run.condaVersion,
    envs: run.exported.map((x) => {
      const m = run.merges.get(x.name);
      return {
        name: x.name,
        prefix: x.prefix,
        spec: specFile(x.name),
        changes: x.changes,
        unrecovered: x.unrecovered,
        ...(m ? { merge: { kept: m.kept, rewritten: m.rewritten, added: m.added, dropped: m.dropped } } : {}),
      };
    }),
    skipped: run.skipped,
    legacyNoarchMissing: legacyMissing,
  };
}
