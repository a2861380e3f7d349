import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * `npm ci` ends with "N packages have install scripts not yet covered by allowScripts" for every dependency with
 * an install script that package.json neither approves nor denies: a warning on the first README command that
 * a user cannot act on. Each such package is decided in `allowScripts` (esbuild: denied, its binary comes from
 * the @esbuild/<platform> optional dependency, so its postinstall only re-checks it).
 */
const LIFECYCLE = ['preinstall', 'install', 'postinstall'];

function packagesWithInstallScripts(dir: string): string[] {
  const found: string[] = [];
  const visit = (modules: string) => {
    if (!existsSync(modules)) return;
    for (const entry of readdirSync(modules)) {
      if (entry.startsWith('.')) continue;
      if (entry.startsWith('@')) {
        for (const scoped of readdirSync(join(modules, entry))) visitPackage(join(modules, entry, scoped));
      } else visitPackage(join(modules, entry));
    }
  };
  const visitPackage = (pkgDir: string) => {
    const manifest = join(pkgDir, 'package.json');
    if (!existsSync(manifest)) return;
    const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { name: string; scripts?: Record<string, string> };
    if (LIFECYCLE.some((s) => pkg.scripts?.[s])) found.push(pkg.name);
    visit(join(pkgDir, 'node_modules'));
  };
  visit(join(dir, 'node_modules'));
  return [...new Set(found)].sort();
}

describe('npm ci prints no install-script notice', () => {
  it('every installed dependency with an install script is approved or denied in package.json allowScripts', () => {
    const root = process.cwd();
    const allow = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).allowScripts ?? {}) as Record<
      string,
      boolean
    >;
    const decided = new Set(Object.keys(allow).map((k) => k.replace(/(.)@.*$/, '$1')));
    const withScripts = packagesWithInstallScripts(root);
    expect(withScripts.length, 'the scan finds esbuild at least (vitest and tsx depend on it)').toBeGreaterThan(0);
    expect(withScripts.filter((name) => !decided.has(name))).toEqual([]);
  });
});
