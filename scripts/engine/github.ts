/**
 * The GitHub Actions side of a QA report, through @actions/core: job summary, error annotations at the
 * spec line at fault, step outputs. Does nothing outside Actions (GITHUB_ACTIONS != "true").
 */
import { appendFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { isAbsolute, join, relative } from 'node:path';
import { annotations, renderSummary, stepOutputs, type Report } from '../core/report.js';
import { redact } from '../core/redact.js';
import { annotationCommand, problemAnnotations, problemSummary } from '../core/annotations.js';
import type { Problem } from '../core/errors.js';

export function inGitHubActions(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.GITHUB_ACTIONS === 'true';
}

/**
 * Annotation paths must be relative to the checkout (GITHUB_WORKSPACE); the repository of specs may be a
 * subdirectory of it (a template copied into a monorepo).
 */
export function workspacePath(file: string, repoDir: string, env: NodeJS.ProcessEnv = process.env): string {
  if (isAbsolute(file)) return env.GITHUB_WORKSPACE ? relative(env.GITHUB_WORKSPACE, file) : file;
  if (!env.GITHUB_WORKSPACE) return file;
  const rel = relative(env.GITHUB_WORKSPACE, join(repoDir, file));
  return rel.startsWith('..') ? file : rel;
}

/**
 * Register secret values with the runner (`::add-mask::`), so the runner masks them in the job log too.
 * Does nothing outside Actions.
 */
export async function maskSecrets(values: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<void> {
  if (!inGitHubActions(env) || values.length === 0) return;
  const core = await import('@actions/core');
  for (const v of values) core.setSecret(v);
}

export interface PublishResult {
  published: boolean;
  annotations: number;
}

/**
 * Publish a report to the running workflow. Returns without touching anything when not in Actions.
 * Annotations are workflow commands on stdout (that is where the runner reads them), so callers printing
 * --json on stdout should publish before or after, not in the middle of, their JSON.
 */
export async function publishReport(
  report: Report,
  runDir: string,
  repoDir: string,
  env: NodeJS.ProcessEnv = process.env,
  /** where workflow commands go: stdout, or stderr when stdout carries --json (the runner reads both) */
  write: (line: string) => void = (line) => process.stdout.write(line + '\n'),
): Promise<PublishResult> {
  if (!inGitHubActions(env)) return { published: false, annotations: 0 };
  const core = await import('@actions/core'); // loaded only on a runner
  const notes = annotations(report);
  for (const a of notes) {
    const command = annotationCommand({
      level: 'error',
      message: redact(a.message),
      title: redact(a.title),
      ...(a.file ? { file: workspacePath(a.file, repoDir, env) } : {}),
      ...(a.file && a.line ? { line: a.line } : {}),
    });
    write(command);
  }
  for (const [name, value] of Object.entries(stepOutputs(report, runDir))) core.setOutput(name, redact(value));
  // Without GITHUB_STEP_SUMMARY (an old runner) the summary stays in summary.md only.
  if (env.GITHUB_STEP_SUMMARY) await core.summary.addRaw(redact(renderSummary(report)), true).write();
  return { published: true, annotations: notes.length };
}

/**
 * Problems in the repository's files (specs, inventory) for the running workflow: one `::error`/`::warning`
 * command per problem, through `write` (stdout, or stderr when stdout carries --json: the runner reads both),
 * and a table appended to the job summary (GITHUB_STEP_SUMMARY). Does nothing outside Actions.
 */
export function publishProblems(
  problems: readonly Problem[],
  opts: { command: string; repoDir: string; write: (line: string) => void; env?: NodeJS.ProcessEnv },
): number {
  const env = opts.env ?? process.env;
  if (!inGitHubActions(env) || problems.length === 0) return 0;
  const toPath = (file: string) => workspacePath(file, opts.repoDir, env);
  const notes = problemAnnotations(problems, opts.command, toPath);
  for (const a of notes) opts.write(annotationCommand(a));
  if (env.GITHUB_STEP_SUMMARY) {
    appendFileSync(env.GITHUB_STEP_SUMMARY, redact(problemSummary(problems, opts.command, toPath)) + '\n');
  }
  return notes.length;
}

/**
 * A warning the workflow's reader must not miss: one `::warning` annotation (through `write`, as publishProblems)
 * and a section in the job summary. Does nothing outside Actions.
 */
export function publishWarning(
  title: string,
  message: string,
  opts: { write: (line: string) => void; env?: NodeJS.ProcessEnv },
): void {
  const env = opts.env ?? process.env;
  if (!inGitHubActions(env)) return;
  opts.write(annotationCommand({ level: 'warning', title: redact(title), message: redact(message) }));
  if (env.GITHUB_STEP_SUMMARY) appendFileSync(env.GITHUB_STEP_SUMMARY, `> [!WARNING]\n> ${redact(message)}\n\n`);
}

/** Step outputs (GITHUB_OUTPUT) of the running step. Does nothing outside Actions. */
export function setStepOutputs(outputs: Record<string, string>, env: NodeJS.ProcessEnv = process.env): void {
  if (!inGitHubActions(env) || !env.GITHUB_OUTPUT) return;
  // the runner's multi-line form (name<<DELIMITER), as @actions/core writes it
  const delimiter = `ghadelimiter_${randomUUID()}`;
  const text = Object.entries(outputs)
    .map(([name, value]) => `${name}<<${delimiter}\n${redact(value)}\n${delimiter}\n`)
    .join('');
  appendFileSync(env.GITHUB_OUTPUT, text);
}
