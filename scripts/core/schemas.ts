/** The JSON Schemas shipped in schemas/, bundled as JSON modules (no file reads: works from source and dist/). */
import inventory from '../../schemas/inventory.schema.json' with { type: 'json' };
import report from '../../schemas/report.schema.json' with { type: 'json' };
import buildRecord from '../../schemas/build-record.schema.json' with { type: 'json' };
import buildMark from '../../schemas/build-mark.schema.json' with { type: 'json' };
import generation from '../../schemas/generation.schema.json' with { type: 'json' };
import history from '../../schemas/history.schema.json' with { type: 'json' };
import marks from '../../schemas/marks.schema.json' with { type: 'json' };
import installationMarks from '../../schemas/installation-marks.schema.json' with { type: 'json' };

export const SCHEMA_NAMES = [
  'inventory',
  'report',
  'build-record',
  'build-mark',
  'generation',
  'history',
  'marks',
  'installation-marks',
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
};

export function loadSchema(name: SchemaName): Record<string, unknown> {
  return SCHEMAS[name];
}
