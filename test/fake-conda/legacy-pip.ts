/**
 * conda 4.3's pip section of `env export` (conda_env/pip_util.py at 4.3.22): it runs the env's `pip list` with
 * `PIP_FORMAT=legacy` and swallows any error. pip >= 18 removed the legacy format, so with a modern pip (or no pip)
 * in the env the export has no pip section at all; with an old pip, an editable install comes out as
 * `name (path)==version` (the legacy line `name (version, path)` taken apart).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Ctx } from './context.js';
import { pypiDists, sitePackages, type PrefixRecord } from './prefix.js';

export function legacyPipSection(ctx: Ctx, prefix: string, records: PrefixRecord[]): string[] {
  const pip = records.find((r) => r.name === 'pip');
  if (!pip || Number(pip.version.split('.')[0]) >= 18) return [];
  const sp = join(prefix, sitePackages(ctx));
  return pypiDists(ctx, prefix, records).map((d) => {
    const link = [d.name, d.name.replace(/-/g, '_')].map((n) => join(sp, `${n}.egg-link`)).find((f) => existsSync(f));
    if (!link) return `${d.name}==${d.version}`;
    const path = readFileSync(link, 'utf8').split('\n')[0]!.trim();
    return `${d.name} (${path})==${d.version}`;
  });
}
