/**
 * The tool writes `variables:` activation scripts into a prefix a pull request's code built (conda < 4.9): a
 * symlink planted there (`etc/conda/activate.d -> a live env's site-packages`, or one named like the temporary
 * file) is never written through. The build fails instead, naming the path.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeVariableScripts } from '../../scripts/state/activation.js';
import { UnsafePathError } from '../../scripts/core/errors.js';

describe('activation scripts are never written through a planted symlink', () => {
  let base: string;
  let live: string;
  beforeAll(() => {
    base = mkdtempSync(join(tmpdir(), 'cg-activation-'));
    live = join(base, 'live', 'lib', 'python3.11', 'site-packages');
    mkdirSync(live, { recursive: true });
  });
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  test('a symlinked activate.d: refused, the live directory untouched', () => {
    const prefix = join(base, 'pr-build');
    mkdirSync(join(prefix, 'etc', 'conda'), { recursive: true });
    symlinkSync(live, join(prefix, 'etc', 'conda', 'activate.d'));
    expect(() => writeVariableScripts(prefix, { GDAL_DATA: '/x' })).toThrow(UnsafePathError);
    expect(() => writeVariableScripts(prefix, { GDAL_DATA: '/x' })).toThrow(
      /activate\.d is a symlink in a built prefix/,
    );
    expect(readdirSync(live)).toEqual([]);
  });

  test('a symlinked etc: refused', () => {
    const prefix = join(base, 'pr-build-2');
    mkdirSync(prefix);
    symlinkSync(join(base, 'live'), join(prefix, 'etc'));
    expect(() => writeVariableScripts(prefix, { A: '1' })).toThrow(UnsafePathError);
    expect(existsSync(join(base, 'live', 'conda'))).toBe(false);
  });

  test('a symlink named like the temporary file is replaced, not followed', () => {
    const prefix = join(base, 'pr-build-3');
    const d = join(prefix, 'etc', 'conda', 'activate.d');
    mkdirSync(d, { recursive: true });
    symlinkSync(join(live, 'evil.py'), join(d, `.conda-gitops-variables.sh.${process.pid}.tmp`));
    const written = writeVariableScripts(prefix, { A: '1' });
    expect(written.map((p) => p.slice(prefix.length))).toEqual([
      '/etc/conda/activate.d/conda-gitops-variables.sh',
      '/etc/conda/deactivate.d/conda-gitops-variables.sh',
    ]);
    expect(existsSync(join(live, 'evil.py'))).toBe(false);
  });
});
