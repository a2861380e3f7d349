#!/usr/bin/env node
// `npm test`: typecheck + compile, lint of workflows, format check, every vitest suite (arguments go to vitest);
// ends with the plain line `N passed, N failed` counted from vitest's JSON results (typecheck, lint, format and the
// temp-dir check count as one test each). Vitest runs with TMPDIR pointing at a fresh directory: a test (or the
// product under test) that leaves a temporary file or directory behind fails the step `temp dirs left behind: …`.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeRunTmpdir, tempDirsLeftBehind, tempDirsStep } from './test-tmpdir.mjs';

const run = (cmd, args, env = process.env) => spawnSync(cmd, args, { stdio: 'inherit', env }).status ?? 1;
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

const results = mkdtempSync(join(tmpdir(), 'cg-vitest-'));
const out = join(results, 'results.json');
const reporters = ['--reporter=default', '--reporter=json', `--outputFile.json=${out}`];
// REAL_CONDA_KEEP / CG_KEEP_SCENARIO keep a run's directories on purpose: then the check stands aside
const keep = Boolean(process.env.REAL_CONDA_KEEP || process.env.CG_KEEP_SCENARIO);
const runTmp = keep ? undefined : makeRunTmpdir();
const vitestEnv = runTmp ? { ...process.env, TMPDIR: runTmp } : process.env;
// Ctrl-C reaches vitest too: this driver outlives it, so an interrupted run still removes its directories
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => {});
const vitestStatus = run('npx', ['vitest', 'run', ...reporters, ...process.argv.slice(2)], vitestEnv);
if (runTmp) {
  const left = tempDirsLeftBehind(runTmp);
  step(tempDirsStep(left), left.length === 0);
}
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
rmSync(results, { recursive: true, force: true });
process.exit(failed || vitestStatus ? 1 : 0);
