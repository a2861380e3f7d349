/** The tool's version: package.json is the one source of truth (found from source and from dist/ alike). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectDir } from '../state/tools.js';

export function version(): string {
  // not a JSON import: tsc would copy package.json into dist/ and make dist/ look like the project root
  return (JSON.parse(readFileSync(join(projectDir(), 'package.json'), 'utf8')) as { version: string }).version;
}
