/**
 * The JSON Schemas shipped in schemas/: the inventory, the QA report, and every JSON state file under ROOT (each is
 * read through its schema: state/checked.ts), bundled as JSON modules (no file reads: works from source and dist/).
 */
import { Ajv, type ValidateFunction } from 'ajv';
import inventory from '../../schemas/inventory.schema.json' with { type: 'json' };
import report from '../../schemas/report.schema.json' with { type: 'json' };
import buildRecord from '../../schemas/build-record.schema.json' with { type: 'json' };
import buildMark from '../../schemas/build-mark.schema.json' with { type: 'json' };
import generation from '../../schemas/generation.schema.json' with { type: 'json' };
import history from '../../schemas/history.schema.json' with { type: 'json' };
import marks from '../../schemas/marks.schema.json' with { type: 'json' };
import installationMarks from '../../schemas/installation-marks.schema.json' with { type: 'json' };
import verdict from '../../schemas/verdict.schema.json' with { type: 'json' };
import buildManifest from '../../schemas/build-manifest.schema.json' with { type: 'json' };
import installing from '../../schemas/installing.schema.json' with { type: 'json' };
import lockHolder from '../../schemas/lock-holder.schema.json' with { type: 'json' };
import kernelspec from '../../schemas/kernelspec.schema.json' with { type: 'json' };

export const SCHEMA_NAMES = [
  'inventory',
  'report',
  'build-record',
  'build-mark',
  'generation',
  'history',
  'marks',
  'installation-marks',
  'verdict',
  'build-manifest',
  'installing',
  'lock-holder',
  'kernelspec',
] as const;
export type SchemaName = (typeof SCHEMA_NAMES)[number];

const SCHEMAS: Record<SchemaName, Record<string, unknown>> = {
  inventory,
  report,
  'build-record': buildRecord,
  'build-mark': buildMark,
  generation,
  history,
  marks,
  'installation-marks': installationMarks,
  verdict,
  'build-manifest': buildManifest,
  installing,
  'lock-holder': lockHolder,
  kernelspec,
};

export function loadSchema(name: SchemaName): Record<string, unknown> {
  return SCHEMAS[name];
}

// The one Ajv of the tool: every schema check (inventory, report, state files) compiles here, once per schema.
// strict off: some state schemas `require` properties declared only under if/then, which strict mode rejects;
// validateSchema off: checking our own schemas against the meta-schema cost every run ~30 ms, so
// test/e2e/cli.test.ts checks each against it once instead. allErrors: callers list every problem.
const ajv = new Ajv({ allErrors: true, strict: false, validateSchema: false });
const compiled = new Map<SchemaName, ValidateFunction>();

/** The compiled validator of a shipped schema. */
export function schemaValidator(name: SchemaName): ValidateFunction {
  let v = compiled.get(name);
  if (!v) {
    v = ajv.compile(loadSchema(name));
    compiled.set(name, v);
  }
  return v;
}
