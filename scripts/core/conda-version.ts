/**
 * conda version ordering (conda's VersionOrder rules) without loading rattler's wasm, so the
 * pure hint text can pick a "nearest" version synchronously. Pure functions.
 */

type Part = number | string;

/** Parse `1!2.3.post1+local` into comparable components (epoch first, local ignored). */
function parse(version: string): Part[][] {
  let v = version.trim().toLowerCase();
  let epoch = 0;
  const bang = v.indexOf('!');
  if (bang >= 0) {
    epoch = Number(v.slice(0, bang)) || 0;
    v = v.slice(bang + 1);
  }
  v = v.replace(/\+.*$/, '').replace(/[-_]/g, '.');
  const components = v
    .split('.')
    .filter((c) => c !== '')
    .map((c) => {
      const parts: Part[] = (c.match(/\d+|[^\d]+/g) ?? []).map((p) => (/^\d+$/.test(p) ? Number(p) : p));
      // conda: a component that starts with a letter gets an implicit leading 0 (1.1.a1 == 1.1.0a1)
      if (typeof parts[0] === 'string') parts.unshift(0);
      return parts;
    });
  return [[epoch], ...components];
}

function rankString(s: string): number {
  if (s === 'dev') return 0;
  if (s === 'post') return 3;
  if (s === '*') return 4;
  return 1;
}

function comparePart(a: Part | undefined, b: Part | undefined): number {
  const x = a ?? 0;
  const y = b ?? 0;
  if (typeof x === 'number' && typeof y === 'number') return x - y;
  if (typeof x === 'string' && typeof y === 'string') {
    const r = rankString(x) - rankString(y);
    return r !== 0 ? r : x < y ? -1 : x > y ? 1 : 0;
  }
  // numbers sort after ordinary strings (1.0a1 < 1.0) but before `post`
  if (typeof x === 'string') return x === 'post' || x === '*' ? 1 : -1;
  return y === 'post' || y === '*' ? -1 : 1;
}

/** Negative, zero or positive like a sort comparator, in conda's version order. */
export function compareCondaVersions(a: string, b: string): number {
  const pa = parse(a);
  const pb = parse(b);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const ca = pa[i] ?? [0];
    const cb = pb[i] ?? [0];
    for (let j = 0; j < Math.max(ca.length, cb.length); j++) {
      const c = comparePart(ca[j], cb[j]);
      if (c !== 0) return c;
    }
  }
  return 0;
}

/** Unique versions, oldest first. */
export function sortVersions(versions: Iterable<string>): string[] {
  return [...new Set(versions)].sort(compareCondaVersions);
}

function commonPrefix(a: string, b: string): number {
  const x = a.split('.');
  const y = b.split('.');
  let n = 0;
  while (n < x.length && n < y.length && x[n] === y[n]) n++;
  return n;
}

/**
 * The available version to suggest instead of a missing one: among the versions sharing the
 * most leading segments with the request, the same or next newer one (a later patch of the same line
 * is the likeliest drop-in), else the newest older one. Undefined when nothing is available.
 */
export function nearestVersion(requested: string, available: readonly string[]): string | undefined {
  if (available.length === 0) return undefined;
  const req = requested.replace(/[*.]+$/, '');
  const best = Math.max(...available.map((v) => commonPrefix(req, v)));
  const pool = sortVersions(available.filter((v) => commonPrefix(req, v) === best));
  return pool.find((v) => compareCondaVersions(v, req) >= 0) ?? pool[pool.length - 1];
}
