/**
 * Reading state files through their JSON Schemas (schemas/): a truncated, hand-edited or newer-format file is a
 * CorruptStateError naming the file and what to do, never a crash. Every JSON state file under ROOT is read here
 * (records, marks, generations, history, verdicts, build manifests, the installing marker, the lock holder,
 * kernelspecs): there is no unchecked reader of state.
 */
import { readFileSync } from 'node:fs';
import { CorruptStateError } from '../core/errors.js';
import { schemaValidator, type SchemaName } from '../core/schemas.js';

/** The format versions each reader understands (older ones are migrated on read by their reader). */
export const READABLE_FORMATS: Partial<Record<SchemaName, number[]>> = {
  'build-record': [1],
  'build-mark': [1],
  generation: [1],
  history: [1],
  marks: [1],
  'installation-marks': [1],
  verdict: [1],
  'build-manifest': [1],
};

/** Why `value` is not a valid `name` (undefined when it is). */
export function schemaProblem(value: unknown, name: SchemaName): string | undefined {
  const known = READABLE_FORMATS[name];
  const format = (value as { format?: unknown } | null)?.format;
  if (known && typeof format === 'number' && !known.includes(format)) {
    return `format ${format} is not one this release reads (${known.join(', ')}): it was written by a newer release`;
  }
  const v = schemaValidator(name);
  if (v(value)) return undefined;
  const err = v.errors?.[0];
  if (!err) return 'does not match its schema';
  return `${err.instancePath || '(top level)'} ${err.message ?? 'is invalid'}`;
}

/** What to do about a corrupt file of each kind. */
const REMEDY: Partial<Record<SchemaName, string>> = {
  'build-record':
    'restore it from a backup, or remove this build (its prefix directory and this file) and build it again ' +
    '(qa, or deploy --build-missing)',
  'build-mark': 'remove it to clear the mark (deploy --force does the same)',
  marks:
    'fix or delete that line (deploy --force clears the marks of the builds it links; a rollback marks them again)',
  'installation-marks':
    'fix or delete that line (deploy --force clears an installation mark; rollback --installation sets it again)',
  generation:
    'restore it from a backup, or write it again from the links beside it (they are the truth; ' +
    '`conda-gitops schema generation` gives its format); a generation that is not live can instead be removed ' +
    'with its directory',
  verdict: 'delete it and test the env again (qa, or deploy --build-missing)',
  'build-manifest':
    'delete it: status then checks the build against what conda recorded (conda-meta/); ' +
    '`deploy --repair NAME` rebuilds an env whose files you do not trust',
  kernelspec:
    'fix it or delete its directory (a kernel conda-gitops manages is written again by `conda-gitops kernels` or ' +
    'the next deploy)',
};

/** How a kind of state file is named in messages (its schema name otherwise). */
const TITLE: Partial<Record<SchemaName, string>> = { installing: 'installing marker' };

export function corrupt(path: string, name: SchemaName, why: string, remedy = REMEDY[name]): CorruptStateError {
  return new CorruptStateError(
    path,
    `${path}: not a valid ${TITLE[name] ?? name.replace('-', ' ')} (${why}); conda-gitops changed nothing.` +
      (remedy ? ` To go on: ${remedy}.` : ''),
    remedy,
  );
}

/** Parse and check JSON text: the value, or why it is not a valid `name`. */
export function checkText<T>(text: string, name: SchemaName): { value: T } | { why: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { why: text.trim() ? `not JSON: ${(e as Error).message}` : 'empty file' };
  }
  const why = schemaProblem(value, name);
  return why ? { why } : { value: value as T };
}

/** Parse and check JSON text read from `path` (CorruptStateError naming it when it is not a valid `name`). */
export function parseChecked<T>(path: string, text: string, name: SchemaName, remedy?: string): T {
  const r = checkText<T>(text, name);
  if ('why' in r) throw corrupt(path, name, r.why, remedy);
  return r.value;
}

/** The checked contents of a state file, or undefined when it does not exist (`remedy`: this file's own). */
export function readChecked<T>(path: string, name: SchemaName, remedy?: string): T | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  return parseChecked<T>(path, text, name, remedy);
}
