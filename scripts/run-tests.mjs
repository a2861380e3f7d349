#!/usr/bin/env node
// `npm test`: typecheck, lint of workflows, every vitest suite; ends with the plain line `N passed, N failed`
// counted from vitest's JSON results (typecheck and lint count as one test each).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const run = (cmd, args) => spawnSync(cmd, args, { stdio: 'inherit' }).status ?? 1;
let passed = 0;
let failed = 0;
const step = (name, ok) => { ok ? passed++ : failed++; console.log(`${ok ? '✓' : '✗'} ${name}`); };

step('typecheck (tsc --noEmit)', run('npx', ['tsc', '-p', '.', '--noEmit']) === 0);
step('lint workflows', run('node', ['scripts/lint-workflows.mjs']) === 0);
// the CLI and the fake conda run from dist/: make sure it matches the sources the tests read
step('compile (tsc)', run('npx', ['tsc', '-p', '.']) === 0);

const out = join(mkdtempSync(join(tmpdir(), 'cg-vitest-')), 'results.json');
const vitestStatus = run('npx', ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${out}`, ...process.argv.slice(2)]);
if (existsSync(out)) {
  const r = JSON.parse(readFileSync(out, 'utf8'));
  passed += r.numPassedTests;
  failed += r.numFailedTests;
  // a suite that failed to load has no failed tests of its own: count it, or CI would pass it silently
  failed += r.testResults.filter((s) => s.status === 'failed' && s.assertionResults.every((a) => a.status !== 'failed')).length;
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
} else {
  failed++;
  console.log(`${passed} passed, ${failed} failed`);
}
process.exit(failed || vitestStatus ? 1 : 0);
