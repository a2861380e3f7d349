/**
 * The GitHub Actions side of a QA report, through @actions/core: job summary, error annotations at the
 * spec line at fault, step outputs. Does nothing outside Actions (GITHUB_ACTIONS != "true").
 */
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
 * Append markdown to the job summary through @actions/core (which reads GITHUB_STEP_SUMMARY of this process). The
 * runner creates that file; an old runner without it keeps the summary in the run's summary.md only. core reads
 * this process's environment, so an `env` naming another file (a caller's own) gets no summary.
 */
async function appendSummary(markdown: string, env: NodeJS.ProcessEnv): Promise<void> {
  if (!env.GITHUB_STEP_SUMMARY || env.GITHUB_STEP_SUMMARY !== process.env.GITHUB_STEP_SUMMARY) return;
  const core = await import('@actions/core');
  await core.summary.addRaw(markdown, true).write();
}

/**
 * Problems in the repository's files (specs, inventory) for the running workflow: one `::error`/`::warning`
 * command per problem, through `write` (stdout, or stderr when stdout carries --json: the runner reads both),
 * and a table appended to the job summary (GITHUB_STEP_SUMMARY). Does nothing outside Actions.
 */
export async function publishProblems(
  problems: readonly Problem[],
  opts: { command: string; repoDir: string; write: (line: string) => void; env?: NodeJS.ProcessEnv },
): Promise<number> {
  const env = opts.env ?? process.env;
  if (!inGitHubActions(env) || problems.length === 0) return 0;
  const toPath = (file: string) => workspacePath(file, opts.repoDir, env);
  const notes = problemAnnotations(problems, opts.command, toPath);
  for (const a of notes) opts.write(annotationCommand(a));
  await appendSummary(redact(problemSummary(problems, opts.command, toPath)), env);
  return notes.length;
}

/**
 * A warning the workflow's reader must not miss: one `::warning` annotation (through `write`, as publishProblems)
 * and a section in the job summary. Does nothing outside Actions.
 */
export async function publishWarning(
  title: string,
  message: string,
  opts: { write: (line: string) => void; env?: NodeJS.ProcessEnv },
): Promise<void> {
  const env = opts.env ?? process.env;
  if (!inGitHubActions(env)) return;
  opts.write(annotationCommand({ level: 'warning', title: redact(title), message: redact(message) }));
  await appendSummary(`> [!WARNING]\n> ${redact(message)}\n`, env);
}

/**
 * Step outputs (GITHUB_OUTPUT) of the running step, through @actions/core (its multi-line form, name<<DELIMITER).
 * Does nothing outside Actions, nor without GITHUB_OUTPUT (core would fall back to the retired `::set-output`).
 */
export async function setStepOutputs(
  outputs: Record<string, string>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  if (!inGitHubActions(env) || !env.GITHUB_OUTPUT || env.GITHUB_OUTPUT !== process.env.GITHUB_OUTPUT) return;
  const core = await import('@actions/core');
  for (const [name, value] of Object.entries(outputs)) core.setOutput(name, redact(value));
}
