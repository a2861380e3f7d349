/**
 * Which environments a pull request changes (docs/qa.md). Pure: two snapshots in, data out.
 * A snapshot is what the repository holds at a commit: the parsed inventory and the raw text of each spec
 * (and per-env test script), so a change is decided on what the user edited, not on our normalisation.
 */
import type { Frontend, Inventory } from './types.js';
import { compareCondaVersions } from './conda-version.js';
import { replicatedEnvs } from './inventory.js';

export interface RepoSnapshot {
  inventory: Inventory;
  /** env name -> text of env-specs/NAME.yml (absent when the file does not exist at that commit) */
  specTexts: Map<string, string>;
  /** env name -> text of env-specs/NAME.test.sh / .test.py (both concatenated when both exist) */
  testTexts?: Map<string, string>;
}

export type ChangeReason =
  | 'added' // REPLICATE at head, not REPLICATE (or absent) at base
  | 'spec' // env-specs/NAME.yml text differs
  | 'inventory' // its [environments] line changed (mode)
  | 'conda-version' // [conda] version changed: every REPLICATE env is replicated
  | 'frontend' // [conda] frontend changed: every build id changes
  | 'legacy-noarch' // a package it uses entered or left [legacy-noarch]
  | 'kernel' // it became a kernel (must now import ipykernel)
  | 'test'; // its env-specs/NAME.test.* changed: the build must be tested again

export interface EnvChange {
  name: string;
  reasons: ChangeReason[];
}

export interface Changes {
  /** `frontends`: the base's and the head's [conda] frontend (which version line each version belongs to) */
  condaVersion: { base: string; head: string; changed: boolean; frontends?: { base: Frontend; head: Frontend } };
  /** REPLICATE envs at head that QA must build (or re-test), sorted by name */
  envs: EnvChange[];
  /** REPLICATE at base but not at head (removed, or switched to export): unlinked at deploy */
  dropped: string[];
  /** `export` envs whose spec changed: kept in git, never built */
  exportOnly: string[];
  kernels: { added: string[]; removed: string[]; changed: string[] };
}

function replicated(inv: Inventory): Map<string, { mode: string; line: number }> {
  return new Map(replicatedEnvs(inv).map((e) => [e.name, e]));
}

function modes(inv: Inventory): Map<string, string> {
  return new Map(inv.environments.map((e) => [e.name, e.mode]));
}

/**
 * Package names a spec text depends on, read loosely (first token of each list item); used only to scope
 * legacy-noarch changes.
 */
function mentionedNames(text: string | undefined): Set<string> {
  const names = new Set<string>();
  for (const line of (text ?? '').split(/\r?\n/)) {
    const m = /^\s*-\s*["']?(?:[\w./:-]+::)?([A-Za-z0-9_][A-Za-z0-9_.-]*)/.exec(line);
    if (m) names.add(m[1].toLowerCase());
  }
  return names;
}

function symmetricDifference(a: Set<string>, b: Set<string>): Set<string> {
  const out = new Set<string>();
  for (const x of a) if (!b.has(x)) out.add(x);
  for (const x of b) if (!a.has(x)) out.add(x);
  return out;
}

/** The envs whose build or test inputs differ between `base` and `head`. */
export function changedEnvs(base: RepoSnapshot, head: RepoSnapshot): Changes {
  const baseRep = replicated(base.inventory);
  const headRep = replicated(head.inventory);
  const baseModes = modes(base.inventory);
  const versionChanged = base.inventory.conda.version !== head.inventory.conda.version;
  const frontendChanged = base.inventory.conda.frontend !== head.inventory.conda.frontend;
  const noarchDelta = symmetricDifference(
    new Set(base.inventory.legacyNoarch.map((p) => p.name.toLowerCase())),
    new Set(head.inventory.legacyNoarch.map((p) => p.name.toLowerCase())),
  );
  const baseKernels = new Map(base.inventory.kernels.map((k) => [k.name, k.displayName]));
  const headKernels = new Map(head.inventory.kernels.map((k) => [k.name, k.displayName]));

  const envs: EnvChange[] = [];
  for (const name of [...headRep.keys()].sort()) {
    const reasons: ChangeReason[] = [];
    if (!baseRep.has(name)) reasons.push(baseModes.has(name) ? 'inventory' : 'added');
    if (base.specTexts.get(name) !== head.specTexts.get(name)) reasons.push('spec');
    if (versionChanged) reasons.push('conda-version');
    if (frontendChanged) reasons.push('frontend');
    if (noarchDelta.size > 0 && [...mentionedNames(head.specTexts.get(name))].some((n) => noarchDelta.has(n)))
      reasons.push('legacy-noarch');
    if (headKernels.has(name) && !baseKernels.has(name)) reasons.push('kernel');
    if ((base.testTexts?.get(name) ?? '') !== (head.testTexts?.get(name) ?? '')) reasons.push('test');
    if (reasons.length) envs.push({ name, reasons });
  }

  const dropped = [...baseRep.keys()].filter((n) => !headRep.has(n)).sort();
  const exportOnly = head.inventory.environments
    .filter((e) => e.mode === 'export' && base.specTexts.get(e.name) !== head.specTexts.get(e.name))
    .map((e) => e.name)
    .sort();
  const kernels = {
    added: [...headKernels.keys()].filter((k) => !baseKernels.has(k)).sort(),
    removed: [...baseKernels.keys()].filter((k) => !headKernels.has(k)).sort(),
    changed: [...headKernels.keys()]
      .filter((k) => baseKernels.has(k) && baseKernels.get(k) !== headKernels.get(k))
      .sort(),
  };
  return {
    condaVersion: {
      base: base.inventory.conda.version,
      head: head.inventory.conda.version,
      changed: versionChanged,
      frontends: { base: base.inventory.conda.frontend, head: head.inventory.conda.frontend },
    },
    envs,
    dropped,
    exportOnly,
    kernels,
  };
}

/** One line per change, for humans: `hlink: spec, kernel`. */
export function describeChanges(c: Changes): string[] {
  const lines: string[] = [];
  if (c.condaVersion.changed)
    lines.push(`conda version ${c.condaVersion.base} -> ${c.condaVersion.head}: every REPLICATE env is replicated`);
  // a version change says which: `conda upgrade 23.11.0 -> 24.1.2` (or downgrade), not a bare reason code
  const { base, head } = c.condaVersion;
  const upgrade = `conda ${compareCondaVersions(head, base) < 0 ? 'downgrade' : 'upgrade'} ${base} -> ${head}`;
  for (const e of c.envs)
    lines.push(`build ${e.name} (${e.reasons.map((r) => (r === 'conda-version' ? upgrade : r)).join(', ')})`);
  for (const n of c.dropped) lines.push(`drop ${n} (unlinked at deploy)`);
  for (const n of c.exportOnly) lines.push(`export-only ${n} changed (not built)`);
  for (const k of c.kernels.added) lines.push(`kernel added ${k}`);
  for (const k of c.kernels.removed) lines.push(`kernel removed ${k}`);
  for (const k of c.kernels.changed) lines.push(`kernel display name changed ${k}`);
  return lines;
}
