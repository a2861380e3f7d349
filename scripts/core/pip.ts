/** Lines of the `pip:` list: each is a line of a pip requirements file. Pure classification. */
import type { PipEntry, PipKind } from './types.js';

/** One clause of a PEP 440 version specifier: an operator and a version (`==1.2.*` allowed). */
const PEP440_CLAUSE = /^\s*(===|==|!=|>=|<=|~=|>|<)\s*[A-Za-z0-9][A-Za-z0-9.*+!_-]*\s*$/;
const PEP508_NAME = /^([A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9]|[A-Za-z0-9])/;

/** PEP 503 normalised project name: `Foo_Bar.baz` -> `foo-bar-baz`. */
export function normalizePipName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

function eggName(url: string): string | undefined {
  const m = /[#&]egg=([A-Za-z0-9._-]+)/.exec(url);
  return m?.[1];
}

function repoName(url: string): string | undefined {
  const m = /\/([A-Za-z0-9._-]+?)(?:\.git)?(?:@[^/#]*)?(?:#.*)?$/.exec(url);
  return m?.[1];
}

/** Classify one pip line. Never throws: unknown shapes are returned as kind 'name' with a problem text. */
export function classifyPipEntry(raw: string, line: number): { entry: PipEntry; problem?: string } {
  const text = raw.trim().replace(/\s+#.*$/, '');
  const entry = (kind: PipKind, extra: Partial<PipEntry> = {}): PipEntry => ({ text, kind, line, ...extra });
  if (/^(-r|--requirement)(\s|=)/.test(text)) return { entry: entry('requirements') };
  if (/^(-e|--editable)(\s|=)/.test(text)) {
    const target = text.replace(/^(-e|--editable)[\s=]+/, '');
    const name = eggName(target);
    return { entry: entry(target.startsWith('git+') ? 'git' : 'editable', name ? { name } : {}) };
  }
  if (text.startsWith('-')) return { entry: entry('option') };
  const at = /^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*@\s*(\S+)/.exec(text);
  if (at) {
    const url = at[3]!;
    return { entry: entry(url.startsWith('git+') ? 'git' : 'url', { name: at[1]! }) };
  }
  if (/^git\+/.test(text)) {
    const name = eggName(text) ?? repoName(text);
    return { entry: entry('git', name ? { name } : {}) };
  }
  if (/^(https?|ftp|file):/.test(text)) {
    const name = eggName(text);
    return { entry: entry('url', name ? { name } : {}) };
  }
  if (/^(\.{1,2}\/|\/|~)/.test(text) || /\.(whl|tar\.gz|zip|tar\.bz2)$/.test(text)) return { entry: entry('path') };
  const m = PEP508_NAME.exec(text);
  if (!m) return { entry: entry('name'), problem: `not a pip requirement: '${raw.trim()}'` };
  const name = m[1]!;
  // per-line options after the requirement (`pkg -f URL`, `pkg --hash=...`) are pip's business
  const rest = text
    .slice(name.length)
    .replace(/\s+--?[a-z].*$/, '')
    .replace(/^\s*\[[^\]]*\]/, '')
    .replace(/;.*$/, '')
    .trim();
  if (!rest) return { entry: entry('name', { name }) };
  const pinned = /^===?\s*([^,\s*;]+)$/.exec(rest);
  if (pinned) return { entry: entry('pinned', { name, version: pinned[1]! }) };
  if (/^(==|!=|>=|<=|>|<|~=|===)/.test(rest)) {
    // every clause of `>=2,<3` needs an operator and a version: pip rejects `requests>=2,<` at install time
    const bad = rest.split(',').find((c) => !PEP440_CLAUSE.test(c));
    if (bad !== undefined)
      return {
        entry: entry('name', { name }),
        problem:
          `'${raw.trim()}' is not a valid pip requirement: ` +
          (bad.trim() === ''
            ? 'an empty clause between commas'
            : /^[<>=!~]+$/.test(bad.trim())
              ? `'${bad.trim()}' has no version after it`
              : `'${bad.trim()}' needs an operator and a version`) +
          " (e.g. 'requests>=2,<3')",
      };
    return { entry: entry('range', { name }) };
  }
  // conda-style `name=1.0` under pip: pip itself rejects it
  return {
    entry: entry('name', { name }),
    problem: `'${raw.trim()}' is not a valid pip requirement (pip uses '==' for versions)`,
  };
}
