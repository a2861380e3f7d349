/** Conda MatchSpec text -> parts, enough to tell "no such package" from "no such version" and to search. */
import { CondaError } from './errors.js';

export interface Spec {
  /** the text as the user wrote it */
  text: string;
  channel?: string;
  name: string;
  /** a version spec rattler's VersionSpec understands (`=1.2` means 1.2.*), undefined = any */
  version?: string;
  /** build string or glob */
  build?: string;
}

/**
 * Parse `numpy`, `numpy=1.21`, `numpy==1.21.0=py39_0`, `numpy 1.21.* py39*`, `conda-forge::numpy>=1,<2`,
 * `numpy[version='>=1']`.
 */
export function parseSpec(text: string): Spec {
  let s = text.replace(/\s+#.*$/, '').trim();
  const bad = (why: string): never => {
    throw new CondaError('InvalidMatchSpec', `Invalid spec '${text}': ${why}`);
  };
  if (!s) bad('empty spec');
  const spec: Spec = { text, name: '' };
  const brackets = s.match(/\[(.*)\]\s*$/);
  if (brackets) {
    s = s.slice(0, brackets.index).trim();
    for (const m of brackets[1].matchAll(/(\w+)\s*=\s*(?:'([^']*)'|"([^"]*)"|([^,\]]*))/g)) {
      const v = (m[2] ?? m[3] ?? m[4] ?? '').trim();
      if (m[1] === 'version') spec.version = v;
      else if (m[1] === 'build') spec.build = v;
      else if (m[1] === 'channel') spec.channel = v;
    }
  }
  const cc = s.lastIndexOf('::');
  if (cc >= 0) {
    spec.channel = s.slice(0, cc).replace(/\/(linux-64|noarch)$/, '');
    s = s.slice(cc + 2);
  }
  const m = s.match(/^([A-Za-z0-9_.*][A-Za-z0-9_.*-]*)\s*(.*)$/);
  if (!m) return bad('invalid package name');
  spec.name = m[1];
  const rest = m[2].trim();
  if (!rest) return spec;
  let mm: RegExpMatchArray | null;
  if ((mm = rest.match(/^==?([^=<>!~\s,|]+)=([^=\s]+)$/))) {
    // name=1.2=build and name==1.2=build: exact version plus build
    spec.version = `==${mm[1]}`;
    spec.build = mm[2];
  } else if (/\s/.test(rest) && !/[<>=!~,|]\s/.test(rest) && !/\s[<>=!~,|]/.test(rest)) {
    // "1.2.* py39*": version then build, separated by whitespace
    const [v, b, ...more] = rest.split(/\s+/);
    if (more.length) bad('too many parts');
    spec.version = v;
    spec.build = b;
  } else {
    spec.version = rest.replace(/\s+/g, '');
  }
  if (spec.version && /^=[^=]/.test(spec.version)) {
    // conda's fuzzy `=1.2` means 1.2.*
    const v = spec.version.slice(1);
    spec.version = v.endsWith('*') || /[,|]/.test(v) ? v : `${v}.*`;
  }
  if (spec.version === '*') spec.version = undefined;
  return spec;
}

/** The spec as rattler's solver should get it: channel prefix removed (the caller adds the channel). */
export function solverText(spec: Spec): string {
  const t = spec.text.replace(/\s+#.*$/, '').trim();
  const cc = t.lastIndexOf('::');
  return cc >= 0 ? t.slice(cc + 2) : t;
}

/** How libmamba prints a requested spec: `foo 9.9.*`, `zlib ==1.2.13 h5eee18b_0`. */
export function mambaText(spec: Spec): string {
  const version = spec.version?.replace(/^([^,|<>=!~]+)\.\*$/, '$1*');
  return [spec.name, version, spec.build].filter(Boolean).join(' ');
}

export function globMatch(glob: string, s: string): boolean {
  const re = new RegExp(
    `^${glob
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
  return re.test(s);
}
