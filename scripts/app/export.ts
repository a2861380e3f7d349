/**
 * The `export` use case: re-export envs listed in inventory.ini from the installation into env-specs/NAME.yml,
 * with the same fix-ups as adopt (builds stripped where conda ignores --no-builds, prefix dropped, git sources
 * back). An existing spec keeps its own lines where the env still satisfies them (core/export-merge.ts) unless
 * `exact` is set.
 */
import { legacyNoarchInstalled } from '../engine/legacy-noarch.js';
import { legacyNoarchWarning } from '../core/legacy-noarch.js';
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { InputError, UsageError } from '../core/errors.js';
import { failedIf, type Outcome } from '../core/outcome.js';
import { Conda } from '../engine/conda.js';
import { decodeInput } from '../core/input.js';
import { writeFileAtomic } from '../state/fsutil.js';
import { readRepoFile, resolveRoot } from '../repo/repo.js';
import { INVENTORY_FILE, SPECS_DIR } from '../core/repo.js';
import { parseInventory } from '../core/inventory.js';
import { packageCaches } from '../core/pkgcache.js';
import { installationLayout } from '../core/layout.js';
import { exportOne, type ExportedEnv } from '../engine/adopt.js';
import { mergeExport, type ExportMergeResult } from '../core/export-merge.js';
import type { Output } from './output.js';
import { didYouMean } from '../core/suggest.js';

/** What adopt and export say about each env: the changes made to conda's export and what was not recovered. */
export function reportExports(
  out: Output,
  exported: ExportedEnv[],
  skipped: Array<{ name: string; reason: string }>,
): void {
  for (const x of exported) {
    const file = `${SPECS_DIR}/${x.name}.yml`;
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

/** Exit code 1 when some env could not be exported (the others are written). */
export async function exportEnvs(opts: ExportOptions): Promise<{ outcome: Outcome; result: Record<string, unknown> }> {
  const out = opts.out;
  const invPath = join(opts.repoDir, INVENTORY_FILE);
  if (!existsSync(invPath))
    throw new UsageError(`${INVENTORY_FILE} not found in ${opts.repoDir}: run 'adopt' first (or use --repo DIR)`);
  const decoded = decodeInput(readRepoFile(opts.repoDir, INVENTORY_FILE)!, INVENTORY_FILE);
  if (decoded.problem) throw new InputError([decoded.problem]);
  const { inventory, problems } = parseInventory(decoded.text!, INVENTORY_FILE);
  if (!inventory) throw new InputError(problems);
  const listed = inventory.environments.map((e) => e.name);
  const wanted = opts.envs;
  for (const w of wanted)
    if (!listed.includes(w)) throw new UsageError(`'${w}' is not listed in ${INVENTORY_FILE}${didYouMean(w, listed)}`);
  const names = wanted.length ? wanted : listed;

  const installation = findInstallation(
    resolveRoot({ options: { root: opts.rootFlag }, env: opts.env }, inventory),
    inventory.conda.version,
  );
  const conda = new Conda({
    frontend: 'conda',
    exe: join(installation, 'bin', 'conda'),
    defaults: { timeoutSeconds: 600 },
  });
  const v = await conda.version();
  if (!v.value)
    throw new UsageError(
      `cannot run ${conda.config.exe} --version: ${(v.stderr || v.parseError || '').trim() || `exit ${v.code}`}`,
    );
  const list = await conda.envList();
  // conda env list is every registered prefix of every installation (~/.conda/environments.txt) and the root:
  // only this installation's own envs directory counts, so another user's env of the same name is never exported
  const ownEnvs = join(installation, 'envs');
  const prefixes = new Map(
    (list.value ?? []).filter((p) => dirname(resolve(p)) === ownEnvs).map((p) => [basename(p), p]),
  );

  const exported: ExportedEnv[] = [];
  const skipped: Array<{ name: string; reason: string }> = [];
  const merges = new Map<string, ExportMergeResult>();
  for (const [i, name] of names.entries()) {
    out.progress(`[${i + 1}/${names.length}] export ${name}`);
    const prefix = prefixes.get(name) ?? join(installation, 'envs', name);
    if (!existsSync(join(prefix, 'conda-meta'))) {
      skipped.push({ name, reason: `no env at ${prefix}` });
      continue;
    }
    const x = await exportOne(conda, v.value.version, name, prefix);
    if (x.error) {
      skipped.push({ name, reason: x.error });
      continue;
    }
    const file = `${SPECS_DIR}/${name}.yml`;
    const path = join(opts.repoDir, file);
    if (!opts.exact && existsSync(path)) {
      const decoded = decodeInput(readFileSync(path), file);
      const merged = decoded.problem ? undefined : await mergeExport(decoded.text!, x.text, file, name);
      const problem = decoded.problem ?? merged!.problems[0];
      if (problem) {
        skipped.push({
          name,
          reason: `${file}:${problem.line}: ${problem.message}: fix it, or pass --exact to overwrite it`,
        });
        continue;
      }
      x.text = merged!.text;
      merges.set(name, merged!);
    }
    writeFileAtomic(path, x.text);
    exported.push(x);
  }

  reportExports(out, exported, skipped);
  // legacy noarch packages the envs have (a pre-link script of their own) that [legacy-noarch] does not list
  const listedLegacy = new Set(inventory.legacyNoarch.map((l) => l.name.toLowerCase()));
  const legacyMissing: Array<{ env: string; package: string }> = [];
  for (const x of exported) {
    for (const n of [
      ...legacyNoarchInstalled([x.prefix], packageCaches(installation, inventory.conda.pkgsDirs)),
    ].sort()) {
      if (listedLegacy.has(n.toLowerCase())) continue;
      legacyMissing.push({ env: x.name, package: n });
      out.warn(legacyNoarchWarning(`${SPECS_DIR}/${x.name}.yml`, n));
    }
  }
  for (const [name, m] of merges) reportMerge(out, `${SPECS_DIR}/${name}.yml`, m);
  out.info(
    `exported ${exported.length} of ${names.length} env${names.length === 1 ? '' : 's'} ` +
      `from ${installation} (conda ${v.value.version})`,
  );
  const result = {
    ok: skipped.length === 0,
    installation,
    condaVersion: v.value.version,
    envs: exported.map((x) => ({
      name: x.name,
      prefix: x.prefix,
      spec: `${SPECS_DIR}/${x.name}.yml`,
      changes: x.changes,
      unrecovered: x.unrecovered,
      ...(merges.has(x.name)
        ? {
            merge: {
              kept: merges.get(x.name)!.kept,
              rewritten: merges.get(x.name)!.rewritten,
              added: merges.get(x.name)!.added,
              dropped: merges.get(x.name)!.dropped,
            },
          }
        : {}),
    })),
    skipped,
    legacyNoarchMissing: legacyMissing,
  };
  return { outcome: failedIf(skipped.length > 0), result };
}
