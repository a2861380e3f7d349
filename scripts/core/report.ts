/**
 * The QA report (docs/qa-report.md): run results -> report.json object, summary.md, junit.xml and the
 * GitHub annotations. Pure: no I/O; report-files.ts writes, github.ts talks to the runner.
 */
import schema from '../../schemas/report.schema.json' with { type: 'json' };
import { schemaValidator } from './schemas.js';
import { relative, isAbsolute } from 'node:path';
import type {
  AllowListInfo,
  EnvRunResult,
  EnvSpec,
  FailureClass,
  Frontend,
  MergeChanges,
  QaRunResult,
  UpgradeInfo,
} from './types.js';
import { diffPackages, isEmptyDiff, renderPackageDiff, type PackageDiff } from './pkgdiff.js';
import { normalizePipName } from './pip.js';
import { capMarkdown, clipLine, markdownText, shownLine } from './untrusted-output.js';

/** Longest hint a report keeps: a hint may quote what a test printed last. */
const MAX_HINT = 1000;

const REPORT_FORMAT = 1;
const REPORT_FILES = { report: 'report.json', summary: 'summary.md', junit: 'junit.xml', logs: 'logs' } as const;

export interface ReportEnv {
  env: string;
  buildId?: string;
  status: EnvRunResult['status'];
  phase?: NonNullable<EnvRunResult['phase']>;
  class?: FailureClass;
  package?: string;
  spec?: string;
  available?: string[];
  hint?: string;
  file?: string;
  line?: number;
  seconds: number;
  log?: string;
  excerpt?: string[];
  phases: Array<{ name: EnvRunResult['phases'][number]['name']; ok: boolean; seconds: number; class?: FailureClass }>;
  packageDiff?: PackageDiff;
}

/** report.json, format 1 (schemas/report.schema.json). */
export interface Report {
  format: typeof REPORT_FORMAT;
  runId: string;
  ok: boolean;
  startedAt: string;
  finishedAt: string;
  seconds: number;
  root: string;
  condaVersion: string;
  frontend: Frontend;
  base?: string;
  head?: string;
  allowList?: AllowListInfo;
  /** how builds and tests were isolated: bubblewrap, or none and why */
  isolation?: { sandbox: 'bwrap' | 'none'; note: string; asRoot?: boolean };
  counts: { total: number; tested: number; reused: number; failed: number };
  files: { report: string; summary: string; junit: string; logs: string };
  envs: ReportEnv[];
  /** what merging does (runs with a base): envs added, changed, dropped and kernel changes */
  merge?: MergeChanges;
  /** the conda upgrade of the run (head version differs from the base's, or had to be installed) */
  upgrade?: UpgradeInfo;
}

const FENCE = '`'.repeat(3);
const QUOTES = "'".repeat(3);

const round = (s: number) => Math.round(s * 100) / 100;

/** A path inside the run directory is stored relative to it, so a downloaded artifact stays readable. */
function logPath(runDir: string, log: string | undefined): string | undefined {
  if (!log) return undefined;
  if (!isAbsolute(log)) return log;
  const rel = relative(runDir, log);
  return rel.startsWith('..') || isAbsolute(rel) ? log : rel;
}

function reportEnv(run: QaRunResult, r: EnvRunResult): ReportEnv {
  const f = r.failure;
  const e: ReportEnv = {
    env: r.env,
    ...(r.buildId ? { buildId: r.buildId } : {}),
    status: r.status,
    ...(r.status === 'failed' ? { phase: r.phase ?? lastFailedPhase(r) ?? 'create' } : {}),
    ...(f ? { class: f.class } : {}),
    ...(f?.package ? { package: f.package } : {}),
    ...(f?.spec ? { spec: f.spec } : {}),
    ...(f?.available ? { available: [...f.available] } : {}),
    ...(r.hint ? { hint: clipLine(r.hint, MAX_HINT) } : {}),
    ...(r.file ? { file: r.file } : {}),
    ...(r.line ? { line: r.line } : {}),
    seconds: round(r.seconds),
    ...(logPath(run.runDir, r.log) ? { log: logPath(run.runDir, r.log) } : {}),
    // what a program printed: each line bounded, however long the program made it
    ...(f?.excerpt?.length ? { excerpt: f.excerpt.map((l) => shownLine(l)) } : {}),
    phases: r.phases.map((p) => ({
      name: p.name,
      ok: p.ok,
      seconds: round(p.seconds),
      ...(p.failure ? { class: p.failure.class } : {}),
    })),
  };
  if (r.packages) e.packageDiff = diffPackages(r.livePackages, r.packages);
  return e;
}

function lastFailedPhase(r: EnvRunResult) {
  return [...r.phases].reverse().find((p) => !p.ok)?.name;
}

/** Run results -> report.json object. Envs sorted by name: failures are found by status, not by order. */
export function buildReport(run: QaRunResult): Report {
  const envs = [...run.envs].sort((a, b) => a.env.localeCompare(b.env)).map((r) => reportEnv(run, r));
  const count = (s: EnvRunResult['status']) => envs.filter((e) => e.status === s).length;
  const counts = { total: envs.length, tested: count('tested'), reused: count('reused'), failed: count('failed') };
  const seconds = Math.max(0, (Date.parse(run.finishedAt) - Date.parse(run.startedAt)) / 1000);
  return {
    format: REPORT_FORMAT,
    runId: run.runId,
    ok: counts.failed === 0 && !allowListRefused(run.allowList),
    startedAt: run.startedAt,
    finishedAt: run.finishedAt,
    seconds: round(Number.isFinite(seconds) ? seconds : 0),
    root: run.root,
    condaVersion: run.condaVersion,
    frontend: run.frontend,
    ...(run.base ? { base: run.base } : {}),
    ...(run.head ? { head: run.head } : {}),
    ...(run.allowList ? { allowList: structuredClone(run.allowList) } : {}),
    ...(run.isolation ? { isolation: run.isolation } : {}),
    counts,
    files: { ...REPORT_FILES },
    envs,
    ...(run.merge ? { merge: run.merge } : {}),
    ...(run.upgrade ? { upgrade: structuredClone(run.upgrade) } : {}),
  };
}

/** `conda upgrade 23.11.0 -> 24.1.2: 60 envs: 48 ok, 12 failed` (undefined for a run that is no upgrade). */
export function upgradeHeadline(report: Report): string | undefined {
  const u = report.upgrade;
  if (!u) return undefined;
  const what = u.from && u.from !== u.to ? `conda upgrade ${u.from} -> ${u.to}` : `conda ${u.to}`;
  if (u.installation === 'failed') return `${what}: conda ${u.to} could not be installed, nothing was built`;
  const c = report.counts;
  return `${what}: ${c.total} envs: ${c.tested + c.reused} ok, ${c.failed} failed`;
}

/** The lines of the upgrade section (summary.md and the terminal). */
export function upgradeLines(report: Report): string[] {
  const u = report.upgrade;
  if (!u) return [];
  const lines = [`${upgradeHeadline(report)}`];
  if (u.installation === 'failed') {
    lines.push(`conda ${u.to} could not be installed: ${u.message ?? 'see the log'}`);
  } else {
    lines.push(
      `Installation ${report.root}/v${u.to}: ${u.installation === 'installed' ? 'installed by this run' : 'present'}` +
        ' (ROOT/qa points at it; ROOT/current is unchanged until deploy)',
    );
  }
  if (u.notReplicated.length) lines.push(`Not replicated (export): ${u.notReplicated.join(', ')}`);
  if (u.log) lines.push(`Install log: ${u.log}`);
  return lines;
}

/** Lines saying what a merge does to the installation beyond the envs in the table (empty when nothing). */
export function mergeLines(m: MergeChanges | undefined): string[] {
  if (!m) return [];
  const lines: string[] = [];
  if (m.added.length) lines.push(`- Envs added: ${m.added.join(', ')}`);
  if (m.changed.length) lines.push(`- Envs changed: ${m.changed.join(', ')}`);
  if (m.dropped.length)
    lines.push(`- **Envs dropped** (unlinked for every user at deploy; builds kept until gc): ${m.dropped.join(', ')}`);
  if (m.kernels.added.length) lines.push(`- Kernels added: ${m.kernels.added.join(', ')}`);
  if (m.kernels.removed.length) lines.push(`- **Kernels removed**: ${m.kernels.removed.join(', ')}`);
  if (m.kernels.changed.length) lines.push(`- Kernel display names changed: ${m.kernels.changed.join(', ')}`);
  return lines;
}

/** A PR that widens the allow-list and changes anything else fails QA, with nothing built. */
export function allowListRefused(a: AllowListInfo | undefined): boolean {
  return !!a && a.widened.length > 0 && !a.allowListOnly;
}

/** The prominent lines about the allow-list: what the PR adds, and what that asks of the reviewers. */
export function allowListLines(a: AllowListInfo | undefined): string[] {
  if (!a?.widened.length) return [];
  const what = a.widened.join('; ');
  if (a.allowListOnly)
    return [
      `ALLOW-LIST CHANGE: this pull request ${what}. It changes nothing else, so nothing was built: ` +
        'merge it only after review by the owners of inventory.ini (CODEOWNERS).',
    ];
  return [
    `REFUSED: this pull request ${what}, and changes other things too. Sources are checked against the ` +
      `${a.from} branch's allow-list, so nothing was built. Open an admin-reviewed pull request that changes ` +
      'only channels, pip-git-hosts or pip-indexes in [conda] of inventory.ini; merge it first, then rebase this one.',
  ];
}

/** Schema errors of a report object (empty when valid). Checked before every write. */
export function reportSchemaErrors(report: unknown): string[] {
  const validator = schemaValidator('report');
  if (validator(report)) return [];
  return (validator.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`);
}

export { schema as reportSchema };

// ---- summary.md -------------------------------------------------------------------------------------------

/** Markdown table cells: no pipes or newlines inside a cell. */
function cell(text: string | undefined): string {
  return (text ?? '').replace(/\r?\n/g, ' ').replace(/\|/g, '\\|').trim();
}

function formatSeconds(s: number): string {
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  return `${m}m${String(Math.round(s - m * 60)).padStart(2, '0')}s`;
}

const STATUS_TEXT: Record<ReportEnv['status'], string> = {
  tested: '✅ tested',
  reused: '✅ reused',
  failed: '❌ failed',
};

/** The table of the account's spreadsheet, automated: env, status, failing phase, class, hint, duration. */
export function summaryTable(report: Report): string[] {
  const rows = ['| env | status | failing phase | class | hint | duration |', '| --- | --- | --- | --- | --- | ---: |'];
  // Failures first: a reviewer reads the top of a 60-row table.
  const ordered = [
    ...report.envs.filter((e) => e.status === 'failed'),
    ...report.envs.filter((e) => e.status !== 'failed'),
  ];
  for (const e of ordered) {
    const where = e.file ? `${e.file}${e.line ? `:${e.line}` : ''}` : undefined;
    // the location once: a hint that already names it (a test failure's file:line) is not followed by it again
    const said = where !== undefined && (e.hint ?? '').includes(where);
    const hint =
      e.status === 'failed' ? [e.hint, where && !said ? `(${where})` : undefined].filter(Boolean).join(' ') : '';
    rows.push(
      `| ${cell(e.env)} | ${STATUS_TEXT[e.status]} | ${cell(e.phase)} | ${cell(e.class)} ` +
        `| ${cell(hint)} | ${formatSeconds(e.seconds)} |`,
    );
  }
  return rows;
}

export function headline(report: Report): string {
  const c = report.counts;
  const verdict = report.ok ? 'passed' : 'FAILED';
  if (allowListRefused(report.allowList)) return `QA ${verdict}: the pull request widens the allow-list`;
  if (report.allowList?.allowListOnly) return `QA ${verdict}: allow-list change only, for admin review`;
  // what merging removes comes first, as terraform's "to destroy": a green check must not hide it
  const dropped = report.merge?.dropped ?? [];
  const removes = dropped.length
    ? `${dropped.length} env${dropped.length === 1 ? '' : 's'} to remove (${dropped.join(', ')}); `
    : '';
  return `QA ${verdict}: ${removes}${c.failed} failed, ${c.tested} tested, ${c.reused} reused of ${c.total} envs`;
}

/**
 * What the env owner does next, one line per failed env with the command: `fix` for versions and packages the
 * channel lacks, `test` for a failing env test, `validate` for a spec that cannot be read, else the line to edit.
 */
export function toFixLines(report: Report): string[] {
  return report.envs
    .filter((e) => e.status === 'failed')
    .map((e) => {
      const at = e.file ? `\`${e.file}\`${e.line ? ` line ${e.line}` : ''}` : `\`env-specs/${e.env}.yml\``;
      const name = `\`${e.env}\``;
      if (e.phase === 'spec')
        return `- ${name}: edit ${at} (${e.hint ?? 'the spec has errors'}), then run \`conda-gitops validate\``;
      if (e.phase === 'test' || e.class === 'test-failure')
        return (
          `- ${name}: ${e.hint ?? 'the env test failed'}` +
          `${e.file && !(e.hint ?? '').includes(e.file) ? ` (${at})` : ''}: fix the env or its test ` +
          '(the failure and its log are below), then push'
        );
      if (e.class === 'missing-version')
        return `- ${name}: run \`conda-gitops fix --env ${e.env} --accept-nearest\` (or edit ${at}), then push`;
      // `fix` has no rule for a package the channels lack: the owner edits the line
      if (e.class === 'missing-package') return `- ${name}: edit ${at} (${e.hint ?? e.class}), then push`;
      if (e.class === 'unsatisfiable' || e.class === 'pip-failure')
        return `- ${name}: run \`conda-gitops fix --env ${e.env}\`, or edit ${at} (${e.hint ?? e.class}), then push`;
      if (e.class === 'channel-unreachable' || e.class === 'timeout')
        return `- ${name}: ${e.hint ?? e.class}: re-run the check; if it fails again, edit ${at}`;
      return `- ${name}: edit ${at} (${e.hint ?? 'see the failure below'}), then push`;
    });
}

/** summary.md: headline, the table, package changes per env, failure excerpts, where the files are. */
export function renderSummary(original: Report, options: { maxExcerptLines?: number } = {}): string {
  const maxExcerpt = options.maxExcerptLines ?? 15;
  // a hint may quote what a test printed: in markdown it is text, never HTML, a link or an image
  const report: Report = {
    ...original,
    envs: original.envs.map((e) => ({
      ...e,
      ...(e.hint ? { hint: markdownText(e.hint) } : {}),
      ...(e.available ? { available: e.available.map(markdownText) } : {}),
    })),
  };
  const lines = [`## ${headline(report)}`, ''];
  const fixes = toFixLines(report);
  if (fixes.length) lines.push('**To fix:**', ...fixes, '');
  const refs = report.base || report.head ? ` · ${report.base ?? '?'}..${report.head ?? 'HEAD'}` : '';
  lines.push(
    `conda ${report.condaVersion} (${report.frontend}) · ` +
      `run \`${report.runId}\`${refs} · ${formatSeconds(report.seconds)}`,
    '',
  );
  if (report.isolation) {
    const sign = report.isolation.sandbox === 'none' || report.isolation.asRoot ? '**Warning:** ' : '';
    lines.push(`${sign}Isolation: ${report.isolation.note}.`, '');
  }
  const upgrade = upgradeLines(report);
  if (upgrade.length) {
    lines.push(`### ${upgrade[0]}`, '', ...upgrade.slice(1).map((l) => `- ${l}`), '');
    const output = report.upgrade?.output ?? [];
    if (output.length)
      lines.push('Installer output:', '', FENCE, ...output.map((l) => l.split(FENCE).join(QUOTES)), FENCE, '');
  }
  const allowLines = allowListLines(report.allowList);
  if (allowLines.length) lines.push(...allowLines.map((l) => `> **${l}**`), '');
  const merge = mergeLines(report.merge);
  lines.push(
    ...(report.envs.length
      ? summaryTable(report)
      : [merge.length ? 'Nothing to build.' : 'No environment changed: nothing to build.']),
  );
  if (merge.length) lines.push('', '### What merging does', '', ...merge);
  if (report.allowList) {
    const a = report.allowList;
    lines.push(
      '',
      `Allow-list in effect (${a.from === 'base' ? 'from the base branch' : "from this branch's inventory"}): ` +
        `channels ${a.channels.join(', ') || 'none'} · pip-git-hosts ${a.pipGitHosts.join(', ') || 'none'} · ` +
        `pip-indexes ${a.pipIndexes.join(', ') || 'none (PyPI only)'}`,
    );
  }

  const diffs = report.envs.filter((e) => e.packageDiff && e.status !== 'failed');
  if (diffs.length) {
    lines.push('', '### What merging changes', '');
    // one line for new and unchanged envs: with 60 envs the changed ones must stand out
    const fresh = diffs.filter((e) => !e.packageDiff!.hasLive);
    const changed = diffs.filter((e) => e.packageDiff!.hasLive && !isEmptyDiff(e.packageDiff!));
    const quiet = diffs.filter((e) => e.packageDiff!.hasLive && isEmptyDiff(e.packageDiff!));
    for (const e of changed) lines.push(...renderPackageDiff(e.env, e.packageDiff!), '');
    if (fresh.length)
      lines.push(
        `New envs (not live yet): ${fresh.map((e) => `${e.env} (${e.packageDiff!.added.length} packages)`).join(', ')}`,
        '',
      );
    if (quiet.length) lines.push(`No package changes: ${quiet.map((e) => e.env).join(', ')}`, '');
  }

  const failed = report.envs.filter((e) => e.status === 'failed');
  if (failed.length) {
    lines.push('', '### Failures', '');
    for (const e of failed) {
      const title = `${e.env}: ${e.class ?? 'failed'} in ${e.phase ?? 'build'}${e.package ? ` (${e.package})` : ''}`;
      lines.push('<details>', `<summary>${escapeHtml(title)}</summary>`, '');
      if (e.hint) lines.push(`Hint: ${e.hint}`, '');
      if (e.available?.length) lines.push(`Available versions: ${e.available.join(', ')}`, '');
      if (e.excerpt?.length) {
        lines.push('```', ...e.excerpt.slice(0, maxExcerpt).map((l) => l.replace(/```/g, "'''")), '```', '');
      }
      if (e.log) lines.push(`Full log: \`${e.log}\``, '');
      lines.push('</details>', '');
    }
  }
  lines.push(
    '',
    `Reports: \`${report.files.report}\`, \`${report.files.junit}\`, logs in \`${report.files.logs}/\` ` +
      `under \`${report.root}/.gitops/runs/${report.runId}/\``,
  );
  // GitHub refuses a job summary over 1 MiB
  return capMarkdown(lines.join('\n') + '\n');
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

// ---- junit.xml --------------------------------------------------------------------------------------------

function xmlAttr(s: string): string {
  return xmlText(s).replace(/"/g, '&quot;');
}

/** XML 1.0 forbids most control characters even escaped; conda logs carry ANSI colours and \r. */
function xmlText(s: string): string {
  return s
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;');
}

/** junit.xml: one testcase per env (classname = the spec file), failures with class, hint and the log excerpt. */
export function renderJunit(report: Report): string {
  const c = report.counts;
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="conda-gitops qa" tests="${c.total}" failures="${c.failed}" errors="0" time="${report.seconds}">`,
    `  <testsuite name="qa ${xmlAttr(report.runId)}" tests="${c.total}" failures="${c.failed}" errors="0" ` +
      `skipped="0" time="${report.seconds}" timestamp="${xmlAttr(report.startedAt)}">`,
    '    <properties>',
    `      <property name="conda_version" value="${xmlAttr(report.condaVersion)}"/>`,
    `      <property name="frontend" value="${report.frontend}"/>`,
    ...(report.base ? [`      <property name="base" value="${xmlAttr(report.base)}"/>`] : []),
    ...(report.head ? [`      <property name="head" value="${xmlAttr(report.head)}"/>`] : []),
    '    </properties>',
  ];
  for (const e of report.envs) {
    const open =
      `    <testcase classname="env-specs" name="${xmlAttr(e.env)}" time="${e.seconds}"` +
      (e.file ? ` file="${xmlAttr(e.file)}"` : '') +
      (e.line ? ` line="${e.line}"` : '');
    if (e.status !== 'failed') {
      const note =
        e.status === 'reused' ? `reused tested build ${e.buildId ?? ''}` : `built and tested ${e.buildId ?? ''}`;
      out.push(`${open}>`, `      <system-out>${xmlText(note.trim())}</system-out>`, '    </testcase>');
      continue;
    }
    const message = `${e.class ?? 'unknown'} in ${e.phase ?? 'build'}${e.hint ? `: ${e.hint}` : ''}`;
    const body = [...(e.excerpt ?? []), ...(e.log ? [`log: ${e.log}`] : [])].join('\n');
    out.push(
      `${open}>`,
      `      <failure type="${xmlAttr(e.class ?? 'unknown')}" message="${xmlAttr(message)}">${xmlText(body)}</failure>`,
      '    </testcase>',
    );
  }
  out.push('  </testsuite>', '</testsuites>');
  return out.join('\n') + '\n';
}

// ---- GitHub annotations and outputs (data only; github.ts sends them) --------------------------------------

export interface Annotation {
  title: string;
  message: string;
  file?: string;
  line?: number;
}

/** One error annotation per failed env, at `env-specs/NAME.yml:LINE` of the dependency at fault. */
export function annotations(report: Report): Annotation[] {
  return report.envs
    .filter((e) => e.status === 'failed')
    .map((e) => {
      const title = `${e.env}: ${e.class ?? 'unknown'} in ${e.phase ?? 'build'}`;
      const detail = [
        e.hint ?? `the ${e.phase ?? 'build'} phase failed`,
        ...(e.excerpt?.length ? ['', ...e.excerpt.slice(0, 8)] : []),
        ...(e.log ? ['', `log: ${e.log}`] : []),
      ];
      return {
        title,
        message: detail.join('\n'),
        ...(e.file ? { file: e.file } : {}),
        ...(e.file && e.line ? { line: e.line } : {}),
      };
    });
}

/** Step outputs of the QA step: counts and where the report is. */
export function stepOutputs(report: Report, runDir: string): Record<string, string> {
  return {
    total: String(report.counts.total),
    tested: String(report.counts.tested),
    reused: String(report.counts.reused),
    failed: String(report.counts.failed),
    ok: String(report.ok),
    'run-id': report.runId,
    'run-dir': runDir,
    report: `${runDir}/${report.files.report}`,
    summary: `${runDir}/${report.files.summary}`,
    junit: `${runDir}/${report.files.junit}`,
  };
}

// ---- where in the spec a failure points -------------------------------------------------------------------

const condaName = (n: string) => n.toLowerCase();

/**
 * The spec line of the dependency a failure names: a conda dependency by name, else a pip entry by
 * (PEP 503) name or by text (git URLs), else the `- pip:` line for pip failures, else undefined.
 */
export function faultLine(
  spec: EnvSpec,
  failure: { class: FailureClass; package?: string; spec?: string } | undefined,
): number | undefined {
  if (!failure) return undefined;
  const names = [failure.package, failure.spec && failure.spec.split(/[\s=<>!~\[]/)[0]].filter((x): x is string => !!x);
  for (const n of names) {
    const bare = n.includes('::') ? n.slice(n.lastIndexOf('::') + 2) : n;
    const dep = spec.dependencies.find((d) => condaName(d.spec.name) === condaName(bare));
    if (dep && failure.class !== 'pip-failure' && failure.class !== 'git-clone-failure') return dep.line;
    const pip = spec.pip.find(
      (p) => (p.name && normalizePipName(p.name) === normalizePipName(bare)) || p.text.includes(n),
    );
    if (pip) return pip.line;
    if (dep) return dep.line;
  }
  if (failure.spec) {
    const pip = spec.pip.find((p) => p.text.includes(failure.spec!) || failure.spec!.includes(p.text));
    if (pip) return pip.line;
  }
  if ((failure.class === 'pip-failure' || failure.class === 'git-clone-failure') && spec.pipLine) return spec.pipLine;
  return undefined;
}

/** One line per env result, as `build`, `test` and `deploy --build-missing` print it. */
export function describeResult(r: EnvRunResult, recordStatus?: string): string {
  if (r.status !== 'failed') return `${r.env} ${r.buildId}: ${recordStatus ?? r.status}`;
  const where = r.file ? ` at ${r.file}${r.line ? `:${r.line}` : ''}` : '';
  const log = r.log ? `\n    log: ${r.log}` : '';
  return (
    `${r.env} ${r.buildId ?? ''}: FAILED in ${r.phase} (${r.failure?.class ?? 'unknown'})${where}: ${r.hint ?? ''}` +
    log
  );
}
