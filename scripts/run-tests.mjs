#!/usr/bin/env node
// `npm test`: typecheck + compile, lint of workflows, format check, every vitest suite (arguments go to vitest);
// ends with the plain line `N passed, N failed` counted from vitest's JSON results (typecheck, lint and format
// count as one test each).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const run = (cmd, args) => spawnSync(cmd, args, { stdio: 'inherit' }).status ?? 1;
let passed = 0;
let failed = 0;
const step = (name, ok) => {
  ok ? passed++ : failed++;
  console.log(`${ok ? '✓' : '✗'} ${name}`);
};

// One tsc run both checks types and writes dist/ (the CLI and the fake conda run from there, so it must match the
// sources the tests read). tsc emits even with type errors: the e2e suites still run, the step still fails.
step('typecheck and compile (tsc -p .)', run('npx', ['tsc', '-p', '.']) === 0);
step('lint workflows', run('node', ['scripts/lint-workflows.mjs']) === 0);
step('format (prettier, lines <= 120)', run('node', ['scripts/check-format.mjs']) === 0);

const out = join(mkdtempSync(join(tmpdir(), 'cg-vitest-')), 'results.json');
const reporters = ['--reporter=default', '--reporter=json', `--outputFile.json=${out}`];
const vitestStatus = run('npx', ['vitest', 'run', ...reporters, ...process.argv.slice(2)]);
if (existsSync(out)) {
  const r = JSON.parse(readFileSync(out, 'utf8'));
  passed += r.numPassedTests;
  failed += r.numFailedTests;
  // a suite that failed to load has no failed tests of its own: count it, or CI would pass it silently
  const unloaded = (s) => s.status === 'failed' && s.assertionResults.every((a) => a.status !== 'failed');
  failed += r.testResults.filter(unloaded).length;
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
} else {
  failed++;
  console.log(`${passed} passed, ${failed} failed`);
}
process.exit(failed || vitestStatus ? 1 : 0);
