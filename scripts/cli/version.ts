/** The tool's version: package.json is the one source of truth (found from source and from dist/ alike). */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function version(): string {
  // not a JSON import: tsc would copy package.json into dist/ and make dist/ look like the project root
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
    if (pkg.name === 'conda-gitops' && pkg.version) return pkg.version;
  }
  return 'unknown';
}
