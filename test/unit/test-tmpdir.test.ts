/**
 * scripts/test-tmpdir.mjs: `npm test` gives vitest a fresh TMPDIR and, after the run, names what was left in it and
 * removes it (the step `temp dirs left behind: …`).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeRunTmpdir, tempDirsLeftBehind, tempDirsStep } from '../../scripts/test-tmpdir.mjs';

const made: string[] = [];
afterEach(() => made.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('the temp-dir check of a test run', () => {
  it('a run that leaked names each leftover in the failing step, and nothing of the run stays on disk', () => {
    const run = makeRunTmpdir();
    made.push(run);
    expect(dirname(run)).toBe(tmpdir());
    expect(basename(run)).toMatch(/^npm-test-run-/);
    mkdirSync(join(mkdtempSync(join(run, 'cg-wf-')), 'repo'), { recursive: true });
    mkdtempSync(join(run, 'cg-build-small-'));
    writeFileSync(join(run, 'stray.log'), 'x');
    const left = tempDirsLeftBehind(run);
    expect(left.map((n) => n.replace(/-[^-]+$/, '-*'))).toEqual(['cg-build-small-*', 'cg-wf-*', 'stray.log']);
    expect(tempDirsStep(left)).toMatch(/^temp dirs left behind: cg-build-small-\w+, cg-wf-\w+, stray\.log$/);
    expect(existsSync(run)).toBe(false);
  });

  it('a clean run passes the step', () => {
    const run = makeRunTmpdir();
    made.push(run);
    expect(tempDirsLeftBehind(run)).toEqual([]);
    expect(tempDirsStep([])).toBe('no temp dirs left behind');
    expect(existsSync(run)).toBe(false);
  });
});
