// The temporary directory of one `npm test` run (scripts/run-tests.mjs): vitest and everything it starts (the CLI,
// the fake conda, the workflow harness) get TMPDIR pointing at a fresh directory, so whatever a test or the product
// leaves behind is found there after the run, named, and removed with it.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A fresh directory `$TMPDIR/npm-test-run-XXXXXX` for one run's temporary files. Not `cg-…`: tests check that reports
 * carry none of the product's own `cg-…` temporary paths, and every path of a test world is under this one.
 */
export function makeRunTmpdir() {
  return mkdtempSync(join(tmpdir(), 'npm-test-run-'));
}

/**
 * The names the run left in `dir` (sorted), after which `dir` and everything in it is removed. An empty list: the
 * run cleaned up after itself.
 */
export function tempDirsLeftBehind(dir) {
  let left = [];
  try {
    left = readdirSync(dir).sort();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return left;
}

/** The run's step line: `temp dirs left behind: a, b` when it left any. */
export function tempDirsStep(left) {
  return left.length ? `temp dirs left behind: ${left.join(', ')}` : 'no temp dirs left behind';
}
