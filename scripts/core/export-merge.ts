/**
 * `export` onto an existing env-specs/NAME.yml: the env owner's lines stay as written (loose pins such as
 * `numpy>=1.20`, comments, order, quoting, line endings) for every package the env still satisfies them with.
 * A line the installed version no longer satisfies becomes the exact version; packages new in the env are added
 * exactly (as a plain export writes them); packages gone from the env are dropped. name, channels and variables
 * stay as the spec has them. Pure (conda version semantics from rattler, pip's from pep440.ts).
 */
import type { Problem } from './errors.js';
import type { CondaDependency, EnvSpec, PipEntry } from './types.js';
import { parseSpec } from './spec.js';
import { matchesVersion, versionSpecChecker } from './matchspec.js';
import { normalizePipName } from './pip.js';
import { matchesPep440 } from './pep440.js';

export interface ExportMergeResult {
  /** the merged spec text (the spec's own text when problems are given) */
  text: string;
  /** spec entries kept as written (the env satisfies them) */
  kept: string[];
  /** spec entries the installed version no longer satisfies, now exact */
  rewritten: Array<{ line: number; before: string; after: string; installed: string }>;
  /** entries for packages new in the env (exact) */
  added: string[];
  /** spec entries for packages no longer in the env */
  dropped: Array<{ line: number; text: string }>;
  /** the spec cannot be merged (does not parse, or a list is not one item per line) */
  problems: Problem[];
}

/** `  - "numpy=1.2"  # why` -> indentation and dash of a block-list item line. */
function itemPrefix(line: string): { indent: string; dash: string } | undefined {
  const m = /^(\s*)(-\s+)\S/.exec(line);
  return m ? { indent: m[1]!, dash: m[2]! } : undefined;
}

/** The installed version an export line names (`numpy=1.26.4` -> `1.26.4`). */
function exactVersion(dep: CondaDependency): string | undefined {
  const v = dep.spec.version;
  if (!v) return undefined;
  return v.replace(/^==?/, '').replace(/\.\*$/, '');
}

async function condaHolds(versionSpec: string | undefined, installed: string): Promise<boolean> {
  if (!versionSpec || versionSpec === '*') return true;
  try {
    return await matchesVersion(versionSpec, installed);
  } catch {
    return false;
  }
}

const COMMIT = /@([0-9a-f]{40})(?=[#&]|$)/i;

/** `name[extras] <specifier> ; marker` of a registry pip line. */
function pipParts(text: string): { name: string; extras: string; specifier: string; marker: string } | undefined {
  const m = /^([A-Za-z0-9][A-Za-z0-9._-]*)(\s*\[[^\]]*\])?\s*([^;]*?)\s*(;.*)?$/.exec(
    text.replace(/\s+--?[a-z].*$/, ''),
  );
  if (!m) return undefined;
  return { name: m[1]!, extras: (m[2] ?? '').trim(), specifier: m[3]!, marker: m[4] ? ` ${m[4]}` : '' };
}

const REGISTRY = new Set<PipEntry['kind']>(['pinned', 'range', 'name']);

/** Merge an export (text after the fix-ups) into the spec the repository has. */
export async function mergeExport(
  specText: string,
  exportedText: string,
  file: string,
  envName: string,
): Promise<ExportMergeResult> {
  const result: ExportMergeResult = { text: specText, kept: [], rewritten: [], added: [], dropped: [], problems: [] };
  const parsed = parseSpec(specText, file, envName, await versionSpecChecker());
  if (!parsed.spec) {
    result.problems = parsed.problems.filter((p) => p.severity === 'error');
    return result;
  }
  const spec: EnvSpec = parsed.spec;
  const exp = parseSpec(exportedText, 'conda env export', envName);
  const exportSpec = exp.spec ?? exp.partial;
  if (!exportSpec) {
    result.problems = exp.problems.filter((p) => p.severity === 'error');
    return result;
  }
  const w = mergeWork(specText, spec, exportSpec, result);
  // every line to edit must be one `- item` of a block list
  const notBlock = [...spec.dependencies.map((d) => d.line), ...spec.pip.map((p) => p.line)].find(
    (n) => !itemPrefix(w.lineText(n)),
  );
  if (notBlock !== undefined) {
    result.problems = [
      {
        file,
        line: notBlock,
        severity: 'error',
        message: "export keeps a spec's lines only in block lists ('- item' per line): pass --exact to overwrite it",
      },
    ];
    return result;
  }
  for (const dep of spec.dependencies) await mergeCondaDependency(w, dep);
  const layout = addNewConda(w);
  for (const p of spec.pip) if (p.name) mergePipEntry(w, p, p.name);
  addNewPip(w, layout);
  const out: string[] = [];
  w.lines.forEach((raw, k) => {
    const n = k + 1;
    if (!w.deletes.has(n)) out.push(w.replaces.get(n) ?? raw);
    out.push(...(w.insertsAfter.get(n) ?? []));
  });
  result.text = out.join('\n');
  return result;
}

type ExportedSpec = NonNullable<ReturnType<typeof parseSpec>['partial']>;

/** The spec's lines and the edits to them, as the merge goes. */
interface MergeWork {
  spec: EnvSpec;
  exportSpec: ExportedSpec;
  result: ExportMergeResult;
  lines: string[];
  cr: string;
  lineText: (n: number) => string;
  replaces: Map<number, string>;
  deletes: Set<number>;
  insertsAfter: Map<number, string[]>;
  insertAfter: (n: number, text: string) => void;
  /** Replace an item's text on its line, keeping everything around it. */
  rewrite: (n: number, before: string, after: string) => void;
  installed: Map<string, CondaDependency>;
  named: Set<string>;
  exportPip: Map<string, PipEntry>;
  pipNamed: Set<string>;
}

function mergeWork(specText: string, spec: EnvSpec, exportSpec: ExportedSpec, result: ExportMergeResult): MergeWork {
  const eol = specText.includes('\r\n') ? '\r\n' : '\n';
  const cr = eol === '\r\n' ? '\r' : '';
  const lines = specText.split('\n');
  const lineText = (n: number) => (lines[n - 1] ?? '').replace(/\r$/, '');
  const replaces = new Map<number, string>();
  const insertsAfter = new Map<number, string[]>();
  const exportPip = new Map<string, PipEntry>();
  for (const p of exportSpec.pip) if (p.name) exportPip.set(normalizePipName(p.name), p);
  return {
    spec,
    exportSpec,
    result,
    lines,
    cr,
    lineText,
    replaces,
    deletes: new Set<number>(),
    insertsAfter,
    insertAfter: (n, text) => insertsAfter.set(n, [...(insertsAfter.get(n) ?? []), text]),
    rewrite: (n, before, after) => {
      const raw = lineText(n);
      const at = raw.indexOf(before, raw.indexOf('-') + 1);
      const next =
        at >= 0 ? raw.slice(0, at) + after + raw.slice(at + before.length) : `${itemPrefix(raw)!.indent}- ${after}`;
      replaces.set(n, next + cr);
    },
    installed: new Map(exportSpec.dependencies.map((d) => [d.spec.name, d])),
    named: new Set<string>(),
    exportPip,
    pipNamed: new Set<string>(),
  };
}

/** A conda dependency of the spec: kept when the installed version satisfies it, else rewritten or dropped. */
async function mergeCondaDependency(w: MergeWork, dep: CondaDependency): Promise<void> {
  w.named.add(dep.spec.name);
  const have = w.installed.get(dep.spec.name);
  const version = have && exactVersion(have);
  if (!have || !version) {
    if (!have) {
      w.deletes.add(dep.line);
      w.result.dropped.push({ line: dep.line, text: dep.text });
    } else w.result.kept.push(dep.text);
    return;
  }
  if (await condaHolds(dep.spec.version, version)) {
    w.result.kept.push(dep.text);
    return;
  }
  const bare = have.text.replace(/^.*::/, '');
  const after = dep.spec.channel ? `${dep.spec.channel}::${bare}` : bare;
  w.rewrite(dep.line, dep.text, after);
  w.result.rewritten.push({ line: dep.line, before: dep.text, after, installed: version });
}

/** Conda packages the export has and the spec does not: added after the last conda line. */
function addNewConda(w: MergeWork): {
  condaLines: number[];
  condaPrefix: ReturnType<typeof itemPrefix>;
  depsKeyLine: number;
} {
  const newConda = w.exportSpec.dependencies.filter((d) => !w.named.has(d.spec.name));
  const condaLines = w.spec.dependencies.map((d) => d.line);
  const prefixLine = condaLines[0] ?? w.spec.pipLine;
  const condaPrefix = prefixLine !== undefined ? itemPrefix(w.lineText(prefixLine)) : undefined;
  const itemStart = condaPrefix ? condaPrefix.indent + condaPrefix.dash : '  - ';
  const depsKeyLine = w.lines.findIndex((l) => /^dependencies\s*:/.test(l)) + 1;
  const lastConda = condaLines.length ? Math.max(...condaLines) : w.spec.pipLine ? w.spec.pipLine - 1 : depsKeyLine;
  for (const d of newConda) {
    w.insertAfter(lastConda, itemStart + d.text + w.cr);
    w.result.added.push(d.text);
  }
  return { condaLines, condaPrefix, depsKeyLine };
}

/** A pip entry of the spec: kept when the installed version satisfies it, else rewritten or dropped. */
function mergePipEntry(w: MergeWork, p: PipEntry, name: string): void {
  const key = normalizePipName(name);
  w.pipNamed.add(key);
  const have = w.exportPip.get(key);
  if (!have) {
    w.deletes.add(p.line);
    w.result.dropped.push({ line: p.line, text: p.text });
    return;
  }
  let after: string | undefined;
  let version = have.version ?? have.text;
  if (REGISTRY.has(p.kind)) {
    if (have.kind === 'git') after = have.text;
    else if (p.kind !== 'name' && have.version) {
      const parts = pipParts(p.text);
      if (!parts || matchesPep440(parts.specifier, have.version) !== true)
        after = parts ? `${parts.name}${parts.extras}==${have.version}${parts.marker}` : have.text;
    }
  } else if (have.kind === 'git') {
    const want = COMMIT.exec(p.text)?.[1];
    const got = COMMIT.exec(have.text)?.[1];
    if (want && got && want.toLowerCase() !== got.toLowerCase()) {
      after = have.text;
      version = got;
    }
  }
  if (after === undefined) w.result.kept.push(p.text);
  else {
    w.rewrite(p.line, p.text, after);
    w.result.rewritten.push({ line: p.line, before: p.text, after, installed: version });
  }
}

/** Pip entries the export has and the spec does not: added to its pip section, or a new one. */
function addNewPip(w: MergeWork, { condaLines, condaPrefix, depsKeyLine }: ReturnType<typeof addNewConda>): void {
  const newPip = w.exportSpec.pip.filter((p) => !p.name || !w.pipNamed.has(normalizePipName(p.name)));
  if (newPip.length) {
    if (w.spec.pipLine !== undefined) {
      const entryLines = w.spec.pip.map((p) => p.line);
      const last = entryLines.length ? Math.max(...entryLines) : w.spec.pipLine;
      const pre = entryLines.length ? itemPrefix(w.lineText(entryLines[0]!)) : undefined;
      const start = pre ? pre.indent + pre.dash : `${itemPrefix(w.lineText(w.spec.pipLine))?.indent ?? '  '}    - `;
      for (const p of newPip) w.insertAfter(last, start + p.text + w.cr);
    } else {
      const all = [...condaLines];
      const last = all.length ? Math.max(...all) : depsKeyLine;
      const indent = condaPrefix?.indent ?? '  ';
      w.insertAfter(last, `${indent}- pip:${w.cr}`);
      for (const p of newPip) w.insertAfter(last, `${indent}    - ${p.text}${w.cr}`);
    }
    for (const p of newPip) w.result.added.push(p.text);
  }
}
