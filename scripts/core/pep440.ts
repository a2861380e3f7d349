/**
 * PEP 440 versions and specifiers (`>=2,<3`, `==2.31.*`, `~=1.4.2`), enough to tell whether an installed pip
 * package still satisfies a requirement. Pure. `undefined` = cannot tell (not PEP 440): callers treat that as
 * "does not hold".
 * Why not a library: @renovatebot/pep440 `satisfies` fits and should replace this file when dependencies are next
 * installed (it answers false, not "cannot tell", for a non-PEP 440 text: guard with its `valid` first).
 */

interface Pep440Version {
  epoch: number;
  release: number[];
  pre?: [number, number];
  post?: number;
  dev?: number;
  local?: string;
}

const VERSION = new RegExp(
  [
    String.raw`^v?(?:(\d+)!)?(\d+(?:\.\d+)*)`,
    String.raw`(?:[-_.]?(a|b|c|rc|alpha|beta|pre|preview)[-_.]?(\d*))?`,
    String.raw`(?:-(\d+)|[-_.]?(?:post|rev|r)[-_.]?(\d*))?`,
    String.raw`(?:[-_.]?dev[-_.]?(\d*))?`,
    String.raw`(?:\+([a-z0-9]+(?:[-_.][a-z0-9]+)*))?$`,
  ].join(''),
  'i',
);

const PRE_PHASE: Record<string, number> = { a: 0, alpha: 0, b: 1, beta: 1, c: 2, rc: 2, pre: 2, preview: 2 };

export function parsePep440(text: string): Pep440Version | undefined {
  const m = VERSION.exec(text.trim());
  if (!m) return undefined;
  const num = (s: string | undefined) => (s ? Number(s) : 0);
  return {
    epoch: num(m[1]),
    release: m[2]!.split('.').map(Number),
    ...(m[3] ? { pre: [PRE_PHASE[m[3].toLowerCase()]!, num(m[4])] as [number, number] } : {}),
    ...(m[5] !== undefined || m[6] !== undefined ? { post: num(m[5] ?? m[6]) } : {}),
    ...(m[7] !== undefined ? { dev: num(m[7]) } : {}),
    ...(m[8] ? { local: m[8].toLowerCase().replace(/[-_]/g, '.') } : {}),
  };
}

function cmpNumbers(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d) return Math.sign(d);
  }
  return 0;
}

/** Public versions compared (the local label is left out: `==2.0` accepts `2.0+local`). */
function comparePublic(a: Pep440Version, b: Pep440Version): number {
  if (a.epoch !== b.epoch) return Math.sign(a.epoch - b.epoch);
  const r = cmpNumbers(a.release, b.release);
  if (r) return r;
  // a dev release without pre/post sorts before the pre-releases; a final release after them
  const preKey = (v: Pep440Version) =>
    v.pre ? v.pre : v.post === undefined && v.dev !== undefined ? [-Infinity, 0] : [Infinity, 0];
  const p = cmpNumbers(preKey(a), preKey(b));
  if (p) return p;
  const post = cmpNumbers([a.post ?? -Infinity], [b.post ?? -Infinity]);
  if (post) return post;
  return cmpNumbers([a.dev ?? Infinity], [b.dev ?? Infinity]);
}

function clauseHolds(op: string, target: string, v: Pep440Version, raw: string): boolean | undefined {
  if (op === '===') return raw.trim().toLowerCase() === target.toLowerCase();
  if (target.endsWith('.*')) {
    if (op !== '==' && op !== '!=') return undefined;
    const t = parsePep440(target.slice(0, -2));
    if (!t || t.pre || t.post !== undefined || t.dev !== undefined) return undefined;
    const prefix = v.epoch === t.epoch && t.release.every((n, i) => (v.release[i] ?? 0) === n);
    return op === '==' ? prefix : !prefix;
  }
  const t = parsePep440(target);
  if (!t) return undefined;
  const c = comparePublic(v, t);
  const sameLocal = !t.local || t.local === v.local;
  switch (op) {
    case '==':
      return c === 0 && sameLocal;
    case '!=':
      return !(c === 0 && sameLocal);
    case '>=':
      return c >= 0;
    case '<=':
      return c <= 0;
    case '>':
      return c > 0;
    case '<':
      return c < 0;
    case '~=': {
      if (t.release.length < 2) return undefined;
      const prefix = t.release.slice(0, -1);
      return c >= 0 && v.epoch === t.epoch && prefix.every((n, i) => (v.release[i] ?? 0) === n);
    }
  }
  return undefined;
}

/** Does `version` satisfy the comma-separated specifier (`>=2,<3`)? undefined when either is not PEP 440. */
export function matchesPep440(specifier: string, version: string): boolean | undefined {
  const v = parsePep440(version);
  if (!v) return undefined;
  let all = true;
  for (const clause of specifier.split(',')) {
    const m = /^\s*(===|==|!=|>=|<=|~=|>|<)\s*(\S+)\s*$/.exec(clause);
    if (!m) return undefined;
    const holds = clauseHolds(m[1]!, m[2]!, v, version);
    if (holds === undefined) return undefined;
    all &&= holds;
  }
  return all;
}
