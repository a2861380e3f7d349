/**
 * conda MatchSpec strings (`numpy`, `numpy=1.21`, `conda-forge::numpy>=1.20,<2`, `blas=*=mkl`,
 * `numpy[version='>=1.2',build=py39*]`) split into channel, name, version and build.
 * Version syntax is checked by rattler's VersionSpec, the same grammar conda uses.
 */
import type { MatchSpec } from './types.js';
import { rattler } from './rattler.js';

export class MatchSpecError extends Error {}

const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.+-]*$/;
const OPERATOR_START = /^(==|!=|>=|<=|>|<|~=|=)/;

const KEY_VALUE = /^\s*([a-z_]+)\s*=\s*(.*?)\s*$/;

function bracketParts(text: string): { open: number; parts: string[] } | undefined {
  const open = text.indexOf('[');
  if (open < 0) return undefined;
  if (!text.endsWith(']')) throw new MatchSpecError(`unbalanced '[' in '${text}'`);
  return { open, parts: text.slice(open + 1, -1).split(/,(?=\s*[a-z_]+\s*=)/) };
}

function parseBrackets(text: string): { rest: string; fields: Record<string, string> } {
  const found = bracketParts(text);
  if (!found) return { rest: text, fields: {} };
  const fields: Record<string, string> = {};
  for (const part of found.parts) {
    const m = KEY_VALUE.exec(part);
    // conda's MatchSpec keeps only `key=value` pairs of the bracket and drops the rest (`tiled[all]` is `tiled`)
    if (!m) continue;
    fields[m[1]!] = m[2]!.replace(/^(['"])(.*)\1$/, '$2');
  }
  return { rest: text.slice(0, found.open), fields };
}

/**
 * Bracket text conda ignores: anything in `[...]` that is not `key=value` (pip-style extras such as `tiled[all]`
 * written as a conda dependency). Empty when there is none; throws MatchSpecError like parseMatchSpec.
 */
export function ignoredBracketText(input: string): string[] {
  const text = input.replace(/\s#.*$/, '').trim();
  const found = bracketParts(text);
  if (!found) return [];
  return found.parts.map((p) => p.trim()).filter((p) => p !== '' && !KEY_VALUE.test(p));
}

/** The dependency as conda reads it: bracket text conda ignores is dropped (`tiled[all]` -> `tiled`). */
export function withoutIgnoredBrackets(input: string): string {
  const text = input.replace(/\s#.*$/, '').trim();
  if (!ignoredBracketText(text).length) return input;
  const found = bracketParts(text)!;
  const kept = found.parts.filter((p) => KEY_VALUE.test(p)).map((p) => p.trim());
  return text.slice(0, found.open).trimEnd() + (kept.length ? `[${kept.join(',')}]` : '');
}

/** `=1.21` means `1.21.*` in conda (fuzzy); an explicit operator or glob keeps its meaning. */
function fuzzy(version: string): string {
  if (/[*<>=!~|,]/.test(version)) return version;
  return `${version}.*`;
}

/**
 * A copy of `text` that does not point into a larger string. V8 keeps substrings as slices of their
 * source, so a cached name would otherwise keep a whole spec file alive.
 */
function detached(text: string): string {
  return text.length < 13 ? text : (JSON.parse(JSON.stringify(text)) as string);
}

// Memo of parsed specs: across a repo of thousands of envs the same lines (`python=3.11`, `numpy`) recur,
// and sharing one frozen result saves both parse time and most of the memory of a 10,000-env repo.
const MEMO_LIMIT = 200_000;
const memo = new Map<string, { text: string; spec: MatchSpec }>();

/**
 * A dependency line: its trimmed text and parsed MatchSpec, both shared between equal lines (the spec is
 * frozen: callers build new objects instead of editing it). Throws MatchSpecError on malformed input.
 */
export function parseDependencyText(input: string): { text: string; spec: MatchSpec } {
  const hit = memo.get(input);
  if (hit) return hit;
  const trimmed = input.trim();
  const text = detached(trimmed);
  const entry = Object.freeze({ text, spec: Object.freeze(parseMatchSpecUncached(text)) });
  if (memo.size >= MEMO_LIMIT) memo.clear();
  memo.set(trimmed === input ? text : detached(input), entry);
  return entry;
}

/**
 * Split a MatchSpec string into its parts (shared and frozen, see parseDependencyText). Throws MatchSpecError on
 * malformed input.
 */
export function parseMatchSpec(input: string): MatchSpec {
  return parseDependencyText(input).spec;
}

function parseMatchSpecUncached(input: string): MatchSpec {
  let text = input.trim();
  if (!text) throw new MatchSpecError('empty package specification');
  if (/\s#/.test(text)) text = text.replace(/\s#.*$/, '').trim();
  let channel: string | undefined;
  const sep = text.lastIndexOf('::');
  if (sep >= 0) {
    channel = text.slice(0, sep);
    text = text.slice(sep + 2);
    if (!channel) throw new MatchSpecError(`empty channel in '${input}'`);
  }
  const { rest, fields } = parseBrackets(text);
  const m = /^([^\s=<>!~]+)\s*(.*)$/.exec(rest.trim());
  if (!m) throw new MatchSpecError(`no package name in '${input}'`);
  const name = m[1]!;
  if (!NAME.test(name)) throw new MatchSpecError(`invalid package name '${name}' in '${input}'`);
  let tail = m[2]!.trim();
  let version: string | undefined;
  let build: string | undefined;
  if (/^=[^=]/.test(tail)) {
    // `name=1.2` / `name=1.2=build`: the single-equals conda form
    const [v, b, extra] = tail.slice(1).split('=');
    if (extra !== undefined) throw new MatchSpecError(`too many '=' in '${input}'`);
    version = fuzzy(v!.trim());
    build = b?.trim() || undefined;
  } else if (tail) {
    // operators may be followed by spaces (`>= 3.8`, `>=1.2, <2`): glue them before splitting off a build
    tail = tail.replace(/(==|!=|>=|<=|~=|>|<|,|\|)\s+/g, '$1').replace(/\s+(,|\|)/g, '$1');
    const parts = tail.split(/\s+/);
    if (parts.length > 2) throw new MatchSpecError(`unexpected '${parts.slice(2).join(' ')}' in '${input}'`);
    version = parts[0];
    build = parts[1];
    // `name==1.2=build` (old exports)
    const eq = /^(==[^=]+)=([^=]+)$/.exec(version!);
    if (eq && !build) {
      version = eq[1];
      build = eq[2];
    }
  }
  if (fields.version) version = fields.version;
  if (fields.build) build = fields.build;
  // `[channel=...]` and `[url=...]` choose where the package comes from: kept, so the allow-list can check them
  if (fields.channel) {
    if (channel && channel !== fields.channel)
      throw new MatchSpecError(`two channels ('${channel}' and '${fields.channel}') in '${input}'`);
    channel = fields.channel;
  }
  if (version === '*' && !build) version = undefined;
  if (version !== undefined && !OPERATOR_START.test(version) && !/^[0-9A-Za-z*]/.test(version)) {
    throw new MatchSpecError(`invalid version '${version}' in '${input}'`);
  }
  return {
    ...(channel ? { channel } : {}),
    name: name.toLowerCase(),
    ...(version ? { version } : {}),
    ...(build ? { build } : {}),
    ...(fields.url ? { url: fields.url } : {}),
  };
}

/** Canonical text: `[channel::]name[ version[ build]]` — conda accepts it and it sorts stably. */
export function formatMatchSpec(ms: MatchSpec): string {
  const head = ms.channel ? `${ms.channel}::${ms.name}` : ms.name;
  // a package file named by URL is another build: part of the canonical text
  const url = ms.url ? `[url='${ms.url}']` : '';
  if (!ms.version && !ms.build) return head + url;
  return [head, ms.version ?? '*', ...(ms.build ? [ms.build] : [])].join(' ') + url;
}

// The shapes nearly every spec uses (`1.2`, `1.2.*`, `>=1.20,<2`, `==1.26.4`, `2.7.*|>=3.6`, `1.1.1w`, `4.3_1`):
// a strict subset of what rattler accepts (test/matchspec.test.ts checks that against rattler). Only for
// syntax: it lets `validate` skip loading rattler (~150 ms, ~25 MB) when no spec uses anything rarer.
const PLAIN_VERSION = '[0-9]+[a-z0-9]*(?:[._][0-9a-z]+)*';
const PLAIN_ATOM = `(?:(?:==|!=|>=|<=|>|<)${PLAIN_VERSION}|${PLAIN_VERSION}(?:\\.\\*)?|\\*)`;
const PLAIN_SPEC = new RegExp(`^${PLAIN_ATOM}(?:[,|]${PLAIN_ATOM})*$`);

/** True when the version spec has a common shape that is valid for sure; false means: ask rattler. */
export function isPlainVersionSpec(versionSpec: string): boolean {
  return PLAIN_SPEC.test(versionSpec);
}

/** A checker of version-spec syntax, backed by rattler (loaded once). Returns an error text or undefined. */
/**
 * The message for a version spec rattler rejects. Its parser's own trace (`0: at line 1, in Tag:`) means
 * nothing to an env owner: it is replaced by what a valid spec looks like; rattler's readable reasons are kept.
 */
export function versionSpecMessage(spec: string, parserError: string): string {
  const first = parserError
    .replace(/^Error:\s*/, '')
    .split('\n')[0]!
    .trim();
  const internal = !first || /^\d+: at line \d+|\bin (Tag|Eof|Alt|Char|TakeWhile\w*|Digit|Many\w*)\b/.test(first);
  const reason = internal
    ? /(^|[,|])\s*(==|!=|>=|<=|>|<|=|~=)\s*($|[,|])/.test(spec)
      ? 'an operator has no version after it'
      : /(==|!=|>=|<=|~=|[<>=!~])[<>=!~]/.test(spec)
        ? 'operators cannot be combined (use one of ==, !=, >=, <=, >, <, ~=, or none)'
        : 'not a version constraint'
    : first;
  return `invalid version spec '${spec}': ${reason} ` + "(valid: '1.2', '1.2.*', '>=1.2', '>=1.2,<2', '1.2|1.4')";
}

export async function versionSpecChecker(): Promise<(versionSpec: string) => string | undefined> {
  const { VersionSpec } = await rattler();
  const cache = new Map<string, string | undefined>();
  return (spec) => {
    if (cache.has(spec)) return cache.get(spec);
    let error: string | undefined;
    try {
      new VersionSpec(spec, 'lenient').free();
    } catch (e) {
      error = versionSpecMessage(spec, String(e));
    }
    cache.set(spec, error);
    return error;
  };
}

/** Does `version` satisfy the conda version spec? (`undefined` spec matches everything.) */
export async function matchesVersion(versionSpec: string | undefined, version: string): Promise<boolean> {
  if (!versionSpec || versionSpec === '*') return true;
  const { VersionSpec, Version } = await rattler();
  const spec = new VersionSpec(versionSpec, 'lenient');
  const v = new Version(version);
  try {
    return spec.matches(v);
  } finally {
    spec.free();
    v.free();
  }
}
