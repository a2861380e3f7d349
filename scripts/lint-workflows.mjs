#!/usr/bin/env node
// Lints .github/workflows/*.yml with action-validator (GitHub's workflow schema) plus our own safety rules
// (docs/admin.md): pull_request only (never pull_request_target), self-hosted runners, forks skipped,
// deploy only from main, concurrency groups. Exit 1 on any finding.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { load } from 'js-yaml';
import { validateWorkflow } from '@action-validator/core';

const dir = process.argv[2] ?? '.github/workflows';
const findings = [];
const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f));
for (const f of files) {
  const path = join(dir, f);
  const text = readFileSync(path, 'utf8');
  const state = validateWorkflow(text);
  for (const e of state.errors)
    findings.push(`${path}: ${e.title}${e.path ? ` at ${e.path}` : ''}${e.detail ? `: ${e.detail}` : ''}`);
  const wf = load(text);
  const on = wf.on ?? wf[true];
  const triggers = typeof on === 'string' ? [on] : Array.isArray(on) ? on : Object.keys(on ?? {});
  if (triggers.includes('pull_request_target'))
    findings.push(`${path}: pull_request_target runs untrusted code with secrets: use pull_request`);
  if (!wf.concurrency) findings.push(`${path}: no top-level concurrency group`);
  for (const [name, job] of Object.entries(wf.jobs ?? {})) {
    const runsOn = [job['runs-on']].flat();
    if (!runsOn.includes('self-hosted'))
      findings.push(`${path}: job ${name} must run on the self-hosted runner that can write the installation`);
    if (triggers.includes('pull_request') && !String(job.if ?? '').includes('head.repo.full_name')) {
      findings.push(
        `${path}: job ${name} must skip pull requests from forks ` +
          '(if: github.event.pull_request.head.repo.full_name == github.repository)',
      );
    }
    if (
      triggers.includes('push') &&
      !/refs\/heads\/main/.test(String(job.if ?? '')) &&
      !(on.push?.branches ?? []).every((b) => b === 'main')
    ) {
      findings.push(`${path}: job ${name} deploys from a branch other than main`);
    }
  }
}
for (const f of findings) console.error(f);
console.log(`lint-workflows: ${files.length} workflow(s), ${findings.length} finding(s)`);
process.exit(findings.length ? 1 : 0);
