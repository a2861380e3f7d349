/** The JSON Schemas shipped in schemas/, found from source (vitest) and from dist/ alike. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SCHEMA_NAMES = ['inventory', 'report', 'build-record'] as const;
export type SchemaName = (typeof SCHEMA_NAMES)[number];

function schemasDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'schemas', 'inventory.schema.json'))) return join(dir, 'schemas');
    dir = dirname(dir);
  }
  throw new Error('schemas/ directory not found next to the program');
}

export function schemaPath(name: SchemaName): string {
  return join(schemasDir(), `${name}.schema.json`);
}

export function loadSchema(name: SchemaName): Record<string, unknown> {
  return JSON.parse(readFileSync(schemaPath(name), 'utf8')) as Record<string, unknown>;
}
