/**
 * PEP 440 specifiers (`>=2,<3`, `==2.31.*`, `~=1.4.2`): does an installed pip package still satisfy a requirement?
 * A thin wrapper over @renovatebot/pep440 (v4: v5 needs Node 22). Pure. It keeps this module's contract:
 * `undefined` = cannot tell (not PEP 440), which callers treat as "does not hold"; the library itself answers false
 * for some texts it cannot read and throws for others. An installed pre-release is judged like any version (pip check).
 * Known library gaps left as they are (rare in specs): `>1.0rc1` rejects 1.0 and `<1.0rc2` rejects 1.0rc1 (its
 * exclusive comparisons treat any version with the same release as excluded), and `==2.0.*` rejects a bare `2`.
 */
import { eq, satisfies, valid, validRange } from '@renovatebot/pep440';

// `==V+local` / `!=V+local`: the library drops local labels on both sides; PEP 440 compares them when V names one
const LOCAL_EQUALITY = /^(==|!=)\s*([^=\s*][^\s*]*\+[^\s*]+)$/;

function clauseHolds(clause: string, version: string): boolean {
  const local = LOCAL_EQUALITY.exec(clause);
  if (local) return (local[1] === '==') === eq(version, local[2]!);
  return satisfies(version, clause, { prereleases: true });
}

/** Does `version` satisfy the comma-separated specifier (`>=2,<3`)? undefined when either is not PEP 440. */
export function matchesPep440(specifier: string, version: string): boolean | undefined {
  const v = version.trim();
  if (!valid(v) || !specifier.trim() || !validRange(specifier)) return undefined;
  return specifier.split(',').every((clause) => clauseHolds(clause.trim(), v));
}
