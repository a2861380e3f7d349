/**
 * The allow-list of where packages may come from (docs/security.md, "Allow-lists"): conda channels, hosts of
 * `git+` pip entries, pip indexes, and paths inside the repository. In a QA run it is the BASE commit's: a pull
 * request cannot widen the list it is checked against. Pure.
 */
import { posix } from 'node:path';
import type { AllowListInfo, EnvSpec, Inventory, PipEntry } from './types.js';
import { canonicalChannel, channelAllowed, channelProblem } from './channel.js';

export interface AllowList {
  channels: string[];
  pipGitHosts: string[];
  pipIndexes: string[];
}

/** The keys of [conda] that make up the allow-list. */
export const ALLOW_LIST_KEYS = ['channels', 'pip-git-hosts', 'pip-indexes'] as const;

export function allowListOf(inventory: Inventory): AllowList {
  return {
    channels: [...inventory.conda.channels],
    pipGitHosts: [...(inventory.conda.pipGitHosts ?? [])],
    pipIndexes: [...(inventory.conda.pipIndexes ?? [])],
  };
}

export interface SourceProblem {
  kind: 'channel' | 'pip-source';
  line: number;
  message: string;
}

const INDEX_OPTION = /^(--index-url|--extra-index-url|-i|-f|--find-links)(?:=|\s+|(?<=^-[if]))(.*)$/;
const URL_SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;

function parseUrl(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}

/** `/a/b/` -> ['a', 'b'] after URL normalisation (which resolves `..` and `%2e%2e`). */
function segments(pathname: string): string[] {
  return pathname.split('/').filter(Boolean);
}

/** Is `url` at or below the URL prefix `allowed` (same scheme, host, port; path on a segment boundary)? */
export function urlUnder(url: string, allowed: string): boolean {
  const u = parseUrl(url);
  const a = parseUrl(allowed);
  if (!u || !a || u.password || u.username !== a.username) return false;
  if (u.protocol.replace(/^git\+/, '') !== a.protocol.replace(/^git\+/, '') || u.host !== a.host) return false;
  const us = segments(u.pathname);
  const as = segments(a.pathname);
  return as.every((s, i) => us[i] === s);
}

/** Is a git URL (`git+https://host/o/r.git@v1#egg=x`) allowed by pip-git-hosts (host names or URL prefixes)? */
export function gitUrlAllowed(gitUrl: string, hosts: string[]): boolean {
  const url = parseUrl(gitUrl.replace(/^git\+/, '').replace(/[@#][^/]*$/, ''));
  if (!url) return false;
  if (!['https:', 'http:', 'ssh:', 'git:', 'file:'].includes(url.protocol)) return false;
  return hosts.some((h) =>
    h.includes('://')
      ? urlUnder(url.href, h.replace(/^git\+/, ''))
      : url.protocol !== 'file:' && (url.host === h.toLowerCase() || url.hostname === h.toLowerCase()),
  );
}

/**
 * Why a path in a pip line may not be used: it must be relative and stay inside the repository (it resolves
 * against the spec's directory, `env-specs/`). `specFile` is repository-relative.
 */
export function repoPathProblem(path: string, specFile: string): string | undefined {
  if (!path) return 'an empty path';
  if (URL_SCHEME.test(path)) return `'${path}' is a URL, not a path inside the repository`;
  if (path.startsWith('/') || path.startsWith('~') || path.startsWith('\\'))
    return `'${path}' is outside the repository: use a path relative to ${posix.dirname(specFile)}/`;
  const resolved = posix.normalize(posix.join(posix.dirname(specFile), path));
  if (resolved === '..' || resolved.startsWith('../') || resolved.includes('$'))
    return `'${path}' leaves the repository`;
  return undefined;
}

const PIP_RULE =
  'pip lines may be requirements, git+ URLs to [conda] pip-git-hosts, index options to [conda] pip-indexes ' +
  'and -r/-e paths inside the repository';

function listed(values: string[]): string {
  return values.length ? values.join(', ') : 'none';
}

/** Why a pip line is not allowed (undefined when it is). */
export function pipSourceProblem(entry: PipEntry, allow: AllowList, specFile: string): string | undefined {
  const text = entry.text;
  const git = (url: string) =>
    gitUrlAllowed(url, allow.pipGitHosts)
      ? undefined
      : `git URL '${url}' is not on a host in [conda] pip-git-hosts (${listed(allow.pipGitHosts)})`;
  const index = (url: string, what: string) =>
    allow.pipIndexes.some((a) => urlUnder(url, a))
      ? undefined
      : `${what} '${url}' is not under [conda] pip-indexes (${listed(allow.pipIndexes)})`;
  switch (entry.kind) {
    case 'requirements': {
      const target = text.replace(/^(-r|--requirement)[\s=]+/, '');
      const p = repoPathProblem(target, specFile);
      return p ? `-r ${p}` : undefined;
    }
    case 'editable': {
      const target = text.replace(/^(-e|--editable)[\s=]+/, '');
      const p = repoPathProblem(target, specFile);
      return p ? `-e ${p}` : undefined;
    }
    case 'path':
      return repoPathProblem(text.split(/\s+/)[0]!, specFile);
    case 'git': {
      const url = /(git\+\S+)/.exec(text)?.[1] ?? text;
      return git(url);
    }
    case 'url': {
      const url = /@\s*(\S+)/.exec(text)?.[1] ?? text.split(/\s+/)[0]!;
      return index(url, 'package URL');
    }
    case 'option': {
      const m = INDEX_OPTION.exec(text);
      if (!m) return `pip option '${text.split(/[\s=]/)[0]}' is not allowed in a spec (${PIP_RULE})`;
      const value = m[2]!.trim();
      if (!URL_SCHEME.test(value) && ['-f', '--find-links'].includes(m[1]!)) {
        const p = repoPathProblem(value, specFile);
        return p ? `${m[1]} ${p}` : undefined;
      }
      return index(value, m[1]!);
    }
    default: {
      // a requirement; per-line options other than --hash change where or how it is built
      const before = text.split(';')[0]!;
      const option = /\s(--?[A-Za-z][\w-]*)/.exec(before)?.[1];
      if (option && option !== '--hash') return `per-requirement option '${option}' is not allowed (${PIP_RULE})`;
      return undefined;
    }
  }
}

/** Every channel and pip source of a spec that the allow-list does not allow. */
export function specSourceProblems(spec: EnvSpec, allow: AllowList): SourceProblem[] {
  const out: SourceProblem[] = [];
  const seen = new Set<string>();
  const channel = (c: string, line: number, where: string) => {
    if (channelAllowed(c, allow.channels)) return;
    const key = `${canonicalChannel(c)}\0${line}`;
    if (seen.has(key)) return;
    seen.add(key);
    const why = channelProblem(c);
    out.push({
      kind: 'channel',
      line,
      message: why
        ? `channel '${c}' (${where}) is not a channel name: ${why}`
        : `channel '${c}' (${where}) is not allowed by [conda] channels (${listed(allow.channels)})`,
    });
  };
  spec.channels.forEach((c, i) => channel(c, spec.channelLines?.[i] ?? 1, 'channels list'));
  for (const d of spec.dependencies) {
    if (d.spec.channel) channel(d.spec.channel, d.line, `in '${d.text}'`);
    if (d.spec.url) {
      // a package URL is CHANNEL/SUBDIR/FILE: its channel must be allowed
      const dir = d.spec.url.replace(/\/[^/]*$/, '');
      channel(dir, d.line, `url of '${d.text}'`);
    }
  }
  for (const p of spec.pip) {
    const why = pipSourceProblem(p, allow, spec.file);
    if (why) out.push({ kind: 'pip-source', line: p.line, message: `pip line '${p.text}': ${why}` });
  }
  return out;
}

/**
 * What `head` allows that `base` does not, one human line each (empty: head is no wider). Narrowing is never
 * reported: it cannot let anything new in.
 */
export function widenings(base: AllowList, head: AllowList): string[] {
  const out: string[] = [];
  for (const c of head.channels)
    if (!channelAllowed(c, base.channels)) out.push(`adds channel '${c}' to [conda] channels`);
  for (const h of head.pipGitHosts) {
    const covered = h.includes('://')
      ? base.pipGitHosts.some((b) => b.includes('://') && urlUnder(h, b))
      : base.pipGitHosts.some((b) => !b.includes('://') && b.toLowerCase() === h.toLowerCase());
    if (!covered) out.push(`adds '${h}' to [conda] pip-git-hosts`);
  }
  for (const i of head.pipIndexes)
    if (!base.pipIndexes.some((b) => urlUnder(i, b))) out.push(`adds '${i}' to [conda] pip-indexes`);
  return out;
}

/** inventory.ini text without the allow-list lines of [conda] (what must not differ in an allow-list-only PR). */
function withoutAllowList(text: string): string {
  let section = '';
  const keys = new Set<string>(ALLOW_LIST_KEYS);
  return text
    .split(/\r?\n/)
    .filter((line) => {
      const header = /^\[([^\]]*)\]/.exec(line);
      if (header) section = header[1]!.trim();
      const key = /^([^=;#\s][^=]*?)\s*=/.exec(line)?.[1];
      return !(section === 'conda' && key !== undefined && keys.has(key));
    })
    .join('\n')
    .trimEnd();
}

/**
 * Does the head inventory differ from the base one only in the allow-list keys of [conda] (`channels`,
 * `pip-git-hosts`, `pip-indexes`)? Every other line, comments included, must be the same.
 */
export function onlyAllowListDiffers(baseText: string, headText: string): boolean {
  return withoutAllowList(baseText) === withoutAllowList(headText);
}

/**
 * The git hosts and pip indexes a set of specs uses (for `adopt`, which writes what the installation already
 * uses into the allow-list for the admin to review): host names, `file://DIR/` for local git repositories.
 */
export function pipSourcesOf(specs: EnvSpec[]): Pick<AllowList, 'pipGitHosts' | 'pipIndexes'> {
  const hosts = new Set<string>();
  const indexes = new Set<string>();
  for (const spec of specs)
    for (const p of spec.pip) {
      if (p.kind === 'git') {
        const url = parseUrl((/(git\+\S+)/.exec(p.text)?.[1] ?? p.text).replace(/^git\+/, ''));
        if (url?.protocol === 'file:') hosts.add(`file://${posix.dirname(url.pathname)}/`);
        else if (url?.host) hosts.add(url.host);
      }
      const m = p.kind === 'option' ? INDEX_OPTION.exec(p.text) : null;
      if (m && URL_SCHEME.test(m[2]!.trim())) indexes.add(m[2]!.trim());
    }
  return { pipGitHosts: [...hosts].sort(), pipIndexes: [...indexes].sort() };
}

/** The allow-list a QA run checks a pull request against, and what the PR's own inventory would add to it. */
export interface AllowListCheck {
  /** the allow-list in effect: the base commit's (the head's only when the base has no readable inventory) */
  allow: AllowList;
  from: 'base' | 'head';
  /** what the head's inventory would add, one line each (empty: it does not widen the list) */
  widened: string[];
  /**
   * the PR changes only the allow-list: inventory.ini differs from the base only in the `channels`,
   * `pip-git-hosts` and `pip-indexes` lines of [conda], and no file under env-specs/ differs
   */
  allowListOnly: boolean;
}

/** Compare the base commit's allow-list with the head's: the base's is in effect (a PR cannot widen its own). */
export function compareAllowLists(
  base: { text: string; inventory: Inventory } | undefined,
  headText: string | undefined,
  head: Inventory,
  specsDiffer: boolean,
): AllowListCheck {
  const headAllow = allowListOf(head);
  if (!base) return { allow: headAllow, from: 'head', widened: [], allowListOnly: false };
  const allow = allowListOf(base.inventory);
  const widened = widenings(allow, headAllow);
  const allowListOnly =
    widened.length > 0 && headText !== undefined && onlyAllowListDiffers(base.text, headText) && !specsDiffer;
  return { allow, from: 'base', widened, allowListOnly };
}

/** The allow-list check as a report and `plan --json` show it: the list in effect, where from, what the PR adds. */
export function allowListInfo(c: AllowListCheck): AllowListInfo {
  return { ...c.allow, from: c.from, widened: c.widened, allowListOnly: c.allowListOnly };
}
