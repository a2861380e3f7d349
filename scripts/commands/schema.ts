/** schema: print the JSON Schemas (they double as the format documentation). */
import type { Context } from '../app/context.js';
import { UsageError } from '../core/errors.js';
import { OK, type Outcome } from '../core/outcome.js';
import { loadSchema, SCHEMA_NAMES, type SchemaName } from '../core/schemas.js';

export async function run(ctx: Context): Promise<Outcome> {
  const name = ctx.positionals[0];
  if (name !== undefined && !(SCHEMA_NAMES as readonly string[]).includes(name)) {
    throw new UsageError(`unknown schema '${name}' (known: ${SCHEMA_NAMES.join(', ')})`);
  }
  const names = name ? [name as SchemaName] : [...SCHEMA_NAMES];
  const schemas = Object.fromEntries(names.map((n) => [n, loadSchema(n)]));
  process.stdout.write(JSON.stringify(name ? schemas[name] : schemas, null, 2) + '\n');
  return OK;
}
