/**
 * Remediation rules (docs/qa.md) over a spec's TEXT. Pure: the facts about channels are passed in
 * (the fix command gathers them). The user's file stays the user's: only the lines a rule touches change,
 * comments, quoting, indentation and line endings stay.
 *
 * Rules:
 * - pip-duplicate: a package both in the conda deps and in the pip list -> drop it from pip.
 * - pip-to-conda:  a pip entry the channel has as a noarch conda package -> move it to the conda deps.
 * - version-gone:  a version the channel no longer has -> never guessed: the finding lists the versions the
 *                  channel has and names the nearest; only `acceptNearest` writes it.
 * Legacy noarch packages are not rewritten: the build installs them after create (reported as a note).
 */
import type { Problem } from './errors.js';
import type { CondaDependency, EnvSpec, PipEntry } from './types.js';
import { parseSpec } from './spec.js';
import { matchesVersion, parseMatchSpec, MatchSpecError } from './matchspec.js';
import { normalizePipName } from './pip.js';
import { nearestVersion, sortVersions } from './conda-version.js';
import { unifiedDiff } from './diff.js';

/** What the channels have for one package name. */
export interface ChannelPackage {
  /** the conda name as the channel spells it */
  name: string;
  versions: string[];
  /** the channel has it as a noarch package (noarch: python | generic, or the legacy boolean) */
  noarch: boolean;
}

/**
 * Channel facts, keyed by PEP 503 normalised name (`ipums-utils` finds conda's `ipums_utils`).
 * `null` = looked up and absent; a name missing from the map was not looked up (no finding is made).
 */
export type ChannelFacts = Map<string, ChannelPackage | null>;

export type RuleId = 'pip-duplicate' | 'pip-to-conda' | 'version-gone';

export interface AppliedRule {
  rule: RuleId;
  line: number;
  package: string;
  before: string;
  /** undefined when the line was removed */
  after?: string;
  message: string;
}

export type FindingKind = 'version-gone' | 'missing-package' | 'legacy-noarch' | 'manual';

export interface Finding {
  kind: FindingKind;
  line: number;
  package: string;
  spec: string;
  /** versions the channel has (version-gone) */
  available?: string[];
  nearest?: string;
  message: string;
}

export interface RemediationOptions {
  /** write the nearest available version for versions gone from the channel */
  acceptNearest?: boolean;
  /** names in inventory [legacy-noarch] */
  legacyNoarch?: string[];
}

export interface RemediationResult {
  text: string;
  changed: boolean;
  applied: AppliedRule[];
  findings: Finding[];
  /** unified diff of the rewrite ('' when unchanged) */
  diff: string;
  /** parse problems: a spec that does not parse is left alone */
  problems: Problem[];
}

/** Would a rule change the spec (or needs a decision: a version gone)? `fix --check` fails on this. */
export function needsFix(r: RemediationResult): boolean {
  return r.changed || r.findings.some((f) => f.kind === 'version-gone');
}

const REGISTRY_KINDS = new Set<PipEntry['kind']>(['pinned', 'range', 'name']);
const factKey = (name: string) => normalizePipName(name);

/** The names whose channel facts fix must look up for this spec: conda deps and registry pip entries. */
export function namesToLookUp(spec: EnvSpec): string[] {
  const names = new Set<string>();
  for (const d of spec.dependencies) names.add(d.spec.name);
  for (const p of spec.pip) if (REGISTRY_KINDS.has(p.kind) && p.name) names.add(p.name);
  return [...names].sort();
}

// ---- versions --------------------------------------------------------------------------------------------

/** The version literal a spec asks for (`1.2.0` of `=1.2.0`, `1.2.0.*`, `>=1.2,<2`), if any. */
export function requestedVersion(versionSpec: string | undefined): string | undefined {
  if (!versionSpec) return undefined;
  const m = /(\d[0-9A-Za-z_.+!]*)/.exec(versionSpec);
  return m?.[1]?.replace(/\.\*?$/, '').replace(/\.$/, '');
}

/**
 * The nearest available version, by the same rule the failure hint uses (conda-version.ts): most leading
 * segments in common, then the same or next newer one, else the newest older one. Without a requested
 * version: the newest.
 */
function nearestAvailable(requested: string | undefined, available: string[]): string | undefined {
  if (!requested) return sortVersions(available).at(-1);
  return nearestVersion(requested, available);
}

// ---- text edits ------------------------------------------------------------------------------------------

interface Edits {
  deletes: Set<number>;
  replaces: Map<number, string>;
  insertsBefore: Map<number, string[]>;
}

/** `  - "numpy=1.2"  # why` -> the item's text as written, when the line is a single block-list item. */
function itemOnLine(
  line: string,
): { indent: string; dash: string; quote: string; text: string; comment: string } | undefined {
  const m = /^(\s*)(-\s+)(['"]?)(.*?)\3(\s+#.*)?\s*$/.exec(line);
  if (!m) return undefined;
  return { indent: m[1]!, dash: m[2]!, quote: m[3]!, text: m[4]!, comment: m[5] ?? '' };
}

function sameItem(lineText: string, itemText: string): boolean {
  const item = itemOnLine(lineText.replace(/\r$/, ''));
  return !!item && item.text.trim() === itemText.trim();
}

function applyEdits(text: string, edits: Edits): string {
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const lines = text.split('\n');
  const out: string[] = [];
  lines.forEach((raw, k) => {
    const n = k + 1;
    for (const ins of edits.insertsBefore.get(n) ?? []) out.push(ins + (eol === '\r\n' ? '\r' : ''));
    if (edits.deletes.has(n)) return;
    out.push(edits.replaces.get(n) ?? raw);
  });
  return out.join('\n');
}

/** Replace the item text on a line, keeping indentation, quotes, comment and CR. */
function replaceItem(lineText: string, newItem: string): string | undefined {
  const cr = lineText.endsWith('\r') ? '\r' : '';
  const item = itemOnLine(lineText.replace(/\r$/, ''));
  if (!item) return undefined;
  return `${item.indent}${item.dash}${item.quote}${newItem}${item.quote}${item.comment}${cr}`;
}

/** A version spec or channel version rattler cannot read never counts as a match (and never crashes fix). */
async function matchesSafely(versionSpec: string, version: string): Promise<boolean> {
  try {
    return await matchesVersion(versionSpec, version);
  } catch {
    return false;
  }
}

// ---- the rules -------------------------------------------------------------------------------------------

/** The conda spec text for a pip requirement moving to the conda section, in export style (`name=1.0`). */
function condaSpecFromPip(p: PipEntry, condaName: string): string | undefined {
  if (p.kind === 'name') return condaName;
  if (p.kind === 'pinned') return `${condaName}=${p.version}`;
  // a range: pip's operators are conda's (==, !=, >=, <=, >, <, ~=, comma = and); extras/markers are not
  const rest = p.text.slice(p.name!.length).trim();
  if (/[\[;@]/.test(rest) || rest.startsWith('===')) return undefined;
  return `${condaName}${rest.replace(/\s+/g, '')}`;
}

/** Apply the rules to one spec text. */
export async function remediate(
  text: string,
  file: string,
  envName: string,
  facts: ChannelFacts,
  options: RemediationOptions = {},
): Promise<RemediationResult> {
  const parsed = parseSpec(text, file, envName);
  if (!parsed.spec) return { text, changed: false, applied: [], findings: [], diff: '', problems: parsed.problems };
  const w = remediationWork(text, parsed.spec, facts, options);
  pipRules(w);
  // version-gone over the conda deps, including the ones just moved from pip
  w.newText = new Map<CondaDependency, string>(w.moved.map((m) => [m.dep, m.dep.text]));
  for (const dep of [...w.spec.dependencies, ...w.moved.map((m) => m.dep)]) await condaDependencyRules(w, dep);
  placeMovedAndEmptyPip(w);
  const out = w.applied.length ? applyEdits(text, w.edits) : text;
  const changed = out !== text;
  return {
    text: out,
    changed,
    applied: w.applied,
    findings: w.findings,
    diff: changed ? unifiedDiff(text, out, { fromFile: `a/${file}`, toFile: `b/${file}` }) : '',
    problems: parsed.problems,
  };
}

/** What the rules share while they run over one spec: its lines, the edits and findings so far. */
interface RemediationWork {
  spec: NonNullable<ReturnType<typeof parseSpec>['spec']>;
  facts: ChannelFacts;
  options: RemediationOptions;
  lineText: (n: number) => string;
  edits: Edits;
  applied: AppliedRule[];
  findings: Finding[];
  legacy: Set<string>;
  manual: (line: number, pkg: string, specText: string, message: string) => void;
  condaNames: Set<string>;
  pipLeft: number;
  moved: Array<{ dep: CondaDependency; from: PipEntry }>;
  /** the text each moved dependency is written with */
  newText: Map<CondaDependency, string>;
}

function remediationWork(
  text: string,
  spec: RemediationWork['spec'],
  facts: ChannelFacts,
  options: RemediationOptions,
): RemediationWork {
  const lines = text.split('\n');
  const findings: Finding[] = [];
  return {
    spec,
    facts,
    options,
    lineText: (n: number) => lines[n - 1] ?? '',
    edits: { deletes: new Set(), replaces: new Map(), insertsBefore: new Map() },
    applied: [],
    findings,
    legacy: new Set((options.legacyNoarch ?? []).map((n) => n.toLowerCase())),
    manual: (line, pkg, specText, message) =>
      findings.push({ kind: 'manual', line, package: pkg, spec: specText, message }),
    condaNames: new Set(spec.dependencies.map((d) => factKey(d.spec.name))),
    pipLeft: spec.pip.length,
    moved: [],
    newText: new Map(),
  };
}

/** pip-duplicate and pip-to-conda over the pip entries. */
function pipRules(w: RemediationWork): void {
  const pipOnPipLine = w.spec.pip.some((p) => p.line === w.spec.pipLine);
  for (const p of w.spec.pip) {
    if (!REGISTRY_KINDS.has(p.kind) || !p.name) continue;
    const key = factKey(p.name);
    const fact = w.facts.get(key);
    const rule: RuleId | undefined = w.condaNames.has(key)
      ? 'pip-duplicate'
      : fact?.noarch
        ? 'pip-to-conda'
        : undefined;
    if (!rule) continue;
    if (pipOnPipLine || !sameItem(w.lineText(p.line), p.text)) {
      w.manual(
        p.line,
        p.name,
        p.text,
        `${rule} applies to '${p.text}' but the line is not a plain list item: edit it by hand`,
      );
      continue;
    }
    if (rule === 'pip-duplicate') {
      w.edits.deletes.add(p.line);
      w.pipLeft--;
      w.applied.push({
        rule,
        line: p.line,
        package: p.name,
        before: p.text,
        message: `'${p.name}' is also a conda dependency: dropped from pip`,
      });
      continue;
    }
    const condaText = condaSpecFromPip(p, fact!.name);
    let ms;
    try {
      ms = condaText ? parseMatchSpec(condaText) : undefined;
    } catch (e) {
      if (!(e instanceof MatchSpecError)) throw e;
    }
    if (!condaText || !ms) {
      w.manual(
        p.line,
        p.name,
        p.text,
        `the channel has '${fact!.name}' as a noarch conda package, ` +
          `but '${p.text}' has no conda equivalent: move it by hand`,
      );
      continue;
    }
    w.edits.deletes.add(p.line);
    w.pipLeft--;
    w.condaNames.add(key); // a second pip line of the same package is then a duplicate
    w.moved.push({ dep: { text: condaText, spec: ms, line: w.spec.pipLine! }, from: p });
    w.applied.push({
      rule: 'pip-to-conda',
      line: p.line,
      package: p.name,
      before: p.text,
      after: condaText,
      message: `the channel has '${fact!.name}' as a noarch conda package: moved from pip to the conda dependencies`,
    });
  }
}

/** legacy-noarch, missing-package and version-gone for one conda dependency. */
async function condaDependencyRules(w: RemediationWork, dep: CondaDependency): Promise<void> {
  const name = dep.spec.name;
  if (w.legacy.has(name.toLowerCase())) {
    w.findings.push({
      kind: 'legacy-noarch',
      line: dep.line,
      package: name,
      spec: dep.text,
      message: `'${name}' is a legacy noarch package: the build installs it after create (no rewrite)`,
    });
  }
  const fact = w.facts.get(factKey(name));
  if (fact === null) {
    w.findings.push({
      kind: 'missing-package',
      line: dep.line,
      package: name,
      spec: dep.text,
      message: `'${name}' is in none of the channels: no rule applies, remove or replace it by hand`,
    });
    return;
  }
  if (!fact || !dep.spec.version || fact.versions.length === 0) return;
  let any = false;
  for (const v of fact.versions)
    if (await matchesSafely(dep.spec.version, v)) {
      any = true;
      break;
    }
  if (any) return;
  const available = sortVersions(fact.versions);
  const nearest = nearestAvailable(requestedVersion(dep.spec.version), available);
  const finding: Finding = {
    kind: 'version-gone',
    line: dep.line,
    package: name,
    spec: dep.text,
    available,
    ...(nearest ? { nearest } : {}),
    message:
      `'${dep.text}': the channel does not have this version; ` +
      `available: ${available.join(', ')}; nearest ${nearest}` +
      (w.options.acceptNearest ? '' : ' (fix --accept-nearest writes it)'),
  };
  if (!w.options.acceptNearest || !nearest) {
    w.findings.push(finding);
    return;
  }
  const op = /^==/.test(dep.spec.version) ? '==' : '=';
  const written = `${dep.spec.channel ? `${dep.spec.channel}::` : ''}${name}${op}${nearest}`;
  const isMoved = w.newText.has(dep);
  if (isMoved) {
    w.newText.set(dep, written);
  } else {
    const replaced = replaceItem(w.lineText(dep.line), written);
    if (!replaced || !sameItem(w.lineText(dep.line), dep.text)) {
      w.findings.push({
        ...finding,
        kind: 'manual',
        message: `${finding.message}; the line is not a plain list item: edit it by hand`,
      });
      return;
    }
    w.edits.replaces.set(dep.line, replaced);
  }
  w.applied.push({
    rule: 'version-gone',
    line: dep.line,
    package: name,
    before: dep.text,
    after: written,
    message: `${name}: version not in the channel, nearest available ${nearest} written (--accept-nearest)`,
  });
}

/** The moved dependencies go before `- pip:`; a `- pip:` left empty goes. */
function placeMovedAndEmptyPip(w: RemediationWork): void {
  if (w.moved.length) {
    const pipItem = itemOnLine(w.lineText(w.spec.pipLine!).replace(/\r$/, ''));
    const indent = pipItem ? `${pipItem.indent}${pipItem.dash}` : '  - ';
    w.edits.insertsBefore.set(
      w.spec.pipLine!,
      w.moved.map((m) => `${indent}${w.newText.get(m.dep)}`),
    );
  }
  // An emptied `- pip:` would be `pip: null`, which conda chokes on: drop the line with its last entry.
  if (w.spec.pipLine && w.spec.pip.length > 0 && w.pipLeft === 0 && sameItem(w.lineText(w.spec.pipLine), 'pip:')) {
    w.edits.deletes.add(w.spec.pipLine);
  }
}
